"""Quality of whole posts on the dev or held-out topics across post types and tones. Not a test: it prints figures.

    python benchmarks/post_quality.py [--set dev|held-out] [--model embedded] [--sections 4] [--seed 1] [--topics N]
                                      [--json FILE]
    python benchmarks/post_quality.py --rescore FILE     (check the posts a --json FILE holds again)

Each post is written with default settings apart from its topic's post type and tone, and checked
with blogneo's defect checker (``blogneo.defects``: the same checker best-of-N uses). It prints,
per post, the defects by kind, the words per section against the target, the candidates its steps
scored and the seconds it took; then the totals: defects per post, and how many posts were free of defects.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import time
from collections import Counter

import blogneo
from blogneo.defects import KINDS, check_post

# (topic, post type, tone): four topics for each post type, the tones spread across them.
TOPICS = [
    ("How to fix a flat bicycle tyre", "how-to", "friendly"),
    ("How to start a balcony herb garden", "how-to", "professional"),
    ("How to plan a week of cheap dinners", "how-to", "humorous"),
    ("How to prepare for a job interview", "how-to", "persuasive"),
    ("Reasons to learn a second language", "listicle", "persuasive"),
    ("Habits that help me sleep better", "listicle", "friendly"),
    ("Things nobody tells you about owning a dog", "listicle", "humorous"),
    ("Tools every home cook should own", "listicle", "professional"),
    ("Why I bike to work", "opinion", "persuasive"),
    ("Remote work is here to stay", "opinion", "professional"),
    ("Why board games beat streaming", "opinion", "humorous"),
    ("Why every town needs a public library", "opinion", "friendly"),
    ("A week with a paper notebook instead of apps", "review", "friendly"),
    ("Reviewing my first electric kettle", "review", "humorous"),
    ("The public transport of Lisbon, reviewed", "review", "professional"),
    ("An honest review of learning guitar online", "review", "persuasive"),
    ("What running a marathon taught me", "personal story", "friendly"),
    ("Baking sourdough bread for the first time", "personal story", "humorous"),
    ("Teaching my parents to video call", "personal story", "friendly"),
    ("Moving to a new city alone", "personal story", "professional"),
    # Held out until 2026-12-02, when its post's empty section led to a fix in generation (text under a heading
    # opens with text): no longer held out, so it is dev now. Tables of that day's docs count it in held-out's 22.
    ("How to set up a home aquarium", "how-to", "humorous"),
    # Held out until 2026-12-07, when its post's crude title ("... Bitch: How To Repot a Cactus ...") led to the
    # `crude-words` rule: dev now. That evening's docs count it among held-out's 21 (the two runs, the four readers).
    ("How to repot a cactus without getting hurt", "how-to", "friendly"),
]
# The held-out set: chosen on 2026-12-02, before the checker, prompts or writer were changed for issue 28, and never
# used to write a rule or a prompt. Report it; do not tune on it (tune on TOPICS).
HELD_OUT = [
    ("How to wash a wool jumper by hand", "how-to", "professional"),
    ("How to negotiate a pay rise", "how-to", "persuasive"),
    ("How to pack for a week of hiking", "how-to", "friendly"),
    ("Ways to save money on groceries", "listicle", "friendly"),
    ("Apps I use to stay organised", "listicle", "professional"),
    ("Mistakes I made as a new gardener", "listicle", "humorous"),
    ("Podcasts worth your commute", "listicle", "persuasive"),
    ("Small changes that cut my energy bill", "listicle", "professional"),
    ("Why cities should have more trees", "opinion", "persuasive"),
    ("Handwritten letters still matter", "opinion", "friendly"),
    ("Why I stopped buying fast fashion", "opinion", "professional"),
    ("Cats make better flatmates than people", "opinion", "humorous"),
    ("A month with a standing desk", "review", "professional"),
    ("Reviewing the cheapest tent I could find", "review", "humorous"),
    ("The night trains of Austria, reviewed", "review", "friendly"),
    ("An honest review of my first pottery class", "review", "persuasive"),
    ("The summer I learned to swim at thirty", "personal story", "friendly"),
    ("Restoring my grandfather's old radio", "personal story", "professional"),
    ("My first year as a beekeeper", "personal story", "humorous"),
    ("Cycling the coast of Portugal", "personal story", "persuasive"),
]
TOPIC_SETS = {"dev": TOPICS, "held-out": HELD_OUT}


def measure(post, seconds: float, target_words: int) -> dict:
    """One post's row: its defects by kind, words per prose part, candidates scored, and seconds (the candidates,
    almost all generated, a few the clean starts of others judged again, count a post's work exactly; seconds vary by
    about 10% on a shared machine)."""
    defects = check_post(post, target_words)
    words = [len(p.text.split()) for p in [post.introduction, *post.sections, post.conclusion]]
    return {
        "defects": len(defects),
        "by_kind": dict(Counter(d.kind for d in defects)),
        "found": [str(d) for d in defects],
        "words_per_part": round(statistics.mean(words)),
        "candidates": sum(len(part.candidates) for part in post.parts()),
        "target_words": target_words,
        "seconds": round(seconds, 1),
        "markdown": post.to_markdown(),
    }


def rescore(path: str) -> None:
    """Check again, with this checker, the posts a --json file holds (an earlier run's, for a before/after)."""
    rows = json.load(open(path))["rows"]
    for row in rows:
        # read with the model that wrote it (the post names it), so the learned signal reads it as the writer did
        post = blogneo.read_post(row["markdown"])
        defects = check_post(post, row["target_words"])
        row.update(defects=len(defects), by_kind=dict(Counter(d.kind for d in defects)),
                   found=[str(d) for d in defects])
        print(f"{row['defects']} defects  {row['topic']}  {'; '.join(row['found'])}")
    print(json.dumps(summary(rows), indent=1))


def summary(rows: list[dict]) -> dict:
    kinds = Counter()
    for row in rows:
        kinds.update(row["by_kind"])
    return {
        "posts": len(rows),
        "defects_per_post": round(sum(r["defects"] for r in rows) / len(rows), 2),
        "posts_without_defects": sum(r["defects"] == 0 for r in rows),
        "by_kind": {k: kinds.get(k, 0) for k in KINDS},
        "mean_words_per_part": round(statistics.mean(r["words_per_part"] for r in rows)),
        "target_words": rows[0]["target_words"],
        "mean_seconds_per_post": round(statistics.mean(r["seconds"] for r in rows), 1),
        # absent from the rows of an older --json file (--rescore)
        "candidates": sum(r["candidates"] for r in rows) if all("candidates" in r for r in rows) else None,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="embedded")
    parser.add_argument("--as-base", action="store_true",
                        help="drive the model through the base-model templates, without its chat template: the "
                             "embedded model so is the closest stand-in for GPT-Neo this machine has")
    parser.add_argument("--sections", type=int, default=4)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--set", choices=TOPIC_SETS, default="dev",
                        help="dev: the topics the rules and prompts were tuned on; held-out: the report")
    parser.add_argument("--topics", type=int, help="only the first N topics of the set")
    parser.add_argument("--stride", type=int, default=1, help="only every Nth topic of the set (every type stays in)")
    parser.add_argument("--json", help="also write the figures and every post to this file")
    parser.add_argument("--rescore", metavar="FILE", help="check the posts of an earlier --json FILE again, and stop")
    args = parser.parse_args()
    if args.rescore:
        return rescore(args.rescore)
    model = blogneo.load(args.model)
    if args.as_base:
        model = dataclasses.replace(model, chat=False)
    rows = []
    for topic, kind, tone in TOPIC_SETS[args.set][:: args.stride][: args.topics]:
        started = time.perf_counter()
        post = blogneo.write_post(topic, model, sections=args.sections, params=blogneo.SamplingParams(seed=args.seed),
                                  post_type=kind, tone=tone)
        row = {"topic": topic, "type": kind, "tone": tone,
               **measure(post, time.perf_counter() - started, post.words)}
        rows.append(row)
        if args.json:  # after every post, so that a run stopped partway keeps what it wrote
            with open(args.json, "w") as f:
                json.dump({"summary": summary(rows), "rows": rows}, f, indent=1)
        print(f"{row['defects']} defects {row['words_per_part']:4d}/{row['target_words']} words a part "
              f"{row['candidates']:3d} candidates {row['seconds']:5.1f} s  {topic} ({kind}, {tone})  "
              f"{'; '.join(row['found'])}", flush=True)
    result = summary(rows)
    result.update(set=args.set, model=args.model, templates="base" if args.as_base or not model.chat else "chat",
                  seed=args.seed, sections=args.sections)
    print(json.dumps(result, indent=1))
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"summary": result, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
