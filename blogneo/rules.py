"""The phrase rules, from one file: ``rules.toml``. The checker, the bans while writing, the tests and the docs'
list of rules all come from it; no phrase is spelt out anywhere else.

Each rule names its ``kind`` (the defect it is), the ``parts`` of a post it reads ("prose", "heading", "title",
"description", "tags"), its ``pattern`` (a regular expression over the text as ``text.normalize`` gives it:
straight apostrophes, "I am" read as "I'm"; in any case unless ``case = true``), the phrases it bans while those
parts are written (``ban``, see ``prompts.banned_ids``), and the examples it ``must`` and ``must_not`` match. A
pattern may use the file's ``[macros]`` as ``{name}``.

    python -m blogneo.rules > docs/rules.md      # the list in the docs (a test keeps it in step)
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

from .text import normalize, straight

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

RULES_FILE = Path(__file__).with_name("rules.toml")
PARTS = ("title", "description", "tags", "heading", "prose")


@dataclass(frozen=True)
class Rule:
    id: str
    kind: str
    why: str
    parts: tuple[str, ...]
    pattern: re.Pattern
    ban: tuple[str, ...] = ()
    ban_parts: tuple[str, ...] = ()  # where the bans apply; the rule's own parts when empty
    must: tuple[str, ...] = ()
    must_not: tuple[str, ...] = ()
    unless_topic: bool = False  # not a defect when the post's topic matches too ("blogging" in a post about it)

    def find(self, text: str, part: str, topic: str = "", normalized: tuple[str, list[int]] | None = None):
        """(start, excerpt) of each match in ``text`` as written; none when the rule does not read ``part``."""
        if part not in self.parts or (self.unless_topic and self.pattern.search(normalize(topic)[0])):
            return []
        norm, offsets = normalized or normalize(text)
        found = []
        for m in self.pattern.finditer(norm):
            start, end = offsets[m.start()], offsets[m.end()] if m.end() < len(offsets) else len(text)
            found.append((start, text[start:end].strip() or m.group(0)))
        return found


@functools.cache
def load(path: Path = RULES_FILE) -> tuple[Rule, ...]:
    """The rules of ``path``, checked: a bad rule is an error that names it, at first use."""
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    macros = data.get("macros", {})
    rules, seen = [], set()
    for raw in data["rules"]:
        name = raw.get("id", "?")
        unknown = set(raw) - {"id", "kind", "why", "parts", "pattern", "ban", "ban_parts", "must", "must_not",
                              "unless_topic", "case"}
        problem = (f"unknown keys {sorted(unknown)}" if unknown else "a duplicate id" if name in seen else
                   "no must examples" if not raw.get("must") else "")
        if problem:
            raise ValueError(f"{path.name}: rule {name!r} has {problem}.")
        seen.add(name)
        parts = tuple(raw.get("parts", PARTS))
        if set(parts) - set(PARTS) or set(raw.get("ban_parts", ())) - set(PARTS):
            raise ValueError(f"{path.name}: rule {name!r} names a part that is none of {', '.join(PARTS)}.")
        source = re.sub(r"\{(\w+)\}", lambda m: macros[m.group(1)] if m.group(1) in macros else m.group(0),
                        raw["pattern"])
        flags = re.M if raw.get("case") else re.M | re.I
        rules.append(Rule(id=name, kind=raw["kind"], why=raw.get("why", ""), parts=parts,
                          pattern=re.compile(source, flags), ban=tuple(raw.get("ban", ())),
                          ban_parts=tuple(raw.get("ban_parts", ())), must=tuple(raw["must"]),
                          must_not=tuple(raw.get("must_not", ())), unless_topic=raw.get("unless_topic", False)))
    return tuple(rules)


#: Kinds whose phrases, inside a quoted span of prose, are a person quoted, not the text speaking: 'My old boss
#: ended every email with "Hope this helps!"', '"Sure," I said', "My friend texted, 'Want me to bring anything?'".
#: Debris and clichés are judged in quotes too. A single quote opens a span only where no letter is before it and
#: no clipped word follows ('em, 'til, '90s), and closes one only where no letter follows it; a single-quoted span
#: never runs past a sentence's end, so an apostrophe ("the dogs' bowls") cannot hide a sentence after it.
SPOKEN_KINDS = ("meta-talk", "boilerplate")
_QUOTED = re.compile(r'"[^"\n]{1,300}"|(?<![\w\'])\'(?!(?:em|til|cause|cos|bout|round|tis|twas|n|\d0s)\b)(?=\w)'
                     r'(?:[^\'\n.!?]|[.!?](?!\s)|\'(?=\w)){1,300}?(?<=[\w.,!?])\'(?!\w)')


#: Code, in prose: a closed fenced block or an inline span. What a rule finds there is code ("{name}" in an f-string,
#: a URL in a curl command), not the text speaking.
CODE_BLOCK = r"^[ \t]*```[^\n`]*\n.*?^[ \t]*```[ \t]*$"  # closed and fenced: "```bash", the code, "```"
_CODE = re.compile(CODE_BLOCK + r"|`[^`\n]+`", re.M | re.S)


def matches(text: str, part: str, topic: str = "") -> list[tuple[Rule, int, str]]:
    """(rule, start, excerpt) for every rule that reads ``part`` and matches ``text``, text normalized once.

    In prose, a match of a ``SPOKEN_KINDS`` rule that starts inside quotes is someone quoted, and is left out; a
    match of any rule that starts inside code is code, and is left out too.

    Example:
        >>> [r.id for r, _, _ in matches('My boss signed off with "Hope this helps!" every time.', "prose")]
        []
    """
    normalized = normalize(text)
    quoted = [range(*m.span()) for m in _QUOTED.finditer(straight(text))] if part == "prose" else []
    code = [range(*m.span()) for m in _CODE.finditer(text)] if part == "prose" else []
    return [(rule, start, excerpt) for rule in load()
            for start, excerpt in rule.find(text, part, topic, normalized)
            if not (rule.kind in SPOKEN_KINDS and any(start in span for span in quoted))
            and not any(start in span for span in code)]


def bans(part: str, topic: str = "") -> tuple[str, ...]:
    """The phrases banned while ``part`` is written, in file order; clichés aside (``cliches``).

    A rule that holds ``unless_topic`` bans nothing on a topic it matches (a post about blogging may say "blog").

    Example:
        >>> "Here's your" in bans("prose"), "delve into" in bans("prose")
        (True, False)
    """
    phrases = []
    for rule in load():
        if part in (rule.ban_parts or rule.parts) and rule.kind != "cliche":
            if rule.unless_topic and topic and rule.pattern.search(normalize(topic)[0]):
                continue
            phrases += [p for p in rule.ban if p not in phrases]
    return tuple(phrases)


def cliches() -> tuple[str, ...]:
    """The clichés every post is written without (``write_post`` records them in its params, as ``DEFAULT_BANNED``)."""
    return tuple(phrase for rule in load() if rule.kind == "cliche" for phrase in rule.ban)


def markdown() -> str:
    """The rules as a Markdown list, for the docs: what each finds, where, and an example."""
    lines = ["# The checker's phrase rules", "",
             "Generated from `blogneo/rules.toml` by `python -m blogneo.rules > docs/rules.md`; edit the rules file,",
             "not this page. The structural checks (unfinished, too short or long, placeholders, numbering, repeated",
             "or title-repeating headings, loops, tags) are code in `blogneo/defects.py`. In prose, a meta-talk or",
             "boilerplate phrase inside quotes is a person quoted (My boss signed off with \"Hope this",
             "helps!\") and is not a defect; the learned signal still reads the sentence.", ""]
    for kind in dict.fromkeys(r.kind for r in load()):
        lines += [f"## {kind}", "", "| rule | reads | finds | must not find | banned while writing |",
                  "|---|---|---|---|---|"]
        for r in (r for r in load() if r.kind == kind):
            cell = [r.id + (f": {r.why}" if r.why else ""), "every part" if r.parts == PARTS else ", ".join(r.parts),
                    _quote(r.must[0]),
                    _quote(r.must_not[0]) if r.must_not else "", ", ".join(f"`{b}`" for b in r.ban)]
            lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cell) + " |")
        lines.append("")
    return "\n".join(lines)


def _quote(example: str) -> str:
    return '"' + " ".join(example.split()).replace("<", "&lt;") + '"'


if __name__ == "__main__":
    print(markdown(), end="")
