"""Property-based tests: every SamplingParams either works or says which field is wrong.

Hypothesis draws values inside and outside each documented range (NaN and infinities included).
An accepted combination must turn into a GenerationConfig and generate on the tiny GPT-Neo; a
rejected one must raise ParameterError whose ``field`` is one of the fields given and whose
message names it.
"""

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import blogneo
from blogneo import ParameterError, SamplingParams
from blogneo.generation import finishing_room

numbers = st.one_of(st.floats(-2, 7, allow_nan=False), st.sampled_from([math.nan, math.inf, -math.inf, 0, 1]))
anything = st.one_of(st.none(), st.text(max_size=3), st.booleans(), st.lists(st.integers(), max_size=2))

FIELDS = {
    "max_new_tokens": st.one_of(st.integers(-3, 40), anything),
    "min_new_tokens": st.one_of(st.integers(-3, 12), anything),
    "temperature": st.one_of(numbers, anything),
    "top_k": st.one_of(st.integers(-3, 10_010), numbers),
    "top_p": st.one_of(numbers, anything),
    "typical_p": numbers,
    "min_p": numbers,
    "repetition_penalty": numbers,
    "no_repeat_ngram_size": st.integers(-2, 22),
    "num_candidates": st.one_of(st.integers(-1, 18), anything),
    "seed": st.one_of(st.none(), st.integers(-5, 2**32 + 5), numbers),
    "stop": st.one_of(st.text(max_size=4), st.lists(st.text(max_size=4), max_size=3), st.integers()),
    "trim_to_sentence": st.one_of(st.booleans(), st.integers(0, 2), st.none()),
    "max_time": st.one_of(st.none(), numbers, st.integers(-1, 4000), anything),
}
params = st.fixed_dictionaries({}, optional=FIELDS)
SETTINGS = dict(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


@settings(max_examples=400, **SETTINGS)
@given(params)
def test_params_are_accepted_or_rejected_naming_the_field(fields):
    try:
        p = SamplingParams(**fields)
    except ParameterError as error:
        assert error.field in fields, (error.field, fields)
        assert error.field in str(error)
    else:
        config = p.to_generation_config()
        assert config.max_new_tokens == p.max_new_tokens
        assert config.do_sample == (p.temperature > 0)


# Generation is slower, so lengths stay short, and values are drawn from inside the documented
# ranges (edges included): the combinations are what is under test here.
in_range = st.fixed_dictionaries({"max_new_tokens": st.integers(1, 6)}, optional={
    "min_new_tokens": st.integers(0, 6),
    "temperature": st.one_of(st.just(0.0), st.floats(1e-3, 5)),
    "top_k": st.integers(0, 10_000),
    "top_p": st.floats(1e-3, 1),
    "typical_p": st.floats(1e-3, 1),
    "min_p": st.floats(0, 0.99),
    "repetition_penalty": st.floats(1, 5),
    "no_repeat_ngram_size": st.integers(0, 20),
    "num_candidates": st.integers(1, 4),
    "seed": st.one_of(st.none(), st.integers(0, 2**32 - 1)),
    "stop": st.lists(st.text(min_size=1, max_size=4), max_size=3),
    "trim_to_sentence": st.booleans(),
    "max_time": st.one_of(st.none(), st.floats(1.0, 3600)),
})


@settings(max_examples=60, **SETTINGS)
@given(in_range)
def test_every_accepted_combination_generates_on_the_tiny_gpt_neo(random_model, fields):
    try:
        p = SamplingParams(**fields)
    except ParameterError:
        return  # covered by the test above
    candidates = blogneo.generate("The old lighthouse", p, random_model)
    assert len(candidates) == p.num_candidates
    for c in candidates:
        room = finishing_room(p.max_new_tokens) if p.trim_to_sentence else 0  # to finish a sentence the budget cut
        assert c.finish_reason in ("length", "stop", "eos", "time") and 0 <= c.new_tokens <= p.max_new_tokens + room
        assert not any(s in c.text for s in p.stop)
        if p.seed is not None:
            assert c.seed == p.seed


@pytest.mark.parametrize("name", ["temperature", "top_p", "typical_p", "min_p", "repetition_penalty", "max_time"])
def test_nan_is_rejected_for_every_float_field(name):
    with pytest.raises(ParameterError, match=name):
        SamplingParams(**{name: math.nan})
