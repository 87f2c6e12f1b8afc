"""How much memory a model needs, how much is free, and whether it fits: one answer, used everywhere.

Memory is estimated before anything is loaded, so that asking for GPT-Neo-2.7B on a small
machine is refused with numbers instead of killing the process.
"""

from __future__ import annotations

import psutil
import torch

from .errors import NotEnoughMemoryError
from .precision import PACKED_ON_CPU

#: Bytes per parameter for each precision blogneo understands.
BYTES_PER_PARAMETER = {"fp32": 4, "fp16": 2, "bf16": 2, "int8": 1}

# Weights are not all a model needs: activations, the KV cache for a full context and the
# allocator's slack come on top. 20% plus a fixed 256 MiB covers GPT-Neo-2.7B at a 2048-token
# context in fp32 (KV cache 1.3 GB on 10.6 GB of weights) and small models alike.
OVERHEAD_FRACTION = 0.20
OVERHEAD_FIXED = 256 * 2**20


def estimate_memory(parameters: int, dtype: str) -> int:
    """Bytes needed to hold ``parameters`` weights in ``dtype`` and generate with them."""
    weights = parameters * BYTES_PER_PARAMETER[dtype]
    return int(weights * (1 + OVERHEAD_FRACTION)) + OVERHEAD_FIXED


def load_footprint(parameters: int, precision: str, device_type: str = "cpu") -> int:
    """Peak bytes to load ``parameters`` weights in ``precision`` on a device, and generate with them.

    On the CPU, fp16 and int8 weights are packed from fp32 ones after loading (see
    ``blogneo.loading``), so loading them peaks at fp32's size. A GPU loads half precision directly.
    """
    packed = device_type == "cpu" and precision in PACKED_ON_CPU
    return estimate_memory(parameters, "fp32" if packed else precision)


def fits(parameters: int, precision: str, device_type: str, available: int) -> bool:
    """Whether ``parameters`` weights in ``precision`` fit in ``available`` bytes on a device of ``device_type``.

    The one place that answers "does it fit": ``load`` refuses with it, and the checkpoint table
    and the studio's model list show it.

    Example:
        >>> fits(125_198_592, "fp16", "cuda", 2 * 2**30), fits(2_651_307_520, "fp16", "cpu", 8 * 2**30)
        (True, False)
    """
    return load_footprint(parameters, precision, device_type) <= available


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
    """Bytes as GiB with one decimal, as every table and message in blogneo shows them."""
    return f"{n / 2**30:.1f} GiB"


def check_memory(parameters: int, precision: str, device: torch.device, available: int | None = None,
                 alternatives: dict[str, int] | None = None) -> None:
    """Refuse, before loading, a model whose estimated footprint exceeds free memory.

    ``alternatives`` (name -> parameters) are the checkpoints the error may suggest instead.
    """
    need = load_footprint(parameters, precision, device.type)
    have = available_memory(device) if available is None else available
    if need <= have:
        return
    where = "free RAM" if device.type == "cpu" else f"free memory on {device}"
    smaller = [name for name, n in (alternatives or {}).items() if fits(n, precision, device.type, have)]
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
