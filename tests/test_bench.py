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
