import copy
import dataclasses
import datetime

import pytest

import blogneo
from blogneo import BlogneoError, ParameterError
from blogneo.defects import find_defects
from blogneo.markdown import read
from blogneo.post import PostEvent, write_post
from blogneo.prompts import TAGS_EXAMPLE_DOMAIN, post_prompt
from blogneo.text import clean_heading, clean_tags, clean_title, score

SEED_11 = blogneo.SamplingParams(seed=11)
STEPS = ["title", "description", "tags", "outline", "introduction", "section 1", "section 2", "section 3",
         "conclusion"]


@pytest.fixture(scope="module")
def tiny_post(tiny):
    events = []
    post = write_post("Baking bread", tiny, sections=3, params=SEED_11, on_event=events.append)
    return post, events


def test_a_post_has_every_part_and_the_requested_number_of_sections(tiny_post):
    post, _ = tiny_post
    assert post.title.text and post.description.text and post.tag_list
    assert len(post.sections) == 3 and len(post.headings) == 3 and all(post.headings)
    assert all("\n" not in h for h in post.headings)  # a heading stays a heading
    assert [s.heading for s in post.sections] == post.headings
    for part in [post.introduction, *post.sections, post.conclusion]:
        assert part.text and "\n#" not in part.text  # a part does not start the next one
    assert list(post.seeds()) == STEPS
    assert len(set(post.seeds().values())) == len(STEPS)  # each step has its own seed


def test_progress_events_start_and_end_every_step_in_order(tiny_post):
    _, events = tiny_post
    done = [e.step for e in events if e.kind == "done"]
    assert done == STEPS
    assert [e.step for e in events if e.kind == "start"] == STEPS
    streamed = "".join(e.text for e in events if e.kind == "text" and e.step == "introduction")
    assert streamed.strip() and isinstance(events[0], PostEvent)


@pytest.mark.slow
def test_the_same_topic_model_params_and_seed_give_the_same_post(tiny, tiny_post):
    post, _ = tiny_post
    again = write_post("Baking bread", tiny, sections=3, params=SEED_11)
    assert again.to_markdown() == post.to_markdown()
    other = write_post("Baking bread", tiny, sections=3, params=SEED_11.replace(seed=12))
    assert other.seeds() != post.seeds()


@pytest.mark.slow
def test_regenerating_a_section_changes_only_that_section(random_model):
    post = write_post("The", random_model, sections=3, params=blogneo.SamplingParams(max_new_tokens=30, seed=3))
    before = post.to_markdown()
    others = [post.title.text, post.introduction.text, post.sections[0].text, post.sections[2].text,
              post.conclusion.text, post.headings]
    [new] = post.regenerate(1, seed=99)
    assert new.seed == 99 and post.sections[1] is new and new.heading == post.headings[1]
    assert [post.title.text, post.introduction.text, post.sections[0].text, post.sections[2].text,
            post.conclusion.text, post.headings] == others
    assert post.to_markdown() != before
    text = new.text
    post.regenerate(1, seed=99)
    assert post.sections[1].text == text  # a seed makes the new text reproducible


@pytest.mark.slow
def test_locked_sections_stay_and_asking_to_rewrite_one_is_an_error(random_model):
    post = write_post("The", random_model, sections=3, params=blogneo.SamplingParams(max_new_tokens=30, seed=4))
    kept = post.sections[0].text
    post.lock(0)
    with pytest.raises(BlogneoError, match="Section 1 .* is locked"):
        post.regenerate(0)
    changed = post.regenerate(seed=5)  # every unlocked section
    assert [p.heading for p in changed] == post.headings[1:]
    assert post.sections[0].text == kept
    post.unlock(0)
    with pytest.raises(ParameterError, match="no section 7"):
        post.regenerate(7)


