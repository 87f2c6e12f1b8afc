"""Is this Python process ready for blogneo? The one check Colab's install cell needs.

Two things can be wrong after the install cell has run:
- a package that the install upgraded (transformers, torch, ...) was imported before it, and stays
  the old one in memory until the runtime restarts; blogneo would then fail in confusing ways;
- the blogneo installed is not the one the notebook was run with: each install cell pins the
  commit its outputs came from, and a runtime that installed another one earlier keeps it.
Each is said in one line.
"""

from __future__ import annotations

import json
import sys
from importlib import metadata


def stale_packages(names: tuple[str, ...] = ("transformers", "tokenizers", "huggingface_hub", "torch")) -> list[str]:
    """Packages whose version loaded in this process differs from the version installed on disk.

    Example:
        >>> stale_packages()  # nothing was upgraded under this process
        []
    """
    stale = []
    for name in names:
        module = sys.modules.get(name)
        loaded = getattr(module, "__version__", None)
        if loaded is None:
            continue  # not imported yet: the next import reads what is installed
        try:
            installed = metadata.version(name.replace("_", "-"))
        except metadata.PackageNotFoundError:
            continue
        if loaded.split("+")[0] != installed.split("+")[0]:
            stale.append(f"{name} {loaded} (installed now: {installed})")
    return stale


def check_runtime(commit: str | None = None) -> bool:
    """After installing on Colab: True if this process can use blogneo; else one line on what to do.

    Args:
        commit: the blogneo commit the notebook was run with (its install cell's ``BLOGNEO_COMMIT``).
            When the installed blogneo came from another commit, or not from git at all, this says so.

    Example:
        >>> check_runtime()
        True
    """
    stale = stale_packages()
    if stale:
        print(f"blogneo: this runtime still has {', '.join(stale)} loaded from before the install. "
              "Restart it (Runtime > Restart session), then run the notebook again from the top.")
        return False
    installed = installed_commit()
    if commit and installed != commit:
        have = f"commit {installed[:10]}" if installed else "a copy not installed from git"
        print(f"blogneo: this runtime has blogneo from {have}, and this notebook was run with commit "
              f"{commit[:10]}, so outputs may differ from the ones shown. To match them, restart the runtime "
              "(Runtime > Restart session) and run the install cell first.")
        return False
    return True


def installed_commit() -> str | None:
    """The git commit the installed blogneo came from (pip records it), or None if not from git.

    Example:
        >>> installed_commit() is None or len(installed_commit()) == 40
        True
    """
    try:
        recorded = metadata.distribution("blogneo").read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        return None
    try:
        return json.loads(recorded or "{}").get("vcs_info", {}).get("commit_id")
    except ValueError:
        return None
