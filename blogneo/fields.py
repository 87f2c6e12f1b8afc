"""The one table of sampling fields: name, type, range, help, and the studio's narrower slider range.

``SamplingParams`` validates its fields against it and lists them in its docstring from it; the
studio's sliders take their bounds and steps from it; ``blogneo write`` takes its flags from it.
So a range is written once. It imports nothing heavy: the CLI reads it before torch loads.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from .errors import ParameterError

MAX_SEED = 2**32 - 1
MAX_CANDIDATES = 16


@dataclass(frozen=True)
class Field:
    """One sampling field. ``low``/``high`` bound a number (``high`` None: no fixed bound, the model's context
    decides); ``allowed`` is how the range reads in an error; ``slider`` the studio's (low, high, step), narrower
    where the full range is of no use in a slider (``doc`` says so), and None for no slider."""

    name: str
    kind: str  # "int", "float", "bool" or "text" (strings, or a list of them)
    help: str
    allowed: str = ""
    low: float | None = None
    high: float | None = None
    above_low: bool = False  # (low, high]
    below_high: bool = False  # [low, high)
    optional: bool = False  # None is allowed
    at_most: str = ""  # another field whose value bounds this one from above
    unset: str = ""  # what None means, for an optional field whose ``allowed`` does not say
    slider: tuple | None = None
    label: str = ""  # the slider's label
    flag: bool = False  # a `blogneo write` flag of its own

    def check(self, value, high: float | None = None) -> None:
        """Raise a ParameterError naming the field when ``value`` is not allowed; ``high`` overrides the table's."""
        if value is None and self.optional:
            return
        high = self.high if high is None else high
        if self.kind == "int" and (isinstance(value, bool) or not isinstance(value, int)):
            raise ParameterError(self.name, f"{self.name}={value!r} must be a whole number, {self.range}.")
        if self.kind == "float" and (isinstance(value, bool) or not isinstance(value, (int, float))):
            raise ParameterError(self.name, f"{self.name}={value!r} must be a number, {self.range}.")
        if self.kind == "bool" and not isinstance(value, bool):
            raise ParameterError(self.name, f"{self.name}={value!r} must be True or False.")
        if self.kind in ("int", "float"):
            out = (isinstance(value, float) and math.isnan(value)) or value < self.low or \
                (high is not None and value > high) or (self.above_low and value == self.low) or \
                (self.below_high and value == high)
            if out:
                raise ParameterError(self.name, f"{self.name}={value} is out of range: use {self.range}.")

    @property
    def range(self) -> str:
        """The allowed values as an error and the docstring say them."""
        return f"{self.allowed}, or None: {self.unset}" if self.unset else self.allowed

    @property
    def doc(self) -> str:
        """The field's line in ``SamplingParams``' docstring: its help, its range, and the studio's narrower one."""
        bracket = f" [{self.range}]" if self.range else ""
        narrower = self.slider and self.high is not None and self.slider[1] < self.high
        studio = f" The studio's slider stops at {self.slider[1]:g}." if narrower else ""
        return f"{self.name}: {self.help}{bracket}.{studio}"


FIELDS = (
    Field("max_new_tokens", "int", "tokens to generate at most; the model's context bounds it", "at least 1", 1,
          slider=(8, 1024, 8), label="max new tokens", flag=True),
    Field("min_new_tokens", "int", "tokens to generate before end-of-text may stop the run", "up to max_new_tokens",
          0, at_most="max_new_tokens"),
    Field("temperature", "float", "0 is greedy (always the likeliest token); higher is more adventurous",
          "from 0 (greedy) to 5", 0, 5, slider=(0.0, 2.0, 0.05), label="temperature", flag=True),
    Field("top_k", "int", "sample only from the k likeliest tokens; 0 turns it off", "from 0 (off) to 10000", 0,
          10_000, slider=(0, 200, 1), label="top-k (0 = off)", flag=True),
    Field("top_p", "float", "nucleus sampling: keep the smallest set of tokens with this much probability",
          "above 0 and at most 1 (1 is off)", 0, 1, above_low=True, slider=(0.05, 1.0, 0.01), label="top-p",
          flag=True),
    Field("typical_p", "float", "keep tokens whose surprise is close to the expected surprise",
          "above 0 and at most 1 (1 is off)", 0, 1, above_low=True, flag=True),
    Field("min_p", "float", "drop tokens less likely than min_p times the likeliest", "from 0 (off) to below 1", 0,
          1, below_high=True, flag=True),
    Field("repetition_penalty", "float", "divide the score of tokens already used",
          "from 1 (off) to 5", 1, 5, slider=(1.0, 2.0, 0.05), label="repetition penalty", flag=True),
    Field("no_repeat_ngram_size", "int", "never repeat an n-gram of this size",
          "from 0 (off) to 20", 0, 20, slider=(0, 8, 1), label="no-repeat n-gram", flag=True),
    Field("num_candidates", "int", "independent continuations, generated as one batch",
          f"from 1 to {MAX_CANDIDATES}", 1, MAX_CANDIDATES),
    Field("seed", "int", "makes sampling reproducible; None draws one and reports it",
          f"from 0 to {MAX_SEED}, or None for a random seed", 0, MAX_SEED, optional=True),
    Field("stop", "text", "strings that end the run; they are removed from the text"),
    Field("banned", "text", "words or phrases the model may not write, enforced while it writes (transformers' "
          "``bad_words_ids``), in lower case, capitalised, and after a space alike. A phrase that starts with ``^`` "
          "is banned only at a line's start (\"^Dear\": no letter's salutation)"),
    Field("trim_to_sentence", "bool", "when a run ends on the length limit, cut back to the last whole sentence"),
    Field("max_length", "int", "the tutorial's knob, prompt plus new tokens (transformers' meaning); when set it "
          "replaces max_new_tokens", "prompt plus new tokens, at least 1", 1, optional=True),
    Field("max_time", "float", "seconds a run may take at most; it then ends with finish reason \"time\"",
          "seconds, above 0 and at most 3600", 0, 3600, above_low=True, optional=True, flag=True,
          unset="no limit but max_new_tokens"),
)
FIELD = {f.name: f for f in FIELDS}

#: A whole post's settings when none are given: sections, type, tone and target words per prose part. Read here by
#: ``write_post``, the CLI, both studios and the calendar, so a default is written once.
POST_DEFAULTS = {"sections": 4, "post_type": "opinion", "tone": "friendly", "words": 100}

SLIDERS = tuple(f.name for f in FIELDS if f.slider)

__all__ = ["FIELD", "FIELDS", "MAX_CANDIDATES", "MAX_SEED", "POST_DEFAULTS", "SLIDERS", "Field"]
