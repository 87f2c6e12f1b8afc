"""A learned signal for meta-talk: whether a sentence speaks to whoever asked for the text, or about the text as a
piece of work, which no list of phrasings captures ("A punchier closer could slot in here if needed").

It reads the embedded model's own hidden states: a sentence's states in three of its layers (the middle, three
quarters up, the last), averaged over its tokens and at its last token, weighed by a logistic regression. The
regression is trained on dev text only (the evaluation set's dev split, the dev half of a second set by other
writers, and text written only to train it: replies and instructions against a human blogger's prose) and shipped as
a small file in the package (``signal.json``: the model's revision, the layers, each feature's mean and scale, the
weights, the threshold), so it loads without a network. It runs with the model it was trained on, the embedded
checkpoint (known by its revision), at any precision; with any other model (GPT-Neo, a base model that is not
instruction-tuned, writes little meta-talk) the phrase rules judge meta-talk alone. The checker runs it on each
sentence of a prose part or description: one forward pass a candidate, its sentences in one batch.

    python -m blogneo.evaluation --train-signal    # retrain from dev, write signal.json (a test checks it is so made)
"""

from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from .text import SENTENCE_END

if TYPE_CHECKING:
    import torch

SIGNAL_FILE = Path(__file__).with_name("signal.json")
TRAINED_ON = ("reply", "instruction")  # the families it learns, against the negatives
MIN_WORDS = 5  # a shorter sentence has too few words to judge ("I like it." is no reply); the rules read those
MAX_TOKENS = 96  # a sentence is read up to this many tokens
BATCH = 16  # sentences a forward pass


def layers_of(model) -> tuple[int, ...]:
    """The hidden states the signal reads (0 is the embeddings): the middle layer, three quarters up, the last."""
    n = model.model.config.num_hidden_layers + 1
    return (n // 2, 3 * n // 4, n - 1)


def features(texts: list[str], model, layers: tuple[int, ...] | None = None) -> torch.Tensor:
    """One row per text: its hidden states in ``layers`` (default ``layers_of(model)``), each averaged over its
    tokens, then each at its last token (which, in a causal model, has read the whole sentence), side by side
    (float64, on the CPU). The last token's states were added to the averages by cross-validation on dev, one
    group of writers held out at a time (figures in docs/quality.md)."""
    import torch

    layers = layers or layers_of(model)
    rows = []
    for start in range(0, len(texts), BATCH):
        # as text a person wrote (prompts.text_ids, which comes later in the package): special tokens stay characters
        ids = [model.tokenizer(t, add_special_tokens=False, split_special_tokens=True)["input_ids"][:MAX_TOKENS] or [0]
               for t in texts[start:start + BATCH]]
        width = max(map(len, ids))
        input_ids = torch.tensor([row + [0] * (width - len(row)) for row in ids], device=model.device)
        mask = torch.tensor([[1] * len(row) + [0] * (width - len(row)) for row in ids], device=model.device)
        with model.lock, torch.inference_mode():
            # no logits but the last position's, no cache: only the hidden states are read
            states = model.model(input_ids=input_ids, attention_mask=mask, output_hidden_states=True,
                                 use_cache=False, logits_to_keep=1).hidden_states
        # pooled in float32 where the model runs (Apple's MPS has no float64), padding left out, not multiplied
        # by 0 (an fp16 inf there would make the sentence NaN)
        keep = mask.bool()[..., None]
        pooled = [torch.where(keep, states[i].float(), 0.0).sum(1) / keep.sum(1) for i in layers]
        last = keep.sum(1)[:, 0] - 1
        pooled += [states[i].float()[torch.arange(len(ids), device=last.device), last] for i in layers]
        rows.append(torch.cat(pooled, -1).cpu().double())
    return torch.cat(rows) if rows else torch.zeros(0, 0, dtype=torch.float64)


def sentences(text: str) -> list[tuple[int, str]]:
    """(start, sentence) for each sentence or line of ``text``, as the signal scores them. Split at every
    ``SENTENCE_END``, list numbers included (not ``text.sentence_ends``): the signal was trained on this split."""
    found, start = [], 0
    for line in re.finditer(r"[^\n]+", text):
        start = line.start()
        ends = [m.end() for m in SENTENCE_END.finditer(line.group(0))]
        last = 0
        for end in ends + ([len(line.group(0))] if not ends or ends[-1] < len(line.group(0)) else []):
            piece = line.group(0)[last:end]
            if piece.strip():
                found.append((start + last + len(piece) - len(piece.lstrip()), piece.strip()))
            last = end
    return found


def judged(text: str) -> list[tuple[int, str]]:
    """The sentences of ``text`` the signal scores: those of at least ``MIN_WORDS`` words."""
    return [(start, s) for start, s in sentences(text) if len(s.split()) >= MIN_WORDS]


@dataclass(frozen=True)
class Signal:
    revision: str  # the model whose hidden states it reads (LoadedModel.revision)
    layers: tuple[int, ...]
    mean: torch.Tensor  # each feature's mean and scale on the training text
    scale: torch.Tensor
    weights: torch.Tensor
    bias: float
    threshold: float  # a score (log-odds): a sentence above it is flagged

    def applies(self, model) -> bool:
        """Whether the signal can read ``model``: the embedded checkpoint it was trained on."""
        return model is not None and getattr(model, "revision", None) == self.revision

    def scores(self, texts: list[str], model) -> list[float]:
        """How likely each text is meta-talk, as log-odds (above ``threshold``: flagged)."""
        if not texts:
            return []
        x = (features(texts, model, self.layers) - self.mean) / self.scale
        return (x @ self.weights + self.bias).tolist()

    def find(self, text: str, model) -> list[tuple[int, str, float]]:
        """(start, sentence, score) for each sentence of ``text`` the signal flags; none if it cannot read
        ``model``."""
        if not self.applies(model):
            return []
        found = judged(text)
        scored = self.scores([s for _, s in found], model)
        return [(start, s, p) for (start, s), p in zip(found, scored, strict=True) if p > self.threshold]


@functools.cache
def load(path: Path = SIGNAL_FILE) -> Signal:
    import torch

    data = json.loads(path.read_text(encoding="utf-8"))

    def tensor(name):
        return torch.tensor(data[name], dtype=torch.float64)

    return Signal(data["revision"], tuple(data["layers"]), tensor("mean"), tensor("scale"), tensor("weights"),
                  data["bias"], data["threshold"])


def fit(x: torch.Tensor, labels: list[int], l2: float) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, float]:
    """(mean, scale, weights, bias) of an L2-regularised logistic regression on standardised ``x``, each class
    weighing the same, by L-BFGS from zero (deterministic: the same data give the same weights)."""
    import torch

    x = x.to(torch.float64)
    y = torch.tensor(labels, dtype=torch.float64)
    mean, scale = x.mean(0), x.std(0) + 1e-6
    z = (x - mean) / scale
    w = torch.zeros(z.shape[1], dtype=torch.float64, requires_grad=True)
    b = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    share = y.mean()
    balance = torch.where(y == 1, 0.5 / share, 0.5 / (1 - share))
    optimiser = torch.optim.LBFGS([w, b], max_iter=500, line_search_fn="strong_wolfe", tolerance_grad=1e-9,
                                  tolerance_change=1e-12)

    def loss():
        optimiser.zero_grad()
        value = (torch.nn.functional.binary_cross_entropy_with_logits(z @ w + b, y, reduction="none")
                 * balance).mean() + 0.5 * l2 * (w * w).sum()
        value.backward()
        return value

    optimiser.step(loss)
    return mean, scale, w.detach(), float(b.detach())
