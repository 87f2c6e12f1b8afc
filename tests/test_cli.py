"""`blogneo` from the terminal: exit codes, one-line errors, files never overwritten.

Bad input runs in-process through `cli.main` (what a subprocess would run, without its 3 s of
imports each); one case, and the commands that write, run as real subprocesses.
"""

import os
import subprocess
import sys

import pytest


def run(*args, cwd=None):
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_PROGRESS_BARS": "1"}
    return subprocess.run([sys.executable, "-m", "blogneo.cli", *map(str, args)], capture_output=True,
                          text=True, env=env, cwd=cwd, timeout=300)


@pytest.mark.slow
def test_write_prints_the_post_and_writes_the_file_once(tiny_folder, tmp_path):
    out = tmp_path / "posts" / "lighthouse.md"
    args = ("write", "The old lighthouse", "--model", tiny_folder, "--temperature", "0",
            "--max-new-tokens", "60", "--out", out)
    first = run(*args)
    assert first.returncode == 0, first.stderr
    assert first.stdout.startswith("# The old lighthouse\n\n")
    assert "tokens/s" in first.stderr
    assert out.read_text().startswith("# The old lighthouse\n\n")
    before = out.read_text()
    again = run(*args)
    assert again.returncode == 2
    assert again.stderr.strip().count("\n") == 0 and "already exists" in again.stderr
    assert out.read_text() == before


BAD_INPUT = [
    (("write", "bread", "--temperature", "-3"), "temperature=-3.0 is out of range"),
    (("write", "bread", "--candidates", "2", "--temperature", "0"), "needs sampling"),
    (("write", "   "), "topic is empty"),
    (("write", "--post", "   "), "topic is empty"),
    (("write", "--post", "bread", "--sections", "0", "--model", "gpt-neo-2.7b"), "--sections 0 is out of range"),
    (("write", "--post", "bread", "--type", "poem", "--model", "gpt-neo-2.7b"), "post_type='poem' is not one"),
    (("write", "--post", "bread", "--words", "5", "--model", "gpt-neo-2.7b"), "words=5 is out of range"),
    (("write", "--post", "bread", "--ban", " ", "--model", "gpt-neo-2.7b"), "banned phrases must be words"),
    (("write", "bread", "--ban", " "), "banned phrases must be words"),
    (("write", "bread", "--model", "gpt-neo-9b"), "Unknown checkpoint 'gpt-neo-9b'"),
    (("write", "bread", "--model", "./no/such/folder"), "No folder at"),
    (("write", "bread", "--temperature", "warm"), "invalid float value"),
    (("write", "bread", "--preset", "wild"), "Unknown preset 'wild'"),
    (("write",), "the following arguments are required: topic"),
    (("app", "--port", "70000"), "--port 70000 is out of range"),
    (("write", "bread", "--examples", "./no/such/posts"), "does not exist"),
    (("finetune", "./no/such/posts", "--out", "voice"), "does not exist"),
    (("finetune", "posts"), "the following arguments are required: --out"),
    (("finetune", ".", "--out", ".", "--model", "gpt-neo-2.7b"), "not empty"),
    (("fly",), "invalid choice"),
]


@pytest.mark.parametrize("args,message", BAD_INPUT)
def test_bad_input_exits_2_with_one_line_before_any_model_loads(args, message, capsys, monkeypatch, tmp_path):
    from blogneo import cli, convert, loading

    def no_loading(*args, **kwargs):
        raise AssertionError("a model was read before the input was checked")

    monkeypatch.setattr(loading, "_read", no_loading)
    monkeypatch.setattr(convert, "_convert", no_loading)
    monkeypatch.setenv("BLOGNEO_CACHE", str(tmp_path / "cache"))
    assert cli.main([str(a) for a in args]) == 2
    err = capsys.readouterr().err
    assert err.startswith("blogneo: error:") and message in err
    assert err.strip().count("\n") == 0 and "Traceback" not in err
    assert not (tmp_path / "cache").exists()  # nothing was converted


@pytest.mark.slow
def test_finetune_then_write_with_the_adapter(tiny_folder, tmp_path):
    posts = tmp_path / "my-blog"
    posts.mkdir()
    for i in range(4):
        (posts / f"{i}.md").write_text(f"---\ntitle: Post {i}\n---\n" + "The kettle sang on Alder Street. " * 20)
    tuned = run("finetune", posts, "--out", tmp_path / "voice", "--model", tiny_folder, "--max-steps", "3",
                "--block-size", "32")
    assert tuned.returncode == 0, tuned.stderr
    assert "validation perplexity" in tuned.stdout and "blogneo write --model" in tuned.stdout
    assert "fine-tuning" in tuned.stderr  # the progress bar and the note, on stderr
    wrote = run("write", "The old lighthouse", "--model", tmp_path / "voice", "--max-new-tokens", "20",
                "--examples", posts)
    assert wrote.returncode == 0, wrote.stderr
    assert wrote.stdout.startswith("# The old lighthouse") and f"model {tmp_path / 'voice'}" in wrote.stderr