@pytest.mark.slow
def test_best_of_n_keeps_the_highest_scoring_candidate_and_shows_every_score(random_model):
    post = write_post("The", random_model, sections=2,
                      params=blogneo.SamplingParams(max_new_tokens=30, temperature=1.0, seed=5, num_candidates=3))
    assert post.candidates == 3 and post.seed == 5
    for part in [post.title, post.description, post.introduction, *post.sections, post.conclusion]:
        assert len(part.candidates) % 3 == 0 and len(part.candidates) >= 3  # 3 per round
        best = max(part.candidates, key=lambda c: c.score)
        if part is post.title and not best.valid:  # random weights never end a title's line: the topic stands in
            assert part.text == "The"
            continue
        assert part.text == best.text
    table = post.scores()
    assert table._repr_html_().count("<tr>") == 1 + sum(len(p.candidates) for p in post.parts())
    assert "✔" in repr(table)


def test_score_rewards_fluency_and_topic_and_punishes_repetition_and_defects():
    def scored(text, on_topic=1.0):
        return score(text, -2.0, on_topic, find_defects(text, target_words=12))

    good = scored("Baking bread at home is slow and rewarding. The bread is worth it, every time.")
    loop = scored("the bread is good the bread is good the bread is good the bread is good.")
    cut = scored("Baking bread at home is slow and rewarding and then the oven")
    meta = scored("Here is your rewritten version: baking bread at home is slow and rewarding, and worth it.")
    off = scored("Cats sleep most of the day and the night, and nobody minds it at all.", on_topic=-0.2)
    assert good.valid and good.on_topic == 1.0 and good.repetition == 1 and good.score == -1.0
    assert loop.repetition == 4 and not loop.valid and loop.score < good.score
    assert not cut.valid and cut.score < -90 and cut.defects[0].kind == "unfinished"
    assert not meta.valid and (meta.defects[0].kind, meta.defects[0].where) == ("meta-talk", 0)
    assert off.valid and off.on_topic == -0.2 and off.score < good.score
    assert score("Bread", -1.0, 0.0).valid
    # Neither clean: a part a little short beats one that is a byline cut off mid-phrase.
    short = scored("Baking bread is slow. It is worth it.")
    byline = scored("By: Alex Chen and Jennifer Martin")
    assert short.defects[0].kind == "too-short" and byline.defects[0].kind == "invented-author"
    assert short.score > byline.score


def _retitled(post, title):
    """A copy of ``post`` with another title; the module's shared post stays as written."""
    post = copy.copy(post)
    post.title = dataclasses.replace(post.title, text=title)
    return post


def test_front_matter_has_everything_to_reproduce_and_survives_awkward_titles(tiny_post, tmp_path):
    post = _retitled(tiny_post[0], 'Bread: "why" --- and how')
    meta, body = read(post.to_markdown())
    assert meta["title"] == 'Bread: "why" --- and how'
    assert meta["date"] == datetime.date.today() and meta["tags"] == post.tag_list
    assert meta["model"] == post.model.name and meta["revision"] == post.model.revision
    assert meta["seed"] == 11 and meta["seeds"] == post.seeds()
    assert blogneo.SamplingParams(**meta["params"]) == post.params.replace(seed=None)
    assert body.count("\n## ") == 4 and body.rstrip().endswith(post.conclusion.text)


def test_save_writes_a_slug_named_file_atomically_and_never_overwrites(tiny_post, tmp_path):
    post = _retitled(tiny_post[0], "../../Bread: why?")
    first, second = post.save(tmp_path), post.save(tmp_path)
    assert first.name == "bread-why.md" and second.name == "bread-why-2.md"
    assert first.parent == tmp_path.resolve() and first.read_text() == second.read_text()


@pytest.mark.parametrize("kwargs,field", [
    ({"sections": 0}, "sections"), ({"sections": 11}, "sections"), ({"sections": True}, "sections"),
    ({"params": "wild"}, "preset"), ({"post_type": "poem"}, "post_type"), ({"tone": ""}, "tone"),
    ({"tone": "very very very very very very very"}, "tone"), ({"words": 10}, "words"), ({"words": 401}, "words"),
    ({"banned": ["", "oven"]}, "banned"), ({"banned": [3]}, "banned"),
])
def test_bad_arguments_name_the_field(tiny, kwargs, field):
    with pytest.raises(ParameterError) as error:
        write_post("Baking bread", tiny, **kwargs)
    assert error.value.field == field


