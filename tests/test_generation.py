import threading
import warnings

import pytest
from tiny_gptneo import PARAGRAPHS

import blogneo
from blogneo import ParameterError
from blogneo.generation import _held_back
from blogneo.prompts import UNDER_HEADING, encode, heading_start_ids
from blogneo.text import trim_to_sentence

LIGHTHOUSE = PARAGRAPHS[0]
GREEDY = dict(temperature=0, max_new_tokens=80)


def test_greedy_recites_the_memorised_paragraph_and_ends_on_eos(tiny):
    [c] = blogneo.generate("The old lighthouse", model=tiny, **GREEDY)
    assert c.finish_reason == "eos"
    assert "The old lighthouse" + c.text == LIGHTHOUSE
    assert c.new_tokens > 20 and c.tokens_per_second > 0 and c.prompt == "The old lighthouse"


def test_a_length_cut_is_trimmed_to_the_last_whole_sentence(tiny):
    [c] = blogneo.generate("The old lighthouse", model=tiny, temperature=0, max_new_tokens=25)
    assert c.finish_reason == "length"
    assert c.text == " stood on the rocks above the bay."
    [raw] = blogneo.generate("The old lighthouse", model=tiny, temperature=0, max_new_tokens=25,
                             trim_to_sentence=False)
    assert raw.text.startswith(c.text) and len(raw.text) > len(c.text)
    assert not raw.text.endswith(".")


def test_stop_strings_end_the_run_and_are_removed(tiny):
    [c] = blogneo.generate("The old lighthouse", model=tiny, stop=["ships", "harbour"], **GREEDY)
    assert c.finish_reason == "stop"
    assert c.text == " stood on the rocks above the bay. Every night its lamp turned slowly, and the"
    # Generation stopped at the token that completed "ships", rather than running on and being cut.
    assert c.new_tokens == len(tiny.tokenizer(c.text + " ships")["input_ids"])


def test_a_stop_string_that_starts_in_the_prompt_does_not_end_the_run(tiny):
    # "lighthouse stood" begins in the prompt and the first new token completes it. Matched over the
    # whole sequence (GenerationConfig.stop_strings), the run ended at once with empty text; a post's
    # part whose prompt ends in a line break lost every run that began with "#" or a line break so.
    assert LIGHTHOUSE.count("lighthouse stood") == 1
    [c] = blogneo.generate("The old lighthouse", model=tiny, stop=["lighthouse stood"], **GREEDY)
    assert c.finish_reason == "eos" and "The old lighthouse" + c.text == LIGHTHOUSE
    # Streaming agrees with the result.
    running = blogneo.stream("The old lighthouse", model=tiny, stop=["lighthouse stood"], **GREEDY)
    assert "".join(str(chunk) for chunk in running) == c.text


def test_the_same_seed_gives_the_same_text_and_another_seed_does_not(random_model):
    def run(seed):
        return blogneo.generate("The", model=random_model, seed=seed, temperature=1.0, top_k=0,
                                max_new_tokens=30, trim_to_sentence=False)[0]
    first, again, other = run(11), run(11), run(12)
    assert first.text == again.text and first.seed == 11
    assert other.text != first.text


def test_text_under_a_heading_never_opens_with_another_heading_or_a_blank_line(random_model, monkeypatch):
    # The untrained model, leaning hard to "#" and line breaks: asked for a section under "## 5 Simple Tank
    # Maintenance Tips", the embedded model opened all five rounds with a sub-heading, and the post kept an empty
    # section. Under a heading line the first new token is never one of them; anywhere else it may be.
    heading_marks = list(heading_start_ids(random_model.tokenizer))
    original = random_model.model.forward

    def leaning(*args, **kwargs):
        output = original(*args, **kwargs)
        output.logits[..., heading_marks] += 8.0
        return output

    monkeypatch.setattr(random_model.model, "forward", leaning)

    def openings(prompt, reply=""):
        found = blogneo.generate(prompt, model=random_model, reply=reply, seed=3, temperature=1.0, top_k=0,
                                 num_candidates=8, max_new_tokens=2, trim_to_sentence=False)
        return [c.text for c in found]

    def opens_so(text):
        return text.lstrip(" \t")[:1] in ("#", "\n", "")

    assert all(opens_so(t) for t in openings("A post about tanks\n\nTips\n\n"))  # the lean is real
    assert not any(opens_so(t) for t in openings("A post about tanks\n\n## Tips\n\n"))
    assert not any(opens_so(t) for t in openings("A post about tanks\n\n", reply="## Tips\n"))  # a base model's reply
    assert not UNDER_HEADING.search("Tips: #1 is water\n") and not UNDER_HEADING.search("#hashtag\n")
    # the lens shows the choices generate has: none of them under a heading
    lens = blogneo.next_token_lens("A post about tanks\n\n## Tips\n\n", model=random_model, seed=3, temperature=1.0,
                                   top_k=0)
    assert float(lens.steps[-1].probs[heading_marks].sum()) == 0.0 < float(lens.steps[0].probs[heading_marks].sum())


