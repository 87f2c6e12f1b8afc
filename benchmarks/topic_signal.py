"""How well a signal tells an on-topic part from an off-topic one, on the labelled pairs of
tests/data/topic_pairs.jsonl (split like the checker's set: dev to choose, test to report). Not a test.

    python benchmarks/topic_signal.py [--model embedded]

Signals: the share of the topic's key words a part uses (best-of-N's ``on_topic`` today), and the loaded model's
pointwise mutual information between the topic and the part (how much likelier the part is, per token, after
"Topic: <topic>" than after a neutral topic). Reported as AUC: the chance that a random on-topic part scores above
a random off-topic one (0.5 is chance).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import torch

import blogneo
from blogneo.evaluation import split_of
from blogneo.prompts import text_ids
from blogneo.text import keywords, topic_share

PAIRS = Path(__file__).resolve().parent.parent / "tests" / "data" / "topic_pairs.jsonl"


def auc(scored: list[tuple[float, bool]]) -> float:
    on = [s for s, y in scored if y]
    off = [s for s, y in scored if not y]
    return sum((a > b) + 0.5 * (a == b) for a in on for b in off) / (len(on) * len(off))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="embedded")
    args = parser.parse_args()
    rows = [json.loads(line) for line in PAIRS.read_text().splitlines() if line.strip()]
    model = blogneo.load(args.model)

    def mean_logprob(context: str, text: str) -> float:
        context_ids, ids = text_ids(model.tokenizer, context), text_ids(model.tokenizer, " " + text)
        input_ids = torch.tensor([context_ids + ids], device=model.device)
        with torch.inference_mode():
            logits = model.model(input_ids).logits[0, len(context_ids) - 1:-1].float()
        return logits.log_softmax(-1).gather(1, torch.tensor(ids)[:, None]).mean().item()

    def pmi(row) -> float:
        return mean_logprob(f"Blog post: {row['topic']}\n\n", row["text"]) - \
            mean_logprob("Blog post: A few thoughts\n\n", row["text"])

    signals = {"key words (on_topic)": lambda r: topic_share(r["text"], keywords(r["topic"])),
               f"PMI under {model.name}": pmi}
    print(f"{'signal':<32} {'dev AUC':>8} {'test AUC':>8}")
    for name, signal in signals.items():
        scores = {s: [(signal(r), r["label"] == "on") for r in rows if split_of(r["text"]) == s]
                  for s in ("dev", "test")}
        print(f"{name:<32} {auc(scores['dev']):8.3f} {auc(scores['test']):8.3f}")


if __name__ == "__main__":
    main()
