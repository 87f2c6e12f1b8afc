"""As close to a fresh Colab runtime as this machine allows (`make colab-check`; CI runs it).

1. A new virtual environment with what Colab's GPU runtime preinstalls (googlecolab/backend-info,
   2026-08): torch 2.11, transformers 5.15, ipywidgets 7.7.1, accelerate 1.14, peft 0.20 and
   numpy 2.1, on Python 3.13 where this machine has an interpreter for it (it says which it used).
2. Today's runtime: the install cell's own commands, read from notebook 01, run in a process that
   imported Colab's transformers first, as Colab's kernel has. REPO_URL points at this repository
   (a file:// git URL) and BLOGNEO_COMMIT at its HEAD, the code being checked. Nothing Colab
   preinstalled may be replaced, and blogneo.check_runtime(BLOGNEO_COMMIT) must pass at once:
   no restart. Then a runtime that has another blogneo from an earlier commit (an older notebook's
   install): the same cell must replace it, although its version number is the same.
3. Notebooks 01-05 run to the end in a kernel of that environment, offline, on the embedded model.
   Then Colab's Gradio (6.24, with the huggingface-hub it needs, above blogneo's floor): the tutorial's Gradio
   app is built, served, and makes a short run through Gradio's client.
4. An older runtime, with transformers 4.x loaded: the same cell upgrades it, check_runtime() says
   in one line to restart, and after the "restart" (a new process) it passes.

    python .ci/colab_check.py [--keep]       (--keep: leave the environment and outputs in build/colab-check)
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# What Colab's GPU runtime preinstalls and the course touches, at its published versions.
COLAB = ["torch==2.11.0", "transformers==5.15.0", "ipywidgets==7.7.1", "accelerate==1.14.0", "peft==0.20.0",
         "numpy==2.1.3", "ipykernel", "matplotlib", "nbclient",
         # not on Colab's published list: the lowest versions transformers 5.15 can run with, which are blogneo's
         # floors too (pyproject.toml), so that blogneo runs here on the lowest versions it declares. (tokenizers
         # 0.22.0 is transformers 5.15's own floor, but requires huggingface-hub below 1.0, which 5.15 refuses.)
         "tokenizers==0.22.1", "huggingface-hub==1.5.0"]
KEPT = dict(p.split("==") for p in COLAB if "==" in p)  # what the install must leave as it is
# Colab's Gradio, installed after the floors' steps: it needs huggingface-hub 1.16 or later, above blogneo's floor
GRADIO = "gradio==6.24.0"
OLDER = "transformers==4.57.3"  # the last 4.x, as Colab shipped until 2026
COLAB_PYTHON = "3.13"
NOTEBOOKS = ["01_setup", "02_loading_checkpoints", "03_sampling_parameters", "04_widget_ui",
             "05_writing_a_full_post"]
OFFLINE = {"HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_PROGRESS_BARS": "1", "TRANSFORMERS_VERBOSITY": "error",
           "BLOGNEO_MODEL": "embedded"}

# Run by the environment's python: Colab's kernel, which imported its transformers before the cell ran.
INSTALL_CELL = r'''
import subprocess, sys, transformers
loaded = transformers.__version__
commit = sys.argv[1]
for command in sys.argv[2:]:
    subprocess.run([sys.executable, "-m", "pip", *command.split("\x1f")], check=True)
import blogneo
print("loaded transformers", loaded)
print("check_runtime:", blogneo.check_runtime(commit))
'''


def pip_commands(cell: str, repo_url: str, commit: str) -> list[list[str]]:
    """The install cell's `%pip install ...` lines as pip arguments, with REPO_URL and BLOGNEO_COMMIT set."""
    commands = []
    for line in cell.splitlines():
        line = line.strip()
        if line.startswith("%pip "):
            words = [w.strip('"').replace("{REPO_URL}", repo_url).replace("{BLOGNEO_COMMIT}", commit)
                     for w in line.split()[1:]]
            commands.append(words)
    return commands


