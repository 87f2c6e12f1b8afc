"""Writing the user's files safely: never overwrite, never leave half a file, stay in the folder.

Everything blogneo writes for a user (exported posts, the studio's history) goes through here.
"""

from __future__ import annotations

import os
import re
import tempfile
import unicodedata
from pathlib import Path

from .errors import BlogneoError

# Names Windows reserves whatever the extension; a post titled "Con" must not become con.md.
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}


def slugify(title: str, max_length: int = 60) -> str:
    """A safe file name stem for ``title``: lower-case ASCII letters, digits and hyphens.

    Path separators, dots and control characters cannot survive, so the result always names a
    file inside the target folder.

    Example:
        >>> slugify("Why I bike to work: 5 reasons!")
        'why-i-bike-to-work-5-reasons'
        >>> slugify("../../etc/passwd")
        'etc-passwd'
    """
    ascii_text = unicodedata.normalize("NFKD", str(title)).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    slug = slug[:max_length].rstrip("-") or "post"
    return f"{slug}-post" if slug in _RESERVED else slug


def write_new(folder: str | os.PathLike, stem: str, text: str, suffix: str = ".md") -> Path:
    """Write ``text`` to ``folder/<slug>.md``, or ``<slug>-2.md``, ``<slug>-3.md``... if that exists.

    ``stem`` is slugified, so whatever it contains the file lands inside ``folder``. An existing
    file is never overwritten, and the file appears complete or not at all (see ``create``).

    Raises:
        BlogneoError: the folder cannot be written (read-only, full, not a folder).
    """
    folder = Path(folder).expanduser()
    stem = slugify(stem)
    for n in range(1, 10_000):
        try:
            return create(folder / (f"{stem}{suffix}" if n == 1 else f"{stem}-{n}{suffix}"), text)
        except FileExistsError:
            continue
    raise BlogneoError(f"{folder} already has 10,000 files named {stem}-N{suffix}. Choose another name.")


def create(path: str | os.PathLike, text: str) -> Path:
    """Write ``text`` to ``path``, which must not exist yet.

    The text goes to a temporary file in the same folder first and is then hard-linked into
    place, which the OS refuses if ``path`` appeared in the meantime: the file is complete or
    absent, never half-written, and never replaces another.

    Raises:
        FileExistsError: ``path`` exists.
        BlogneoError: the folder cannot be written (read-only, full, not a folder).
    """
    path = Path(path).expanduser()
    _make_folder(path.parent)
    if path.exists():
        raise FileExistsError(path)
    try:
        tmp = _write_temp(path.parent, text)
    except OSError as error:
        raise _file_error(path.parent, error) from error
    try:
        try:
            os.link(tmp, path)
        except FileExistsError:
            raise
        except OSError:  # no hard links here (some network or FUSE folders): exclusive create
            with open(path, "x", encoding="utf-8") as f:
                f.write(text)
        return path.resolve()
    except FileExistsError:
        raise
    except OSError as error:
        raise _file_error(path.parent, error) from error
    finally:
        Path(tmp).unlink(missing_ok=True)


def replace_atomically(path: str | os.PathLike, text: str) -> None:
    """Replace ``path`` with ``text`` so that a crash leaves the old or the new file, never half of one."""
    path = Path(path)
    _make_folder(path.parent)
    try:
        tmp = _write_temp(path.parent, text)
    except OSError as error:
        raise _file_error(path.parent, error) from error
    try:
        os.replace(tmp, path)
    except OSError as error:
        Path(tmp).unlink(missing_ok=True)
        raise _file_error(path.parent, error) from error


def _make_folder(folder: Path) -> None:
    if folder.exists() and not folder.is_dir():
        raise BlogneoError(f"Could not write to {folder}: it is a file, not a folder. Choose another folder.")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise _file_error(folder, error) from error


def _write_temp(folder: Path, text: str) -> str:
    fd, tmp = tempfile.mkstemp(prefix=".blogneo-", suffix=".tmp", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return tmp


def _file_error(folder: Path, error: OSError) -> BlogneoError:
    reason = error.strerror or str(error)
    return BlogneoError(f"Could not write to {folder}: {reason}. Nothing was written; choose another folder "
                        "or free some space.")
