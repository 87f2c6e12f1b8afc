"""LoRA fine-tuning on the writer's own posts (peft): read, split, check memory, train, stop early, save.

    result = blogneo.finetune(blogneo.sample_blog(), "embedded", out="my-voice")
    model = blogneo.load("my-voice")              # the base model with the adapter applied

Everything that can be wrong with the input (the folder, its files, too little text, an output
folder in use, the memory) is an error before any model loads. Training holds out whole posts to
validate on, evaluates every ``eval_every`` steps, keeps the best adapter and stops once the
validation loss has not improved for ``patience`` evaluations. A kernel interrupt or ``cancel``
stops it within a step, and the best adapter so far is saved whole (written beside the folder,
then renamed into place).

Why the defaults (docs/measurements.md#your-voice has the measurements):
  rank 8, alpha 16    LoRA's usual start: 1.3M trainable numbers on GPT-Neo-125M (1%), 5 MB on disk.
  learning rate 1e-3  with a tenth of the steps warming up and a cosine decay: on the sample blog, 20 steps
                      took the embedded model's validation perplexity to 30.5 at 1e-3 and to 37.6 at 3e-4.
  block 256 tokens    GPT-Neo's local attention window, and about two paragraphs. Against 512 (batch 2, the same
                      tokens a step) on the sample blog: as fast, a slightly larger drop in validation
                      perplexity (16% against 14% in 20 steps), and half the activations' memory.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import shutil
import threading
import time
import warnings
from dataclasses import asdict, dataclass, field
from pathlib import Path

import torch

from .errors import BlogneoError, NotEnoughMemoryError, ParameterError
from .examples import Document, read_posts
from .loading import ADAPTER_FILE, adapter_meta
from .memory import available_memory, format_gib, training_bytes

#: The layers LoRA adapts, by architecture: every projection of attention and of the feed-forward block.
TARGETS = {
    "gpt_neo": ["q_proj", "k_proj", "v_proj", "out_proj", "c_fc", "c_proj"],
    "llama": ["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"],  # the embedded model
}
VALIDATION_SHARE = 0.1  # of the posts, whole, at least one
MIN_POSTS = 2  # one to train on, one to validate on


@dataclass
class Finetuned:
    """What ``finetune`` did: where the adapter is, how it went, and why it stopped."""

    folder: Path
    base: str
    stopped: str  # "finished", "early stop", "cancelled", "interrupted" or "non-finite loss"
    steps: int  # optimizer steps taken
    best_step: int  # the step whose adapter was kept (0: none beat the base model)
    perplexity_before: float  # on the validation posts
    perplexity_after: float  # the kept adapter's
    tokens_per_second: float
    seconds: float
    train_posts: list[str]
    validation_posts: list[str]
    history: list[dict] = field(default_factory=list)  # {"step", "train_loss"} and {"step", "validation_loss"}

    def __repr__(self) -> str:
        return (f"Finetuned({str(self.folder)!r}, {self.stopped} after {self.steps} steps, validation perplexity "
                f"{self.perplexity_before:.1f} -> {self.perplexity_after:.1f} (step {self.best_step}), "
                f"{self.tokens_per_second:,.0f} tokens/s)")

    def plot(self):
        """Training and validation loss over the steps (a matplotlib figure)."""
        import matplotlib.pyplot as plt

        figure, axes = plt.subplots(figsize=(6, 3.2))
        train = [(h["step"], h["train_loss"]) for h in self.history if "train_loss" in h]
        valid = [(h["step"], h["validation_loss"]) for h in self.history if "validation_loss" in h]
        if train:
            axes.plot([s for s, _ in train], [v for _, v in train], label="training", alpha=0.7)
        if valid:
            axes.plot([s for s, _ in valid], [v for _, v in valid], "o-", label="validation")
        axes.axvline(self.best_step, color="grey", linestyle=":", label=f"kept (step {self.best_step})")
        axes.set_xlabel("step")
        axes.set_ylabel("loss (nats a token)")
        axes.legend()
        figure.tight_layout()
        plt.close(figure)
        return figure


def split(documents: list[Document], seed: int = 0) -> tuple[list[Document], list[Document]]:
    """(training, validation): about a tenth of the posts, whole and at least one, held out by a seeded hash."""
    count = max(1, round(len(documents) * VALIDATION_SHARE))
    order = sorted(documents, key=lambda d: hashlib.sha256(f"{seed}:{d.sha256}".encode()).hexdigest())
    held = {id(d) for d in order[:count]}
    return [d for d in documents if id(d) not in held], [d for d in documents if id(d) in held]


def blocks(documents: list[Document], tokenizer, block_size: int, whole: bool = True) -> torch.Tensor | list:
    """The posts' tokens, each post ended by the end-of-text token, joined and cut into ``block_size`` blocks.

    ``whole=True`` (training) drops the last, shorter block and returns one tensor; ``whole=False``
    (validation) keeps it, so every held-out token is scored, and returns a list of tensors. A post's
    text is only text: "<|endoftext|>" typed in it is read as its characters, never as the end.
    """
    from .prompts import text_ids

    ids: list[int] = []
    for d in documents:
        ids += text_ids(tokenizer, d.page) + [tokenizer.eos_token_id]
    cut = [ids[i:i + block_size] for i in range(0, len(ids), block_size)]
    if whole:
        full = [b for b in cut if len(b) == block_size]
        return torch.tensor(full, dtype=torch.long) if full else torch.empty(0, block_size, dtype=torch.long)
    return [torch.tensor(b, dtype=torch.long) for b in cut if len(b) > 1]


def finetune(data, model=None, out: str | os.PathLike = "my-voice", *, epochs: int = 3, max_steps: int | None = None,
             rank: int = 8, alpha: int = 16, learning_rate: float = 1e-3, block_size: int = 256, batch_size: int = 4,
             eval_every: int | None = None, patience: int = 3, seed: int = 0, gradient_checkpointing: bool = False,
             device: str = "auto", progress: bool = True, cancel: threading.Event | None = None,
             available_memory_bytes: int | None = None) -> Finetuned:
    """Train a LoRA adapter on ``data`` (a folder of posts, or texts) for ``model``; save it to ``out``.

    ``blogneo.load(out)`` then loads the base model with the adapter applied, and posts written
    with it name both, by hash. Validation posts are held out whole; the adapter kept is the one
    with the lowest validation loss. ``epochs`` passes over the training posts, or ``max_steps``
    optimizer steps if given. ``eval_every`` defaults to a tenth of the steps.

    Everything is checked before the model's weights load: the output folder, the posts, the
    settings, the memory, and (with the tokenizer alone) that the posts make at least one block.

    Raises:
        BlogneoError: bad data, an output folder that is not empty, an adapter as ``model``.
        NotEnoughMemoryError: the estimate of weights, adapter, optimizer and activations exceeds free memory.
    """
    from .catalog import KNOWN
    from .loading import LoadedModel, _describe, default_spec, read_tokenizer, resolve
    from .precision import resolve_device

    out = Path(out).expanduser()
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise BlogneoError(f"Not saving into {out}: it already exists and is not empty. Choose a new folder, "
                           "so that nothing is overwritten.")
    for name, value, least in (("epochs", epochs, 1), ("rank", rank, 1), ("alpha", alpha, 1),
                               ("block_size", block_size, 16), ("batch_size", batch_size, 1),
                               ("patience", patience, 1), ("max_steps", max_steps, 1), ("eval_every", eval_every, 1)):
        if value is None and name in ("max_steps", "eval_every"):
            continue
        if not isinstance(value, int) or isinstance(value, bool) or value < least:
            raise ParameterError(name, f"{name} must be a whole number of at least {least}; got {value!r}.")
    if not 0 < learning_rate < 1:
        raise ParameterError("learning_rate", f"learning_rate must be between 0 and 1; got {learning_rate!r}.")
    documents = read_posts(data, least=MIN_POSTS, why="fine-tuning holds one out to check it is not just "
                                                      "memorizing; about 20 posts or 10,000 words work well")
    train_docs, valid_docs = split(documents, seed)
    dev = resolve_device(device)
    spec = model.name if isinstance(model, LoadedModel) else model
    spec = default_spec() if spec is None else spec
    source, target = resolve(spec)
    if source == "adapter":
        raise BlogneoError(f"{spec} is a LoRA adapter. Fine-tune its base model ({adapter_meta(target)['base']}) "
                           "instead, into a new folder.")
    if source == "gguf":
        raise BlogneoError(f"{spec} is a GGUF file. Save it as a checkpoint first, blogneo.load(path).save(folder), "
                           "then fine-tune the folder.")
    spec = target if source == "folder" else str(spec)  # recorded so that it resolves from anywhere
    parameters, shape = _describe(source, target)
    known = KNOWN.get(str(spec).lower())
    shape = known.shape if known else shape
    if block_size > shape.context:
        raise ParameterError("block_size", f"block_size={block_size} is longer than {spec}'s {shape.context}-token "
                                           f"context. Use at most {shape.context}.")
    precision = training_precision(dev)
    adapter = lora_parameters(shape, rank, _family(source, target, known))
    need = training_bytes(parameters, adapter, shape, precision, dev.type, batch_size, block_size,
                          gradient_checkpointing)
    have = available_memory(dev) if available_memory_bytes is None else available_memory_bytes
    if need > have:
        raise NotEnoughMemoryError(
            f"Not training: {spec} with batch {batch_size} x {block_size} tokens needs about {format_gib(need)} "
            f"(weights, adapter and optimizer, activations), but only {format_gib(have)} is free"
            f"{'' if dev.type == 'cpu' else f' on {dev}'}. Lower batch_size or block_size, turn on "
            "gradient_checkpointing=True, or fine-tune a smaller checkpoint.")
    tokenizer = read_tokenizer(source, target)  # the tokenizer alone: the posts must make a block
    train, valid = blocks(train_docs, tokenizer, block_size), blocks(valid_docs, tokenizer, block_size, whole=False)
    if len(train) == 0:
        raise BlogneoError(f"The training posts make fewer than {block_size} tokens, one block. Add posts (about "
                           "20 posts or 10,000 words work well), or lower block_size.")
    partial = out.parent / f".{out.name}.partial-{os.getpid()}"
    try:  # the folder the adapter is written into first: a folder that cannot be written fails now, not after training
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
    except OSError as error:
        raise BlogneoError(f"Cannot write the adapter beside {out} ({error}). Choose a folder you can write.") from None
    trainer = _Trainer(spec, source, target, dev, precision, train_docs, valid_docs, out, partial, locals())
    try:
        return trainer.run(train, valid)
    finally:
        shutil.rmtree(partial, ignore_errors=True)  # renamed into place on success; a failure leaves nothing


def training_precision(device: torch.device) -> str:
    """What training computes in: fp32 on a CPU or Apple GPU; on CUDA bf16 where the GPU has it (Ampere on), else
    fp16 with loss scaling (a T4). The base model's weights are held in it; the adapter and its optimizer stay fp32."""
    from .precision import native_bf16

    if device.type != "cuda":
        return "fp32"
    return "bf16" if native_bf16(device) else "fp16"


