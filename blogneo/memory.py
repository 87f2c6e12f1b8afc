"""How much memory a model needs, how much is free, and whether it fits: one answer, used everywhere.

Memory is estimated before anything is loaded, so that asking for GPT-Neo-2.7B on a small
machine is refused with numbers instead of killing the process.
"""

from __future__ import annotations

from dataclasses import dataclass

import psutil
import torch

from .errors import NotEnoughMemoryError
from .precision import PACKED_ON_CPU

#: Bytes per parameter for each precision blogneo understands.
BYTES_PER_PARAMETER = {"fp32": 4, "fp16": 2, "bf16": 2, "int8": 1}

# Beyond the weights and the run's own KV cache and logits (counted from the architecture): the
# framework, activations and the allocator's slack.
OVERHEAD_FIXED = 512 * 2**20
# transformers' dynamic KV cache grows a token at a time: each step copies every layer's cache
# into a new tensor one token longer, and the allocator keeps the freed blocks for reuse. Measured
# on an H200 (benchmarks/gpu_memory.py, 4 candidates x 1,045 tokens), PyTorch then reserved 1.5 and
# 1.9 times the cache's own size beyond the weights (GPT-Neo-1.3B and 2.7B shapes): counting the
# cache twice covers that.
CACHE_GROWTH = 2
# The compiled path (a GPU's default) allocates its static cache once, at its bucket's length; beyond it
# come the compiled step's CUDA graph pool and what the allocator keeps for the prompt's eager pass. In one
# process on an H100 (GPT-Neo-1.3B's shape, 4 candidates x 1,045 tokens, the 2,048 bucket's 1.5 GiB of
# cache) PyTorch reserved 5.16 GiB at its peak: 2.71 GiB beyond the weights, 1.8 times the cache. That is
# the one clean-enough figure so far (docs/measurements.md#memory), so the cache counts twice here too.
COMPILED_RESERVE = 2
# For a model whose architecture is not known, the run's part is estimated as a share of the weights.
UNKNOWN_RUN_FRACTION = 0.20
# The smallest static KV cache: shorter runs share it, and so share one compiled decoding step.
SMALLEST_BUCKET = 256


def cache_bucket(tokens: int, context: int) -> int:
    """The static KV cache's length for a run of ``tokens`` (prompt and new): the next power of two.

    A compiled decoding step is specialised to its cache's size, so rounding up to a few sizes
    (256, 512, 1,024, 2,048...; never beyond the context) means changing ``max_new_tokens`` or the
    prompt does not recompile: each bucket compiles once per process.

    Example:
        >>> cache_bucket(30, 2048), cache_bucket(257, 2048), cache_bucket(1500, 2048), cache_bucket(3000, 2048)
        (256, 512, 2048, 2048)
    """
    bucket = max(SMALLEST_BUCKET, 1 << max(tokens - 1, 0).bit_length())
    return min(bucket, context)


