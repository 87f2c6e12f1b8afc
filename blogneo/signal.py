"""A learned signal for meta-talk: whether a sentence speaks to whoever asked for the text, or about the text as a
piece of work, which no list of phrasings captures ("Keep me in the loop on how readers respond").

A logistic regression over the sentence's words, word pairs and character n-grams (3 to 5, within words), trained
on the evaluation set's dev split only (replies and instructions against a human blogger's prose) and shipped as a
small file in the package (``signal.json``), so it loads without a network. The checker runs it on each sentence of
a prose part or description; best-of-N runs it on every candidate.

    python -m blogneo.evaluation --train-signal    # retrain from dev, write signal.json (a test checks it is so made)
"""

from __future__ import annotations

import functools
import json
import math
import re
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from .text import SENTENCE_END, normalize

SIGNAL_FILE = Path(__file__).with_name("signal.json")
TRAINED_ON = ("reply", "instruction")  # the families it learns, against the negatives
MIN_WORDS = 5  # a shorter sentence has too few words to judge ("I like it." is no reply); the rules read those
_TOKEN = re.compile(r"[a-z']+|\d+|[^\sa-z\d]")


def features(text: str) -> Counter:
    """The sentence's features: its words ("w:"), word pairs ("b:") and word triples ("t:"), in lower case, as
    ``normalize`` reads them. (Character n-grams were tried too and did worse: see ``SETTINGS``.)

    Example:
        >>> sorted(features("Hope this helps!"))[:3]
        ['b:helps !', 'b:hope this', 'b:this helps']
    """
    words = _TOKEN.findall(normalize(text)[0].lower())
    found = Counter(f"w:{w}" for w in words)
    found.update(f"b:{a} {b}" for a, b in zip(words, words[1:], strict=False))
    found.update(f"t:{a} {b} {c}" for a, b, c in zip(words, words[1:], words[2:], strict=False))
    return found


def sentences(text: str) -> list[tuple[int, str]]:
    """(start, sentence) for each sentence or line of ``text``, as the signal scores them."""
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


@dataclass(frozen=True)
class Signal:
    weights: dict[str, float]
    bias: float
    threshold: float  # a probability: a sentence at or over it is flagged

    def probability(self, sentence: str) -> float:
        """How likely ``sentence`` is meta-talk, from 0 to 1."""
        feats = features(sentence)
        norm = math.sqrt(sum(v * v for v in feats.values())) or 1.0
        z = self.bias + sum(self.weights.get(f, 0.0) * v for f, v in feats.items()) / norm
        return 1 / (1 + math.exp(-max(min(z, 30), -30)))

    def find(self, text: str) -> list[tuple[int, str, float]]:
        """(start, sentence, probability) for each sentence of ``text`` the signal flags."""
        return [(start, s, p) for start, s in sentences(text)
                if len(s.split()) >= MIN_WORDS and (p := self.probability(s)) >= self.threshold]


@functools.cache
def load(path: Path = SIGNAL_FILE) -> Signal:
    data = json.loads(path.read_text(encoding="utf-8"))
    return Signal(data["weights"], data["bias"], data["threshold"])


def fit(texts: list[str], labels: list[int], l2: float = 1e-3, steps: int = 400, rate: float = 2.0,
        min_count: int = 2) -> tuple[dict[str, float], float]:
    """Weights and bias of an L2-regularised logistic regression over ``features``, by full-batch gradient descent
    (deterministic: the same data give the same weights). Features seen in fewer than ``min_count`` texts are
    dropped, so a weight never rests on one example."""
    import numpy as np

    rows = [features(t) for t in texts]
    counts = Counter(f for row in rows for f in row)
    vocabulary = sorted(f for f, c in counts.items() if c >= min_count)
    index = {f: i for i, f in enumerate(vocabulary)}
    x = np.zeros((len(rows), len(vocabulary)))
    for r, row in enumerate(rows):
        for f, v in row.items():
            if f in index:
                x[r, index[f]] = v
    x /= np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-9)
    y = np.asarray(labels, dtype=float)
    w, b = np.zeros(len(vocabulary)), 0.0
    share = y.mean()
    balance = np.where(y == 1, 0.5 / share, 0.5 / (1 - share))  # each class weighs the same
    for _ in range(steps):
        p = 1 / (1 + np.exp(-(x @ w + b)))
        error = (p - y) * balance
        w -= rate * (x.T @ error / len(y) + l2 * w)
        b -= rate * error.mean()
    weights = {f: round(float(v), 4) for f, v in zip(vocabulary, w, strict=True) if abs(v) >= 1e-3}
    return weights, round(float(b), 4)