def _family(source: str, target: str, known) -> str:
    if known is not None:
        return "llama" if known.hub_id is None else "gpt_neo"
    from transformers import AutoConfig

    return AutoConfig.from_pretrained(target).model_type


def lora_parameters(shape, rank: int, family: str) -> int:
    """Trainable numbers in a LoRA adapter of ``rank`` on every targeted layer: rank x (inputs + outputs) each."""
    h, layers = shape.hidden, shape.layers
    if family == "gpt_neo":  # q, k, v, out: h -> h; c_fc: h -> 4h; c_proj: 4h -> h
        per_layer = 4 * (h + h) + (h + 4 * h) * 2
    else:  # q, o: h -> h; k, v: h -> kv; gate, up: h -> ff; down: ff -> h (ff about 8/3 h, SmolLM2's 1,536 for 576)
        ff = shape.intermediate or 4 * h
        per_layer = 2 * (h + h) + 2 * (h + shape.kv_width) + 3 * (h + ff)
    return rank * per_layer * layers


class _Trainer:
    """One training run: set up from ``finetune``'s checked arguments, then ``run``."""

    def __init__(self, spec, source, target, dev, precision, train_docs, valid_docs, out, partial, args):
        self.spec, self.source, self.target, self.dev, self.precision = spec, source, target, dev, precision
        self.train_docs, self.valid_docs, self.out, self.partial, self.args = train_docs, valid_docs, out, partial, args
        self.cancel = args["cancel"] or threading.Event()

    def run(self, train: torch.Tensor, valid: list[torch.Tensor]) -> Finetuned:
        # the seeds make the run reproducible without changing the caller's own random state
        with torch.random.fork_rng(devices=[self.dev] if self.dev.type == "cuda" else []):
            return self._run(train, valid)

    def _run(self, train: torch.Tensor, valid: list[torch.Tensor]) -> Finetuned:
        from peft import LoraConfig, get_peft_model
        from transformers import get_cosine_schedule_with_warmup

        from .loading import _read

        a = self.args
        torch.manual_seed(a["seed"])
        # The weights are held in the precision training computes in, with no autocast: under autocast GPT-Neo's
        # attention, which moves its query and key to fp32 on purpose, would multiply them in fp16 again.
        dtype = {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[self.precision]
        base, _, revision = _read(self.source, self.target, dtype)
        config = LoraConfig(r=a["rank"], lora_alpha=a["alpha"], lora_dropout=0.05, task_type="CAUSAL_LM",
                            target_modules=TARGETS.get(base.config.model_type))
        torch.manual_seed(a["seed"])  # the adapter's initial weights
        with warnings.catch_warnings():  # peft asks transformers with a name 5.x deprecates (a FutureWarning)
            warnings.simplefilter("ignore", FutureWarning)
            model = get_peft_model(base.to(self.dev), config)  # the adapter in fp32, whatever the base's precision
        if a["gradient_checkpointing"]:
            model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
            model.enable_input_require_grads()
        per_epoch = math.ceil(len(train) / a["batch_size"])
        total = a["max_steps"] or a["epochs"] * per_epoch
        every = a["eval_every"] or max(1, total // 10)
        trainable = [p for p in model.parameters() if p.requires_grad]
        optimizer = torch.optim.AdamW(trainable, lr=a["learning_rate"], weight_decay=0.0)
        schedule = get_cosine_schedule_with_warmup(optimizer, math.ceil(total * 0.1), total)
        scaler = torch.amp.GradScaler(self.dev.type, enabled=self.precision == "fp16")
        order = torch.Generator().manual_seed(a["seed"])

        history: list[dict] = []
        best_loss = before = self._evaluate(model, valid)
        best_step, best = 0, self._adapter_state(model)
        history.append({"step": 0, "validation_loss": best_loss})
        stopped = "finished" if math.isfinite(before) else "non-finite loss"
        step, worse, tokens, started = 0, 0, 0, time.perf_counter()
        bar = _bar(total, a["progress"])
        try:
            while step < total and stopped == "finished":
                for index in torch.randperm(len(train), generator=order).split(a["batch_size"]):
                    if step >= total:
                        break
                    if self.cancel.is_set():
                        stopped = "cancelled"
                        break
                    batch = train[index].to(self.dev)
                    model.train()
                    loss = model(input_ids=batch, labels=batch).loss
                    if not torch.isfinite(loss):
                        stopped = "non-finite loss"
                        break
                    scale = scaler.get_scale() if scaler.is_enabled() else 1.0
                    scaler.scale(loss).backward()
                    scaler.step(optimizer)
                    scaler.update()
                    optimizer.zero_grad(set_to_none=True)
                    if not scaler.is_enabled() or scaler.get_scale() >= scale:  # a step loss scaling skipped is
                        schedule.step()                                     # no step of the schedule's either
                    step += 1
                    tokens += batch.numel()
                    value = loss.item()
                    history.append({"step": step, "train_loss": value})
                    bar.update(1)
                    bar.set_postfix(loss=f"{value:.3f}", best=f"{best_loss:.3f}", refresh=False)
                    if step % every == 0 or step == total:
                        current = self._evaluate(model, valid)
                        history.append({"step": step, "validation_loss": current})
                        if not math.isfinite(current):
                            stopped = "non-finite loss"
                            break
                        if current < best_loss:
                            best_loss, best_step, best, worse = current, step, self._adapter_state(model), 0
                        else:
                            worse += 1
                            if worse >= a["patience"]:
                                stopped = "early stop"
                                break
        except KeyboardInterrupt:
            stopped = "interrupted"
        finally:
            bar.close()
        seconds = time.perf_counter() - started
        _set_adapter_state(model, best)
        result = Finetuned(
            folder=self.out.resolve(), base=self.spec, stopped=stopped, steps=step, best_step=best_step,
            perplexity_before=_perplexity(before), perplexity_after=_perplexity(best_loss),
            tokens_per_second=tokens / seconds if seconds > 0 else 0.0, seconds=seconds,
            train_posts=[d.name for d in self.train_docs], validation_posts=[d.name for d in self.valid_docs],
            history=history)
        self._save(model, revision, result)
        print(f"blogneo: {_said(result, every, a['patience'])}")
        return result

    def _evaluate(self, model, valid: list[torch.Tensor]) -> float:
        """Mean loss a token over every held-out token."""
        model.eval()
        total, count = 0.0, 0
        with torch.no_grad():
            for block in valid:
                ids = block[None].to(self.dev)
                loss = model(input_ids=ids, labels=ids).loss
                total += float(loss) * (ids.shape[1] - 1)
                count += ids.shape[1] - 1
        return total / count

    @staticmethod
    def _adapter_state(model) -> dict:
        from peft import get_peft_model_state_dict

        return {k: v.detach().to("cpu", copy=True) for k, v in get_peft_model_state_dict(model).items()}

    def _save(self, model, revision: str, result: Finetuned) -> None:
        """peft's adapter files and blogneo's own, written beside ``out`` and renamed into place whole."""
        model.save_pretrained(self.partial)
        (self.partial / "README.md").unlink(missing_ok=True)  # peft's model card: no post, and no use here
        a = self.args
        settings = {k: a[k] for k in ("epochs", "max_steps", "rank", "alpha", "learning_rate", "block_size",
                                      "batch_size", "eval_every", "patience", "seed", "gradient_checkpointing")}
        meta = {"base": self.spec, "base_revision": revision, "precision": self.precision, "settings": settings,
                "data": [{"name": d.name, "sha256": d.sha256, "split": split_name}
                         for split_name, docs in (("train", self.train_docs), ("validation", self.valid_docs))
                         for d in docs],
                "result": {k: v for k, v in asdict(result).items() if k not in ("folder", "history")},
                "history": result.history}
        (self.partial / ADAPTER_FILE).write_text(json.dumps(meta, indent=1, default=str) + "\n", encoding="utf-8")
        if self.out.exists():
            self.out.rmdir()  # checked empty before training
        os.replace(self.partial, self.out)


def _perplexity(loss: float) -> float:
    return math.exp(loss) if math.isfinite(loss) and loss < 700 else math.inf


def _set_adapter_state(model, state: dict) -> None:
    from peft import set_peft_model_state_dict

    set_peft_model_state_dict(model, state)


def _said(result: Finetuned, every: int, patience: int) -> str:
    why = {"finished": "finished", "cancelled": "cancelled",
           "interrupted": "interrupted",
           "early stop": f"stopped early: the validation loss had not improved for {patience} evaluations in a row "
                         f"(one every {every} steps)",
           "non-finite loss": "stopped: the loss became NaN or infinite (GPT-Neo in fp16 overflows at long blocks). "
                              "Lower learning_rate or block_size, or train on a GPU with bf16"}[result.stopped]
    return (f"fine-tuning {why} at step {result.steps}; kept the adapter of step {result.best_step} in "
            f"{result.folder} (validation perplexity {result.perplexity_before:.1f} -> {result.perplexity_after:.1f}).")


def _bar(total: int, show: bool):
    from tqdm.auto import tqdm

    return tqdm(total=total, desc="fine-tuning", unit="step", disable=not show)


def sample_blog() -> Path:
    """The folder of the course's sample blog: 20 posts by one invented writer, the stand-in for yours.

    Kettle and Cobbles, by Ros Amery: British spelling, short paragraphs, streets of her neighbourhood
    by name, and one sign-off line. ``blogneo.voice_markers`` measures those habits in any text.
    """
    return Path(__file__).parent / "sample_blog"


__all__ = ["Finetuned", "TARGETS", "blocks", "finetune", "sample_blog", "split"]
