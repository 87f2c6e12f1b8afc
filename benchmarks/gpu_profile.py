"""On a CUDA GPU: where a decoded token's time goes, for one GPT-Neo shape (random weights).

The same compiled step (static KV cache, the GPU's default precision) timed four ways, each a
median of three runs of ``--tokens`` forced new tokens at batch 1, after a warm-up:

    blogneo      blogneo.generate with the balanced preset (what B in the benchmark measures)
    hf sampled   transformers' generate with the same knobs and cache, no blogneo around it
    hf greedy    the same without sampling (no temperature, top-k, top-p or penalty processors)
    roofline     the weights read once per token at the GPU's measured copy bandwidth

blogneo - hf sampled is what blogneo adds per token; hf sampled - hf greedy is the sampling
processors; hf greedy - roofline is the compiled step's own cost and generate's loop. With
``--trace`` it also prints PyTorch profiler's top CPU and CUDA ops for one blogneo run.

    python benchmarks/gpu_profile.py [--shape gpt-neo-2.7b] [--tokens 128] [--json FILE]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the tiny tokenizer, built offline

import blogneo  # noqa: E402
from blogneo.display import text_table  # noqa: E402
from blogneo.memory import cache_bucket  # noqa: E402
from blogneo.speed import memory_bandwidth, weight_bytes  # noqa: E402

PROMPT = "Every autumn the town holds a market in the square by the river."


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--shape", default="gpt-neo-2.7b")
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--trace", action="store_true")
    parser.add_argument("--json", metavar="FILE")
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("no CUDA GPU here: this check is for a GPU machine", file=sys.stderr)
        return 2
    from gpu_memory import random_shape  # this folder's own: the same random model on the GPU
    from transformers import GenerationConfig

    device = torch.device("cuda")
    model = random_shape(args.shape)
    net, tokenizer, precision = model.model, model.tokenizer, model.precision
    ids = tokenizer(PROMPT, return_tensors="pt")["input_ids"].to(device)
    n = args.tokens
    cache = cache_bucket(ids.shape[1] + n, model.context_length)

    def hf(sampled: bool):
        knobs = dict(do_sample=True, temperature=0.7, top_k=50, top_p=0.95, repetition_penalty=1.15) \
            if sampled else dict(do_sample=False)
        config = GenerationConfig(max_new_tokens=n, min_new_tokens=n, cache_implementation="static",
                                  max_cache_len=cache, pad_token_id=tokenizer.eos_token_id,
                                  eos_token_id=tokenizer.eos_token_id, **knobs)
        return lambda: net.generate(ids, generation_config=config, attention_mask=torch.ones_like(ids))

    # transformers' own runs first, in this thread; blogneo's then decode on its own thread.
    ways = {
        "hf greedy": hf(False),
        "hf sampled": hf(True),
        "blogneo": lambda: blogneo.generate(PROMPT, model=model, seed=0, max_new_tokens=n, min_new_tokens=n,
                                            trim_to_sentence=False),
    }
    per_token = {}
    with torch.inference_mode():
        for name, run in ways.items():
            run()  # warm-up (the first compiles the step; the others reuse it)
            times = []
            for _ in range(3):
                torch.cuda.synchronize()
                started = time.perf_counter()
                run()
                torch.cuda.synchronize()
                times.append(time.perf_counter() - started)
            per_token[name] = statistics.median(times) / n
    bandwidth = memory_bandwidth("cuda")
    per_token["roofline"] = weight_bytes(model) / bandwidth
    rows = [("way", "ms per token", "tokens/s", "x roofline time")]
    for name, seconds in per_token.items():
        rows.append((name, f"{seconds * 1000:.2f}", f"{1 / seconds:.0f}", f"{seconds / per_token['roofline']:.2f}"))
    print(f"{torch.cuda.get_device_name()}, {args.shape} shape, {precision}, {n} tokens, cache {cache}")
    print(text_table(rows))
    print(f"blogneo adds {1000 * (per_token['blogneo'] - per_token['hf sampled']):.2f} ms per token; "
          f"sampling processors {1000 * (per_token['hf sampled'] - per_token['hf greedy']):.2f} ms; "
          f"the step and generate's loop above the roofline "
          f"{1000 * (per_token['hf greedy'] - per_token['roofline']):.2f} ms")
    if args.trace:
        from torch.profiler import ProfilerActivity, profile

        with profile(activities=[ProfilerActivity.CPU, ProfilerActivity.CUDA]) as prof:
            ways["blogneo"]()
            torch.cuda.synchronize()
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=15))
        print(prof.key_averages().table(sort_by="self_cuda_time_total", row_limit=10))
    if args.json:
        Path(args.json).write_text(json.dumps({"shape": args.shape, "precision": precision, "tokens": n,
                                               "seconds_per_token": per_token}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
