"""Quality of whole posts on a fixed set of 10 topics (issue 5). Not a test: it prints figures.

    python benchmarks/post_quality.py [--model embedded] [--sections 4] [--seed 1] [--json FILE]

For each post it checks what every post must have: a title, the requested number of sections,
whole sentences at the end of every part, and no run of 4 words repeated more than 3 times
within any section. It prints words per post, the worst repetition count and seconds per post.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import blogneo
from blogneo.post import write_post
from blogneo.text import ends_sentence, ngram_repeats

TOPICS = [
    "Why I bike to work",
    "Growing tomatoes on a balcony",
    "Learning to play chess as an adult",
    "A weekend in Lisbon on a budget",
    "How I organise my week with a paper notebook",
    "Baking sourdough bread for the first time",
    "What running a marathon taught me",
    "Setting up a home office in a small flat",
    "Reading more books without trying harder",
    "Teaching my parents to video call",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="embedded")
    parser.add_argument("--sections", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--json", help="also write the figures and every post to this file")
    args = parser.parse_args()
    model = blogneo.load(args.model)
    rows, posts = [], []
    for topic in TOPICS:
        started = time.perf_counter()
        post = write_post(topic, model, sections=args.sections, params=blogneo.SamplingParams(seed=args.seed))
        seconds = time.perf_counter() - started
        prose = [post.introduction, *post.sections, post.conclusion]
        row = {
            "topic": topic,
            "title": bool(post.title.text.strip()),
            "sections": len(post.sections),
            "whole_sentences": all(ends_sentence(p.text) for p in [post.description, *prose]),
            "worst_4gram_in_a_section": max(ngram_repeats(p.text, 4) for p in prose),
            "words": len(post.body().split()),
            "seconds": round(seconds, 1),
        }
        row["ok"] = (row["title"] and row["sections"] == args.sections and row["whole_sentences"]
                     and row["worst_4gram_in_a_section"] <= 3)
        rows.append(row)
        posts.append(post.to_markdown())
        print(f"{'ok ' if row['ok'] else 'BAD'} {row['words']:4d} words  4-gram max {row['worst_4gram_in_a_section']}"
              f"  {row['seconds']:5.1f} s  {topic}", flush=True)
    summary = {
        "model": args.model, "sections": args.sections, "seed": args.seed, "posts": len(rows),
        "all_ok": all(r["ok"] for r in rows),
        "mean_words": round(statistics.mean(r["words"] for r in rows), 1),
        "worst_repetition": max(r["worst_4gram_in_a_section"] for r in rows),
        "mean_seconds_per_post": round(statistics.mean(r["seconds"] for r in rows), 1),
    }
    print(json.dumps(summary, indent=1))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"summary": summary, "rows": rows, "posts": posts}, f, indent=1)


if __name__ == "__main__":
    main()
