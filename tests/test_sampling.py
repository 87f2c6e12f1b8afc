import math
import re

import pytest
from transformers import GenerationConfig

from blogneo import PRESETS, ParameterError, SamplingParams
from blogneo.sampling import resolve_params

BAD = [
    ("max_new_tokens", 0), ("max_new_tokens", 2.5), ("max_new_tokens", True), ("max_new_tokens", "10"),
    ("min_new_tokens", -1), ("min_new_tokens", 500),
    ("temperature", -0.1), ("temperature", 6), ("temperature", math.nan), ("temperature", "hot"),
    ("top_k", -1), ("top_k", 1.5),
    ("top_p", 0), ("top_p", 1.5), ("typical_p", 0), ("typical_p", -1),
    ("min_p", -0.1), ("min_p", 1.0),
    ("repetition_penalty", 0.5), ("repetition_penalty", 9),
    ("no_repeat_ngram_size", -1), ("no_repeat_ngram_size", 50),
    ("num_candidates", 0), ("num_candidates", 17),
    ("seed", -1), ("seed", 2**32), ("seed", 1.0),
    ("stop", [""]), ("stop", [3]), ("stop", 3),
    ("trim_to_sentence", "yes"),
    ("max_length", 0),
    ("max_time", 0), ("max_time", 3601), ("max_time", math.nan),
]


@pytest.mark.parametrize("name,value", BAD)
def test_bad_values_are_rejected_naming_the_field_and_value(name, value):
    with pytest.raises(ParameterError) as caught:
        SamplingParams(**{name: value})
    assert caught.value.field == name
    assert name in str(caught.value)
    assert repr(value) in str(caught.value) or str(value) in str(caught.value)


@pytest.mark.parametrize("name,value", BAD[:8])
def test_replace_validates_too(name, value):
    with pytest.raises(ParameterError):
        SamplingParams().replace(**{name: value})


def test_out_of_range_message_says_what_is_allowed():
    with pytest.raises(ParameterError, match=r"temperature=-1 is out of range: use from 0 \(greedy\) to 5"):
        SamplingParams(temperature=-1)


def test_unknown_parameter_is_named():
    with pytest.raises(ParameterError, match="Unknown sampling parameter 'temprature'"):
        SamplingParams().replace(temprature=0.5)


def test_presets_are_valid_distinct_and_ordered_by_adventure():
    assert set(PRESETS) == {"precise", "balanced", "creative"}
    assert PRESETS["balanced"] == SamplingParams()
    temps = [PRESETS[n].temperature for n in ("precise", "balanced", "creative")]
    assert temps == sorted(temps) and len(set(temps)) == 3


def test_unknown_preset_lists_known_ones():
    with pytest.raises(ParameterError, match="precise, balanced, creative"):
        resolve_params("wild")


def test_the_tutorial_call_is_accepted_with_transformers_meaning_of_max_length():
    params = resolve_params(None, max_length=50, do_sample=True, temperature=0.9)
    config = params.to_generation_config(prompt_tokens=8)
    assert isinstance(config, GenerationConfig)
    assert config.max_new_tokens == 42  # max_length counts the prompt, as in transformers
    assert config.do_sample and config.temperature == 0.9


def test_max_length_shorter_than_the_prompt_is_an_error():
    with pytest.raises(ParameterError, match="max_length=50 leaves no room"):
        SamplingParams(max_length=50).to_generation_config(prompt_tokens=60)


def test_do_sample_false_means_greedy_and_refuses_a_temperature_it_would_ignore():
    assert SamplingParams().replace(do_sample=False).temperature == 0
    with pytest.raises(ParameterError, match="temperature=0.9 would be ignored because do_sample=False"):
        SamplingParams().replace(do_sample=False, temperature=0.9)
    with pytest.raises(ParameterError, match="contradicts do_sample=True"):
        SamplingParams().replace(do_sample=True, temperature=0)
    assert SamplingParams(temperature=0).replace(do_sample=True).temperature == 1.0


