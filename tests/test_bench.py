"""The decoding benchmark's machinery, on the tiny GPT-Neo: each engine measured, the report, its table and plot.

Notebook 06 runs the real benchmark (two minutes); nbval skips that cell so that `make test`
stays short, and this checks the same structure its asserts check, in seconds.
"""

import shutil

import pytest

from blogneo import bench


@pytest.fixture(scope="module")
def report(tiny_folder, tmp_path_factory):
    folder = tmp_path_factory.mktemp("bench")
    shutil.copytree(tiny_folder, folder / "tiny")
    rows = {engine: bench.measure(engine, "tiny", folder, tokens=6, repeats=1) for engine in ("A", "B")}
    bandwidth = 20e9
    return {"tokens": 6, "repeats": 1, "bandwidth_bytes_per_s": bandwidth, "threads": 1, "llama_cpp": False,
            "models": {"tiny": bench.model_entry(rows, bandwidth)}}


def test_each_engine_reports_every_figure(report):
    entry = report["models"]["tiny"]
    for row in entry["engines"].values():
        assert row["tokens_per_s"] > 0 and row["tokens_per_s_4"] > 0 and row["time_to_first_token_s"] > 0
        assert row["cold_load_s"] > 0 and row["warm_load_s"] >= 0
        assert row["peak_memory_bytes"] > 2**20 and row["weight_bytes"] > 0
        assert row["roofline_tokens_per_s"] == pytest.approx(20e9 / row["weight_bytes"])
    a, b = entry["engines"]["A"], entry["engines"]["B"]
    assert entry["speedup_vs_pipeline"] == pytest.approx(b["tokens_per_s"] / a["tokens_per_s"])
    assert entry["candidates_4_vs_1"] == pytest.approx(b["tokens_per_s_4"] / b["tokens_per_s"])
    assert b["weight_bytes"] < a["weight_bytes"]  # the tutorial's fp32 against the default's 2-byte weights
    assert b["warm_load_s"] < b["cold_load_s"]  # rerunning the cell that loads: the in-process cache


def test_the_table_and_the_plot_show_every_engine(report):
    table = bench.format_report(report)
    assert "llama.cpp: not installed" in table
    assert "A tutorial pipeline, fp32" in table and "B blogneo default" in table
    assert table.splitlines()[-1].startswith("tiny: B/A ") and "4 candidates/1" in table
    figure = bench.plot_report(report)
    [ax] = figure.axes
    assert len(ax.patches) == 2  # one bar per engine


def test_on_a_gpu_the_benchmark_takes_the_larger_shapes_that_fit(monkeypatch):
    # The one thing a CPU cannot provide is the GPU's free memory, so it is patched: with 8 GiB free,
    # A's fp32 weights for 4 candidates fit for 125M (0.5 GB) and 1.3B (5.3 GB) but not 2.7B (10.6 GB).
    import blogneo.memory

    monkeypatch.setattr(blogneo.memory, "available_memory", lambda device="cpu": 8 * 2**30)
    models = bench._models("cuda")
    assert [m for m in models if m != "embedded"] == ["gpt-neo-125m-shape", "gpt-neo-1.3b-shape"]
    monkeypatch.setattr(blogneo.memory, "available_memory", lambda device="cpu": 80 * 2**30)
    assert "gpt-neo-2.7b-shape" in bench._models("cuda")


def test_a_gpu_report_names_the_gpu_and_its_goals(report):
    gpu = {**report, "device": "cuda", "device_name": "NVIDIA T4",
           "models": {"gpt-neo-1.3b-shape": report["models"]["tiny"]}}
    table = bench.format_report(gpu)
    assert table.startswith("NVIDIA T4: memory bandwidth 20.0 GB/s")
    assert "llama.cpp: not installed" not in table  # llama.cpp is a CPU engine here
    last = table.splitlines()[-1]
    assert last.startswith("gpt-neo-1.3b-shape: B/A ") and "(goal 4x)" in last and "(goal < 50 ms)" in last


def test_the_gpu_checks_summary_is_one_table_that_fails_on_a_failure(report, tmp_path, capsys):
    import importlib.util
    import json
    from pathlib import Path

    path = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_summary.py"
    spec = importlib.util.spec_from_file_location("gpu_summary", path)
    summary = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(summary)
    (tmp_path / "tests.xml").write_text('<testsuites><testsuite tests="10" failures="0" errors="0" skipped="2">'
                                        '</testsuite></testsuites>')
    gpu = {**report, "device": "cuda", "device_name": "NVIDIA T4", "models": {"gpt-neo-1.3b-shape":
                                                                              report["models"]["tiny"]}}
    (tmp_path / "bench.json").write_text(json.dumps(gpu))
    memory = [{"shape": "gpt-neo-1.3b", "precision": "fp16", "run": "4 x 1045", "estimate": "4.48 GiB",
               "peak reserved": "4.04 GiB", "covered": "yes"}]
    (tmp_path / "memory.json").write_text(json.dumps(memory))
    assert summary.main(str(tmp_path)) == 0
    table = capsys.readouterr().out
    assert "8 passed, 0 failed, 2 skipped" in table and "not run" in table  # no notebooks.xml
    assert "gpt-neo-1.3b-shape: B / A tokens per s" in table and ">= 4x" in table
    assert "4.48 GiB vs 4.04 GiB" in table
    (tmp_path / "profile.json").write_text(json.dumps({"shape": "gpt-neo-2.7b", "seconds_per_token": {
        "hf greedy": 0.00479, "hf sampled": 0.00508, "blogneo": 0.00516, "roofline": 0.00179}}))
    assert summary.main(str(tmp_path)) == 0
    assert "5.16 / 5.08 / 4.79 / 1.79" in capsys.readouterr().out  # blogneo / hf sampled / hf greedy / roofline
    (tmp_path / "tests.log").write_text("...\ntests: stopped after 150 s\n")  # a step cut off at its limit
    assert summary.main(str(tmp_path)) == 1
    assert "tests: did not finish in its limit" in capsys.readouterr().out
    (tmp_path / "tests.log").unlink()
    (tmp_path / "tests.xml").write_text('<testsuite tests="10" failures="1" errors="0" skipped="0"></testsuite>')
    assert summary.main(str(tmp_path)) == 1


def test_llama_cpp_column_c_runs_the_embedded_gguf(embedded, tmp_path):
    # Column C needs llama.cpp's prebuilt wheel, which `make bench` installs and `make setup` does not.
    pytest.importorskip("xllamacpp", reason="column C's llama.cpp wheel is installed by `make bench` only")
    row = bench.measure("C", "embedded", tmp_path, tokens=8, repeats=1)
    assert row["tokens_per_s"] > 0 and row["tokens_per_s_4"] > 0
    assert 50e6 < row["weight_bytes"] < 150e6  # the 4-bit GGUF's weights, not fp16's 270 MB