@dataclass(frozen=True)
class Shape:
    """What generating costs in memory besides the weights depends on: the architecture.

    ``kv_width`` is how many numbers a token keeps per layer for its key (as many again for its
    value): key-value heads x head size, so grouped-query attention (SmolLM2: 3 of 9 heads) keeps less.
    """

    layers: int
    kv_width: int
    vocab: int
    context: int
    # what training's activations depend on too (0: not known, as for a GGUF)
    hidden: int = 0
    heads: int = 0
    intermediate: int = 0  # the feed-forward block's width (0: four times the hidden size)

    @classmethod
    def of(cls, config) -> Shape:
        """The shape of a transformers config (GPT-Neo, Llama and most decoder-only models).

        transformers maps each architecture's own names (``n_layer``, ``n_head``...) to the common
        ones read here; a config without head counts keeps a full hidden state per layer.
        """
        hidden = int(getattr(config, "hidden_size", 0) or getattr(config, "n_embd", 0) or 0)
        heads = getattr(config, "num_attention_heads", None)
        head_size = getattr(config, "head_dim", None) or (hidden // heads if heads else hidden)
        kv_heads = getattr(config, "num_key_value_heads", None) or heads or 1
        context = next((int(getattr(config, n)) for n in ("max_position_embeddings", "n_positions", "max_seq_len")
                        if getattr(config, n, None)), 2048)
        intermediate = int(getattr(config, "intermediate_size", 0) or 0)
        return cls(int(config.num_hidden_layers), int(kv_heads * head_size), int(config.vocab_size), context,
                   hidden, int(heads or 0), intermediate)


def run_bytes(shape: Shape, precision: str, device_type: str, candidates: int = 1, tokens: int | None = None,
              static: bool = False) -> int:
    """Memory one run adds to the weights: the KV cache for ``candidates`` x ``tokens``, and the logits.

    ``tokens`` counts the prompt and the new tokens; None is the whole context, the worst case.
    Activations are fp32 on the CPU (its fp16 and int8 weights compute in fp32) and in fp32, and
    2 bytes in half precision on a GPU. A dynamic cache counts twice while it grows
    (``CACHE_GROWTH``); a static one (``static=True``, the compiled path) is allocated once, at its bucket's
    length, and counts twice too, for the compiled step's graphs and the allocator's reserve beside it
    (``COMPILED_RESERVE``).

    Example:
        >>> gib = run_bytes(Shape(32, 2560, 50257, 2048), "bf16", "cuda", candidates=4, tokens=2048) / 2**30
        >>> round(gib, 2)  # GPT-Neo-2.7B: 2 x 32 layers x 2,560 x 2 bytes a token, 4 x 2,048 tokens, twice
        5.0
    """
    tokens = shape.context if tokens is None else tokens
    if static:
        tokens = cache_bucket(tokens, shape.context)
    width = 4 if device_type == "cpu" or precision == "fp32" else 2
    kv_cache = (COMPILED_RESERVE if static else CACHE_GROWTH) * 2 * shape.layers * shape.kv_width * width * \
        candidates * tokens
    logits = 3 * 4 * candidates * shape.vocab  # fp32 scores, the processors' copy and the probabilities
    return kv_cache + logits


def load_footprint(parameters: int, precision: str, device_type: str = "cpu", shape: Shape | None = None,
                   candidates: int = 1, tokens: int | None = None, peak: bool = True, static: bool = False) -> int:
    """Peak bytes to load ``parameters`` weights in ``precision`` on a device and generate with them.

    The run is ``candidates`` x ``tokens`` (None: the whole context) counted from ``shape``;
    without a shape, a fifth of the weights stands in for it. On the CPU, fp16 and int8 weights
    are packed from fp32 ones after loading (see ``blogneo.precision``), so loading them peaks at
    fp32's size; ``peak=False`` counts the weights as they are held afterwards. A GPU loads half
    precision directly. ``static``: the compiled path's run (``run_bytes``).
    """
    packed = peak and device_type == "cpu" and precision in PACKED_ON_CPU
    weights = parameters * BYTES_PER_PARAMETER["fp32" if packed else precision]
    run = run_bytes(shape, precision, device_type, candidates, tokens, static) if shape else \
        int(weights * UNKNOWN_RUN_FRACTION)
    return weights + run + OVERHEAD_FIXED


def fits(parameters: int, precision: str, device_type: str, available: int, shape: Shape | None = None,
         candidates: int = 1) -> bool:
    """Whether the model and a run of ``candidates`` x its whole context fit in ``available`` bytes.

    The one place that answers "does it fit": ``load`` refuses with it, and the checkpoint table
    and the studio's model list show it.

    Example:
        >>> fits(125_198_592, "fp16", "cuda", 2 * 2**30), fits(2_651_307_520, "fp16", "cpu", 8 * 2**30)
        (True, False)
    """
    return load_footprint(parameters, precision, device_type, shape, candidates) <= available


def training_bytes(parameters: int, adapter: int, shape: Shape, precision: str, device_type: str, batch: int,
                   block: int, checkpointing: bool = False) -> int:
    """Peak bytes to train a LoRA adapter of ``adapter`` numbers on a model of ``parameters`` weights.

    - the frozen weights, in ``precision``;
    - the adapter in fp32, with its gradients and AdamW's two moments: 16 bytes a number;
    - the activations kept for the backward pass, per layer ``batch x block x hidden x (34 + 5 x heads x
      block / hidden)`` bytes in half precision (Korthikanti et al., 2022, without recomputation; twice
      that in fp32). Gradient checkpointing keeps each layer's input instead, and one layer's whole;
    - the logits over the vocabulary, in fp32, with their softmax and gradient: 12 bytes each;
    - ``OVERHEAD_FIXED`` for the framework.

    Example:
        >>> gib = training_bytes(125_198_592, 1_327_104, Shape(12, 768, 50257, 2048, 768, 12), "fp32", "cpu",
        ...                      4, 256) / 2**30
        >>> round(gib, 2)
        2.51
    """
    half = device_type != "cpu" and precision in ("fp16", "bf16")
    width = 1 if half else 2  # the formula counts half precision's bytes
    hidden = shape.hidden or 4 * shape.kv_width
    heads = shape.heads or max(1, hidden // 64)
    per_layer = batch * block * hidden * (34 + 5 * heads * block / hidden) * width
    kept = per_layer * shape.layers if not checkpointing else \
        batch * block * hidden * 2 * width * shape.layers + per_layer
    logits = 12 * batch * block * shape.vocab
    weights = parameters * BYTES_PER_PARAMETER[precision if half else "fp32"]
    return int(weights + 16 * adapter + kept + logits + OVERHEAD_FIXED)


def available_memory(device: torch.device | str = "cpu") -> int:
    """Bytes free right now on ``device``: RAM for the CPU, free VRAM for a GPU."""
    device = torch.device(device)
    if device.type == "cuda":
        free, _total = torch.cuda.mem_get_info(device)
        # PyTorch keeps memory it freed reserved for its own reuse; the driver counts it as taken.
        return free + torch.cuda.memory_reserved(device) - torch.cuda.memory_allocated(device)
    if device.type == "mps":
        return torch.mps.recommended_max_memory() - torch.mps.driver_allocated_memory()
    return psutil.virtual_memory().available


def format_gib(n: int) -> str:
    """Bytes as GiB with one decimal, as every table and message in blogneo shows them."""
    return f"{n / 2**30:.1f} GiB"


def check_memory(parameters: int, precision: str, device: torch.device, available: int | None = None,
                 alternatives: dict[str, tuple[int, Shape | None]] | None = None, shape: Shape | None = None) -> None:
    """Refuse, before loading, a model whose estimated footprint exceeds free memory.

    ``alternatives`` (name -> (parameters, shape)) are the checkpoints the error may suggest instead.
    """
    need = load_footprint(parameters, precision, device.type, shape)
    have = available_memory(device) if available is None else available
    if need <= have:
        return
    where = _free_where(device)
    smaller = [name for name, (n, their_shape) in (alternatives or {}).items()
               if fits(n, precision, device.type, have, their_shape)]
    advice = f" Try a smaller checkpoint ({', '.join(smaller)})" if smaller else " Try a smaller checkpoint"
    if device.type != "cpu" and precision == "fp32":
        advice += " or dtype='fp16'/'bf16' (half the memory)"
    elif device.type == "cpu":
        advice += " or a machine with a GPU, where fp16 loads at half the size"
    loads_as = f" (on the CPU, {precision} weights are packed from fp32 ones, so loading peaks at fp32's size)" \
        if device.type == "cpu" and precision in PACKED_ON_CPU else ""
    raise NotEnoughMemoryError(
        f"Not loading: {parameters / 1e9:.2f}B parameters in {precision} need about {format_gib(need)}"
        f"{loads_as}, but only {format_gib(have)} is {where}.{advice}.")


def check_run(shape: Shape, precision: str, device: torch.device, candidates: int, tokens: int,
              available: int | None = None, static: bool = False) -> None:
    """Refuse, before it allocates, a run whose KV cache, logits and working memory do not fit in free memory.

    The model is loaded already, so what is free now is what the run may use: ``run_bytes`` and
    ``OVERHEAD_FIXED`` (activations and the allocator's slack), as ``load_footprint`` counts them beside the
    weights. On a GPU the small shapes need that part most: GPT-Neo-125M's compiled run of 4 x 1,045 tokens
    reserved 0.67 GiB beyond its weights, where its static cache (the 2,048 bucket) is 0.28 GiB.
    """
    need = run_bytes(shape, precision, device.type, candidates, tokens, static) + OVERHEAD_FIXED
    have = available_memory(device) if available is None else available
    if need <= have:
        return
    where = _free_where(device)
    raise NotEnoughMemoryError(
        f"Not generating: {candidates} candidate(s) x {tokens:,} tokens (prompt and new) need about "
        f"{format_gib(need)} for the KV cache, the logits and working memory, but only {format_gib(have)} is {where}. "
        "Lower num_candidates or max_new_tokens, or shorten the prompt.")


def _free_where(device: torch.device) -> str:
    return "free RAM" if device.type == "cpu" else f"free memory on {device}"