def test_greedy_config_sets_no_sampling_knobs_so_transformers_has_nothing_to_ignore():
    config = SamplingParams(temperature=0, top_k=7).to_generation_config()
    assert config.do_sample is False
    assert config.temperature in (None, 1.0) and config.top_k in (None, 50)
    config.validate(strict=True)  # raises on "temperature is set but do_sample is False"


def test_sampling_config_carries_every_knob():
    params = SamplingParams(temperature=0.8, top_k=20, top_p=0.9, typical_p=0.95, min_p=0.05,
                            repetition_penalty=1.3, no_repeat_ngram_size=3, num_candidates=4,
                            min_new_tokens=10, stop=["\n\n"])
    config = params.to_generation_config()
    knobs = (config.temperature, config.top_k, config.top_p, config.typical_p, config.min_p)
    assert knobs == (0.8, 20, 0.9, 0.95, 0.05)
    assert (config.repetition_penalty, config.no_repeat_ngram_size, config.num_return_sequences) == (1.3, 3, 4)
    assert config.min_new_tokens == 10 and config.stop_strings == ["\n\n"]
    config.validate(strict=True)


def test_several_greedy_candidates_are_refused_because_they_would_be_identical():
    with pytest.raises(ParameterError, match="num_candidates=3 needs sampling"):
        SamplingParams(temperature=0, num_candidates=3)


def test_a_single_stop_string_is_accepted():
    assert SamplingParams(stop="\n").stop == ("\n",)


def test_one_table_of_fields_bounds_every_number_and_says_so_in_the_docstring():
    from blogneo.fields import FIELDS

    numbers = [f for f in FIELDS if f.kind in ("int", "float")]
    assert {f.name for f in FIELDS} == set(SamplingParams.__dataclass_fields__)  # every field, once
    for field in numbers:
        assert f"{field.name}: {field.help}" in " ".join(SamplingParams.__doc__.split())
        below = field.low if field.above_low else field.low - 1
        with pytest.raises(ParameterError, match=f"{field.name}=.* use {re.escape(field.allowed)}"):
            SamplingParams(**{field.name: below})
        if field.high is not None:
            above = field.high if field.below_high else field.high + 1
            with pytest.raises(ParameterError, match=f"{field.name}="):
                SamplingParams(**{field.name: above})
    assert "The studio's slider stops at 2." in SamplingParams.__doc__  # temperature's narrower slider


def test_the_cli_has_a_flag_for_each_field_the_table_marks(capsys):
    from blogneo import cli
    from blogneo.fields import FIELDS

    flagged = [f for f in FIELDS if f.flag]
    assert {"temperature", "top_k", "top_p", "repetition_penalty", "max_time"} <= {f.name for f in flagged}
    with pytest.raises(SystemExit):
        cli.main(["write", "--help"])
    shown = capsys.readouterr().out
    assert all("--" + f.name.replace("_", "-") in shown for f in flagged)
    assert cli.main(["write", "bread", "--top-k", "20000"]) == 2  # the table's range, before any model loads
    assert "top_k=20000 is out of range: use from 0 (off) to 10000" in capsys.readouterr().err


def test_the_reference_s_table_of_fields_says_what_the_table_says():
    from pathlib import Path

    from blogneo.fields import FIELD

    reference = (Path(__file__).resolve().parents[1] / "docs" / "reference.md").read_text()
    rows = re.findall(r"^\| (\w+) \| ([^|]+) \| ([^|]*) \|", reference, re.M)
    shown = {name: (allowed.strip(), slider.strip()) for name, allowed, slider in rows if name in FIELD}
    assert len(shown) >= 10
    for name, (allowed, slider) in shown.items():
        field = FIELD[name]
        assert allowed == field.allowed, name
        assert slider == (f"{field.slider[0]:g} … {field.slider[1]:g}, step {field.slider[2]:g}" if field.slider
                          else ""), name
