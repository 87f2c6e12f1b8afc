"""The content calendar (blogneo.batch): many posts from a file, resumable, in-process and on Ray Data.

Everything runs on the tiny GPT-Neo, offline. Ray is real: a local Ray started here with two CPUs
and no dashboard, the workers loading the tiny model through blogneo.load.
"""

import json
import os
import random
import signal
import subprocess
import sys
import time

import pytest

import blogneo
from blogneo import ParameterError
from blogneo.batch import REPORT, read_calendar, write_calendar
from blogneo.markdown import read

ROWS = [
    {"topic": "Baking bread", "sections": 1, "words": 30, "seed": 1},
    {"topic": "The old lighthouse", "sections": 1, "words": 30, "post_type": "personal story", "seed": 2},
    {"topic": "Why I bike to work", "sections": 2, "words": 30, "tone": "humorous"},
    {"topic": "Tools every cook should own", "sections": 1, "words": 30, "post_type": "listicle", "seed": 4},
    {"topic": "A week without a phone", "sections": 1, "words": 30, "preset": "precise", "seed": 5},
    {"topic": "Reviewing my kettle", "sections": 1, "words": 30, "post_type": "review", "seed": 6},
]


def calendar(path, rows, kind="jsonl"):
    if kind == "jsonl":
        path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    else:
        columns = sorted({k for r in rows for k in r})
        path.write_text(",".join(columns) + "\n" + "".join(",".join(str(r.get(c, "")) for c in columns) + "\n"
                                                           for r in rows))
    return path


def posts(folder):
    return {p.name: read(p.read_text())[1] for p in sorted(folder.glob("*.md"))}


@pytest.mark.slow
def test_a_calendar_is_written_one_file_a_row_with_a_report(tiny, tmp_path):
    out = tmp_path / "posts"
    report = write_calendar(calendar(tmp_path / "c.csv", ROWS[:3], "csv"), out, tiny, progress=False)
    assert [r["status"] for r in report["rows"]] == ["written"] * 3 and report["written"] == 3
    assert sorted(posts(out)) == ["baking-bread.md", "the-old-lighthouse.md", "why-i-bike-to-work.md"]
    meta, _ = read((out / "the-old-lighthouse.md").read_text())
    assert meta["post_type"] == "personal story" and meta["seed"] == 2 and len(meta["recipe_hash"]) == 16
    saved = json.loads((out / REPORT).read_text())
    assert saved["posts_per_hour"] > 0 and all(v > 0 for v in saved["tokens_per_second_per_worker"].values())
    again = write_calendar(tmp_path / "c.csv", out, tiny, progress=False)  # a second run writes nothing
    assert [r["status"] for r in again["rows"]] == ["skipped"] * 3


@pytest.mark.slow
def test_the_posts_do_not_depend_on_the_order_of_rows(tiny, tmp_path):
    write_calendar(calendar(tmp_path / "a.jsonl", ROWS), tmp_path / "a", tiny, progress=False)
    shuffled = ROWS[:]
    random.Random(3).shuffle(shuffled)
    write_calendar(calendar(tmp_path / "b.jsonl", shuffled), tmp_path / "b", tiny, progress=False)
    assert posts(tmp_path / "a") == posts(tmp_path / "b") and len(posts(tmp_path / "a")) == 6


def test_bad_rows_are_reported_with_their_line_and_the_others_written(tiny, tmp_path):
    rows = [ROWS[0], {"topic": "   ", "sections": 1}, {"topic": "Too long a post", "sections": 99}, ROWS[1]]
    report = write_calendar(calendar(tmp_path / "c.jsonl", rows), tmp_path / "out", tiny, progress=False)
    status = {r["line"]: (r["status"], r["error"]) for r in report["rows"]}
    assert status[1][0] == status[4][0] == "written"
    assert status[2][0] == "failed" and "topic" in status[2][1]
    assert status[3][0] == "failed" and "sections=99" in status[3][1]


