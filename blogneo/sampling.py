"""Sampling parameters: every knob validated in one place, turned into a real GenerationConfig.

``temperature`` is the one switch between greedy and sampling: 0 means greedy. That removes a
classic trap of the tutorial's era, where ``temperature`` was silently ignored because
``do_sample`` was off.
"""

from __future__ import annotations

import dataclasses
import textwrap
from dataclasses import dataclass

from transformers import GenerationConfig

from .errors import ParameterError
from .fields import FIELDS, MAX_CANDIDATES, MAX_SEED  # noqa: F401  (the limits, importable from here as before)


@dataclass(frozen=True)
class SamplingParams:
    """How to sample a continuation. Defaults are the ``balanced`` preset.

    Fields (allowed range in brackets), from ``blogneo.fields``, the one table of them:
{fields}

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
        for field in FIELDS:  # the numbers and the flag, against the one table
            if field.kind != "text":
                field.check(getattr(self, field.name), getattr(self, field.at_most) if field.at_most else None)
        if self.num_candidates > 1 and self.temperature == 0:
            raise ParameterError(
                "num_candidates",
                f"num_candidates={self.num_candidates} needs sampling, but temperature=0 is greedy and "
                "gives the same text every time. Set temperature above 0, or ask for one candidate.")
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


if SamplingParams.__doc__:  # None under python -OO
    SamplingParams.__doc__ = SamplingParams.__doc__.replace("{fields}", "\n".join(
        textwrap.fill(f.doc, 112, initial_indent=" " * 8, subsequent_indent=" " * 12) for f in FIELDS))


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
