"""The checker's evaluation set: text written for the project, split once, scored by family.

``tests/data/checker_eval/*.jsonl`` holds short pieces of a blog section, each labelled with its family:
``negative`` (a human blogger's prose, which must pass) or one of ``FAMILIES`` (what a reader rejects, which must
be caught). Every item belongs to ``dev`` or ``test`` by a fixed hash of its text, decided before any rule was
written from it: rules, prompts and the learned signal are made on dev; test is only ever reported.

    python -m blogneo.evaluation            # precision and recall by family, on test (--split dev to work on)
"""

from __future__ import annotations

import argparse
import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

#: What a reader rejects in a section, by family, and the defect kind the checker names each with.
FAMILIES = {"reply": "meta-talk", "instruction": "meta-talk", "boilerplate": "boilerplate", "debris": "artifact",
            "byline": "invented-author"}
SPLITS = ("dev", "test")
DATA = Path(__file__).resolve().parent.parent / "tests" / "data" / "checker_eval"


@dataclass(frozen=True)
class Item:
    text: str
    family: str  # "negative" or one of FAMILIES
    note: str = ""

    @property
    def split(self) -> str:
        return split_of(self.text)

    @property
    def positive(self) -> bool:
        return self.family != "negative"


def split_of(text: str) -> str:
    """"dev" or "test", from the first byte of the text's SHA-256: fixed, and about half each.

    Example:
        >>> split_of("Sure, it rained all weekend, but the trail was empty.") in SPLITS
        True
    """
    return SPLITS[hashlib.sha256(text.encode("utf-8")).digest()[0] % 2]


def load_items(split: str | None = None, folder: Path = DATA) -> list[Item]:
    """Every item of the set (or of one split), in file order."""
    if split not in (None, *SPLITS):
        raise ValueError(f"split={split!r}: use one of {', '.join(SPLITS)}, or None for both.")
    items = []
    for path in sorted(folder.glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                row = json.loads(line)
                items.append(Item(row["text"], row["family"], row.get("note", "")))
    return [i for i in items if split is None or i.split == split]


def flagged(text: str, check=None) -> list:
    """The blocking defects ``check`` (default: ``find_defects`` on a prose part) finds in ``text``."""
    if check is None:
        from .defects import find_defects
        check = find_defects
    return [d for d in check(text, "prose") if d.blocking]


def report(items: list[Item], check=None) -> dict:
    """Precision and recall of ``check`` on ``items``: overall, and recall by family.

    A positive counts as caught when any blocking defect is found in it; a negative flagged with one is a false
    alarm. ``negatives_flagged`` is the share of negatives so flagged (the CI gate keeps it at most 3%).
    """
    hits, totals, kinds = Counter(), Counter(), Counter()
    false_alarms = []
    for item in items:
        found = flagged(item.text, check)
        totals[item.family] += 1
        if item.positive and found:
            hits[item.family] += 1
            kinds[item.family, FAMILIES[item.family] in {d.kind for d in found}] += 1
        elif not item.positive and found:
            false_alarms.append((item.text, [str(d) for d in found]))
    positives = sum(totals[f] for f in FAMILIES)
    caught = sum(hits[f] for f in FAMILIES)
    negatives = totals["negative"]
    flagged_total = caught + len(false_alarms)
    return {
        "items": len(items),
        "negatives": negatives,
        "negatives_flagged": round(len(false_alarms) / negatives, 4) if negatives else 0.0,
        "positives": positives,
        "recall": round(caught / positives, 4) if positives else 0.0,
        "precision": round(caught / flagged_total, 4) if flagged_total else 0.0,
        "recall_by_family": {f: round(hits[f] / totals[f], 4) for f in FAMILIES if totals[f]},
        "named_by_its_kind": {f: round(kinds[f, True] / totals[f], 4) for f in FAMILIES if totals[f]},
        "false_alarms": false_alarms,
    }


def format_report(result: dict, split: str) -> str:
    lines = [f"{split}: {result['items']} items; {result['negatives']} negatives, {result['positives']} positives",
             f"  precision {result['precision']:.1%}  recall {result['recall']:.1%}  "
             f"negatives flagged {result['negatives_flagged']:.1%}",
             "  family        recall  named by its kind"]
    for family, recall in result["recall_by_family"].items():
        lines.append(f"  {family:<12}  {recall:6.1%}  {result['named_by_its_kind'][family]:6.1%}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--split", choices=SPLITS, default="test")
    parser.add_argument("--misses", action="store_true", help="print what was missed and falsely flagged (dev only)")
    args = parser.parse_args(argv)
    items = load_items(args.split)
    result = report(items)
    print(format_report(result, args.split))
    if args.misses:
        if args.split != "dev":
            parser.error("--misses shows examples to write rules from: dev only, never test")
        for text, found in result["false_alarms"]:
            print(f"FALSE ALARM  {text!r}  {found}")
        for item in items:
            if item.positive and not flagged(item.text):
                print(f"MISSED {item.family:<11}  {item.text!r}")


if __name__ == "__main__":
    main()
