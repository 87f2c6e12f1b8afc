import json
import os

import pytest
import yaml

import blogneo
from blogneo import BlogneoError
from blogneo.files import create, replace_atomically, slugify, write_new
from blogneo.history import Entry, History
from blogneo.markdown import document, read


@pytest.mark.parametrize("title,slug", [
    ("Why I bike to work: 5 reasons!", "why-i-bike-to-work-5-reasons"),
    ("../../etc/passwd", "etc-passwd"),
    ("/absolute/path", "absolute-path"),
    ("C:\\Windows\\system32", "c-windows-system32"),
    ("Café crème", "cafe-creme"),
    ("…", "post"),
    ("", "post"),
    ("CON", "con-post"),
    ("a" * 200, "a" * 60),
])
def test_slugify_makes_a_safe_file_name(title, slug):
    assert slugify(title) == slug


def test_write_new_never_overwrites_and_stays_in_the_folder(tmp_path):
    first = write_new(tmp_path, "../My post", "one")
    second = write_new(tmp_path, "../My post", "two")
    assert first == tmp_path / "my-post.md" and second == tmp_path / "my-post-2.md"
    assert first.read_text() == "one" and second.read_text() == "two"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["my-post-2.md", "my-post.md"]  # no temporary files left


def test_create_refuses_an_existing_file(tmp_path):
    (tmp_path / "a.md").write_text("mine")
    with pytest.raises(FileExistsError):
        create(tmp_path / "a.md", "theirs")
    assert (tmp_path / "a.md").read_text() == "mine"


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders anyway")
def test_a_read_only_folder_is_a_clear_error_and_leaves_nothing(tmp_path):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    try:
        with pytest.raises(BlogneoError, match="Could not write"):
            write_new(folder, "post", "text")
        assert list(folder.iterdir()) == []
    finally:
        folder.chmod(0o700)


def test_a_folder_that_is_a_file_is_a_clear_error(tmp_path):
    (tmp_path / "posts").write_text("not a folder")
    with pytest.raises(BlogneoError, match="Could not write to .*posts"):
        write_new(tmp_path / "posts", "post", "text")


def test_replace_atomically_replaces_whole_files(tmp_path):
    path = tmp_path / "h.json"
    replace_atomically(path, "old")
    replace_atomically(path, "new")
    assert path.read_text() == "new" and [p.name for p in tmp_path.iterdir()] == ["h.json"]


@pytest.mark.parametrize("title", ['Bikes: a love story', 'He said "hi"', "It's --- fine", "---", "# not a comment",
                                   "multi\nline", "yes", "2026-11-25", "null"])
def test_front_matter_round_trips_awkward_titles(title):
    text = document({"title": title, "tags": ["a", "b"]}, "Body text.")
    meta, body = read(text)
    assert meta["title"] == title and body == "Body text.\n"
    assert yaml.safe_load(text.split("---\n")[1])["title"] == title


def _entry(i):
    params = blogneo.SamplingParams(seed=i)
    return Entry(prompt=f"prompt {i}", model="m", preset="balanced", params=params.to_dict(), texts=[f"t{i}"],
                 finish_reasons=["eos"])


def test_history_keeps_the_newest_entries_on_disk(tmp_path):
    history = History(tmp_path / "h.json", limit=3)
    for i in range(5):
        history.add(_entry(i))
    again = History(tmp_path / "h.json", limit=3)
    assert [e.prompt for e in again.entries] == ["prompt 2", "prompt 3", "prompt 4"]
    assert again.entries[-1].sampling_params() == blogneo.SamplingParams(seed=4)
    assert json.loads((tmp_path / "h.json").read_text())["format"] == 2


def test_sampling_params_round_trip_through_to_dict():
    params = blogneo.SamplingParams(stop=("\n\n", "END"), seed=3, temperature=0.4)
    assert blogneo.SamplingParams(**json.loads(json.dumps(params.to_dict()))) == params


def test_a_history_file_from_a_newer_blogneo_is_set_aside_not_misread(tmp_path):
    path = tmp_path / "history.json"
    path.write_text(json.dumps({"format": 3, "entries": [{"something": "new"}]}))
    history = History(path)
    assert history.entries == [] and "format 3" in history.problem and "reads formats 1, 2" in history.problem
    [aside] = tmp_path.glob("history.json.unreadable-*")
    assert json.loads(aside.read_text())["format"] == 3
