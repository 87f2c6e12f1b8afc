"""Posts per hour for a content calendar: in this process, and on Ray Data with 1 and 2 workers.

Not a test: it takes minutes and its numbers depend on the machine. It writes the same calendar of
ROWS posts (embedded model unless --model, SECTIONS sections of WORDS words) three times into fresh
folders, and prints posts per hour, Ray's start-up time, and an estimate for 300 posts.

    python benchmarks/batch_speed.py [--rows 8] [--sections 2] [--words 60] [--model embedded]
"""

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

import blogneo  # noqa: E402

TOPICS = ["How to store fresh herbs", "Why I read on paper", "My first half marathon", "Reviewing my rice cooker",
          "Five habits for better sleep", "Why every town needs a library", "Learning to swim at forty",
          "How to plan a week of cheap dinners", "Things nobody tells you about owning a dog", "A year without a car"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=8)
    parser.add_argument("--sections", type=int, default=2)
    parser.add_argument("--words", type=int, default=60)
    parser.add_argument("--model", default="embedded")
    args = parser.parse_args()
    folder = Path(tempfile.mkdtemp())
    calendar = folder / "calendar.jsonl"
    calendar.write_text("".join(json.dumps({"topic": t, "sections": args.sections, "words": args.words}) + "\n"
                                for t in (TOPICS * 10)[:args.rows]))
    cpus = os.cpu_count() or 1
    results = {}
    report = blogneo.write_calendar(calendar, folder / "in-process", args.model, progress=False)
    results["in-process"] = report["posts_per_hour"]
    print(f"in-process: {report['written']} posts in {report['seconds']:.0f} s, {report['posts_per_hour']:.1f} "
          "posts an hour", flush=True)

    import ray

    started = time.perf_counter()
    ray.init(num_cpus=cpus, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_PROGRESS_BARS": "1"}})
    startup = time.perf_counter() - started
    print(f"Ray started in {startup:.1f} s", flush=True)
    for workers in (1, 2):
        report = blogneo.write_calendar(calendar, folder / f"ray-{workers}", args.model, ray=True, workers=workers,
                                        cpus_per_worker=cpus / workers, progress=False)
        results[f"ray, {workers} worker{'s' * (workers > 1)}"] = report["posts_per_hour"]
        print(f"ray, {workers} worker(s) of {cpus / workers:g} CPUs: {report['written']} posts in "
              f"{report['seconds']:.0f} s, {report['posts_per_hour']:.1f} posts an hour", flush=True)
    ray.shutdown()
    best = max(results.values())
    print(f"\n{args.rows} rows, {args.sections} sections of {args.words} words, {args.model}, {cpus} CPUs; "
          f"Ray start-up {startup:.1f} s")
    for name, per_hour in results.items():
        print(f"  {name:18} {per_hour:6.1f} posts an hour")
    print(f"Estimate, not measured: 300 such posts take {300 / best:.1f} h here; on N machines like this one, "
          f"about {300 / best:.1f} / N h plus Ray's start-up and each worker's model load.")


if __name__ == "__main__":
    main()
