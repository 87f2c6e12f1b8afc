"""The conversion cache: a GGUF file dequantized once into safetensors and a tokenizer, on disk.

Dequantizing takes about 10 s; loading the converted folder takes a second or two. The folder is
marked complete last and renamed into place atomically, one process converts while others wait
(a file lock), and a folder that is incomplete or damaged is rebuilt.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import tempfile
import time
from pathlib import Path

import platformdirs
import torch
from filelock import FileLock
from transformers import AutoModelForCausalLM, AutoTokenizer

CACHE_FORMAT = 1  # bump when the layout of a converted folder changes


def cache_dir() -> Path:
    """Where converted models are kept: $BLOGNEO_CACHE, else the user cache directory."""
    return Path(os.environ.get("BLOGNEO_CACHE") or platformdirs.user_cache_dir("blogneo"))


def converted_folder(gguf: Path) -> tuple[Path, str]:
    """A folder of safetensors and tokenizer converted from ``gguf`` once, and its "sha256:..." revision.

    Dequantizing a GGUF takes about 10 s; loading the converted folder takes a second or two.
    A folder whose marker is missing or does not match (a conversion that was interrupted,
    or a corrupt file) is rebuilt.
    """
    digest = fingerprint([gguf])
    folder = cache_dir() / "gguf" / digest[:16]
    expected = {"format": CACHE_FORMAT, "sha256": digest, "source": gguf.name}
    if not _complete(folder, expected):
        folder.parent.mkdir(parents=True, exist_ok=True)
        # Two processes (two notebooks, two test workers) may start at once: one converts, the
        # other waits for it and then reads the finished folder.
        with FileLock(str(folder) + ".lock"):
            if not _complete(folder, expected):
                _convert(gguf, folder, expected)
    return folder, "sha256:" + digest


def discard(folder: Path) -> None:
    """Remove a converted folder that turned out unreadable, so the next ``converted_folder`` rebuilds it."""
    with FileLock(str(folder) + ".lock"):
        shutil.rmtree(folder, ignore_errors=True)


def _complete(folder: Path, marker: dict) -> bool:
    try:
        return json.loads((folder / "blogneo.json").read_text()) == marker
    except (OSError, ValueError):
        return False


def _convert(gguf: Path, folder: Path, marker: dict) -> None:
    print(f"blogneo: converting {gguf.name} once into {folder} (about 10 s; later loads read this cache)")
    folder.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix=".convert-", dir=folder.parent))
    try:
        with _gguf_parsed_once():
            tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
            model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=torch.float32)
        # Without GGUF matmul kernels transformers has already dequantized every weight;
        # dropping the quantization record lets save_pretrained write plain safetensors.
        if getattr(model, "hf_quantizer", None) is not None:
            model.hf_quantizer.remove_quantization_config(model)
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        (tmp / "blogneo.json").write_text(json.dumps(marker))  # written last: marks a complete folder
        if folder.exists():
            shutil.rmtree(folder)
        os.replace(tmp, folder)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    print(f"blogneo: converted in {time.perf_counter() - started:.0f} s")


@contextlib.contextmanager
def _gguf_parsed_once():
    """Memoise two pure functions of the ``gguf`` package while transformers converts a GGUF file.

    transformers reads the file three times (config, tokenizer, weights) and each read parses
    SmolLM2's 49,152-token vocabulary in Python (about 4.5 s each on a 2-core machine); it also
    builds gguf's tensor-name table once per module (397 times, about 6 s). Both results depend
    only on their arguments, so each is made once: the conversion drops from about 29 s to about
    13 s. transformers imports both names from ``gguf`` when it calls them (checked with
    transformers 5.x and gguf 0.17); if that changes, the conversion is only slower, never wrong.
    """
    import functools

    import gguf

    original_reader, original_map = gguf.GGUFReader, gguf.get_tensor_name_map
    gguf.GGUFReader = functools.lru_cache(maxsize=4)(original_reader)
    gguf.get_tensor_name_map = functools.lru_cache(maxsize=None)(original_map)
    try:
        yield
    finally:
        gguf.GGUFReader, gguf.get_tensor_name_map = original_reader, original_map


def fingerprint(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()
