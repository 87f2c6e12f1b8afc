"""Issue 18's experiment: OpenVINO (optimum-intel's OVModelForCausalLM) under transformers' own generate,
against blogneo's CPU default, on GPT-Neo-125M's shape and the embedded model.

    PYTHONPATH=DIR python benchmarks/openvino_trial.py [--tokens 128] [--repeats 3] [--json FILE]

optimum-intel 2.2 (the newest) requires transformers below 5.6, and blogneo's environment has a
later one, so the OpenVINO side runs with ``PYTHONPATH`` pointing at a folder that holds
optimum-intel, optimum, openvino, nncf and transformers 5.5; blogneo's side runs in the project's
own environment, without that folder. The folder, built with the project's pip:

    pip install --target DIR --no-deps optimum-intel==2.2.0 optimum==2.3.0 openvino==2026.4.1 \
        openvino-tokenizers==2026.4.1.0 openvino-telemetry nncf==3.4.0 transformers==5.5.4 \
        huggingface_hub==1.21.0 tokenizers==0.22.2 ninja pydot pyparsing scikit-learn scipy tabulate \
        joblib threadpoolctl cloudpickle narwhals

Each measurement is a process of its own, as in ``blogneo.bench``, so load times are cold and peak
memory is that engine's alone. ``OV_PRECISION_HINT=f32`` makes OpenVINO compute in f32 (on a CPU
with avx512_bf16 it picks bf16 by itself); docs/measurements.md's table used it.

Rows: B (blogneo's default: fp16 weights packed for fbgemm), OV int8 (weight-only, NNCF's default for
8 bits), OV fp16. Figures: decoding tokens/s at batch 1 (prefill left out), 4 candidates' tokens/s,
time to first token, export time, load time with the export cached, peak memory (VmHWM), and the
perplexity of blogneo.REFERENCE_TEXT against fp32 PyTorch (the guard: within 3%).
"""

