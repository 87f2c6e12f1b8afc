"""Sampling parameters: every knob validated in one place, turned into a real GenerationConfig.

``temperature`` is the one switch between greedy and sampling: 0 means greedy. That removes a
classic trap of the tutorial's era, where ``temperature`` was silently ignored because
``do_sample`` was off.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass

from transformers import GenerationConfig

from .errors import ParameterError

MAX_SEED = 2**32 - 1
MAX_CANDIDATES = 16


@dataclass(frozen=True)
class SamplingParams:
    """How to sample a continuation. Defaults are the ``balanced`` preset.

    Fields (allowed range in brackets):
        max_new_tokens: tokens to generate at most [1, the model's context].
        min_new_tokens: tokens to generate before end-of-text may stop the run [0, max_new_tokens].
        temperature: 0 is greedy (always the likeliest token); higher is more adventurous [0, 5].
        top_k: sample only from the k likeliest tokens; 0 turns it off [0, 10000].
        top_p: nucleus sampling, keep the smallest set of tokens with this much probability (0, 1].
        typical_p: keep tokens whose surprise is close to the expected surprise; 1 is off (0, 1].
        min_p: drop tokens less likely than min_p times the likeliest; 0 is off [0, 1).
        repetition_penalty: divide the score of tokens already used; 1 is off [1, 5].
        no_repeat_ngram_size: never repeat an n-gram of this size; 0 is off [0, 20].
        num_candidates: independent continuations, generated as one batch [1, 16].
        seed: makes sampling reproducible; None draws one and reports it [0, 2**32-1].
        stop: strings that end the run; they are removed from the text.
        banned: words or phrases the model may not write, enforced while it writes (transformers'
            ``bad_words_ids``), in lower case, capitalised, and after a space alike. A phrase that
            starts with ``^`` is banned only at a line's start ("^Dear": no letter's salutation).
        trim_to_sentence: when a run ends on the length limit, cut back to the last whole sentence.
        max_length: the tutorial's knob, prompt plus new tokens (transformers' meaning); when
            set it replaces max_new_tokens.
        max_time: seconds a run may take at most; it then ends with finish reason "time".
            None: no limit but max_new_tokens [above 0, at most 3600].

    ``replace()`` (and so ``generate(**overrides)``) also takes the tutorial's ``do_sample``:
    ``do_sample=False`` means ``temperature=0``, and pairing it with a temperature above 0 is an
    error rather than a silently ignored setting.

    Example:
        >>> SamplingParams(max_length=50, temperature=0.9).max_length
        50
    """

    max_new_tokens: int = 120
    min_new_tokens: int = 0
    temperature: float = 0.7
    top_k: int = 50
    top_p: float = 0.95
    typical_p: float = 1.0
    min_p: float = 0.0
    repetition_penalty: float = 1.15
    no_repeat_ngram_size: int = 0
    num_candidates: int = 1
    seed: int | None = None
    stop: tuple[str, ...] = ()
    banned: tuple[str, ...] = ()
    trim_to_sentence: bool = True
    max_length: int | None = None
    max_time: float | None = None

    def __post_init__(self) -> None:
        _integer("max_new_tokens", self.max_new_tokens, 1, None)
        _integer("min_new_tokens", self.min_new_tokens, 0, self.max_new_tokens,
                 "up to max_new_tokens")
        _number("temperature", self.temperature, 0.0, 5.0, "from 0 (greedy) to 5")
        _integer("top_k", self.top_k, 0, 10_000, "from 0 (off) to 10000")
        _probability("top_p", self.top_p, "above 0 and at most 1 (1 is off)")
        _probability("typical_p", self.typical_p, "above 0 and at most 1 (1 is off)")
        _number("min_p", self.min_p, 0.0, 1.0, "from 0 (off) to below 1")
        if self.min_p >= 1.0:
            raise ParameterError("min_p", f"min_p={self.min_p} is out of range: use from 0 (off) to below 1.")
        _number("repetition_penalty", self.repetition_penalty, 1.0, 5.0, "from 1 (off) to 5")
        _integer("no_repeat_ngram_size", self.no_repeat_ngram_size, 0, 20, "from 0 (off) to 20")
        _integer("num_candidates", self.num_candidates, 1, MAX_CANDIDATES, f"from 1 to {MAX_CANDIDATES}")
        if self.num_candidates > 1 and self.temperature == 0:
            raise ParameterError(
                "num_candidates",
                f"num_candidates={self.num_candidates} needs sampling, but temperature=0 is greedy and "
                "gives the same text every time. Set temperature above 0, or ask for one candidate.")
        if self.seed is not None:
            _integer("seed", self.seed, 0, MAX_SEED, f"from 0 to {MAX_SEED}, or None for a random seed")
        stop = (self.stop,) if isinstance(self.stop, str) else self.stop
        if not isinstance(stop, (tuple, list)) or not all(isinstance(s, str) and s for s in stop):
            raise ParameterError("stop", f"stop={self.stop!r} must be a string or a list of non-empty strings.")
        object.__setattr__(self, "stop", tuple(stop))
        banned = (self.banned,) if isinstance(self.banned, str) else self.banned
        if not isinstance(banned, (tuple, list)):
            raise ParameterError("banned", f"banned={self.banned!r} must be a phrase or a list of phrases.")
        for phrase in banned:
            if not isinstance(phrase, str) or not phrase.strip().lstrip("^").strip():
                raise ParameterError("banned", f"banned phrases must be words (non-empty text), not {phrase!r}.")
        object.__setattr__(self, "banned", tuple(dict.fromkeys(s.strip() for s in banned)))
        if not isinstance(self.trim_to_sentence, bool):
            raise ParameterError("trim_to_sentence",
                                 f"trim_to_sentence={self.trim_to_sentence!r} must be True or False.")
        if self.max_length is not None:
            _integer("max_length", self.max_length, 1, None, "prompt plus new tokens, at least 1")
        if self.max_time is not None:
            _number("max_time", self.max_time, 0.0, 3600.0, "seconds, above 0 and at most 3600, or None",
                    above_low=True)

    @property
    def sampling(self) -> bool:
        return self.temperature > 0

    def replace(self, **changes) -> SamplingParams:
        """A copy with some fields changed, validated again.

        Example:
            >>> PRESETS["creative"].replace(seed=7).seed
            7
        """
        unknown = sorted(set(changes) - {f.name for f in dataclasses.fields(self)} - {"do_sample"})
        if unknown:
            allowed = ", ".join(f.name for f in dataclasses.fields(self))
            raise ParameterError(unknown[0], f"Unknown sampling parameter {unknown[0]!r}. Known: {allowed}, do_sample.")
        if "do_sample" in changes:
            changes["temperature"] = _temperature_for(changes.pop("do_sample"), changes.get("temperature"),
                                                      self.temperature)
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict:
        """Every field as plain JSON/YAML values; ``SamplingParams(**d)`` gives the same params back."""
        fields = dataclasses.asdict(self)
        fields["stop"] = list(self.stop)
        fields["banned"] = list(self.banned)
        return fields

    def budget(self, prompt_tokens: int = 0) -> int:
        """New tokens a run is asked for: ``max_new_tokens``, or what ``max_length`` leaves after the prompt.

        Example:
            >>> SamplingParams(max_length=50).budget(prompt_tokens=8)
            42
        """
        if self.max_length is None:
            return self.max_new_tokens
        if self.max_length - prompt_tokens < 1:
            raise ParameterError(
                "max_length",
                f"max_length={self.max_length} leaves no room to generate: the prompt alone is "
                f"{prompt_tokens} tokens. Raise max_length, or use max_new_tokens, which counts new tokens only.")
        return self.max_length - prompt_tokens

    def to_generation_config(self, prompt_tokens: int = 0) -> GenerationConfig:
        """The same settings as a transformers ``GenerationConfig``.

        ``prompt_tokens`` matters only when ``max_length`` is set, since max_length counts the
        prompt too.

        Example:
            >>> SamplingParams(temperature=0).to_generation_config().do_sample
            False
        """
        max_new = self.budget(prompt_tokens)
        settings = dict(
            max_new_tokens=max_new,
            min_new_tokens=min(self.min_new_tokens, max_new) or None,
            do_sample=self.sampling,
            num_return_sequences=self.num_candidates,
            repetition_penalty=self.repetition_penalty if self.repetition_penalty != 1.0 else None,
            no_repeat_ngram_size=self.no_repeat_ngram_size or None,
            stop_strings=list(self.stop) or None,
            max_time=self.max_time,
        )
        if self.sampling:
            # Knobs that only mean something when sampling are set only then, so transformers
            # never warns that a temperature is being ignored.
            settings.update(
                temperature=self.temperature,
                top_k=self.top_k,
                top_p=self.top_p,
                typical_p=self.typical_p,
                min_p=self.min_p or None,
            )
        else:
            settings.update(temperature=None, top_k=None, top_p=None)
        return GenerationConfig(**settings)


def resolve_params(params: SamplingParams | str | None = None, **overrides) -> SamplingParams:
    """``params`` (an object, a preset name or None for the default) with ``overrides`` applied.

    Example:
        >>> resolve_params("precise", max_new_tokens=40).max_new_tokens
        40
    """
    if params is None:
        params = PRESETS["balanced"]
    elif isinstance(params, str):
        if params not in PRESETS:
            raise ParameterError("preset", f"Unknown preset {params!r}. Known: {', '.join(PRESETS)}.")
        params = PRESETS[params]
    elif not isinstance(params, SamplingParams):
        raise ParameterError("params", f"params={params!r} must be a SamplingParams, a preset name or None.")
    return params.replace(**overrides) if overrides else params


def _temperature_for(do_sample, asked: float | None, current: float) -> float:
    """The temperature that the tutorial's ``do_sample`` flag means, or an error for a contradiction."""
    if not isinstance(do_sample, bool):
        raise ParameterError("do_sample", f"do_sample={do_sample!r} must be True or False.")
    if not do_sample:
        if asked not in (None, 0):
            raise ParameterError(
                "temperature",
                f"temperature={asked} would be ignored because do_sample=False. "
                "Use temperature=0 for greedy decoding, or drop do_sample=False to sample.")
        return 0.0
    if asked == 0:
        raise ParameterError(
            "temperature", "temperature=0 means greedy decoding, which contradicts do_sample=True. "
            "Use a temperature above 0 (0.7 is a good start).")
    if asked is not None:
        return asked
    return current if current > 0 else 1.0  # transformers' own default temperature