def test_the_seed_and_the_candidates_are_set_one_way_only_in_params(tiny):
    # Two ways to set one thing let one silently win; write_post takes them from params alone.
    for old in ({"seed": 7}, {"candidates": 2}):
        with pytest.raises(TypeError, match=next(iter(old))):
            write_post("Baking bread", tiny, **old)
    with pytest.raises(ParameterError, match="needs sampling"):  # SamplingParams checks the pair, as everywhere
        blogneo.SamplingParams(temperature=0, num_candidates=2)


def test_an_empty_topic_is_an_error(tiny):
    with pytest.raises(ParameterError, match="empty"):
        write_post("  ", tiny)


@pytest.mark.parametrize("raw,clean", [
    (' "The Joy of Bikes" #cycling @me', "The Joy of Bikes"),
    ("Title: Morning Rides\nmore", "Morning Rides"),
])
def test_titles_are_cleaned_to_one_line(raw, clean):
    assert clean_title(raw) == clean


@pytest.mark.parametrize("raw, kind", [
    ("Awesome! Here's your new addition to our blog chat", "title"),
    (" Here's the first section with two paragraphs that cover what this blogpost", "heading"),
    (" This is where you introduce yourself and your role as a blogger.", "heading"),
])
def test_a_title_or_heading_about_the_answer_is_kept_for_the_checker_to_name(raw, kind):
    # Cleaning shapes text; what it is about is the rules' to say (rules.toml), once.
    cleaned = clean_title(raw) if kind == "title" else clean_heading(raw)
    assert cleaned and "meta-talk" in [d.kind for d in find_defects(cleaned, kind)]


@pytest.mark.parametrize("raw,clean", [
    (" Introduction: Why I ride", "Why I ride"),
    (" Introduction", ""),
    (" **How it made me feel**", "How it made me feel"),
    (" The Power of Bicycles: In this paragraph we", "The Power of Bicycles"),
    (" Benefits: 48 words", "Benefits"),
    (" The long road to a greener city and how we can", "The long road to a greener city"),
    (" The year of journaling - July 2018 |", "The year of journaling - July 2018"),
])
def test_headings_are_cleaned(raw, clean):
    assert clean_heading(raw) == clean


def test_tags_and_prose_are_cleaned():
    assert clean_tags(" 1) joy; 2) fun ; #bike, ThisIsAVeryLongMashedTogetherTag") == "joy, fun, bike"
    assert clean_tags("3D printing, 2019, makers") == "3d printing, makers"
    assert blogneo.post.STEPS["section"].clean("Here's the text you asked for:\n\nIt rained. Then") == "It rained."


@pytest.mark.slow
def test_the_chat_model_writes_a_post_through_its_chat_template(embedded):
    post = write_post("Why I bike to work", embedded, sections=1,
                      params=blogneo.SamplingParams(max_new_tokens=50, seed=2))
    assert post.title.text and post.description.text.startswith("This post")
    assert len(post.sections) == 1 and post.headings[0]
    assert post.conclusion.text.rstrip()[-1] in ".!?\"'”’)"


def test_bad_controls_are_refused_before_any_model_loads():
    # gpt-neo-2.7b cannot be fetched here: refusing first proves nothing was loaded or downloaded.
    with pytest.raises(ParameterError, match="post_type='poem'.*how-to, listicle, opinion, review, personal story"):
        write_post("Baking bread", "gpt-neo-2.7b", post_type="poem")


@pytest.fixture(scope="module")
def listicle(tiny):
    return write_post("Baking bread", tiny, sections=2, params=SEED_11, post_type="listicle", tone="humorous",
                      words=30, banned=["crust"])


def test_the_controls_are_in_the_recipe_and_the_front_matter_with_the_seo_fields(listicle, tiny):
    import yaml

    meta, body = read(listicle.to_markdown())
    assert meta == yaml.safe_load(listicle.to_markdown().split("---\n")[1])  # PyYAML reads it unchanged
    assert meta["slug"] == listicle.slug and listicle.save.__doc__.startswith("Write ``<slug>.md``")
    assert meta["post_type"] == "listicle" and meta["tone"] == "humorous" and meta["words"] == 30
    assert meta["description"] == listicle.description.text and meta["tags"] == listicle.tag_list
    assert meta["params"]["banned"] == [*blogneo.DEFAULT_BANNED, "crust"]
    assert [line for line in body.splitlines() if line.startswith("## ")][:2] == \
        [f"## 1. {listicle.headings[0]}", f"## 2. {listicle.headings[1]}"]  # a listicle's items are numbered
    again = write_post("Baking bread", tiny, sections=2, params=SEED_11, post_type="listicle", tone="humorous",
                       words=30, banned=["crust"])
    assert again.to_markdown() == listicle.to_markdown()  # the same recipe and seed: the same post


