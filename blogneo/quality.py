"""Measures of generated text that do not need a model: how much it repeats itself."""

from __future__ import annotations

import re
from collections import Counter

_WORD = re.compile(r"\w+(?:['\u2019]\w+)*")


def ngram_repeats(text: str, n: int = 4) -> int:
    """How many times the most frequent run of ``n`` words occurs in ``text``.

    Words are compared in lower case, ignoring punctuation. 1 means no run of ``n`` words
    repeats; 0 means the text is shorter than ``n`` words. A repetition loop scores high.

    Example:
        >>> ngram_repeats("a tale of love and loss, a tale of love and loss, a tale of love")
        3
    """
    if n < 1:
        raise ValueError(f"n={n} must be at least 1.")
    words = _WORD.findall(text.lower())
    counts = Counter(tuple(words[i:i + n]) for i in range(len(words) - n + 1))
    return max(counts.values(), default=0)
