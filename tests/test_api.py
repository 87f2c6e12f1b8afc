"""The public surface: `blogneo.<name>` for everything a lesson needs, imported lazily, and docstring
examples that run."""

import doctest
import importlib
import json
import pkgutil
import re
import subprocess
import sys
from pathlib import Path

import pytest

import blogneo

ROOT = Path(__file__).resolve().parents[1]
MODULES = sorted(m.name for m in pkgutil.iter_modules(blogneo.__path__))


def test_every_public_name_resolves_and_is_listed():
    for name in blogneo.__all__:
        assert getattr(blogneo, name) is not None, name
    assert set(blogneo.__all__) <= set(dir(blogneo))
    with pytest.raises(AttributeError, match="no attribute 'nonsense'"):
        blogneo.nonsense  # noqa: B018


def _imports_after(code: str) -> set[str]:
    done = subprocess.run([sys.executable, "-c", code + "\nimport sys; print(' '.join(sys.modules))"],
                          capture_output=True, text=True, timeout=120, cwd=ROOT)
    assert done.returncode == 0, done.stderr[-2000:]
    return set(done.stdout.split())


def test_importing_blogneo_and_its_cli_help_import_neither_torch_nor_transformers():
    help_ = "from blogneo import cli\ntry:\n    cli.main(['--help'])\nexcept SystemExit as e:\n    assert e.code == 0"
    for code in ("import blogneo", help_):
        modules = _imports_after(code)
        assert "torch" not in modules and "transformers" not in modules, code


def test_importing_blogneo_changes_nothing_in_the_environment():
    for module in ("blogneo", "blogneo.bench", "blogneo.cli"):
        code = (f"import os, json\nbefore = dict(os.environ)\nimport {module}\n"
                "print(json.dumps(sorted(set(os.environ.items()) ^ set(before.items()))))")
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT)
        assert done.returncode == 0, done.stderr[-2000:]
        assert json.loads(done.stdout) == [], module


DOCS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


@pytest.mark.parametrize("path", DOCS, ids=lambda p: str(p.relative_to(ROOT)))
def test_the_readme_and_the_docs_use_the_public_api_only(path):
    code = "\n".join(re.findall(r"```python\n(.*?)```", path.read_text(), re.S))
    assert not re.search(r"^\s*(from|import) blogneo\.", code, re.M)
    for imported in re.findall(r"^\s*from blogneo import (.+)$", code, re.M):
        names = {n.strip() for n in imported.split(",")}
        assert names <= set(blogneo.__all__), names - set(blogneo.__all__)
    used = set(re.findall(r"\bblogneo\.(\w+)", code)) - {"__version__"}
    assert used <= set(blogneo.__all__), used - set(blogneo.__all__)


# Modules whose examples write posts or load and read models at length: out of `make test-fast`.
SLOW_EXAMPLES = {"batch", "lens", "loading", "post"}


@pytest.mark.parametrize("module", [pytest.param(m, marks=pytest.mark.slow) if m in SLOW_EXAMPLES else m
                                    for m in MODULES])
def test_every_docstring_example_runs(module, tiny_folder, tiny, embedded, monkeypatch, tmp_path):
    """Each example runs as written, against the tiny GPT-Neo as the default model (so the
    examples that write a post take seconds) and the embedded model where they name it."""
    from blogneo.speed import REFERENCE_TEXT

    monkeypatch.setenv("BLOGNEO_MODEL", str(tiny_folder))
    monkeypatch.chdir(tmp_path)  # examples that save write here
    mod = importlib.import_module(f"blogneo.{module}")
    globs = {**vars(mod), "blogneo": blogneo, "model": tiny, "text": REFERENCE_TEXT,
             "SamplingParams": blogneo.SamplingParams}
    runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    for test in doctest.DocTestFinder(exclude_empty=True).find(mod, mod.__name__, globs=dict(globs)):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{result.failed} of {result.attempted} examples in blogneo.{module} failed (above)"


# CONTRIBUTING.md's "How blogneo is built" order: each module may import only from those before it.
LAYERS = ["errors", "fields", "runtime", "text", "rules", "signal", "defects", "evaluation", "display", "files",
          "markdown", "sampling", "prompts", "precision", "memory", "catalog", "convert", "loading", "examples",
          "generation", "lens", "post", "finetuning", "voice", "batch", "history", "speed", "bench", "session",
          "ui_candidates", "ui_post", "ui_updates", "ui_controls", "ui", "interrupts",
          "ui_gradio", "cli"]


def test_imports_go_one_way_down_the_list_in_contributing():
    contributing = (ROOT / "CONTRIBUTING.md").read_text()
    section = contributing.split("## How blogneo is built", 1)[1].split("\n## ", 1)[0]
    listed = [name for cell in re.findall(r"^\| (`[^|]+`) \|", section, re.M) for name in re.findall(r"`(\w+)`", cell)]
    # __init__ is the public API and __main__ is `python -m blogneo`: entry points, not layers
    assert listed == LAYERS and set(LAYERS) == set(MODULES) - {"__init__", "__main__"}
    for module in LAYERS:
        source = (ROOT / "blogneo" / f"{module}.py").read_text()
        imported = set(re.findall(r"^\s*from (?:\.|blogneo\.)(\w+) import", source, re.M))
        later = {m for m in imported if LAYERS.index(m) >= LAYERS.index(module)}
        assert not later, f"blogneo.{module} imports {later}, which come after it"