def test_the_post_type_and_tone_reach_the_prompts():
    from blogneo.prompts import post_prompt

    chat, _ = post_prompt("heading", chat=True, title="Bread", sections=3, outline="", number=1, kind="how-to")
    assert "how-to blog post" in chat and "an action the reader takes" in chat
    base, _ = post_prompt("heading", chat=False, title="Bread", outline="", number=1, kind="review")
    assert base.endswith("Type: review\nTitle: Bread\nSections:\n")
    section, _ = post_prompt("section", chat=True, title="Bread", headings="a; b", previous="", heading="a",
                             tone="humorous", words=80)
    assert section.startswith("Write a humorous paragraph of about 80 words for an opinion blog post")


def test_banned_phrases_are_never_written(tiny):
    # The tiny GPT-Neo recites "...Bake it in a hot oven until the crust is golden...": banning "oven"
    # makes it write around the word while it writes, in any case and after a space or not.
    prompt = "Baking bread takes patience. Mix the flour with water and salt, then let the dough rest for an hour."
    [free] = blogneo.generate(prompt, "precise", tiny, max_new_tokens=20)
    assert " oven" in free.text
    [banned] = blogneo.generate(prompt, "precise", tiny, max_new_tokens=20, banned=["Oven"])
    assert "oven" not in banned.text.lower() and banned.text != free.text


def test_a_phrase_banned_at_a_lines_start_is_still_written_elsewhere(embedded):
    # "^Dear" forbids a letter's salutation, which a review's section once was ("Dear Javierino,"),
    # and nothing else: the embedded model asked for a letter opens "Dear Sam," unbanned.
    from blogneo.prompts import banned_ids

    sequences = banned_ids(embedded.tokenizer, ("^Dear",))
    assert [embedded.tokenizer.decode(ids) for ids in sequences] == ["\nDear", "\n\nDear", "\ndear", "\n\ndear"]
    request = "Write a short letter to my friend Sam about my new bike."
    [free] = blogneo.generate(request, model=embedded, seed=1, max_new_tokens=12)
    assert free.text.startswith("Dear Sam")
    for seed in (1, 2):
        [banned] = blogneo.generate(request, model=embedded, seed=seed, max_new_tokens=30, banned=["^Dear"])
        assert not any(line.lstrip().lower().startswith("dear") for line in banned.text.splitlines())
    with pytest.raises(blogneo.ParameterError, match="must be words"):
        blogneo.SamplingParams(banned=["^ "])


def test_a_title_is_banned_in_every_spelling_a_heading_gave_it(embedded):
    # The quality benchmark's outline wrote "What Running a Marathon Taught Me" under that title:
    # a headline's capitals, which the title case variant ("... Running A Marathon ...") missed.
    from blogneo.prompts import banned_ids

    spelt = [embedded.tokenizer.decode(ids) for ids in banned_ids(embedded.tokenizer, ("What running a marathon",))]
    for heading in ("What running a marathon", "What Running A Marathon", "What Running a Marathon",
                    " what running a marathon"):
        assert heading in spelt, heading
    # "In today’s world" was in a heading though "in today's" was banned: the typeset apostrophe is spelt too.
    spelt = [embedded.tokenizer.decode(ids) for ids in banned_ids(embedded.tokenizer, ("in today's fast-paced",))]
    for cliche in ("In today's fast-paced", "In today\u2019s fast-paced", " in today\u2019s fast-paced"):
        assert cliche in spelt, cliche