def test_a_random_seed_is_drawn_and_reported_so_the_run_can_be_repeated(random_model):
    [c] = blogneo.generate("The", model=random_model, temperature=1.0, max_new_tokens=20, trim_to_sentence=False)
    [again] = blogneo.generate("The", model=random_model, temperature=1.0, max_new_tokens=20, trim_to_sentence=False,
                               seed=c.seed)
    assert again.text == c.text


def test_candidates_are_generated_as_one_batch(random_model):
    forward_batch_sizes = []
    hook = random_model.model.register_forward_hook(
        lambda module, args, kwargs, output: forward_batch_sizes.append(kwargs["input_ids"].shape[0]),
        with_kwargs=True)
    try:
        cands = blogneo.generate("The", model=random_model, seed=5, num_candidates=3, temperature=1.0,
                                 max_new_tokens=10, min_new_tokens=10, trim_to_sentence=False)
    finally:
        hook.remove()
    assert len(cands) == 3 and len({c.text for c in cands}) == 3
    assert all(c.seed == 5 and c.new_tokens == 10 for c in cands)
    assert forward_batch_sizes and set(forward_batch_sizes) == {3}
    assert len(forward_batch_sizes) == 10  # one forward pass per step for all three together


def test_batched_generation_prints_no_pad_token_warning(random_model, capfd):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        blogneo.generate("The", model=random_model, seed=1, num_candidates=2, max_new_tokens=5)
    captured = capfd.readouterr()
    assert "pad_token_id" not in captured.err + captured.out
    assert captured.err == ""


def test_the_tutorial_call_counts_the_prompt_in_max_length(tiny):
    prompt = "The old lighthouse"
    prompt_tokens = len(tiny.tokenizer(prompt)["input_ids"])
    [c] = blogneo.generate(prompt, model=tiny, max_length=12, do_sample=True, temperature=0.9, seed=1,
                           trim_to_sentence=False)
    assert prompt_tokens + c.new_tokens <= 12


@pytest.mark.parametrize("prompt", ["", "   \n\t "])
def test_an_empty_prompt_is_an_error(tiny, prompt):
    with pytest.raises(ParameterError, match="prompt is empty") as caught:
        blogneo.generate(prompt, model=tiny)
    assert caught.value.field == "prompt"


def test_a_prompt_that_is_not_text_is_an_error(tiny):
    with pytest.raises(ParameterError, match="must be text"):
        blogneo.generate(None, model=tiny)


def test_a_prompt_longer_than_the_context_keeps_its_newest_tokens_and_warns(tiny):
    long_prompt = " ".join(PARAGRAPHS * 6) + " The old lighthouse"
    with pytest.warns(UserWarning, match="Keeping the newest 216 tokens"):
        ids = encode(tiny, long_prompt, max_new_tokens=40)
    assert ids[0].tolist() == tiny.tokenizer(long_prompt)["input_ids"][-216:]
    with pytest.warns(UserWarning, match="Keeping the newest"):
        [c] = blogneo.generate(long_prompt, model=tiny, temperature=0, max_new_tokens=40)
    assert c.new_tokens >= 1


def test_max_new_tokens_beyond_the_context_is_an_error(tiny):
    with pytest.raises(ParameterError, match="max_new_tokens=300 does not fit in this model's 256-token context"):
        blogneo.generate("Baking bread", model=tiny, max_new_tokens=300)
    with pytest.raises(ParameterError, match="max_length=999 is beyond"):
        blogneo.generate("Baking bread", model=tiny, max_length=999)


def test_stream_yields_the_text_as_it_is_produced(tiny):
    s = blogneo.stream("Baking bread", model=tiny, **GREEDY)
    chunks = list(s)
    [c] = s.result()
    assert len(chunks) > 10 and all(isinstance(ch, blogneo.Chunk) and ch.candidate == 0 for ch in chunks)
    assert "".join(chunks) == c.text == PARAGRAPHS[1][len("Baking bread"):]
    assert s.done and c.finish_reason == "eos"


def test_stream_never_shows_a_stop_string(tiny):
    s = blogneo.stream("The old lighthouse", model=tiny, stop=["ships"], **GREEDY)
    text = "".join(s)
    assert text.rstrip() == s.result()[0].text
    assert "ship" not in text and text.rstrip().endswith("and the")


