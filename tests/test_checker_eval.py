"""The checker measured on text written for the purpose (tests/data/checker_eval), split before any rule was
written: rules and the learned signal come from dev; test is the gate. See docs/quality.md for the figures."""

import re

import pytest

from blogneo import evaluation, signal
from blogneo.defects import find_defects
from blogneo.evaluation import FAMILIES, load_items, report, split_of

pytestmark = pytest.mark.slow  # the embedded model reads the whole set, minutes: out of `make test-fast`

# Measured on test when this gate was last set (2026-12-07: the learned signal trained on sentences, with the text
# written to train it; quoted speech left out of the phrase rules): 1.6% of negatives flagged, recall 76.2% (on
# 2026-12-02, 2.7% and 74.2%; 64.4% with the word n-gram signal before it). That evening, with writer_5-8 in the
# signal's training text: 2.2% and 76.2%. Late that night, with the rules written from tests/data/rules_dev: 2.2% and
# 77.8%; then with the signal reading each sentence's last token too: 1.6% and 82.9%. The gate is issue 28's own:
# at most 3% and at least 80%.
MOST_NEGATIVES_FLAGGED = 0.03
LEAST_RECALL = 0.80
# The second set's test half (other writers, replies and instructions only): 1.6% of negatives flagged, recall 66.5%
# with the last token read (before it 1.4% and 54.3%; 2026-12-02: 1.2% and 50.8%; the checker with the word n-gram
# signal: 1.6% and 24.2%; its rules alone 15.8%). The gate holds the floor under what was measured.
LEAST_RECALL_NEW_WRITERS = 0.64


def test_the_set_is_large_enough_and_split_by_a_fixed_hash():
    items = load_items()
    assert sum(not i.positive for i in items) >= 300
    for family in FAMILIES:
        assert sum(i.family == family for i in items) >= 150, family
    assert len({i.text for i in items}) == len(items)  # no text twice, so no text in both splits
    second = load_items(folder=evaluation.NEW_WRITERS)
    assert len(second) >= 1900 and not {i.text for i in second} & {i.text for i in items}
    dev, test = load_items("dev"), load_items("test")
    assert len(dev) + len(test) == len(items) and 0.4 < len(dev) / len(items) < 0.6
    assert split_of("Sure, it rained all weekend, but the trail was empty.") == "test"  # the hash never changes


def test_the_text_rules_are_written_from_holds_no_test_item_nor_its_kin():
    # rules_dev is dev only: no item may be a test item, nor share most of its words with one (the writers were blind,
    # but "Share this:" and "<|endoftext|>" are everyone's), or a rule written from it would be written from test
    def words(text):
        return frozenset(re.findall(r"[a-z0-9']+", text.lower()))

    kept = load_items(folder=evaluation.RULES_DEV)
    assert len(kept) >= 1100 and {i.split for i in kept} == {"dev", "test"}  # the hash does not apply: all of it is dev
    tested = load_items("test") + load_items("test", evaluation.NEW_WRITERS)
    assert not {i.text for i in kept} & {i.text for i in tested}
    tested = [words(i.text) for i in tested]
    for item in kept:
        mine = words(item.text)
        assert all(len(mine & other) < 0.6 * len(mine | other) for other in tested if mine | other), item.text


def test_the_rules_alone_pass_the_near_misses_they_were_written_beside():
    # a guard, not a measure: the rules were written from this text, so what they do on it flatters them
    negatives = [i for i in load_items(folder=evaluation.RULES_DEV) if not i.positive]
    blocked = [i.text for i in negatives if report([i], check=evaluation.without_signal)["false_alarms"]]
    links = [t for t in blocked if "](http" in t]  # a link the model writes is invented: flagged by design
    assert len(blocked) - len(links) <= 0.01 * len(negatives), blocked


def test_on_the_test_split_the_checker_blocks_few_good_texts_and_catches_most_bad_ones(embedded):
    # the learned signal reads the embedded model (fp32 on the CPU, as it was trained and measured)
    result = report(load_items("test"), model=evaluation.reading_model())
    assert result["negatives_flagged"] <= MOST_NEGATIVES_FLAGGED, result["false_alarms"][:5]
    assert result["recall"] >= LEAST_RECALL, result["recall_by_family"]


