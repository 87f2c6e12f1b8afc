import pytest
import torch

import blogneo
from blogneo.lens import next_token_lens


def test_each_sampling_step_appears_in_transformers_order(random_model):
    lens = next_token_lens("The", model=random_model, temperature=0.7, top_k=20, top_p=0.9, min_p=0.02,
                           typical_p=0.95, repetition_penalty=1.3, no_repeat_ngram_size=2)
    assert [s.name for s in lens.steps] == ["model", "repetition_penalty", "no_repeat_ngram_size",
                                            "temperature", "top_k", "top_p", "min_p", "typical_p"]
    for step in lens.steps:
        assert torch.isclose(step.probs.sum(), torch.tensor(1.0), atol=1e-4)


def test_top_k_keeps_k_tokens_and_top_p_keeps_at_least_p_of_the_mass(random_model):
    lens = next_token_lens("The", model=random_model, temperature=1.5, top_k=7, top_p=0.5)
    assert lens.step("top_k").kept() == 7
    before = lens.step("top_k").probs
    kept = lens.step("top_p").probs > 0
    assert 1 <= kept.sum() <= 7 and before[kept].sum() >= 0.5


def test_temperature_flattens_and_sharpens(random_model):
    hot = next_token_lens("The", model=random_model, temperature=2.0, top_k=0, repetition_penalty=1.0)
    cold = next_token_lens("The", model=random_model, temperature=0.3, top_k=0, repetition_penalty=1.0)
    top = hot.token_ids[0]
    assert hot.step("temperature").probs[top] < hot.step("model").probs[top] < cold.step("temperature").probs[top]


def test_greedy_has_no_sampling_steps_and_its_top_token_is_what_generate_picks(tiny):
    lens = next_token_lens("Baking bread", model=tiny, temperature=0, top=5)
    assert [s.name for s in lens.steps] == ["model", "repetition_penalty"]
    [c] = blogneo.generate("Baking bread", model=tiny, temperature=0, max_new_tokens=1, trim_to_sentence=False)
    assert lens.tokens[0] == c.text and c.new_tokens == 1
    assert len(lens.rows()) == 2 and len(lens.rows()[0][1]) == 5


def test_asking_for_a_missing_step_names_the_ones_there(tiny):
    lens = next_token_lens("Baking bread", model=tiny, temperature=0)
    with pytest.raises(KeyError, match="'model', 'repetition_penalty'"):
        lens.step("top_p")