def _integer(name: str, value, low: int, high: int | None, allowed: str | None = None) -> None:
    allowed = allowed or (f"from {low} to {high}" if high is not None else f"at least {low}")
    if isinstance(value, bool) or not isinstance(value, int):
        raise ParameterError(name, f"{name}={value!r} must be a whole number, {allowed}.")
    if value < low or (high is not None and value > high):
        raise ParameterError(name, f"{name}={value} is out of range: use {allowed}.")


def _number(name: str, value, low: float, high: float, allowed: str, above_low: bool = False) -> None:
    """A number in [low, high], or in (low, high] with ``above_low``."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ParameterError(name, f"{name}={value!r} must be a number, {allowed}.")
    if math.isnan(value) or value < low or value > high or (above_low and value == low):
        raise ParameterError(name, f"{name}={value} is out of range: use {allowed}.")


def _probability(name: str, value, allowed: str) -> None:
    _number(name, value, 0.0, 1.0, allowed, above_low=True)


# Presets. Each is documented in docs/reference.md ("Sampling parameters and presets"); keep the two in step.
PRESETS: dict[str, SamplingParams] = {
    # Nearly deterministic: for facts, outlines and titles.
    "precise": SamplingParams(temperature=0.3, top_k=40, top_p=0.9, repetition_penalty=1.2,
                              no_repeat_ngram_size=4),
    # The default: varied but on topic.
    "balanced": SamplingParams(),
    # Adventurous: min_p keeps the tail sane at a high temperature.
    "creative": SamplingParams(temperature=1.0, top_k=0, top_p=0.98, min_p=0.05,
                               repetition_penalty=1.1),
}
