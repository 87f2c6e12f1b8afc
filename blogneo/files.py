"""Writing the user's files safely: never overwrite, never leave half a file, stay in the folder.

Everything blogneo writes for a user (exported posts, the studio's history) goes through here, and
so does handing a saved file to the browser on Colab, whose files go when its runtime is recycled.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import unicodedata
import warnings
from pathlib import Path

from .errors import BlogneoError

# Names Windows reserves whatever the extension; a post titled "Con" must not become con.md.
_RESERVED = {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}


def slugify(title: str, max_length: int = 60) -> str:
    """A safe file name stem (and URL slug) for ``title``: lower-case ASCII letters, digits and hyphens.

    Path separators, dots and control characters cannot survive, so the result always names a
    file inside the target folder. A long title is cut after its last whole word within
    ``max_length`` characters; only a single word longer than that is cut inside the word.

    Example:
        >>> slugify("Why I bike to work: 5 reasons!")
        'why-i-bike-to-work-5-reasons'
        >>> slugify("../../etc/passwd")
        'etc-passwd'
        >>> slugify("Why I bike to work: five reasons", max_length=20)
        'why-i-bike-to-work'
    """
    ascii_text = unicodedata.normalize("NFKD", str(title)).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if len(slug) > max_length:
        # a hyphen at max_length itself still ends a whole word before it
        end = slug.rfind("-", 0, max_length + 1)
        slug = slug[:end] if end > 0 else slug[:max_length]
    slug = slug.rstrip("-") or "post"
    return f"{slug}-post" if slug in _RESERVED else slug


def write_new(folder: str | os.PathLike, stem: str, text: str, suffix: str = ".md", prefix: str = "") -> Path:
    """Write ``text`` to ``folder/<prefix><slug>.md``, or ``...<slug>-2.md``, ``-3.md``... if that exists.

    ``stem`` is slugified, so whatever it contains the file lands inside ``folder``. ``prefix`` goes
    before the slug as it is (Jekyll's ``2026-05-01-``): lower-case letters, digits and hyphens
    only. An existing file is never overwritten, and the file appears complete or not at all
    (see ``create``).

    Raises:
        BlogneoError: the folder cannot be written (read-only, full, not a folder).
    """
    if not re.fullmatch(r"[a-z0-9-]*", prefix):
        raise ValueError(f"prefix={prefix!r} may hold only lower-case letters, digits and hyphens.")
    folder = Path(folder).expanduser()
    stem = prefix + slugify(stem)
    for n in range(1, 10_000):
        try:
            return create(folder / (f"{stem}{suffix}" if n == 1 else f"{stem}-{n}{suffix}"), text)
        except FileExistsError:
            continue
    raise BlogneoError(f"{folder} already has 10,000 files named {stem}-N{suffix}. Choose another name.")


def on_colab() -> bool:
    """Whether this process is a Colab notebook's kernel, which imports ``google.colab`` as it starts.

    Asked of ``sys.modules``, so nothing is imported: a shell command run from a Colab cell (or
    any process that merely has the package installed) is not a kernel with a browser attached.
    """
    return "google.colab" in sys.modules


def offer_download(path: str | os.PathLike) -> bool:
    """On Colab, hand the file at ``path`` to the browser as a download; elsewhere do nothing. True if offered.

    Colab's files live on a machine that is recycled when the runtime ends, so a post saved
    there alone is lost. Only a Colab kernel has a browser to hand a file to (see ``on_colab``).
    A download that fails is a warning, never an error, since the file itself is saved.

    Example:
        >>> offer_download("posts/why-i-bike-to-work.md")  # not on Colab: nothing happens
        False
    """
    if not on_colab():
        return False
    try:
        from google.colab import files  # the one place blogneo imports Colab's own package

        files.download(str(path))
    except Exception as error:  # noqa: BLE001 - the file is saved; only the browser's copy failed
        warnings.warn(f"Could not offer {path} as a download ({type(error).__name__}: {error}). It is saved on "
                      "this Colab machine only, which is recycled: download it from the Files pane (left).",
                      stacklevel=2)
        return False
    return True


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