from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PROMPT = "Every autumn the town holds a market in the square by the river."
OWN_ENV = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tokens", type=int, default=128)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--models", nargs="+", default=["gpt-neo-125m-shape", "embedded"])
    parser.add_argument("--json", metavar="FILE")
    parser.add_argument("--one", nargs=3, metavar=("ENGINE", "FOLDER", "WORK"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        engine, folder, work = args.one
        run = {"B": blogneo_row, "fp32": fp32_row}.get(engine, ov_row)
        print(json.dumps(run(engine, Path(folder), Path(work), args.tokens, args.repeats)))
        return 0
    report = {}
    with tempfile.TemporaryDirectory() as tmp:
        for model in args.models:
            folder = model_folder(model, Path(tmp))
            rows = {}
            for engine in ("fp32", "B", "ov-int8", "ov-fp16"):
                print(f"  {engine} on {model} ...", file=sys.stderr, flush=True)
                env = OWN_ENV if engine in ("B", "fp32") else os.environ
                command = [sys.executable, __file__, "--one", engine, str(folder), tmp, "--tokens", str(args.tokens),
                           "--repeats", str(args.repeats)]
                done = subprocess.run(command, capture_output=True, text=True, env=env)
                if done.returncode != 0:
                    print(done.stderr[-3000:], file=sys.stderr)
                    return 1
                rows[engine] = json.loads(done.stdout.strip().splitlines()[-1])
            fp32 = rows.pop("fp32")["perplexity"]
            for row in rows.values():
                row["perplexity_vs_fp32"] = row["perplexity"] / fp32 - 1
            report[model] = rows
            if args.json:
                Path(args.json).write_text(json.dumps(report, indent=2))
    print(table(report, args.tokens))
    return 0


def model_folder(model: str, tmp: Path) -> Path:
    """The fp32 safetensors folder every engine starts from (run in blogneo's own environment)."""
    code = ("import sys; from pathlib import Path; from blogneo import bench; "
            "print(bench._model_folder(sys.argv[1], Path(sys.argv[2])))")
    if model.endswith("-shape"):
        code = ("import sys; from pathlib import Path; from blogneo import bench; "
                "f = Path(sys.argv[2]) / sys.argv[1]; bench._build_gpt_neo_shape(f); print(f)")
    done = subprocess.run([sys.executable, "-c", code, model, str(tmp)], capture_output=True, text=True, env=OWN_ENV,
                          check=True)
    return Path(done.stdout.strip().splitlines()[-1])


def blogneo_row(engine: str, folder: Path, work: Path, tokens: int, repeats: int) -> dict:
    import blogneo
    from blogneo.bench import measure

    row = measure("B", folder.name, folder.parent, tokens, repeats)
    row["perplexity"] = blogneo.perplexity(blogneo.REFERENCE_TEXT, blogneo.load(folder))
    return row


def fp32_row(engine: str, folder: Path, work: Path, tokens: int, repeats: int) -> dict:
    import blogneo

    return {"perplexity": blogneo.perplexity(blogneo.REFERENCE_TEXT, blogneo.load(folder, dtype="fp32"))}


def ov_row(engine: str, folder: Path, work: Path, tokens: int, repeats: int) -> dict:
    import torch
    from optimum.intel.openvino import OVModelForCausalLM, OVWeightQuantizationConfig
    from transformers import AutoTokenizer

    exported = work / f"{folder.name}-{engine}"
    started = time.perf_counter()
    if not exported.is_dir():
        if engine == "ov-int8":
            model = OVModelForCausalLM.from_pretrained(folder, export=True, compile=False,
                                                       quantization_config=OVWeightQuantizationConfig(bits=8))
        else:
            model = OVModelForCausalLM.from_pretrained(folder, export=True, compile=False, load_in_8bit=False)
            model.half()
        model.save_pretrained(exported)
        AutoTokenizer.from_pretrained(folder).save_pretrained(exported)
        del model
    export = time.perf_counter() - started
    started = time.perf_counter()
    hint = os.environ.get("OV_PRECISION_HINT")  # e.g. f32: OpenVINO picks bf16 itself on CPUs with avx512_bf16
    model = OVModelForCausalLM.from_pretrained(exported, ov_config={"INFERENCE_PRECISION_HINT": hint} if hint else None)
    tokenizer = AutoTokenizer.from_pretrained(exported)
    load = time.perf_counter() - started
    inputs = tokenizer(PROMPT, return_tensors="pt")
    end = tokenizer.eos_token_id

    def generate(candidates: int, n: int) -> None:
        torch.manual_seed(0)
        model.generate(**inputs, do_sample=True, temperature=0.7, top_k=50, top_p=0.95, repetition_penalty=1.15,
                       max_new_tokens=n, min_new_tokens=n, num_return_sequences=candidates, pad_token_id=end)

    def timed(candidates: int, n: int) -> float:
        begun = time.perf_counter()
        generate(candidates, n)
        return time.perf_counter() - begun

    generate(1, 8)
    first = statistics.median(timed(1, 1) for _ in range(3))
    full = statistics.median(timed(1, tokens) for _ in range(repeats))
    try:
        generate(4, 8)
        four = statistics.median(timed(4, tokens) for _ in range(repeats))
    except RuntimeError as error:  # seen: non-finite probabilities in a batch of 4 (bf16 inference on the CPU)
        print(f"4 candidates failed: {str(error).splitlines()[0]}", file=sys.stderr)
        four = math.inf
    ids = tokenizer(REFERENCE_TEXT(), return_tensors="pt")["input_ids"]
    logits = model(input_ids=ids, attention_mask=torch.ones_like(ids)).logits[0, :-1].float()
    nll = torch.nn.functional.cross_entropy(logits, ids[0, 1:], reduction="mean").item()
    return {"tokens_per_s": (tokens - 1) / max(full - first, 1e-9), "tokens_per_s_4": 4 * tokens / four,
            "precision_hint": precision_hint(model),
            "time_to_first_token_s": first, "export_s": export, "cached_load_s": load, "peak_memory_bytes": vm_hwm(),
            "perplexity": math.exp(nll), "disk_bytes": sum(f.stat().st_size for f in exported.rglob("*.bin"))}


def precision_hint(model) -> str:
    """The precision OpenVINO computes in, as the compiled model reports it."""
    try:
        return str(model.compiled_model.get_property("INFERENCE_PRECISION_HINT"))
    except Exception as error:  # noqa: BLE001 - an experiment's report: say what was not readable
        return f"unknown ({type(error).__name__})"


def REFERENCE_TEXT() -> str:  # noqa: N802 - blogneo's text, read from its source (this process may not import it)
    source = (Path(__file__).resolve().parents[1] / "blogneo" / "speed.py").read_text()
    namespace: dict = {}
    start = source.index("REFERENCE_TEXT = (")
    exec(source[start:source.index(")\n", start) + 2], namespace)  # a plain string literal
    return namespace["REFERENCE_TEXT"]


def vm_hwm() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) * 1024
    return 0


def table(report: dict, tokens: int) -> str:
    head = ("model", "engine", "tok/s", "x B", "4 cand tok/s", "x B", "first token s", "export s", "load s",
            "peak GiB", "ppl vs fp32")
    rows = [head]
    for model, engines in report.items():
        b = engines["B"]
        for engine, r in engines.items():
            rows.append((model, engine, f"{r['tokens_per_s']:.1f}", f"{r['tokens_per_s'] / b['tokens_per_s']:.2f}",
                         f"{r['tokens_per_s_4']:.1f}", f"{r['tokens_per_s_4'] / b['tokens_per_s_4']:.2f}",
                         f"{r['time_to_first_token_s']:.3f}", f"{r.get('export_s', 0):.1f}",
                         f"{r.get('cached_load_s', r.get('cold_load_s', 0)):.2f}",
                         f"{r['peak_memory_bytes'] / 2**30:.2f}", f"{r['perplexity_vs_fp32']:+.2%}"))
    widths = [max(len(str(row[i])) for row in rows) for i in range(len(head))]
    return f"{tokens} tokens a run\n" + "\n".join("  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True))
                                                  for row in rows)


if __name__ == "__main__":
    sys.exit(main())