@pytest.mark.slow
def test_a_prose_part_writes_no_placeholder_and_ends_before_a_hashtag(embedded):
    # Both were in posts the quality benchmark wrote ("[Your Name] has worked hard", "#HealthyLiving").
    # Asked for them outright, the embedded model writes them; with a prose part's stops and bans it cannot.
    from blogneo.prompts import POST_STOPS
    from blogneo.rules import bans

    asks = [("Write a short email template to a customer, with placeholders such as [Name] and [Date].", "["),
            ("Write a short social media post about morning coffee, ending with three hashtags.", " #")]
    for ask, debris in asks:
        [free] = blogneo.generate(ask, "precise", embedded, max_new_tokens=80, seed=1)
        assert debris in free.text
        [part] = blogneo.generate(ask, "precise", embedded, max_new_tokens=80, seed=1, stop=POST_STOPS["section"],
                                  banned=bans("prose"))
        assert debris not in part.text and part.text


def test_a_banned_title_is_banned_in_sentence_case_too(tiny):
    # The outline bans the title and its halves, which a heading tends to copy, often in sentence
    # case: "The Art of Running" comes back as "The art of running".
    prompt = "Baking bread takes patience. Mix the flour with water and salt, then let the dough rest for an hour."
    [free] = blogneo.generate(prompt, "precise", tiny, max_new_tokens=20)
    assert " Bake it in a hot oven" in free.text
    [banned] = blogneo.generate(prompt, "precise", tiny, max_new_tokens=20, banned=["BAKE It In A Hot Oven"])
    assert "bake it in a hot oven" not in banned.text.lower()


def test_the_base_model_post_has_headings_and_never_hides_a_fragment(tiny_post):
    # The tiny GPT-Neo knows three paragraphs, so some parts stay fragments after every retry:
    # such a part is never presented as whole, post.defects() names it.
    post, _ = tiny_post
    unfinished = {d.part for d in post.defects() if d.kind == "unfinished"}
    names = ["introduction", *(f"section {i}" for i in range(1, 4)), "conclusion"]
    for name, part in zip(names, [post.introduction, *post.sections, post.conclusion], strict=True):
        assert blogneo.ends_sentence(part.text) or name in unfinished
    assert len(unfinished) < len(names)  # the paragraphs it knows come out whole
    placeholders = {f"heading {i}" for i, h in enumerate(post.headings, 1) if h.startswith("Part ")}
    assert placeholders <= {d.part for d in post.defects() if d.kind == "artifact"}  # named, never hidden
    assert not [d for d in post.defects() if d.kind in ("meta-talk", "title-repeated", "duplicate-heading",
                                                         "heading-number")]


def test_a_saved_post_read_back_is_checked_as_the_post_was(tiny_post, listicle):
    # benchmarks/post_quality.py --rescore checks earlier runs' Markdown again through read_post: it must see what
    # post.defects() sees.
    from blogneo.defects import check_post

    for post in (tiny_post[0], listicle):
        again = blogneo.read_post(post.to_markdown(), post.model)
        assert again.headings == post.headings and [s.text for s in again.sections] == [s.text for s in post.sections]
        assert check_post(again, post.words) == post.defects()


@pytest.mark.slow
def test_a_saved_post_is_written_again_from_its_front_matter(tiny, tmp_path):
    # The recipe in the front matter is enough: the same post, a section rewritten with its own seed included.
    post = write_post("Baking bread", tiny, sections=2, params=SEED_11, post_type="how-to", tone="calm", words=30,
                      banned=["crust"])
    post.regenerate(1, seed=99)
    path = post.save(tmp_path)
    again = blogneo.rewrite_post(path, tiny)
    assert again.to_markdown() == post.to_markdown() and again.seeds()["section 2"] == 99
    assert blogneo.rewrite_post(path.read_text(), tiny).body() == post.body()  # its Markdown works as well


def test_rewriting_a_file_that_is_not_a_post_says_so_before_loading(tmp_path):
    note = tmp_path / "note.md"
    note.write_text("---\ntitle: A note\n---\nHello.\n")
    with pytest.raises(ParameterError, match="not a post blogneo saved.*topic"):
        blogneo.rewrite_post(note, "gpt-neo-2.7b")  # cannot be fetched here: it must fail before loading