def test_an_unknown_column_is_an_error_before_anything_runs(tmp_path):
    path = calendar(tmp_path / "c.csv", [{"topic": "Bread", "colour": "blue", "mood": "calm"}], "csv")
    with pytest.raises(ParameterError, match="columns blogneo does not know: colour, mood"):
        write_calendar(path, tmp_path / "out", "gpt-neo-2.7b")  # cannot be fetched here: nothing may load
    assert not (tmp_path / "out").exists()


def test_a_post_written_by_hand_or_with_another_recipe_is_never_overwritten(tiny, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "baking-bread.md").write_text("My own post about bread.\n")
    report = write_calendar(calendar(tmp_path / "c.jsonl", ROWS[:1]), out, tiny, progress=False)
    assert report["rows"][0]["status"] == "failed" and "kept" in report["rows"][0]["error"]
    assert (out / "baking-bread.md").read_text() == "My own post about bread.\n"


@pytest.mark.slow
def test_a_run_killed_partway_resumes_without_writing_a_row_twice(tiny_folder, tmp_path):
    path = calendar(tmp_path / "c.jsonl", ROWS)
    out = tmp_path / "out"
    command = [sys.executable, "-m", "blogneo.cli", "batch", str(path), "--out", str(out), "--model", str(tiny_folder)]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_PROGRESS_BARS": "1"}
    first = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 240
    while len(list(out.glob("*.md"))) < 2 and time.monotonic() < deadline and first.poll() is None:
        time.sleep(0.05)
    first.send_signal(signal.SIGKILL)  # no chance to clean up
    first.wait()
    done_before = {p.name: p.stat().st_mtime_ns for p in out.glob("*.md")}
    assert 2 <= len(done_before) < 6, "killed partway"
    second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr
    report = json.loads((out / REPORT).read_text())
    status = {r["file"]: r["status"] for r in report["rows"]}
    assert all(status[name] == "skipped" for name in done_before)  # nothing written twice...
    assert {p.name: p.stat().st_mtime_ns for p in out.glob("*.md") if p.name in done_before} == done_before
    assert len(list(out.glob("*.md"))) == 6 and report["written"] == 6 - len(done_before)  # ...every row written
    assert not list(out.glob(".blogneo-*"))  # and no half-written file left behind
    for p in out.glob("*.md"):
        meta, body = read(p.read_text())
        assert meta["recipe_hash"] and body.strip()


@pytest.mark.slow  # starts Ray and two workers
def test_ray_writes_the_same_posts_as_the_in_process_run(tiny, tiny_folder, tmp_path):
    ray = pytest.importorskip("ray", reason="Ray Data is the optional extra blogneo[scale], installed by make setup")
    path = calendar(tmp_path / "c.jsonl", ROWS)
    write_calendar(path, tmp_path / "local", tiny, progress=False)
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False,
             runtime_env={"env_vars": {"HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}})
    try:
        report = write_calendar(path, tmp_path / "ray", str(tiny_folder), ray=True, workers=2, progress=False)
    finally:
        ray.shutdown()
    assert report["engine"] == "ray" and report["written"] == 6, report
    assert len({r["worker"] for r in report["rows"]}) == 2  # two workers, each with its own model
    assert posts(tmp_path / "ray") == posts(tmp_path / "local")


def test_reading_a_calendar_checks_each_row_before_any_model_loads(tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("topic,sections,words,preset,seed\nBread,2,50,balanced,7\nCake,two,50,,\nPie,2,50,wild,\n"
                    "Tart,2,50,,-1\n,2,50,,\n")
    rows, failures = read_calendar(path)
    assert [(r.topic, r.sections, r.seed) for r in rows] == [("Bread", 2, 7)]
    errors = {f["line"]: f["error"] for f in failures}
    assert "sections='two' is not a whole number" in errors[3] and "preset='wild'" in errors[4]
    assert "seed=-1 is out of range" in errors[5] and "topic is empty" in errors[6]
    assert rows[0].recipe()["seed"] == 7 and blogneo.batch.Row(0, "Bread").recipe()["seed"] == \
        blogneo.batch.Row(9, "Bread").recipe()["seed"]  # a seed derived from the recipe, not the line
