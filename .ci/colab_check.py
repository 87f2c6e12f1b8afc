"""As close to a fresh Colab runtime as this machine allows (`make colab-check`; CI runs it).

1. A new virtual environment with what Colab preinstalls, as far as it is known: torch,
   transformers 4.x, ipywidgets 7.7.1, ipykernel and matplotlib. Python is this machine's (3.11
   here; Colab runs 3.12, which is not available here).
2. The install cell's own commands, read from notebook 01, run in a process that has imported
   Colab's transformers 4 first, as Colab's kernel has. REPO_URL points at this repository's
   committed HEAD (a file:// git URL), as Colab's points at the real one. The cell must upgrade
   transformers to 5.x, and blogneo.check_runtime() must then say in one line to restart.
3. After the "restart" (a new process): check_runtime() passes, and notebooks 01-05 run to the end
   in a kernel of that environment, offline, on the embedded model.

    python .ci/colab_check.py [--keep]       (--keep: leave the environment and outputs in build/colab-check)
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# What Colab preinstalls and the course touches. transformers: the last 4.x, as Colab has shipped.
COLAB = ["torch==2.13.0", "transformers>=4.57,<5", "ipywidgets==7.7.1", "ipykernel", "matplotlib", "nbclient"]
NOTEBOOKS = ["01_setup", "02_loading_checkpoints", "03_sampling_parameters", "04_widget_ui",
             "05_writing_a_full_post"]
OFFLINE = {"HF_HUB_OFFLINE": "1", "HF_HUB_DISABLE_PROGRESS_BARS": "1", "TRANSFORMERS_VERBOSITY": "error",
           "BLOGNEO_MODEL": "embedded"}

# Run by the environment's python: Colab's kernel, which imported transformers 4 before the cell ran.
INSTALL_CELL = r'''
import subprocess, sys, transformers
assert transformers.__version__.startswith("4."), transformers.__version__
for command in sys.argv[1:]:
    subprocess.run([sys.executable, "-m", "pip", *command.split("\x1f")], check=True)
import blogneo
print("check_runtime:", blogneo.check_runtime())
'''


def pip_commands(cell: str, repo_url: str) -> list[list[str]]:
    """The install cell's `%pip install ...` lines as pip arguments, with REPO_URL set to ``repo_url``."""
    commands = []
    for line in cell.splitlines():
        line = line.strip()
        if line.startswith("%pip "):
            words = [w.strip('"').replace("{REPO_URL}", repo_url) for w in line.split()[1:]]
            commands.append(words)
    return commands


def install_cell() -> str:
    notebook = json.loads((REPO / "notebooks" / "01_setup.ipynb").read_text())
    for cell in notebook["cells"]:
        source = "".join(cell["source"])
        if cell["cell_type"] == "code" and "REPO_URL" in source and "%pip install" in source:
            return source
    raise SystemExit("notebook 01 has no install cell")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args()
    work = REPO / "build" / "colab-check" if args.keep else Path(tempfile.mkdtemp(prefix="colab-check-"))
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    started = time.perf_counter()
    try:
        python = str(_environment(work))
        _install(python)
        _restarted(python)
        _notebooks(python, work)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(f"colab-check: passed in {time.perf_counter() - started:.0f} s "
          f"(Python {sys.version_info.major}.{sys.version_info.minor}; Colab runs 3.12)")
    return 0


def _environment(work: Path) -> Path:
    print("colab-check: a fresh environment with Colab's preinstalled packages", flush=True)
    subprocess.run([sys.executable, "-m", "venv", str(work / "venv")], check=True)
    python = work / "venv" / "bin" / "python"
    subprocess.run([str(python), "-m", "pip", "install", "-q", *COLAB], check=True)
    return python


def _install(python: str) -> None:
    commands = pip_commands(install_cell(), f"file://{REPO}")
    if not any("git+file://" in " ".join(c) for c in commands):
        raise SystemExit(f"the install cell's commands do not install from REPO_URL: {commands}")
    print("colab-check: the install cell's commands, in a process that loaded transformers 4:", flush=True)
    for command in commands:
        print("   %pip " + " ".join(command), flush=True)
    done = subprocess.run([python, "-c", INSTALL_CELL, *("\x1f".join(c) for c in commands)],
                          capture_output=True, text=True, env={**os.environ, **OFFLINE})
    if done.returncode != 0:
        raise SystemExit(f"the install cell failed:\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}")
    lines = [line for line in done.stdout.splitlines() if line.startswith("blogneo:")]
    if "check_runtime: False" not in done.stdout or len(lines) != 1 or "Restart" not in lines[0]:
        raise SystemExit(f"check_runtime did not say to restart, in one line:\n{done.stdout[-3000:]}")
    print("   " + lines[0], flush=True)


def _restarted(python: str) -> None:
    check = "import blogneo, transformers, ipywidgets; print(transformers.__version__, ipywidgets.__version__, " \
            "blogneo.check_runtime())"
    done = subprocess.run([python, "-c", check], capture_output=True, text=True, env={**os.environ, **OFFLINE})
    versions = done.stdout.split()
    if done.returncode != 0 or len(versions) != 3 or not versions[0].startswith("5.") or versions[2] != "True":
        raise SystemExit(f"after the restart: {done.stdout}{done.stderr[-3000:]}")
    print(f"colab-check: after the restart, transformers {versions[0]}, ipywidgets {versions[1]}, "
          "check_runtime() True", flush=True)


def _notebooks(python: str, work: Path) -> None:
    run = r'''
import sys, nbformat
from nbclient import NotebookClient
for path, out in zip(sys.argv[1::2], sys.argv[2::2]):
    notebook = nbformat.read(path, as_version=4)
    NotebookClient(notebook, timeout=900, kernel_name="python3", resources={"metadata": {"path": out}}).execute()
    errors = [o for c in notebook.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert not errors, errors
    print("   ran", path.rsplit("/", 1)[-1], flush=True)
'''
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
