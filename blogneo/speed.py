"""How fast decoding can be on this machine: memory bandwidth, weight bytes, the roofline.

Writing one token at batch 1 reads every weight of the model once, and does little arithmetic
with each byte. So the speed limit is not the processor but memory: tokens per second can be at
most ``bandwidth / weight bytes``. That limit is the *roofline*. Halving the bytes (fp16, bf16)
or quartering them (int8) raises it; code can only get closer to it.
"""

from __future__ import annotations

import time

import torch

from .loading import LoadedModel

# A fixed English text for perplexity checks: plain, varied prose of about 400 tokens.
REFERENCE_TEXT = (
    "Every autumn the town holds a market in the square by the river. Farmers bring apples, pears and "
    "late tomatoes, and a baker sells bread that is still warm from the oven. Children run between the "
    "stalls while their parents talk about the weather, the harvest and the price of coal. By noon the "
    "square is full, and the smell of roasted chestnuts drifts over the water.\n\n"
    "I started going to the market three years ago, when I moved into a small flat above the bookshop. "
    "At first I only bought what I needed for the week. Then I began to talk to the people behind the "
    "stalls. The woman who grows herbs told me how to keep basil alive through the winter. The old man "
    "who sells honey explained why the colour changes from spring to summer: the bees visit different "
    "flowers as the season turns, and each flower gives the honey its own taste.\n\n"
    "Learning to cook with what is in season changed how I think about food. Instead of following a "
    "recipe and buying everything it asks for, I look at what is fresh and cheap, and I build a meal "
    "around it. Some weeks that means soup, other weeks a salad or a pie. It is cheaper, it wastes less, "
    "and the food tastes better because it was picked a day or two before.\n\n"
    "There are practical lessons too. Bring your own bags, because paper ones tear in the rain. Arrive "
    "early if you want the best fruit, or late if you want a bargain, since many sellers would rather "
    "lower their prices than carry boxes home. Carry some coins, because not every stall takes cards. "
    "Most of all, ask questions. People who grow food are usually glad to explain how they do it, and "
    "you will learn more in ten minutes of conversation than in an hour of reading.\n\n"
    "The market will close for the winter next month. I will miss it, but I already know what I will "
    "do in the spring: find the herb grower, buy a small pot of basil, and try once more to keep it "
    "alive until the first frost."
)


def memory_bandwidth(device: torch.device | str = "cpu", megabytes: int = 256, repeats: int = 5) -> float:
    """Memory bandwidth of ``device`` in bytes per second, measured now (best of ``repeats``).

    On the CPU: summing a buffer far larger than the caches, which reads each byte once, the same
    access pattern as decoding, which reads each weight once per token. On a CUDA GPU: a
    device-to-device copy, counting the bytes read and written (how GPU bandwidth is quoted), with
    a buffer 8x larger so that the GPU's own caches do not flatter it.

    Example:
        >>> memory_bandwidth() > 1e9
        True
    """
    device = torch.device(device)
    if device.type == "cuda":
        source = torch.ones(8 * megabytes * 2**20 // 4, dtype=torch.float32, device=device)
        target = torch.empty_like(source)
        target.copy_(source)
        best = float("inf")
        for _ in range(repeats):
            torch.cuda.synchronize(device)
            started = time.perf_counter()
            target.copy_(source)
            torch.cuda.synchronize(device)
            best = min(best, time.perf_counter() - started)
        return 2 * source.numel() * 4 / best
    buffer = torch.ones(megabytes * 2**20 // 4, dtype=torch.float32)
    buffer.sum()  # touch every page once before timing
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        buffer.sum()
        best = min(best, time.perf_counter() - started)
    return buffer.numel() * 4 / best


def weight_bytes(model: LoadedModel | torch.nn.Module) -> int:
    """Bytes of weights read to decode one token: every weight, once.

    Embedding tables are left out, since a token reads one row of each, unless the output layer
    shares the table (tied weights), which is then read whole to score every word.

    Example:
        >>> weight_bytes(blogneo.load("embedded", dtype="fp32")) / 1e6   # about 4 bytes a parameter
        538.0...
    """
    module = model.model if isinstance(model, LoadedModel) else model
    output = getattr(module.get_output_embeddings(), "weight", None)
    lookups = {id(m.weight) for m in module.modules() if isinstance(m, torch.nn.Embedding) and m.weight is not output}
    return sum(size for tensor, size in _weights(module) if id(tensor) not in lookups)


def roofline(bandwidth: float, model: LoadedModel | torch.nn.Module) -> float:
    """The most tokens per second batch-1 decoding can reach: bandwidth / weight bytes."""
    return bandwidth / weight_bytes(model)


def _weights(module: torch.nn.Module):
    """(tensor, bytes) for every weight once: parameters, and the packed weights of fbgemm Linear layers."""
    seen: set[int] = set()
    for tensor in module.parameters():
        if id(tensor) not in seen:
            seen.add(id(tensor))
            yield tensor, tensor.numel() * tensor.element_size()
    for sub in module.modules():
        packed = getattr(sub, "_packed_params", None)
        if packed is not None and hasattr(packed, "_weight_bias"):
            weight, bias = packed._weight_bias()  # unpacked copies: fp16 comes back as fp32
            stored = 2 if packed.dtype == torch.float16 else weight.element_size()
            yield weight, weight.numel() * stored
            if bias is not None:
                yield bias, bias.numel() * bias.element_size()
