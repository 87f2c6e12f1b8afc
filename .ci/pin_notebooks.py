"""Pin every notebook's install cell to the blogneo its outputs will come from (`make notebooks` runs it first).

On Colab the install cell installs ``git+REPO_URL@BLOGNEO_COMMIT``: the last commit that changed the
package (blogneo/ or pyproject.toml). So a notebook and the package it was run with never drift apart
when main moves on, and ``blogneo.check_runtime(BLOGNEO_COMMIT)`` says when a runtime has another one.
The package must be committed first: a pin to a commit that lacks what ran would be a lie.

    python .ci/pin_notebooks.py
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[1]
PACKAGE = ["blogneo", "pyproject.toml"]
PIN = re.compile(r'^BLOGNEO_COMMIT = "[0-9a-f]*"', re.M)


def git(*args: str) -> str:
    return subprocess.run(["git", "-C", str(REPO), *args], capture_output=True, text=True, check=True).stdout


def main() -> int:
    if git("status", "--porcelain", "--", *PACKAGE).strip():
        print("pin_notebooks: blogneo/ or pyproject.toml has uncommitted changes. Commit them first, so that "
              "the notebooks can be pinned to the commit they run with.", file=sys.stderr)
        return 1
    commit = git("log", "-1", "--format=%H", "--", *PACKAGE).strip()
    for path in sorted((REPO / "notebooks").glob("*.ipynb")):
        notebook = nbformat.read(path, as_version=4)
        cells = [c for c in notebook.cells if c.cell_type == "code" and PIN.search(c.source)]
        if len(cells) != 1:
            print(f"pin_notebooks: {path.name} needs one install cell with a BLOGNEO_COMMIT line", file=sys.stderr)
            return 1
        cells[0].source = PIN.sub(f'BLOGNEO_COMMIT = "{commit}"', cells[0].source)
        nbformat.write(notebook, path)
    print(f"pin_notebooks: notebooks pinned to blogneo {commit[:10]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