def install_cell() -> str:
    notebook = json.loads((REPO / "notebooks" / "01_setup.ipynb").read_text())
    for cell in notebook["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] == "code" and "REPO_URL" in source and "%pip install" in source:
            return source
    raise SystemExit("notebook 01 has no install cell")


def colab_python() -> tuple[str, str]:
    """An interpreter of Colab's Python version if this machine has one (on PATH or under pyenv), else this one."""
    candidates = [shutil.which(f"python{COLAB_PYTHON}"),  # on PATH (a pyenv shim there may refuse: tried)
                  *sorted(glob.glob(os.path.expanduser(f"~/.pyenv/versions/{COLAB_PYTHON}.*/bin/python{COLAB_PYTHON}")))]
    for found in filter(None, candidates):
        if subprocess.run([found, "-c", "import venv"], capture_output=True).returncode == 0:
            return found, f"Python {COLAB_PYTHON}, as Colab"
    here = f"{sys.version_info.major}.{sys.version_info.minor}"
    return sys.executable, f"Python {here}: this machine has no Python {COLAB_PYTHON}, which Colab runs"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    work = REPO / "build" / "colab-check" if args.keep else Path(tempfile.mkdtemp(prefix="colab-check-"))
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    started = time.perf_counter()
    head = subprocess.run(["git", "-C", str(REPO), "rev-parse", "HEAD"], capture_output=True, text=True,
                          check=True).stdout.strip()
    base, said = colab_python()
    os.chdir(work)  # not the repository: `import blogneo` there would find its source, not what pip installed
    try:
        python = str(_environment(work, base, said))
        _today(python, head)
        _other_commit(python, head)
        _notebooks(python, work)
        _gradio(python)
        _older(python, head)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(f"colab-check: passed in {time.perf_counter() - started:.0f} s ({said})")
    return 0


def _environment(work: Path, base: str, said: str) -> Path:
    print(f"colab-check: a fresh environment with Colab's preinstalled packages ({said})", flush=True)
    subprocess.run([base, "-m", "venv", str(work / "venv")], check=True)
    python = work / "venv" / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", *COLAB], check=True)
    return python


def _notes(out: str) -> list[str]:
    """The lines blogneo printed to say something is off (check_runtime's advice)."""
    return [line for line in out.splitlines() if line.startswith("blogneo:")]


def _passed_at_once(out: str) -> bool:
    """Whether the install cell's check_runtime() passed with nothing to say: no restart, the right blogneo."""
    return "check_runtime: True" in out and not _notes(out)


def _run_install_cell(python: str, head: str) -> str:
    commands = pip_commands(install_cell(), f"file://{REPO}", head)
    if not any(f"git+file://{REPO}@{head}" in " ".join(c) for c in commands):
        raise SystemExit(f"the install cell's commands do not install REPO_URL at BLOGNEO_COMMIT: {commands}")
    for command in commands:
        print("   %pip " + " ".join(command), flush=True)
    done = subprocess.run([python, "-c", INSTALL_CELL, head, *("\x1f".join(c) for c in commands)],
                          capture_output=True, text=True, env={**os.environ, **OFFLINE})
    if done.returncode != 0:
        raise SystemExit(f"the install cell failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    return done.stdout


def _versions(python: str) -> dict[str, str]:
    code = ("import json, sys; from importlib import metadata; "
            "print(json.dumps({n: metadata.version(n) for n in sys.argv[1:]}))")
    done = subprocess.run([python, "-c", code, *KEPT], capture_output=True, text=True, check=True)
    return json.loads(done.stdout)


def _today(python: str, head: str) -> None:
    print("colab-check: today's runtime: the install cell, in a process that imported Colab's transformers", flush=True)
    out = _run_install_cell(python, head)
    if not _passed_at_once(out):
        raise SystemExit(f"check_runtime() did not pass at once on today's Colab versions:\n{out[-3000:]}")
    changed = {n: v for n, v in _versions(python).items() if v.split("+")[0] != KEPT[n]}
    if changed:
        raise SystemExit(f"the install replaced what Colab preinstalled: {changed} (Colab has {KEPT})")
    print(f"   check_runtime() True, no restart; Colab's {', '.join(f'{n} {v}' for n, v in KEPT.items())} kept",
          flush=True)


# Run by the environment's python: the app on Colab's Gradio, served, and a short text run through its client.
GRADIO_RUN = r'''
import socket, blogneo, gradio
from gradio_client import Client
from blogneo.fields import SLIDERS
with socket.socket() as s:
    s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]
app = blogneo.gradio_app("embedded")
app.queue().launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
knobs = [getattr(blogneo.PRESETS["balanced"], n) for n in SLIDERS]
knobs[SLIDERS.index("max_new_tokens")] = 16
text, status = Client(f"http://127.0.0.1:{port}/", verbose=False).predict(
    "Text", "Write one sentence about tea.", "balanced", 1, 1, 4, "opinion", "friendly", 100, "", *knobs,
    api_name="/run_it")
app.close()
print("gradio", gradio.__version__, "|", status, "|", text[:60])
'''


def _gradio(python: str) -> None:
    version = GRADIO.split("==")[1]
    print(f"colab-check: the Gradio app on Colab's gradio {version}", flush=True)
    subprocess.run([python, "-m", "pip", "install", "-q", GRADIO], check=True)
    done = subprocess.run([python, "-c", GRADIO_RUN], capture_output=True, text=True, env={**os.environ, **OFFLINE})
    last = (done.stdout.strip().splitlines() or [""])[-1]
    if done.returncode != 0 or not last.startswith(f"gradio {version} | finished ("):
        raise SystemExit(f"the Gradio app did not run on Colab's Gradio:\n{done.stdout[-2000:]}\n{done.stderr[-3000:]}")
    print(f"   {last}", flush=True)


def _other_commit(python: str, head: str) -> None:
    package = subprocess.run(["git", "-C", str(REPO), "log", "--format=%H", "--", "blogneo", "pyproject.toml"],
                             capture_output=True, text=True, check=True).stdout.split()
    for other in [c for c in package if c != head][:3]:  # an earlier commit that installs (one may not build)
        installed = subprocess.run([python, "-m", "pip", "install", "-q", "--force-reinstall", "--no-deps",
                                    f"git+file://{REPO}@{other}"], capture_output=True)
        if installed.returncode == 0:
            break
    else:
        raise SystemExit("colab-check: no earlier commit of the package installs (a shallow clone?)")
    print(f"colab-check: a runtime with blogneo from an earlier commit ({other[:10]}): the cell replaces it",
          flush=True)
    before = subprocess.run([python, "-c", "from blogneo.runtime import installed_commit; print(installed_commit())"],
                            capture_output=True, text=True, check=True).stdout.strip()
    if before != other:
        raise SystemExit(f"could not start from blogneo {other[:10]}: {before} is installed")
    out = _run_install_cell(python, head)
    if not _passed_at_once(out):
        raise SystemExit(f"the install cell kept blogneo {other[:10]} instead of {head[:10]}:\n{out[-3000:]}")
    print(f"   blogneo {other[:10]} replaced by {head[:10]}; check_runtime() True", flush=True)


def _older(python: str, head: str) -> None:
    print(f"colab-check: an older runtime, with {OLDER} loaded: the same cell, then a restart", flush=True)
    subprocess.run([python, "-m", "pip", "install", "-q", OLDER], check=True, capture_output=True)
    out = _run_install_cell(python, head)
    notes = _notes(out)
    if "loaded transformers 4." not in out or "check_runtime: False" not in out or len(notes) != 1 \
            or "Restart" not in notes[0]:
        raise SystemExit(f"check_runtime did not say to restart, in one line:\n{out[-3000:]}")
    print("   " + notes[0], flush=True)
    check = ("import sys, blogneo, transformers; print(transformers.__version__, blogneo.check_runtime(sys.argv[1]))")
    done = subprocess.run([python, "-c", check, head], capture_output=True, text=True, env={**os.environ, **OFFLINE})
    versions = done.stdout.split()
    if done.returncode != 0 or len(versions) != 2 or not versions[0].startswith("5.") or versions[1] != "True":
        raise SystemExit(f"after the restart: {done.stdout}{done.stderr[-3000:]}")
    print(f"   after the restart: transformers {versions[0]}, check_runtime() True", flush=True)


def _notebooks(python: str, work: Path) -> None:
    run = r"""
import sys, nbformat
from nbclient import NotebookClient
for path, out in zip(sys.argv[1::2], sys.argv[2::2]):
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=900, kernel_name="python3", resources={"metadata": {"path": out}}).execute()
    errors = [o for c in notebook.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, errors
    print("   ran", path.rsplit("/", 1)[-1], flush=True)
"""
    print("colab-check: notebooks 01-05 in that environment's kernel, offline, on the embedded model", flush=True)
    args = []
    for name in NOTEBOOKS:
        folder = work / name
        folder.mkdir()
        args += [str(REPO / "notebooks" / f"{name}.ipynb"), str(folder)]
    env = {**os.environ, **OFFLINE, "PATH": f"{Path(python).parent}:{os.environ['PATH']}"}
    subprocess.run([python, "-c", run, *args], check=True, env=env)


if __name__ == "__main__":
    sys.exit(main())
