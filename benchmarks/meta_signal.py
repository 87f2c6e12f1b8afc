"""Two signals for meta-talk, side by side on the evaluation set, and what each costs. Not a test: it prints figures.

    python benchmarks/meta_signal.py [--model embedded] [--split test]

1. the learned signal that ships (``blogneo.signal``: the embedded model's hidden states, logistic regression on dev);
2. a likelihood ratio under the loaded model: how much likelier a sentence is, per token, as an assistant's answer to
   a request for a blog section than as a line of a blog page. Its threshold is chosen on dev (at most 1% of dev's
   negatives flagged), then applied to the split asked for.

Each is reported alone and on top of the phrase rules, with the milliseconds it takes per candidate (a prose part of
about 100 words, six sentences) on the model as the writer loads it. ``--set new_writers`` reports the second set.
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch

import blogneo
from blogneo import evaluation, signal
from blogneo.defects import find_defects
from blogneo.lens import _token_logprobs
from blogneo.prompts import text_ids

REQUEST = "Write one short section of a blog post."
PAGE = "My blog\n\nPosted in Life\n\n"


def ratio_scorer(model):
    """score(sentence) -> mean log-probability per token as a reply, minus as a line of a page."""
    tokenizer = model.tokenizer
    if model.chat:
        messages = [{"role": "user", "content": REQUEST}]
        reply_context = tokenizer.apply_chat_template(messages, add_generation_prompt=True, tokenize=False)
    else:
        reply_context = f"User: {REQUEST}\nAssistant:"
    contexts = [text_ids(tokenizer, reply_context), text_ids(tokenizer, PAGE)]

    def mean_logprob(context: list[int], ids: list[int]) -> float:
        return _token_logprobs(model, torch.tensor([context]), ids).mean().item()

    def score(sentence: str) -> float:
        ids = text_ids(tokenizer, " " + sentence if not model.chat else sentence)
        return mean_logprob(contexts[0], ids) - mean_logprob(contexts[1], ids)

    return score


def flags(items, flagged_item) -> dict:
    caught = sum(bool(flagged_item(i.text)) for i in items if i.positive)
    alarms = sum(bool(flagged_item(i.text)) for i in items if not i.positive)
    positives = sum(i.positive for i in items)
    negatives = len(items) - positives
    return {"recall": caught / positives, "negatives_flagged": alarms / negatives,
            "precision": caught / (caught + alarms) if caught + alarms else 0.0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="embedded")
    parser.add_argument("--split", default="test", choices=evaluation.SPLITS)
    parser.add_argument("--set", default="checker_eval", choices=list(evaluation.SETS))
    args = parser.parse_args()
    model = blogneo.load(args.model)
    reader = evaluation.reading_model()  # the learned signal's, as it was trained and is measured
    ratio = ratio_scorer(model)
    cache: dict[str, float] = {}

    def item_ratio(text: str) -> float:
        if text not in cache:
            cache[text] = max((ratio(s) for _, s in signal.sentences(text)), default=-99.0)
        return cache[text]

    dev = [i for i in evaluation.load_items("dev") if i.family in ("negative", *signal.TRAINED_ON)]
    negatives = sorted((item_ratio(i.text) for i in dev if not i.positive), reverse=True)
    threshold = negatives[int(0.01 * len(negatives))] + 1e-4
    items = [i for i in evaluation.load_items(args.split, evaluation.SETS[args.set])
             if i.family in ("negative", *signal.TRAINED_ON)]
    learned = signal.load()

    def rules(text: str) -> bool:
        return any(d.blocking for d in find_defects(text, "prose"))  # no model: the rules alone

    rows = {
        "phrase rules": rules,
        "learned signal": lambda t: bool(learned.find(t, reader)),
        f"likelihood ratio ({model.name})": lambda t: item_ratio(t) >= threshold,
        "rules + learned": lambda t: rules(t) or bool(learned.find(t, reader)),
        "rules + likelihood ratio": lambda t: rules(t) or item_ratio(t) >= threshold,
    }
    print(f"{args.split}: replies and instructions against negatives ({len(items)} items); ratio threshold "
          f"{threshold:.3f} from dev")
    print(f"{'signal':<42} {'recall':>7} {'neg. flagged':>12} {'precision':>9}")
    for name, flagged_item in rows.items():
        r = flags(items, flagged_item)
        print(f"{name:<42} {r['recall']:7.1%} {r['negatives_flagged']:12.1%} {r['precision']:9.1%}")
    part = " ".join(i.text for i in items if not i.positive)[:700]  # about 100 words, six or so sentences
    writer_model = blogneo.load("embedded")  # at the writer's own precision
    for name, run in (("learned signal", lambda: learned.find(part, writer_model)),
                      ("likelihood ratio", lambda: [ratio(s) for _, s in signal.sentences(part)])):
        times = []
        for _ in range(5):
            started = time.perf_counter()
            run()
            times.append(time.perf_counter() - started)
        print(f"{name}: {1000 * statistics.median(times):.1f} ms per candidate of {len(part.split())} words")


if __name__ == "__main__":
    main()