def test_meta_talk_openings_and_the_title_are_forbidden_while_the_parts_are_written(tiny, monkeypatch):
    # At the source, not only by the checker afterwards: prose steps ban the openings of meta-talk,
    # heading steps the title and its halves (transformers' bad_words_ids, through params.banned).
    import blogneo.post as post_module
    from blogneo.prompts import POST_STOPS
    from blogneo.rules import bans
    from blogneo.text import title_phrases

    seen, prompts = [], []
    real_stream = post_module.Stream

    def recording(model, prompt, params, **kwargs):
        seen.append(params)
        prompts.append(prompt)
        return real_stream(model, prompt, params, **kwargs)

    monkeypatch.setattr(post_module, "Stream", recording)
    post = write_post("Baking bread", tiny, sections=2, params=SEED_11, words=30)
    prose = [p for p in seen if p.stop == POST_STOPS["section"]]
    headings = [p for p in seen if p.stop and p.stop[0][1:-1].isdigit()]
    assert prose and headings
    assert all(set(bans("prose")) <= set(p.banned) for p in prose)
    assert all(set(title_phrases(post.title.text)) <= set(p.banned) for p in headings)
    wanted = set(title_phrases("Baking bread") + bans("heading"))  # the topic, brackets, "Welcome to"
    assert all(wanted <= set(p.banned) for p in headings)
    titles = [p for p, prompt in zip(seen, prompts, strict=True) if prompt.endswith("Title:")]  # the title step
    assert titles and all(set(bans("title")) <= set(p.banned) for p in titles)  # no "by:" byline, no "(2019)"
    assert not set(bans("prose")) & set(post.params.banned)  # the recipe keeps only what the writer chose


def test_a_heading_cut_by_its_budget_is_unfinished_unless_cleaning_dropped_the_cut_tail():
    from blogneo.post import _kept_end

    # cut at "... way to": cleaning drops the dangling "to", and what is left still ends where the cut was
    assert _kept_end("Tips for the best way to", "Tips for the best way")
    # cut at "... to fuel my": cleaning cut the heading before "to", so the cut tail is gone and it reads whole
    assert not _kept_end("The story begins with baking bread to fuel my", "The story begins with baking bread")
    assert not _kept_end("Purpose: To encourage people", "")


def test_the_tags_examples_words_are_the_ones_banned_on_other_topics():
    # The tags step bans TAGS_EXAMPLE_DOMAIN on topics that do not share it; the prompt's example must be among them.
    for chat in (True, False):
        prompt, _ = post_prompt("tags", chat, topic="Remote work", title="Remote work")
        example = prompt.split("Tags:")[1].split("\n")[0]
        assert {t.strip() for t in example.split(",")} <= set(TAGS_EXAMPLE_DOMAIN)


PARAGRAPH = ("Baking bread takes patience. Mix the flour with water and salt, then let the dough rest for an hour. "
             "Bake it in a hot oven until the crust is golden and the kitchen smells warm.")


def scripted(texts):
    """A ``Writer``'s generate that hands it these candidates: ``texts(label, round)`` -> one text per candidate."""
    from blogneo.generation import Candidate

    rounds = {}

    def generate(prompt, reply, params, label, excerpts):
        k = rounds[label] = rounds.get(label, -1) + 1
        return [Candidate(text=t, new_tokens=len(t.split()), finish_reason="eos", seed=params.seed,
                          tokens_per_second=0.0, prompt=prompt) for t in texts(label, k)]

    return generate


def a_post(model, texts, sections=2, words=30, **kwargs):
    from blogneo.post import Post, Writer

    post = Post("Baking bread", model, blogneo.SamplingParams(seed=11), words=words, **kwargs)
    return Writer(post, generate=scripted(texts)).write(sections)


def plain(label, k):
    """Clean text for every step: a title, a description, tags, two headings, the paragraph."""
    return [{"title": " Bread at Home", "description": " walks you through your first loaf, from flour to crust.",
             "tags": " baking, bread, kneading", "outline 1": " Mixing the dough", "outline 2": " Letting it rest",
             }.get(label, PARAGRAPH)]


