"""One table from what benchmarks/gpu_check.sh wrote: tests, notebooks, speed and memory on the GPU.

    python benchmarks/gpu_summary.py build/gpu-check

Exits 1 if a test or notebook failed, or an estimate fell short of PyTorch's peak.
"""

from __future__ import annotations

import json
import sys
import xml.etree.ElementTree as ET
from pathlib import Path

from blogneo.display import text_table


def junit(path: Path) -> tuple[str, bool]:
    """'N passed, N failed, N skipped' from a pytest JUnit XML file, and whether nothing failed."""
    if not path.is_file():
        return "not run (see above)", True
    suite = ET.parse(path).getroot()
    suite = suite if suite.tag == "testsuite" else suite[0]
    total, failed = int(suite.get("tests", 0)), int(suite.get("failures", 0)) + int(suite.get("errors", 0))
    skipped = int(suite.get("skipped", 0))
    return f"{total - failed - skipped} passed, {failed} failed, {skipped} skipped", failed == 0


def main(folder: str) -> int:
    out = Path(folder)
    rows = [("check", "result", "goal", "")]
    ok = True
    for name, file in (("tests on CUDA", "tests.xml"), ("notebooks 01-06 on CUDA", "notebooks.xml")):
        result, passed = junit(out / file)
        rows.append((name, result, "none failed",
                     "NOT MET" if not passed else "met" if (out / file).is_file() else "left out"))
        ok &= passed
    bench = json.loads((out / "bench.json").read_text()) if (out / "bench.json").is_file() else {"models": {}}
    for model, entry in bench["models"].items():
        if "speedup_vs_pipeline" in entry:
            goal = 4.0 if model in ("gpt-neo-1.3b-shape", "gpt-neo-2.7b-shape") else None
            rows.append((f"{model}: B / A tokens per s", f"{entry['speedup_vs_pipeline']:.2f}x",
                         f">= {goal:g}x" if goal else "", _met(goal is None or entry["speedup_vs_pipeline"] >= goal)))
        rows.append((f"{model}: 4 candidates / 1", f"{entry['candidates_4_vs_1']:.2f}x", ">= 2.5x",
                     _met(entry["candidates_4_vs_1"] >= 2.5)))
        first = entry["engines"]["B"]["time_to_first_token_s"] * 1000
        rows.append((f"{model}: B first token", f"{first:.0f} ms", "< 50 ms", _met(first < 50)))
    memory = json.loads((out / "memory.json").read_text()) if (out / "memory.json").is_file() else []
    for row in memory:
        rows.append((f"{row['shape']} {row['precision']} {row['run']}: estimate vs peak reserved",
                     f"{row['estimate']} vs {row['peak reserved']}", "estimate >= peak", _met(row["covered"] == "yes")))
        ok &= row["covered"] == "yes"
    profile = json.loads((out / "profile.json").read_text()) if (out / "profile.json").is_file() else None
    if profile:
        ways = ("blogneo", "hf sampled", "hf greedy", "roofline")
        ms = " / ".join(f"{profile['seconds_per_token'][way] * 1000:.2f}" for way in ways)
        rows.append((f"{profile['shape']} ms per token: {' / '.join(ways)}", ms, "", ""))
    for log in sorted(out.glob("*.log")):
        if "stopped after" in log.read_text():
            rows.append((f"{log.stem}: did not finish in its limit", "", "", "NOT MET"))
            ok = False
    if bench["models"]:
        print(f"{bench.get('device_name', '')}: {bench['bandwidth_bytes_per_s'] / 1e9:.0f} GB/s device-to-device")
    print(text_table(rows))
    return 0 if ok else 1


def _met(met: bool) -> str:
    return "met" if met else "NOT MET"


if __name__ == "__main__":
    sys.exit(main(sys.argv[1] if len(sys.argv) > 1 else "build/gpu-check"))