def test_on_the_second_writers_test_half_it_holds_too(embedded):
    result = report(load_items("test", evaluation.NEW_WRITERS), model=evaluation.reading_model())
    assert result["negatives_flagged"] <= MOST_NEGATIVES_FLAGGED, result["false_alarms"][:5]
    assert result["recall"] >= LEAST_RECALL_NEW_WRITERS, result["recall_by_family"]


def test_the_learned_signal_reads_only_the_model_it_was_trained_on(embedded, tiny):
    reply = "A lighter closing line could work here if the tone feels too heavy."  # in no set: no rule names it
    learned = [d for d in find_defects(reply, model=embedded) if d.rule == "learned"]
    assert learned and learned[0].kind == "meta-talk" and learned[0].blocking  # at the writer's own precision
    assert not [d for d in find_defects(reply, model=tiny) if d.rule == "learned"]  # GPT-Neo: the rules alone
    assert not [d for d in find_defects(reply) if d.rule == "learned"]  # no model, no signal
    assert not signal.load().applies(tiny) and signal.load().applies(embedded)


def test_the_signal_reads_each_sentence_averaged_and_at_its_last_token(embedded):
    # the last token's states (added on dev, one writer held out at a time: docs/quality.md) have read the sentence
    # whole; they differ where the averages of two sentences that share most tokens hardly do
    short, longer = "I grew basil on the sill.", "I grew basil on the sill, then mint, then a lemon tree in a pot."
    rows = signal.features([short, "I grew basil on the sill?", longer], embedded)
    layers, hidden = signal.layers_of(embedded), embedded.model.config.hidden_size
    assert rows.shape == (3, 2 * len(layers) * hidden) and len(signal.load().weights) == rows.shape[1]
    averaged, last = rows[:, : len(layers) * hidden], rows[:, len(layers) * hidden:]
    assert (last[0] - last[1]).norm() > 2 * (averaged[0] - averaged[1]).norm()
    # read at its own last token, not at the padding a longer sentence in its batch puts after it
    alone = signal.features([short], embedded)[0]
    assert (rows[0] - alone).abs().max() < 1e-3 * alone.abs().max()
    assert {i.text for group in evaluation.writers() for i in group} >= {i.text for i in load_items("dev")
                                                                        if i.family in ("negative", "reply")}


def test_misses_are_shown_for_dev_only(capsys):
    import pytest

    with pytest.raises(SystemExit):
        evaluation.main(["--split", "test", "--misses"])
    assert "dev only" in capsys.readouterr().err


# Measured on the test pairs when the topic signal went into best-of-N (2026-12-02): AUC 0.808; the share of the
# topic's key words, best-of-N's signal before it, 0.548. The signal was chosen on dev (0.837 against 0.554).
LEAST_TOPIC_AUC = 0.78
# The drift the writer names under blogneo.defects.DRIFT (chosen on dev), on the test pairs other than headings when it
# was set: 2 of 56 on-topic parts (3.6%), 18 of 34 off-topic ones (52.9%).
MOST_ON_TOPIC_DRIFT = 0.08
LEAST_OFF_TOPIC_DRIFT = 0.40


def test_the_topic_signal_ranks_on_topic_parts_above_off_topic_ones(embedded):
    from blogneo.defects import DRIFT
    from blogneo.lens import topic_pmi

    pairs = evaluation.topic_pairs("test")
    assert len(pairs) >= 100 and {p["label"] for p in pairs} == {"on", "off"}
    scored = [(topic_pmi(p["text"], p["topic"], embedded), p["label"] == "on") for p in pairs]
    assert evaluation.auc(scored) >= LEAST_TOPIC_AUC
    # the writer names a part under DRIFT (headings aside): few good parts, many off-topic ones
    named = [(s < DRIFT, on) for (s, on), p in zip(scored, pairs, strict=True) if p["kind"] != "heading"]
    good = [n for n, on in named if on]
    off = [n for n, on in named if not on]
    assert sum(good) / len(good) <= MOST_ON_TOPIC_DRIFT and sum(off) / len(off) >= LEAST_OFF_TOPIC_DRIFT