def test_a_prose_part_with_no_clean_candidate_keeps_the_clean_start_of_one(tiny):
    # In a quality run, every candidate of a section drifted after a good start (into junk lines, a chat
    # reply), and the section was left empty under its heading. Here every prose candidate ends in a chat reply.
    def drifting(label, k):
        return [PARAGRAPH + "\n\nHere is your rewritten version of the paragraph."] if label not in (
            "title", "description", "tags", "outline 1", "outline 2") else plain(label, k)

    post = a_post(tiny, drifting)
    for part in [post.introduction, *post.sections, post.conclusion]:
        assert part.text == PARAGRAPH  # the clean start, never the drift
        chosen = next(c for c in part.candidates if c.text == part.text)
        assert chosen.valid and not any(c.valid for c in part.candidates[:part.candidates.index(chosen)])
        # Asked for 30 words, the start (37) is whole enough to be a candidate at once: no second round is written
        assert [c.text for c in part.candidates] == [PARAGRAPH + "\n\nHere is your rewritten version of the paragraph.",
                                                     PARAGRAPH]
    # Asked for 100 words a part, the start is too short (37 words, under 40), which does not block: after every
    # round it still beats a candidate that drifted, as a part a little short beats one with junk lines in it.
    post = a_post(tiny, drifting, sections=1, words=100)
    for part in [post.introduction, *post.sections, post.conclusion]:
        chosen = next(c for c in part.candidates if c.text == part.text)
        assert part.text == PARAGRAPH and [d.kind for d in chosen.defects] == ["too-short"]
        assert len(part.candidates) > 5  # every round was tried first


def test_the_outline_rejects_a_near_duplicate_heading_while_it_is_chosen(tiny):
    # The outline's second heading came back as the first one's plural. It must lose while another can still
    # be written, not only be reported once the post is done: the step is judged against the headings so far.
    def twice(label, k):
        if label == "outline 1":
            return [" The morning ride"]
        if label == "outline 2":
            return [" The morning rides" if k == 0 else " Choosing a bike"]
        return plain(label, k)

    post = a_post(tiny, twice)
    assert post.headings == ["The morning ride", "Choosing a bike"]
    assert not [d for d in post.defects() if d.kind == "duplicate-heading"]


def test_the_description_is_scored_without_its_reply_twice(tiny, monkeypatch):
    # The description's answer is made to start with "This post"; that reply is part of the text, but its
    # fluency is the model's own words after it, not "This post" scored again after "This post".
    second = " shows you how to bake a simple loaf at home, from the flour to the crust."
    monkeypatch.setattr(blogneo.post, "topic_pmi", lambda text, topic, model: 0.5)  # both on the topic: a tie
    post = a_post(tiny, lambda label, k: plain(label, k) + ([second] if label == "description" else []))
    prompt, reply = blogneo.post_prompt("description", chat=False, title=post.title.text, topic="Baking bread")
    written = [" walks you through your first loaf, from flour to crust.", second]
    assert [c.text for c in post.description.candidates] == ["This post" + w for w in written]
    for chosen, words in zip(post.description.candidates, written, strict=True):  # two clean ones: fluency decides
        assert chosen.fluency == round(blogneo.score_text(words, prompt, tiny, reply=reply).mean_logprob(), 4)


def test_fluency_is_read_only_where_it_decides(tiny, monkeypatch):
    # A step whose one candidate is clean keeps it whatever its fluency: no model pass is spent on it. Two clean
    # candidates are weighed by it, and so are two that share the same defects.
    read = []
    real = blogneo.post.score_text
    monkeypatch.setattr(blogneo.post, "topic_pmi", lambda text, topic, model: 0.5)  # on the topic: no drift
    monkeypatch.setattr(blogneo.post, "score_text", lambda text, *a, **k: read.append(text) or real(text, *a, **k))
    post = a_post(tiny, plain)
    assert read == [] and all(c.fluency is None for p in post.parts() for c in p.candidates)
    assert "| – |" in str(post.scores())  # shown as not read
    other = "Bread is flour, water, salt and time. Knead it, let it rise overnight, and bake it until it sounds hollow."
    post = a_post(tiny, lambda label, k: plain(label, k) + ([other] if label == "introduction" else []))
    assert read == [PARAGRAPH, other] and all(c.fluency is not None for c in post.introduction.candidates)
    chosen = max(post.introduction.candidates, key=lambda c: c.score)
    assert post.introduction.text == chosen.text


