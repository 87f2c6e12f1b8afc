"""Your voice, measured: the sample blog's markers in text written plainly, by example, and with a LoRA adapter.

    python benchmarks/voice.py [--model embedded] [--epochs 3] [--out build/voice-adapter] [--json FILE]
                               [--adapter DIR] [--base-templates]

Fine-tunes ``--model`` on ``blogneo.sample_blog()`` with the defaults (reporting validation perplexity before
and after, minutes and tokens a second), then writes one text for each of the topics below three ways (no
examples, ``examples=`` the sample blog, the adapter), with the same seeds, and prints the share of sentences
that carry a marker of the blog's voice (``blogneo.voice_markers``) and the other counts. Not a test.
``--adapter`` reuses an adapter trained before; ``--base-templates`` drives the model without its chat template,
as a base model (the embedded model so is the closest stand-in for GPT-Neo offline).
The topics are none of the sample blog's: chosen before anything was measured, never tuned on.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import statistics
import time
from pathlib import Path

import blogneo

TOPICS = ["A rainy Saturday at the market", "Fixing a dripping tap", "My first time at a pub quiz",
          "Why I started keeping a diary", "A day out at the seaside", "Learning to cook curry from scratch",
          "The joy of a library card", "Painting the front door"]


def texts(model, topic_seed_pairs, examples=None, max_new_tokens=200):
    out = []
    for topic, seed in topic_seed_pairs:
        prompt = blogneo.blog_prompt(topic, model.chat)
        [c] = blogneo.generate(prompt, model=model, seed=seed, max_new_tokens=max_new_tokens, examples=examples)
        out.append(c.text)
    return out


def summary(name, written):
    marks = [blogneo.voice_markers(t) for t in written]
    sentences = sum(m.sentences for m in marks)
    return {"way": name, "share": sum(m.marked for m in marks) / max(1, sentences), "sentences": sentences,
            "british": sum(m.british for m in marks), "american": sum(m.american for m in marks),
            "streets": sum(m.streets for m in marks), "sign_off": sum(m.sign_off for m in marks),
            "short_paragraphs": statistics.mean(m.short_paragraphs for m in marks), "texts": written}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="embedded")
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--out", default="build/voice-adapter")
    parser.add_argument("--json")
    parser.add_argument("--adapter", help="an adapter trained before, instead of training one")
    parser.add_argument("--base-templates", action="store_true", help="no chat template: the base-model path")
    args = parser.parse_args(argv)
    started = time.perf_counter()
    result = None
    if args.adapter is None:
        result = blogneo.finetune(blogneo.sample_blog(), args.model, out=args.out, epochs=args.epochs)
        print(result)
    base = blogneo.load(args.model)
    voiced = blogneo.load(args.adapter or result.folder)
    if args.base_templates:
        base, voiced = dataclasses.replace(base, chat=False), dataclasses.replace(voiced, chat=False)
    pairs = [(t, 100 + i) for i, t in enumerate(TOPICS)]
    rows = [summary("plain", texts(base, pairs)),
            summary("by example", texts(base, pairs, examples=blogneo.sample_blog())),
            summary("adapter", texts(voiced, pairs))]
    sample = summary("the sample blog itself", [p.read_text() for p in sorted(blogneo.sample_blog().glob("*.md"))])
    print(f"\n{'way':24} {'marked':>7} {'sentences':>9} {'British':>7} {'American':>8} {'streets':>7} "
          f"{'sign-off':>8} {'short ¶':>7}")
    for r in [*rows, sample]:
        print(f"{r['way']:24} {r['share']:7.1%} {r['sentences']:9} {r['british']:7} {r['american']:8} "
              f"{r['streets']:7} {r['sign_off']:8} {r['short_paragraphs']:7.0%}")
    report = {"model": args.model, "base_templates": args.base_templates, "ways": rows,
              "seconds": time.perf_counter() - started}
    if result is not None:
        report.update(finetune={k: v for k, v in vars(result).items() if k != "history"}, history=result.history)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1, default=str))


if __name__ == "__main__":
    main()
