import pytest
import torch

import blogneo
from blogneo.lens import next_token_lens, score_text


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


def test_reply_continues_mid_text_like_generate_does(tiny):
    # A base model continues prompt + reply; the lens's top token is what greedy writes next there.
    lens = next_token_lens("Baking bread", model=tiny, reply=" takes", temperature=0, top=3)
    whole = next_token_lens("Baking bread takes", model=tiny, temperature=0, top=3)
    assert torch.equal(lens.step("model").probs, whole.step("model").probs)
    [c] = blogneo.generate("Baking bread takes", model=tiny, temperature=0, max_new_tokens=1, trim_to_sentence=False)
    assert lens.tokens[0] == c.text and lens.tokens[0].strip() == "p"  # " patience" begins
    assert lens.tokens != next_token_lens("Baking bread", model=tiny, temperature=0, top=3).tokens


def test_plot_draws_before_and_after_bars_for_the_likeliest_tokens(random_model):
    lens = next_token_lens("The", model=random_model, temperature=1.0, top_k=3, top_p=1.0, repetition_penalty=1.0,
                           top=6)
    figure = lens.plot("top_k")
    [ax] = figure.axes
    before, after = ax.containers
    assert [round(b.get_height(), 6) for b in before] == [round(p, 6) for p in lens.rows()[0][1]]
    assert sum(b.get_height() > 0 for b in after) == 3  # only the 3 kept tokens have a bar
    assert "→ 3 possible" in ax.get_title()
    assert [t.get_text() for t in ax.get_xticklabels()] == [repr(t) for t in lens.tokens]


def test_plot_of_a_step_that_is_off_says_it_changes_nothing(random_model):
    lens = next_token_lens("The", model=random_model, temperature=1.0, top_k=0, top_p=1.0, repetition_penalty=1.0)
    assert "temperature" not in [s.name for s in lens.steps]  # transformers skips a temperature of 1
    ax = lens.plot("temperature").axes[0]
    assert "off here" in ax.get_title()
    before, after = ax.containers
    drawn = [round(float(lens.steps[-1].probs[t]), 6) for t in lens.token_ids]  # what sampling draws from
    assert [round(b.get_height(), 6) for b in before] == drawn == [round(b.get_height(), 6) for b in after]
    assert sum(drawn) > 0


def test_the_lens_uses_transformers_own_processors_and_names_every_one(tiny):
    # The lens relies on transformers' private _get_logits_processor and on its processor class
    # names. A transformers release that changes either must fail here, not draw wrong plots.
    from blogneo.lens import _STEP_NAMES

    for private in ("_prepare_special_tokens", "_get_logits_processor"):
        assert callable(getattr(tiny.model, private, None)), private
    lens = next_token_lens("Baking bread", model=tiny, temperature=0.7, top_k=5, top_p=0.9, typical_p=0.9,
                           min_p=0.05, repetition_penalty=1.2, no_repeat_ngram_size=3, min_new_tokens=2)
    names = [s.name for s in lens.steps]
    assert names[0] == "model" and set(names[1:]) == set(_STEP_NAMES.values()), names  # every knob, each named


def test_score_text_gives_each_token_the_models_probability_in_context(tiny):
    scored = score_text(" takes patience.", "Baking bread", model=tiny)
    assert "".join(scored.tokens) == " takes patience."
    first = next_token_lens("Baking bread", model=tiny, temperature=0, repetition_penalty=1.0)
    first_id = tiny.tokenizer(" takes", add_special_tokens=False)["input_ids"][0]
    assert scored.probs[0] == pytest.approx(float(first.step("model").probs[first_id]), rel=1e-4)
    assert scored.mean_logprob() > -1.0  # memorised text: the model expects every token
    nonsense = score_text(" harbour lamp golden.", "Baking bread", model=tiny)
    assert nonsense.mean_logprob() < scored.mean_logprob()
    html = scored._repr_html_()
    assert html.count("<span") == len(scored.tokens) + 3  # one per token, three in the legend
    assert "hsl(" in html and "title=" in html


def test_score_text_of_nothing_is_an_error(tiny):
    with pytest.raises(ValueError, match="The text is empty"):
        score_text("", "Baking bread", model=tiny)


def test_chat_reply_follows_the_assistant_turn(embedded):
    from blogneo.prompts import encode

    plain = embedded.tokenizer.decode(encode(embedded, "Hi", 10)[0])
    with_reply = embedded.tokenizer.decode(encode(embedded, "Hi", 10, reply="Dear reader,")[0])
    assert with_reply == plain + "Dear reader,"
    assert plain.endswith("<|im_start|>assistant\n")