def test_the_tone_changes_a_base_models_post(tiny):
    # A base model reads its tone from the page it continues: the header says what the post is.
    prompts = {tone: blogneo.post_prompt("introduction", chat=False, title="Bread", topic="Baking bread", tone=tone,
                                         kind="how-to", tags="baking, bread")[0] for tone in ("friendly", "humorous")}
    assert "A friendly how-to guide about Baking bread." in prompts["friendly"]
    assert "A humorous how-to guide" in prompts["humorous"] and "Tags: baking, bread." in prompts["humorous"]
    posts = {tone: write_post("Baking bread", tiny, sections=1, params=SEED_11, tone=tone, words=30)
             for tone in ("friendly", "humorous")}
    assert posts["friendly"].introduction.text != posts["humorous"].introduction.text  # the same seed




def test_best_of_n_weighs_each_candidate_by_the_topic_signal_for_the_posts_topic(tiny, monkeypatch):
    # Two clean candidates for each prose part: the paragraph the tiny model recites (far likelier to it) and one
    # about cats. A topic signal that favours the cats wins over fluency, so the score really carries it.
    cats = ("Cats sleep for most of the day and wake at dusk. Give them a warm corner, fresh water and a scratching "
            "post, and they will keep the house calm and quiet for hours.")
    asked = []
    other = [0.1]  # what the topic signal gives every other text: on the topic, a little

    def signal(text, topic, model):
        asked.append((topic, model))
        return 20.0 if "Cats" in text else other[0]

    def with_cats(label, k):
        return plain(label, k) + ([cats] if label.startswith(("intro", "section", "concl")) else [])

    monkeypatch.setattr(blogneo.post, "topic_pmi", signal)
    post = a_post(tiny, with_cats)
    assert post.introduction.text == cats and all(s.text == cats for s in post.sections)
    chosen = max(post.introduction.candidates, key=lambda c: c.score)
    # both clean, so fluency was read for both: the cats are less fluent to the tiny model, and win on the topic
    assert chosen.on_topic == 20.0 and chosen.fluency < min(c.fluency for c in post.introduction.candidates
                                                             if c.text != cats)
    assert asked and {topic for topic, _ in asked} == {"Baking bread"} and {m for _, m in asked} == {tiny}
    # below DRIFT a prose part is named drift, a defect that does not block; a heading never is
    other[0] = -0.3
    post = a_post(tiny, with_cats)
    [recited] = [c for c in post.introduction.candidates if c.text == PARAGRAPH][:1]
    assert [(d.kind, d.blocking) for d in recited.defects] == [("drift", False)] and not recited.valid
    assert not any(d.kind == "drift" for c in post.outline.candidates for d in c.defects)


def test_a_saved_post_reads_back_as_a_post_and_an_ambiguous_one_is_refused(tiny_post):
    post, _ = tiny_post
    markdown = post.to_markdown()
    again = blogneo.read_post(markdown, post.model)
    assert again.to_markdown() == markdown and again.seeds() == post.seeds() and again.headings == post.headings
    empty = markdown.replace(post.conclusion.text, "")  # an empty conclusion reads as empty, not as its heading
    assert blogneo.read_post(empty, post.model).conclusion.text == ""
    inner = markdown.replace(post.sections[0].text, post.sections[0].text + "\n\n## A heading of its own\n\nMore.")
    with pytest.raises(ParameterError, match="does not read as its 3 section"):
        blogneo.read_post(inner, post.model)


def test_best_reads_fluency_only_for_candidates_tied_at_the_top():
    from blogneo.defects import Defect
    from blogneo.text import best, score

    blocked = score("Here is your draft.", None, 1.0, (Defect("meta-talk", "prose", 0, "Here is your", "rule"),))
    one, two = score("Bread needs time.", None, 0.5), score("Bread needs heat.", None, 0.2)
    read = []
    assert best([blocked, one], lambda s: read.append(s.text) or -1.0) is one and read == []  # alone at the top
    scored = [one, two, blocked]
    fluency = {"Bread needs time.": -3.0, "Bread needs heat.": -1.0}
    assert best(scored, lambda s: fluency[s.text]).text == "Bread needs heat."  # -1.0 + 0.2 beats -3.0 + 0.5
    assert [s.fluency for s in scored] == [-3.0, -1.0, None]  # the tie is rescored in the list; the loser is not read
