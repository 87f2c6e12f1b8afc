"""The phrase rules, from rules.toml: each rule's own examples, the file's shape, and what the rules feed (the bans
while writing, the docs). A rule is added by editing rules.toml; its examples are tested here without a new test."""

import pytest

import blogneo
from blogneo import rules
from blogneo.defects import KINDS, find_defects
from blogneo.text import normalize

RULES = rules.load()


def _part(rule):
    return "prose" if rule.parts == rules.PARTS or "prose" in rule.parts else rule.parts[0]


@pytest.mark.parametrize("rule, example", [(r, e) for r in RULES for e in r.must], ids=lambda x: getattr(x, "id", ""))
def test_each_rule_finds_its_examples(rule, example):
    assert rule.find(example, _part(rule), "Why I bike to work"), f"{rule.id} missed {example!r}"
    found = find_defects(example, _part(rule), topic="Why I bike to work")
    assert rule.kind in {d.kind for d in found}, [str(d) for d in found]  # and the checker names it


@pytest.mark.parametrize("rule, example", [(r, e) for r in RULES for e in r.must_not],
                         ids=lambda x: getattr(x, "id", ""))
def test_each_rule_leaves_its_counter_examples_alone(rule, example):
    assert not rule.find(example, _part(rule), "Why I bike to work"), f"{rule.id} matched {example!r}"


def test_the_rules_file_is_well_formed():
    assert len({r.id for r in RULES}) == len(RULES)
    assert {r.kind for r in RULES} <= set(KINDS)
    for rule in RULES:
        assert rule.must and rule.why, rule.id


def test_a_bad_rule_is_named_when_the_file_is_read(tmp_path):
    bad = tmp_path / "rules.toml"
    bad.write_text('[[rules]]\nid = "no-examples"\nkind = "meta-talk"\npattern = "x"\n')
    with pytest.raises(ValueError, match="no-examples.*no must examples"):
        rules.load(bad)
    bad.write_text('[[rules]]\nid = "typo"\nkind = "meta-talk"\npattern = "x"\nmust = ["x"]\nmust_nto = ["y"]\n')
    with pytest.raises(ValueError, match="typo.*unknown keys"):
        rules.load(bad)


def test_text_is_normalized_once_so_a_rule_is_written_one_way():
    # typeset apostrophes and spelt-out forms read as the rule is written, and the match maps back to the text
    text = "Paper is calm. I am so glad you\u2019re enjoying my blog!"
    [defect] = [d for d in find_defects(text) if d.rule == "glad-you"]
    assert text[defect.where:].startswith("I am so glad you\u2019re")
    assert normalize("Here is what I have")[0] == "Here's what I've"


def test_the_bans_while_writing_come_from_the_rules():
    assert "Here's your" in rules.bans("prose") and "Welcome" in rules.bans("heading")
    assert set(rules.bans("title")) >= {"[", "(", "by:", "blog"}
    assert "blog" not in rules.bans("title", topic="Why I started a blog")  # a post about blogging may say so
    assert blogneo.DEFAULT_BANNED == rules.cliches() and "in today's digital" in blogneo.DEFAULT_BANNED
    assert not set(rules.cliches()) & set(rules.bans("prose"))  # each phrase once


def test_a_clichés_variant_is_named_but_does_not_block():
    [defect] = find_defects("In today's digital age, a paper notebook is a small rebellion that I enjoy daily.")
    assert defect.kind == "cliche" and not defect.blocking


def test_the_docs_list_of_rules_is_the_rules_file():
    from pathlib import Path

    docs = Path(__file__).resolve().parent.parent / "docs" / "rules.md"
    assert docs.read_text(encoding="utf-8") == rules.markdown(), "run: python -m blogneo.rules > docs/rules.md"


@pytest.mark.parametrize("text", [
    # ordinary blog prose the checker once rejected (issue 28)
    "Follow the instructions on the seed packet and water the bed every other morning.",
    "Sure, it rained all weekend, but the trail was empty.",
    "I have rewritten my resume three times this year.",
    "Good grammar matters in a cover letter.",
    "My favourite article on the topic is a short essay about walking to work.",
    "To wrap up my review, the kettle boils fast but the lid sticks.",
    # a blogger's own asides
    "Let me know in the comments which varieties you grow.",
    "Dear reader, I promise this one has a happy ending.",
    "In this guide I'll show you how I patch a tube in ten minutes.",
])
def test_a_bloggers_prose_is_not_blocked(text):
    assert not [d for d in find_defects(text) if d.blocking]


def test_a_person_quoted_in_prose_is_not_the_text_speaking():
    # A blogger quotes a boss's email or a stranger's offer; the same words outside quotes are a chat reply's.
    for quoted in ('My old boss would finish every email with "Hope this helps!" and it never did.',
                   "\u201cWant me to take a photo of you two?\u201d asked a stranger at the viewpoint.",
                   '"Sure," I said, when the landlord asked for a small change. It was not a small change.',
                   "My neighbour leaned over the fence: 'Want me to water them while you're away?' I said yes.",
                   "The form asked me to \u2018describe yourself in under 50 words\u2019, which I could not do."):
        assert not [d for d in find_defects(quoted) if d.blocking], quoted
    # an apostrophe opens no quote: the reply after "the dogs' bowls" is still the text speaking
    assert [d.kind for d in find_defects("I don't wash the dogs' bowls daily. Want me to add more tips here?")
            if d.blocking] == ["meta-talk"]
    # nor does a clipped word's, and a single-quoted span ends at a sentence's end
    for text in ("I fed 'em early. Want me to add more tips here? The dogs' bowls are clean now.",
                 "Back in the '90s we walked. Want me to add more tips here? My parents' house had no car."):
        assert "meta-talk" in [d.kind for d in find_defects(text) if d.blocking], text
    assert [d.kind for d in find_defects("The section is done. Hope this helps!") if d.blocking] == ["meta-talk"]
    assert [d.kind for d in find_defects('Here is "the quote" you wanted. Want me to add more?') if d.blocking]
    # debris is debris in quotes too
    assert [d for d in find_defects('She wrote "<|im_start|>assistant" on the form.') if d.blocking]


def test_crude_words_are_banned_while_writing_and_block_wherever_they_get_through():
    for part in ("title", "heading", "prose"):
        assert "bitch" in rules.bans(part)
    for part in ("title", "heading", "tags", "description", "prose"):
        text = "gardening, shit" if part == "tags" else "What a Shitty Week of Dinners Taught Me"
        assert "offensive" in [d.kind for d in find_defects(text, part) if d.blocking], part
