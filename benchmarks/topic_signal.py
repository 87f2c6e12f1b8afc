"""How well a signal tells an on-topic part from an off-topic one, on the labelled pairs of
tests/data/topic_pairs.jsonl (split like the checker's set: dev to choose, test to report). Not a test.

    python benchmarks/topic_signal.py [--model embedded]

Signals: the share of the topic's key words a part uses (best-of-N's ``on_topic`` before issue 28), and the loaded
model's pointwise mutual information between the topic and the part (``blogneo.lens.topic_pmi``, best-of-N's
``on_topic`` now: how much likelier the part is, per token, after "Blog post: <topic>" than after a neutral topic).
Reported as AUC: the chance that a random on-topic part scores above a random off-topic one (0.5 is chance).
"""

from __future__ import annotations

import argparse
import time

import blogneo
from blogneo.evaluation import auc, split_of, topic_pairs
from blogneo.lens import topic_pmi
from blogneo.text import keywords, topic_share


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="embedded")
    args = parser.parse_args()
    rows = topic_pairs()
    model = blogneo.load(args.model)

    signals = {"key words (on_topic)": lambda r: topic_share(r["text"], keywords(r["topic"])),
               f"PMI under {model.name}": lambda r: topic_pmi(r["text"], r["topic"], model),
               "PMI + key words": lambda r: topic_pmi(r["text"], r["topic"], model)
               + topic_share(r["text"], keywords(r["topic"]))}
    print(f"{'signal':<32} {'dev AUC':>8} {'test AUC':>8} {'ms a part':>9}")
    for name, signal in signals.items():
        start = time.perf_counter()
        scores = {s: [(signal(r), r["label"] == "on") for r in rows if split_of(r["text"]) == s]
                  for s in ("dev", "test")}
        ms = 1000 * (time.perf_counter() - start) / len(rows)
        print(f"{name:<32} {auc(scores['dev']):8.3f} {auc(scores['test']):8.3f} {ms:9.1f}")


if __name__ == "__main__":
    main()
