"""Device and precision policy: which device, which number format, the CPU's packed weights, and
the guard against half precision's overflow.

What each precision means for the weights of the Linear layers (the LM head included):
  fp32  exact, 4 bytes a weight. The reference.
  fp16  2 bytes. On a GPU, the whole model in half precision. On an x86 CPU, the weights are packed
        for fbgemm's fp16 kernels while activations and sums stay fp32: half the bytes to read per
        token, perplexity within 0.01% of fp32 on the embedded model (docs/measurements.md: speed).
        ARM CPUs (Apple silicon) have no fbgemm: there the CPU's default is fp32.
  bf16  2 bytes, the whole model in bfloat16 (on a GPU; slow on CPUs without native support).
  int8  1 byte, CPU only: weights per channel, and activations on the fly, quantized to 8 bits.
        The fastest on the CPU, but lossy where activations have outliers (perplexity +218% on the
        embedded model), so it is never chosen for you.
"""

from __future__ import annotations

import warnings

import torch
from transformers import LogitsProcessor

from .errors import BlogneoError

DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
DTYPE_NAMES = {v: k for k, v in DTYPES.items()}
PRECISIONS = (*DTYPES, "int8")
#: Precisions whose weights are packed for PyTorch's CPU kernels after loading in fp32.
PACKED_ON_CPU = ("fp16", "int8")


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    """The torch device for ``device``: "auto" is cuda, then mps, then cpu; an unusable one is an error.

    Example:
        >>> blogneo.resolve_device("cpu")
        device(type='cpu')
    """
    if str(device) == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise BlogneoError(f"Unknown device {device!r}. Use 'auto', 'cpu', 'cuda' or 'mps'.") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise BlogneoError("device='cuda' was asked for, but this machine has no CUDA GPU that PyTorch can "
                           "use. Use device='auto' or 'cpu'.")
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise BlogneoError("device='mps' was asked for, but Apple's MPS is not available here. Use 'auto' or 'cpu'.")
    return dev


def resolve_dtype(dtype: str | torch.dtype, device: torch.device) -> str:
    """The precision name for ``dtype`` on ``device``: "fp32", "fp16", "bf16" or "int8".

    "auto" is bf16 on GPUs whose hardware has it (compute capability 8.0 and up: A100, L4,
    H100...), fp16 on other GPUs (Colab's T4 is 7.5: its bf16 would be emulated, and slow) and on
    mps, fp16 weights on an x86 CPU (PyTorch's fbgemm kernels), and fp32 on other CPUs (ARM, Apple
    silicon), which lack those kernels. Decoding one token reads every weight once, so on a CPU it
    is bound by memory bandwidth: fp16 weights halve the bytes it reads per token, with perplexity
    within 0.01% of fp32 (tests/test_speed.py holds it within 3%; docs/measurements.md has the speeds).
    fp32 stays the exact reference.
    """
    if isinstance(dtype, torch.dtype):
        if dtype not in DTYPE_NAMES:
            raise BlogneoError(f"dtype={dtype} is not supported. Use 'auto', {', '.join(map(repr, PRECISIONS))}.")
        dtype = DTYPE_NAMES[dtype]
    if dtype == "auto":
        if device.type == "cuda":
            return "bf16" if native_bf16(device) else "fp16"
        if device.type == "mps":
            return "fp16"
        return "fp16" if _fbgemm() else "fp32"
    if dtype not in PRECISIONS:
        raise BlogneoError(f"Unknown dtype {dtype!r}. Use 'auto', {', '.join(map(repr, PRECISIONS))}.")
    if dtype == "int8" and device.type != "cpu":
        raise BlogneoError(f"dtype='int8' is not available on {device.type}: its kernels run on the CPU only. "
                           "Use dtype='auto' (fp16 or bf16 on a GPU).")
    if device.type == "cpu" and dtype in PACKED_ON_CPU and not _fbgemm():
        raise BlogneoError(f"dtype={dtype!r} on the CPU needs PyTorch's fbgemm kernels (x86 CPUs), which this "
                           "build lacks. Use dtype='fp32'.")
    return dtype


def native_bf16(device: torch.device) -> bool:
    """Whether this GPU computes bf16 in hardware (compute capability 8.0 and up).

    ``torch.cuda.is_bf16_supported()`` also says yes where bf16 is only emulated (a T4), which
    is correct but slow; the capability is the hardware's own answer, and the one query a test can
    stand in for on a machine without a GPU.
    """
    return torch.cuda.get_device_capability(device) >= (8, 0)


def _fbgemm() -> bool:
    return any(e in torch.backends.quantized.supported_engines for e in ("x86", "fbgemm"))


def pack_for_cpu(model: torch.nn.Module, precision: str) -> None:
    """Repack every Linear layer's weights, in place, for PyTorch's fbgemm kernels: fp16 or int8.

    PyTorch's own dynamic quantization. Without torch.compile its fbgemm kernels are the fastest
    path on a CPU here: torchao's int8 tensors ran 4-6x slower uncompiled, and compiling
    GPT-Neo-125M with a static cache took 28 s and then decoded slower (docs/measurements.md, "Speed on the CPU").
    """
    from torch.ao.quantization import float16_dynamic_qconfig, per_channel_dynamic_qconfig, quantize_dynamic

    fp16 = precision == "fp16"
    qconfig = float16_dynamic_qconfig if fp16 else per_channel_dynamic_qconfig
    with warnings.catch_warnings():  # torch.ao.quantization says it is moving to torchao; these kernels stay
        warnings.simplefilter("ignore")
        quantize_dynamic(model, {torch.nn.Linear: qconfig}, dtype=torch.float16 if fp16 else torch.qint8,
                         inplace=True)


def is_packed(model: torch.nn.Module) -> bool:
    return any(hasattr(m, "_packed_params") for m in model.modules())


class HalfPrecisionOverflow(Exception):
    """The model's scores overflowed half precision (inf or NaN): raised inside generate, caught by blogneo."""


class FiniteScores(LogitsProcessor):
    """Keeps NaN and +inf scores away from sampling, without a GPU sync a step.

    GPT-Neo in fp16 can overflow at long lengths (transformers issue 11076); ``torch.multinomial``
    would then fail with "probability tensor contains either inf, nan or element < 0" (on CUDA, a
    device-side assert that breaks the session), and greedy decoding would pick garbage silently.
    A row whose scores are not finite is given ``end_token`` instead, so the run ends, and
    ``overflowed`` says so once ``generate`` returns: one check a run, not a sync a step. Only
    installed for a model that really computes in fp16. -inf is fine: it is what top-k and top-p
    write for the tokens they drop, and this runs after them.
    """

    def __init__(self, end_token: int):
        self.end_token = end_token
        self._seen: torch.Tensor | None = None  # rows that overflowed at any step so far, on the model's device

    def __call__(self, input_ids: torch.LongTensor, scores: torch.FloatTensor) -> torch.FloatTensor:
        bad = (torch.isnan(scores) | torch.isposinf(scores)).any(dim=-1, keepdim=True)
        self._seen = bad if self._seen is None else self._seen | bad
        ended = torch.full_like(scores, float("-inf"))
        ended[:, self.end_token] = 0.0
        return torch.where(bad, ended, scores)

    @property
    def overflowed(self) -> bool:
        return self._seen is not None and bool(self._seen.any())


def overflows(model: torch.nn.Module, input_ids: torch.Tensor) -> bool:
    """Whether ``model`` gives any non-finite score for ``input_ids``: the probe right after loading in fp16."""
    with torch.inference_mode():
        return not bool(torch.isfinite(model(input_ids).logits).all())
