"""Is this Python process ready for blogneo? The one check Colab's install cell needs.

Colab preinstalls transformers 4.x. Installing blogneo upgrades it to 5.x on disk, but a
transformers that this process imported before the upgrade stays the old one in memory until the
runtime restarts, and blogneo would then fail in confusing ways. This says so, in one line.
"""

from __future__ import annotations

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


def check_runtime() -> bool:
    """After installing on Colab: True if this process can use blogneo; else one line on what to do.

    Example:
        >>> check_runtime()
        True
    """
    stale = stale_packages()
    if stale:
        print(f"blogneo: this runtime still has {', '.join(stale)} loaded from before the install. "
              "Restart it (Runtime > Restart session), then run the notebook again from the top.")
        return False
    return True
