"""On a CUDA GPU: does blogneo's memory estimate cover what a run really takes?

For GPT-Neo's shapes with random weights (the same memory as the real checkpoints), in the GPU's
default precision, writes ``--candidates`` x ``--tokens`` new tokens through ``blogneo.generate``
and compares PyTorch's peak (what its allocator reserved from the GPU, which is what runs out)
with the estimate the checkpoint table and ``load`` use for that run. The CUDA context is not
counted: ``blogneo.available_memory`` reads free memory after the context exists. Each shape runs
in a process of its own, so no earlier shape's memory is counted in a later one's peak (on an H100,
one process for all three put 2.3 GiB more in the 2.7B shape's peak than a clean run can hold).
After the run the model is dropped, and what PyTorch still holds then is reported too ("left"):
memory a reader who switches models in one notebook would not get back. Prints one table.

    python benchmarks/gpu_memory.py [--candidates 4] [--tokens 1024] [--shapes gpt-neo-1.3b gpt-neo-2.7b]
"""

from __future__ import annotations

import argparse
import gc
import json
import subprocess
import sys
import time
from pathlib import Path

import torch

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # the tiny tokenizer, built offline

import blogneo  # noqa: E402
from blogneo.display import text_table  # noqa: E402
from blogneo.loading import LoadedModel  # noqa: E402
from blogneo.memory import load_footprint  # noqa: E402

PROMPT = "The old lighthouse stood on the rocks above the bay."


def _gib(n: int) -> str:
    return f"{n / 2**30:.2f} GiB"


HEAD = ["shape", "precision", "run", "estimate", "peak allocated", "peak reserved", "covered", "left", "seconds"]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--candidates", type=int, default=4)
    parser.add_argument("--tokens", type=int, default=1024)
    parser.add_argument("--shapes", nargs="+", default=["gpt-neo-125m", "gpt-neo-1.3b", "gpt-neo-2.7b"])
    parser.add_argument("--json", metavar="FILE", help="also write the rows to FILE as JSON")
    parser.add_argument("--one", action="store_true", help=argparse.SUPPRESS)  # one shape, in the child process
    args = parser.parse_args()
    if not torch.cuda.is_available():
        print("no CUDA GPU here: this check is for a GPU machine", file=sys.stderr)
        return 2
    if args.one:
        print(json.dumps(measure(args.shapes[0], args.candidates, args.tokens)))
        return 0
    rows = [HEAD]
    for name in args.shapes:
        command = [sys.executable, __file__, "--one", "--shapes", name, "--candidates", str(args.candidates),
                   "--tokens", str(args.tokens)]
        done = subprocess.run(command, capture_output=True, text=True)
        if done.returncode != 0:
            print(f"{name} failed:\n{done.stderr[-3000:]}", file=sys.stderr)
            return 1
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    print(f"{torch.cuda.get_device_name()}, torch {torch.__version__}")
    print(text_table(rows))
    if args.json:
        Path(args.json).write_text(json.dumps([dict(zip(HEAD, row, strict=True)) for row in rows[1:]], indent=2))
    return 0 if all(r[6] == "yes" for r in rows[1:]) else 1


def random_shape(name: str) -> LoadedModel:
    """GPT-Neo's ``name`` shape with random weights, built on the GPU in its default precision, as CUDA's
    default loads it: the static cache and the compiled step. Its notes are kept quiet."""
    from tiny_gptneo import make_tokenizer
    from transformers import GPTNeoForCausalLM

    device = torch.device("cuda")
    precision = blogneo.resolve_dtype("auto", device)
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}[precision]
    torch.manual_seed(0)
    with torch.device(device):
        net = GPTNeoForCausalLM(blogneo.gpt_neo_config(name)).to(dtype).eval()
    tokenizer = make_tokenizer()
    tokenizer.pad_token, tokenizer.padding_side = tokenizer.eos_token, "left"
    net.generation_config.pad_token_id = net.generation_config.eos_token_id = tokenizer.eos_token_id
    return LoadedModel(name=f"{name}-shape", model=net, tokenizer=tokenizer, source="folder", revision="random",
                       device=device, dtype=dtype, precision=precision, chat=False,
                       shape=blogneo.checkpoint(name).shape, compile=True)


def measure(name: str, candidates: int, tokens: int) -> list[str]:
    """One shape's row: its run through blogneo.generate, PyTorch's peaks, the estimate, and what is left."""
    model = random_shape(name)
    net, tokenizer, precision, checkpoint = model.model, model.tokenizer, model.precision, blogneo.checkpoint(name)
    prompt_tokens = len(tokenizer(PROMPT)["input_ids"])
    torch.cuda.empty_cache()
    torch.cuda.reset_peak_memory_stats()
    started = time.perf_counter()
    blogneo.generate(PROMPT, model=model, seed=0, num_candidates=candidates, max_new_tokens=tokens,
                     min_new_tokens=tokens, temperature=0.9, trim_to_sentence=False,
                     progress=lambda text: None)  # its compile note, not a figure
    seconds = time.perf_counter() - started
    peak, reserved = torch.cuda.max_memory_allocated(), torch.cuda.max_memory_reserved()
    estimate = load_footprint(checkpoint.parameters, precision, "cuda", checkpoint.shape, candidates,
                              prompt_tokens + tokens, static=True)  # the compiled path, as it ran
    del model, net
    gc.collect()
    torch.cuda.empty_cache()
    left = torch.cuda.memory_allocated()
    return [name, precision, f"{candidates} x {prompt_tokens + tokens}", _gib(estimate), _gib(peak), _gib(reserved),
            "yes" if estimate >= reserved else "NO", _gib(left), f"{seconds:.0f}"]


if __name__ == "__main__":
    sys.exit(main())