def test_stream_routes_chunks_per_candidate(random_model):
    s = blogneo.stream("The", model=random_model, seed=3, num_candidates=2, temperature=1.0,
                       max_new_tokens=12, min_new_tokens=12, trim_to_sentence=False)
    pieces = {0: "", 1: ""}
    for chunk in s:
        pieces[chunk.candidate] += chunk
    assert [pieces[0], pieces[1]] == [c.text for c in s.result()]


def test_cancel_stops_within_one_step_keeps_the_partial_text_and_the_model_works_after(random_model):
    s = blogneo.stream("The", model=random_model, seed=2, temperature=1.0, max_new_tokens=200,
                       min_new_tokens=200, trim_to_sentence=False)
    seen = []
    for chunk in s:
        seen.append(chunk)
        if len(seen) == 5:
            s.cancel()
    [c] = s.result(timeout=30)
    assert c.finish_reason == "cancelled"
    assert c.new_tokens <= 7  # the step in flight when cancel came, and no more
    assert c.text.startswith("".join(seen).rstrip()) and c.text
    [after] = blogneo.generate("The", model=random_model, seed=2, max_new_tokens=5, min_new_tokens=5,
                               trim_to_sentence=False)
    assert after.finish_reason == "length" and after.new_tokens == 5


def test_errors_in_the_worker_reach_the_reader(tiny):
    # The context length is the model's, so this one is found on the worker, not before it starts.
    s = blogneo.stream("Baking bread", model=tiny, max_new_tokens=tiny.context_length + 10)
    with pytest.raises(ParameterError, match="does not fit in this model's 256-token context"):
        list(s)


def test_an_empty_prompt_is_refused_before_a_stream_starts(tiny):
    with pytest.raises(ParameterError, match="prompt is empty"):
        blogneo.stream("  ", model=tiny)


def test_two_threads_on_one_model_are_serialized_not_interleaved(tiny):
    results = {}

    def work(prompt):
        results[prompt] = blogneo.generate(prompt, model=tiny, **GREEDY)[0].text

    threads = [threading.Thread(target=work, args=(p,)) for p in ("Baking bread", "Our team moved")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert results["Baking bread"] == PARAGRAPHS[1][len("Baking bread"):]
    assert results["Our team moved"] == PARAGRAPHS[2][len("Our team moved"):]


@pytest.mark.parametrize("text,expected", [
    ("It rained. Then the sun came out and", "It rained."),
    ('She said "Go!" and we', 'She said "Go!"'),
    ("Version 3.5 is out", "Version 3.5 is out"),
    ("One. Two? Three! Four", "One. Two? Three!"),
    ("Wait (really.) then", "Wait (really.)"),
    ("no end at all   ", "no end at all"),
])
def test_trim_to_sentence(text, expected):
    assert trim_to_sentence(text) == expected


def test_held_back_keeps_what_could_grow_into_a_stop_string():
    assert _held_back("and the shi", ("ships",)) == 3
    assert _held_back("and the", ("ships",)) == 0
    assert _held_back("x\n", ("\n\n",)) == 1


@pytest.mark.parametrize("text,expected", [
    ('She said "yes."', True), ("It rained.  ", True), ("Wow!)", True),
    ("and then the", False), ("It costs 3.5", False), ("", False),
])
def test_ends_sentence_uses_the_same_rule_as_trimming(text, expected):
    from blogneo.text import ends_sentence

    assert ends_sentence(text) is expected
    assert ends_sentence(trim_to_sentence(text)) is expected or not text.strip()


def test_streaming_decodes_a_few_tokens_a_step_not_the_whole_text(random_model, monkeypatch):
    # Re-decoding every row at every step made streaming quadratic in the length.
    tokenizer = random_model.tokenizer
    decoded = []
    original = type(tokenizer).decode

    def counting(self, ids, *args, **kwargs):
        decoded.append(len(ids))
        return original(self, ids, *args, **kwargs)

    monkeypatch.setattr(type(tokenizer), "decode", counting)
    s = blogneo.stream("The", model=random_model, seed=2, temperature=1.0, max_new_tokens=200, min_new_tokens=200,
                       trim_to_sentence=False)  # exactly 200 tokens: no room to finish a sentence
    streamed = "".join(s)
    [c] = s.result()
    assert c.new_tokens == 200
    assert max(decoded[:-1]) < 20  # windows of a few tokens (the last decode is the final text, whole)
    assert sum(decoded) < 200 * 10
    assert streamed.startswith(c.text.rstrip()[:50])