@pytest.mark.slow
def test_bad_input_in_a_real_process_on_a_fresh_machine_converts_nothing(tmp_path):
    # A newcomer's machine: an empty cache. The empty topic must be an error at once, not after
    # converting the embedded model (which writes a progress bar and takes half a minute).
    cache = tmp_path / "cache"
    result = subprocess.run([sys.executable, "-m", "blogneo.cli", "write", "   "], capture_output=True, text=True,
                            env={**os.environ, "HF_HUB_OFFLINE": "1", "BLOGNEO_CACHE": str(cache)}, timeout=120)
    assert result.returncode == 2
    assert result.stderr == "blogneo: error: The topic is empty. Say what the post is about, for example " \
                            "'Why I bike to work'.\n"
    assert not cache.exists()


def test_checkpoints_prints_the_table_with_what_fits():
    result = run("checkpoints")
    assert result.returncode == 0, result.stderr
    for name in ("gpt-neo-125m", "gpt-neo-1.3b", "gpt-neo-2.7b", "embedded", "fits here", "fp16/bf16"):
        assert name in result.stdout


@pytest.mark.slow
def test_write_post_saves_markdown_with_front_matter_and_shows_progress(tiny_folder, tmp_path):
    from blogneo.markdown import read

    args = ("write", "--post", "Baking bread", "--sections", "2", "--seed", "7", "--model", tiny_folder,
            "--out", tmp_path / "posts", "--type", "how-to", "--tone", "professional", "--words", "40",
            "--ban", "oven")
    first = run(*args)
    assert first.returncode == 0, first.stderr
    [path] = (tmp_path / "posts").iterdir()
    assert f"wrote {path}" in first.stderr and "2 sections, seed 7" in first.stderr
    assert "step" in first.stderr  # the progress bar over the steps
    meta, body = read(path.read_text())
    assert meta["seed"] == 7 and meta["topic"] == "Baking bread" and body.count("\n## ") == 3  # 2 + Conclusion
    assert (meta["post_type"], meta["tone"], meta["words"]) == ("how-to", "professional", 40)
    assert "oven" in meta["params"]["banned"] and "oven" not in body.lower()
    assert "defect(s)" in first.stderr
    again = run(*args)
    assert again.returncode == 0
    assert sorted(p.read_text() for p in (tmp_path / "posts").iterdir()) == [path.read_text()] * 2  # a new file


def test_write_sends_the_post_alone_to_stdout_and_the_offline_note_to_stderr(embedded, tmp_path, monkeypatch, capsys):
    # `blogneo write "topic" > post.md` on a machine with no GPT-Neo: the library's note that it uses
    # the embedded model instead (on stdout in a notebook, where a cell shows it) must not land in post.md.
    from blogneo import cli, loading

    monkeypatch.delenv("BLOGNEO_MODEL", raising=False)
    monkeypatch.setenv("HF_HOME", str(tmp_path / "hf"))  # GPT-Neo is not cached, and the Hub is offline
    monkeypatch.setattr(loading, "_default_offline_note", loading.threading.Event())
    out = tmp_path / "post.md"
    assert cli.main(["write", "Why I bike to work", "--temperature", "0", "--max-new-tokens", "12",
                     "--out", str(out)]) == 0
    printed = capsys.readouterr()
    assert printed.out == out.read_text()  # stdout is byte for byte the file --out wrote: the post
    assert "blogneo:" not in printed.out
    assert "using the offline 'embedded' model" in printed.err and "tokens/s" in printed.err


@pytest.mark.slow
def test_write_post_prints_exactly_the_markdown_it_saves(tiny_folder, tmp_path, monkeypatch, capsys):
    from blogneo import cli

    monkeypatch.setenv("BLOGNEO_MODEL", str(tiny_folder))
    args = ["write", "--post", "Baking bread", "--sections", "1", "--words", "30", "--seed", "3"]
    assert cli.main(args) == 0
    printed = capsys.readouterr()
    assert cli.main([*args, "--out", str(tmp_path)]) == 0
    [saved] = tmp_path.iterdir()
    assert printed.out == saved.read_text() and printed.out.startswith("---\n")
    assert "blogneo: ready" in printed.err and "defect(s)" in printed.err  # the notes: on stderr


def test_python_m_blogneo_is_the_blogneo_command_and_says_its_version():
    from importlib.metadata import version

    done = subprocess.run([sys.executable, "-m", "blogneo", "--help"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout.startswith("usage: blogneo ") and done.stderr == ""
    assert "checkpoints" in done.stdout and "--version" in done.stdout
    done = subprocess.run([sys.executable, "-m", "blogneo", "--version"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and done.stdout == f"blogneo {version('blogneo')}\n"
