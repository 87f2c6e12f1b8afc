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
import re
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
        commit: the blogneo commit the notebook was run with (its install cell's ``BLOGNEO_COMMIT``): a
            full or short commit id, or the tag or branch the install asked for. When the installed blogneo
            came from another commit, or not from git at all, this says so.

    Example:
        >>> check_runtime()
        True
    """
    stale = stale_packages()
    if stale:
        print(f"blogneo: this runtime still has {', '.join(stale)} loaded from before the install. "
              "Restart it (Runtime > Restart session), then run the notebook again from the top.")
        return False
    if commit and not same_commit(commit):
        installed = installed_commit()
        have = f"commit {installed[:10]}" if installed else "a copy not installed from git"
        print(f"blogneo: this runtime has blogneo from {have}, and this notebook was run with {commit[:10]}, "
              "so outputs may differ from the ones shown. To match them, restart the runtime "
              "(Runtime > Restart session) and run the install cell first.")
        return False
    return True


def installed_commit() -> str | None:
    """The git commit the installed blogneo came from (pip records it), or None if not from git.

    Example:
        >>> installed_commit() is None or len(installed_commit()) == 40
        True
    """
    return _vcs_info().get("commit_id")


def same_commit(commit: str) -> bool:
    """Whether the installed blogneo is ``commit``: its full or short id (7 hex digits or more), or the tag or
    branch named when it was installed (pip records what was asked for beside the commit it found).

    Example:
        >>> same_commit("0000000")  # no blogneo installed from that commit
        False
    """
    info = _vcs_info()
    installed = info.get("commit_id") or ""
    if re.fullmatch(r"[0-9a-fA-F]{7,40}", commit) and installed.startswith(commit.lower()):
        return True
    return bool(installed) and info.get("requested_revision") == commit


def _vcs_info() -> dict:
    """What pip wrote of the installed blogneo's git origin (direct_url.json, PEP 610), or {}."""
    try:
        recorded = metadata.distribution("blogneo").read_text("direct_url.json")
    except metadata.PackageNotFoundError:
        return {}
    try:
        info = json.loads(recorded or "{}").get("vcs_info", {})
    except ValueError:
        return {}
    return info if isinstance(info, dict) else {}
