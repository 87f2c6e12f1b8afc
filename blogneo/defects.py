"""What a reader sees at once in a generated post: one checker, used everywhere.

Best-of-N and retries in ``write_post`` use it (a candidate with a defect loses to one without),
``Post.defects()`` reports it, and ``benchmarks/post_quality.py`` measures with it. Two sorts of check:

- **phrase rules**, kept as data in ``rules.toml`` (``blogneo.rules``): meta-talk (the text speaks to whoever
  asked for it, or about itself as a piece of work), artifacts (template and prompt debris), a web page's
  boilerplate, bylines, crude words (``offensive``), clichés. Each rule carries its examples; ``docs/rules.md``
  lists them.
- **structural checks**, here in code, because they generalize: a part ``unfinished``, far ``too-short`` or
  ``too-long``; a placeholder heading (an ``artifact``), one carrying another item's number (``heading-number``),
  repeating the title (``title-repeated``) or an earlier heading (``duplicate-heading``); a title ``off-topic``;
  tags that are fragments, words run together or about the writing; hashtags, labels, unbalanced brackets or
  quotes; a list starting past 1; a loop (``repetition``).
- **a learned signal** (``blogneo.signal``) for the sentence that speaks to whoever asked, in words no rule has: it
  reads the embedded model's hidden states, so it runs when that model is given (``model=``), as the writer does.

Any defect makes a candidate lose to one without, in best-of-N. Most are ``BLOCKING``: a reader sees them at once
and no post should keep one. The measures of length, the loop check and clichés (too-short, too-long, repetition,
cliche) are not: a part a little off its length still reads as a post. Nor is ``drift``, which only the writer
finds, with the loaded model (``blogneo.lens.topic_pmi``): a part the topic makes no likelier (see ``DRIFT``).

How well it does is measured on text written for the purpose, never on the text it was written from: see
``blogneo.evaluation`` and the docs' measurements page.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from . import rules, signal
from .text import (
    HEADING_SENTENCE_END,
    HEADING_WORDS,
    LABEL,
    MIN_WORDS,
    NEXT_STEP,
    STOPWORDS,
    TITLE_WORDS,
    VAGUE,
    ends_sentence,
    keywords,
    ngram_repeats,
    shares_stem,
    straight,
    title_phrases,
    topic_share,
    trim_to_sentence,
)

KINDS = ("meta-talk", "artifact", "boilerplate", "title-repeated", "duplicate-heading", "heading-number", "off-topic",
         "invented-author", "offensive", "unfinished", "too-short", "too-long", "repetition", "cliche", "drift")
#: Kinds no post should keep (see the module's doc).
BLOCKING = ("meta-talk", "artifact", "boilerplate", "title-repeated", "duplicate-heading", "heading-number",
            "off-topic", "invented-author", "offensive", "unfinished")
#: Best-of-N's topic signal (nats per token) under which the writer names a prose part, the tags or the description
#: ``drift``: the topic made it no likelier at all. Chosen on the dev topic pairs, where it named 0 of 34 on-topic parts
#: and 28 of 56 off-topic ones (headings are left out: there it named 1 off-topic heading in 13). Test: docs/quality.md.
DRIFT = 0.0
DRIFT_PARTS = ("prose", "tags", "description")
#: What a part is, for the checks that apply to it.
PART_KINDS = ("title", "description", "tags", "heading", "prose")
SHORT_SHARE = 0.4  # a prose part under this share of its target words is too short
LONG_SHARE = 2.5  # and one over this multiple of them too long
DESCRIPTION_CHARS = 160  # a meta description longer than this is cut off in search results
TOPIC_SHARE = 0.5  # a title keeping fewer of the topic's key words than this is off the topic

_LABEL = re.compile(LABEL, re.I | re.M)  # "Title:", "Tags:", a request's fields before a line: template debris
_HASHTAG = re.compile(r"(?<![\w&#])#[A-Za-z]\w{2,}")  # social-media debris in prose or a title: "#FamilyVideoCall"
# A heading that names no section: "Part 2", "Step 3", a bare question word ("What?"), a connective ("In addition"),
# a number or time ("3:56pm").
_PLACEHOLDER = re.compile(r"^\s*(?:part|section|step|chapter|item|heading)\s*\d*\s*$|"
                          r"^\s*(?:what|where|why|how|when|who)\s*[?!.]*\s*$|"
                          r"^\s*(?:in addition|additionally|furthermore|moreover|however|also|finally|overall)\W*$|"
                          r"^\s*[\d:.,]+\s*(?:am|pm|minutes?|hours?|days?|weeks?|months?|years?|%)?\s*$", re.I)
_OTHER_ITEM = re.compile(r"[?!:.]\s*\d{1,2}[.)]?\s*$|\s[|/]\s|(?<=\S)\s+\d{1,2}[.)]\s+\S|^\s*\d{1,2}[.)]\s|"
                         rf"{NEXT_STEP}|"
                         r"\s[-\u2013\u2014]\s+(?i:this|it|these|that|here|you|we|they|I)\b")  # "... - This is..."


@dataclass(frozen=True)
class Defect:
    """One defect: its ``kind`` (see ``KINDS``), the ``part`` it is in, ``where`` (a character offset) and ``rule``."""

    kind: str
    part: str
    where: int
    excerpt: str
    rule: str = ""  # the rule that found it: an id of rules.toml, or the structural check's name

    @property
    def blocking(self) -> bool:
        return self.kind in BLOCKING

    def __str__(self) -> str:
        return f"{self.part}: {self.kind} at {self.where}: {self.excerpt!r}"


def find_defects(text: str, kind: str = "prose", *, part: str = "", title: str = "", topic: str = "",
                 headings: tuple[str, ...] = (), target_words: int | None = None,
                 vocabulary: frozenset[str] = frozenset(), model=None) -> list[Defect]:
    """The defects of one part of a post.

    Args:
        text: the part's text.
        kind: what the part is: "title", "description", "tags", "heading" or "prose".
        part: its name in reports ("section 2"); defaults to ``kind``.
        title: the post's title, which a heading must not repeat.
        topic: what the post is about, whose key words a title keeps (at least ``TOPIC_SHARE`` of them).
        headings: the headings before this one, which it must not repeat.
        target_words: the words asked for (prose); far fewer is ``too-short``.
        vocabulary: whole words in lower case (a tokenizer's, ``whole_words``): a one-word tag that is none of
            them, nor a word of the title or topic, but splits into them, is words run together ("petcare").
        model: the loaded model. When it is the embedded checkpoint, the learned signal (``blogneo.signal``) reads
            its hidden states for sentences that speak to whoever asked, in a part no other check blocks; with any
            other model, the rules judge alone.

    Example:
        >>> [d.kind for d in find_defects("Sure! Here is your rewritten version: cycling is fun and")]
        ['meta-talk', 'meta-talk', 'unfinished', 'too-short']
        >>> find_defects("The Unsustainable Choice by Chris Larkin", "title")[0].kind
        'invented-author'
    """
    if kind not in PART_KINDS:
        raise ValueError(f"kind={kind!r}: use one of {', '.join(PART_KINDS)}.")
    part = part or kind
    found, seen = [], set()
    for rule, where, excerpt in rules.matches(text, kind, topic):
        # two rules on one phrase: one defect; in a part of a line or two, one a rule
        key = (rule.kind, where) if kind == "prose" else rule.id
        if key not in seen and (rule.kind, where) not in seen:
            seen.update({key, (rule.kind, where)})
            found.append(Defect(rule.kind, part, where, excerpt, rule.id))
    found += [Defect("artifact", part, m.start(), m.group(0).strip(), "label") for m in _LABEL.finditer(text)]
    if kind != "tags":
        found += [Defect("artifact", part, m.start(), m.group(0), "hashtag") for m in _HASHTAG.finditer(text)]
    words = len(re.findall(r"\w+", text))
    if kind == "heading":
        found += _heading_defects(text, part, title, headings)
    elif kind == "tags":
        found += _tag_defects(text, part, title, topic, vocabulary)
    elif kind == "title":
        if (cut := _cut_off(text)):
            found.append(Defect("unfinished", part, len(text.rstrip()), cut))
        if words > TITLE_WORDS:
            found.append(Defect("too-long", part, 0, f"{words} words, at most {TITLE_WORDS} wanted"))
        wanted = keywords(topic) if text.strip() else set()
        if wanted and (share := topic_share(text, wanted)) < TOPIC_SHARE:
            found.append(Defect("off-topic", part, 0, f"keeps {share:.0%} of the key words of {topic!r}"))
    if kind in ("title", "heading") and (m := _DOUBLED.search(text)):
        found.append(Defect("repetition", part, m.start(), m.group(0)))
    bare = _CODE_BLOCK.sub(lambda m: re.sub(r"[^\n]", " ", m.group(0)), text)  # a closed code block is a whole
    code_last = len(bare.rstrip()) < len(text.rstrip())  # thing: blanked, offsets kept ("I run this:" then code)
    if kind in ("prose", "description") and text.strip() and not (
            ends_sentence(bare) or code_last and bare.rstrip().endswith(":")):
        found.append(Defect("unfinished", part, len(text.rstrip()), text.rstrip()[-30:]))
    elif kind == "prose" and (m := _BROKEN_LINE.search(bare)):  # a line within the part that stops mid-sentence
        found.append(Defect("unfinished", part, m.start(), m.group(0).strip()[-30:]))
    if kind == "prose" and (m := _unbalanced(bare)):
        found.append(Defect("artifact", part, m[0], m[1], "unbalanced"))
    if kind == "prose" and (m := _misnumbered(bare)):
        found.append(Defect("artifact", part, m[0], m[1]))
    if kind == "prose" and (m := _too_short(words, target_words)):
        found.append(Defect("too-short", part, 0, m))
    elif kind == "description" and words < 5:
        found.append(Defect("too-short", part, 0, f"{words} words, at least 5 wanted"))
    elif kind in ("title", "heading", "tags") and words == 0:
        found.append(Defect("too-short", part, 0, "empty"))
    if kind == "description" and len(text.strip()) > DESCRIPTION_CHARS:
        found.append(Defect("too-long", part, DESCRIPTION_CHARS, f"{len(text.strip())} characters"))
    elif kind == "prose" and target_words and words > LONG_SHARE * target_words:
        found.append(Defect("too-long", part, 0, f"{words} words, {target_words} wanted"))
    if ngram_repeats(text, 4) > 3:
        found.append(Defect("repetition", part, 0, f"a run of 4 words {ngram_repeats(text, 4)} times"))
    # Last, what no phrase rule names: a sentence that speaks to the requester, read only in a part nothing above
    # blocks (a forward pass of the model a candidate, 0.4 s on 2 cores, spent where it decides what is kept).
    if kind in ("prose", "description") and not any(d.blocking for d in found):
        found += [Defect("meta-talk", part, where, sentence[:60], "learned")
                  for where, sentence, _ in signal.load().find(text, model)]
    return sorted(found, key=lambda d: (KINDS.index(d.kind), d.where))


def without_preamble(text: str) -> str:
    """``text`` without a first line about the answer ("Here's the conclusion for ...:"), which a small chat model
    sometimes opens with: a line ending in a colon in which a meta-talk rule finds the model answering.

    Example:
        >>> without_preamble("Here's the text you asked for:\\n\\nIt rained.")
        'It rained.'
    """
    first, newline, rest = text.strip().partition("\n")
    if newline and first.rstrip().endswith(":") and any(r.kind == "meta-talk" for r, _, _ in
                                                        rules.matches(first, "prose")):
        return rest.lstrip("\n")
    return text


def before_defects(text: str, defects: list[Defect]) -> str:
    """The whole sentences of ``text`` before its first blocking defect: "" when none come before it.

    ``write_post``'s fallback when no candidate of a prose step is clean: a model that wrote well for
    a while and then drifted ("... 5/8th Edition  23 pages", a chat reply) still wrote the part's start.

    Example:
        >>> text = "Paper is calm. It never pings. Here is your rewritten version: paper."
        >>> before_defects(text, find_defects(text))
        'Paper is calm. It never pings.'
    """
    where = min((d.where for d in defects if d.blocking), default=None)
    if where is None:
        return text
    start = trim_to_sentence(text[:where])
    return start if ends_sentence(start) else ""


def _unbalanced(text: str) -> tuple[int, str] | None:
    """Where a bracket, a double quote or a code fence is left open or closed without opening, and what it is:
    debris of a cut or pasted text ('...that morning." I took', 'flour and yeast).'). "a)" and "1)" as a list's
    markers are no brackets."""
    plain = _LIST_MARKER.sub(" ", straight(text))
    for opening, closing in (("(", ")"), ("[", "]")):
        depth = 0
        for i, c in enumerate(plain):
            depth += (c == opening) - (c == closing)
            if depth < 0:
                return i, f"{closing!r} never opened"
        if depth > 0:
            return plain.rfind(opening), f"{opening!r} never closed"
    if plain.count('"') % 2:
        return plain.find('"'), "a double quote never closed"
    if plain.count("```") % 2:
        return plain.find("```"), "a code block never closed"
    bold = _NOT_BOLD.sub(lambda m: " " * len(m.group(0)), plain)  # `2**10` and a "***" scene break are no bold
    if bold.count("**") % 2:
        return bold.find("**"), "bold never closed"
    return None


def _misnumbered(text: str) -> tuple[int, str] | None:
    """Where a numbered list goes wrong, and how: a part's first list starting past 1 was cut from a longer one
    ("2. **Choose High...**"); after that each item is one more than the last at its depth ("1. 2. 5." and
    "1. 1. 1." are debris). A list nested deeper counts on its own, and a list may start again at 1 after a line
    that is no item of it (a blank line included)."""
    last: dict[int, int] = {}  # the last number at each indent
    end = None  # where the item before ends
    for m in _LIST_ITEM.finditer(text):
        indent, n = m.start(1) - m.start(), int(m.group(1))
        gap = end is not None and bool(_OTHER_LINE.search(text, end, m.start()))
        last = {depth: k for depth, k in last.items() if depth <= indent}  # a shallower item closes deeper lists
        if indent in last and n != last[indent] + 1 and not (n == 1 and gap):
            return m.start(), f"item {n} after item {last[indent]}"
        if indent not in last and n != 1:
            return m.start(), f"a list starting at {n}"
        last[indent], end = n, m.end()
    return None


_OTHER_LINE = re.compile(r"\n[ \t]*(?:\n|(?!\d{1,2}\.[ \t])\S)")  # a blank line, or one that is no numbered item


_NOT_BOLD = re.compile(r"`[^`\n]*`|^[ \t]*\*{3,}[ \t]*$", re.M)
_LIST_MARKER = re.compile(r"(?:^|(?<=\s))(?:[a-z]|\d{1,2})\)(?=\s)", re.M)  # "a) soil" or "1) water": a list's marker


def _too_short(words: int, target: int | None) -> str:
    least = max(MIN_WORDS, round(SHORT_SHARE * target)) if target else MIN_WORDS
    return f"{words} words, at least {least} wanted" if words < least else ""


def _heading_defects(text: str, part: str, title: str, headings: tuple[str, ...]) -> list[Defect]:
    found = [Defect("artifact", part, 0, text)] if _PLACEHOLDER.match(text) else []
    if text.count('"') % 2 or text.count("\u201c") != text.count("\u201d"):  # 'Preview: "Preheat your oven'
        found.append(Defect("artifact", part, text.find('"') if '"' in text else 0, "a quote never closed"))
    mine = _words(text)
    titled = set(_stems(_words(title)))  # "An Awesome Reviews" under "Awesome Review - ..." too
    halves = [_stems(_words(p)) for p in title_phrases(title)] if title else []  # "Awesome Reviews" too
    if title and mine and (mine == _words(title) or (len(mine) >= 3 and set(_stems(mine)) <= titled)
                           or _stems(mine) in halves):
        found.append(Defect("title-repeated", part, 0, text))
    if mine and any(_stems(mine) == _stems(_words(h)) for h in headings):  # "Awesome Review(s)" too
        found.append(Defect("duplicate-heading", part, 0, text))
    if (m := _OTHER_ITEM.search(text)) is not None:
        found.append(Defect("heading-number", part, m.start(), m.group(0).strip()))
    if len(mine) > HEADING_WORDS or _cut_off(text):
        found.append(Defect("unfinished", part, len(text.rstrip()), text.rstrip()[-30:]))
    elif (m := _RUN_ON.search(text)) is not None:  # "What is your goal for this blog? How do you": two sentences
        found.append(Defect("unfinished", part, m.start(), text[m.start():].strip()[:30]))
    return found


def _tag_defects(text: str, part: str, title: str, topic: str, vocabulary: frozenset[str]) -> list[Defect]:
    """A tag list's fragments ("why", "als g"), glued words ("bicyclesettingtyres"), and tags about the writing
    instead of the topic ("grammar, editing" on a guitar review), unless the title or topic is about it."""
    context = set(_words(f"{title} {topic}"))
    known = context | vocabulary  # once per list, not per tag: a tokenizer's vocabulary has tens of thousands
    found = []
    for tag in (t.strip() for t in text.split(",")):
        words, where = _words(tag), max(text.find(tag), 0)
        if not words:
            continue
        if all(w in STOPWORDS or w in VAGUE for w in words) or \
                any(len(w) < 3 and w not in _SHORT_TAG_WORDS for w in words):
            found.append(Defect("artifact", part, where, f"a fragment: {tag!r}"))
        elif len(words) == 1 and words[0] not in known and (len(words[0]) > GLUED_LETTERS or _glued(words[0], known)):
            found.append(Defect("artifact", part, where, f"words glued together: {tag!r}"))
        elif (" ".join(words) in _WRITING_TAGS or set(words) & _WRITING_WORDS) and not shares_stem(words, context):
            found.append(Defect("off-topic", part, where, f"a tag about the writing: {tag!r}"))
    return found


def _glued(word: str, known: set[str]) -> bool:
    """Whether ``word`` is two or more ``known`` words run together ("homecooking" from "home" and "cooking"),
    short function words among them ("learningtobake")."""
    def is_word(piece: str) -> bool:
        return piece in STOPWORDS or (len(piece) >= 3 and piece in known)
    return any(is_word(word[:i]) and (is_word(word[i:]) or _glued(word[i:], known)) for i in range(2, len(word) - 1))


# A one-word tag longer than this, not a word of the title or topic, is words run together ("bicyclesettingtyres");
# English words this long are rare ("entrepreneurship" has 16 letters).
GLUED_LETTERS = 16
_SHORT_TAG_WORDS = {"ai", "ar", "vr", "tv", "pc", "uk", "us", "eu", "nyc", "3d", "5g", "io", "ux", "ui"}
# Tags about the post's writing, which a chat model adds from its editing chats.
# A tag with one of these words ("grammar correction", "constructive editing") is about the writing as well.
_WRITING_WORDS = set("""blog blogs blogging blogger article articles grammar editing proofreading copywriting
seo rewrite rewriting""".split())
_WRITING_TAGS = {"post", "posts", "blog post", "blog posts", "content writing", "writing style", "writing tips",
                 "writing", "style"}  # "music, writing, style" on a guitar review


def _cut_off(text: str) -> str:
    """The end of a title or heading that was cut off mid-phrase ("... The Perfect Way to"); "" if whole."""
    mine = _words(text)
    cut = text.rstrip().endswith((",", ";", "|", "/", "-", "\u2013", "\u2014", ":", "&", "+")) or \
        bool(_LAST_QUESTION.search(text))
    return text.rstrip()[-30:] if mine and (mine[-1] in _DANGLING or cut) else ""


# A line of prose, not a list's item, a heading or a line in emphasis, that ends on no sentence end, a colon or an
# emoji, with more lines after it: "5/8th Edition  23 pages", "... because they just do not care" then a new line.
_BROKEN_LINE = re.compile(r"^[ \t]*(?![-*+#>_|]|\d{1,2}[.)][ \t])[^\n]*[\w,;\-\u2013\u2014][ \t]*\n(?=[ \t]*\S)", re.M)
# A fenced code block, closed: the same pattern the phrase rules skip (rules.CODE_BLOCK).
_CODE_BLOCK = re.compile(rules.CODE_BLOCK, re.M | re.S)
# A Markdown list's item; a part's first list starting past 1 was cut from a longer one ("2. **Choose High...**").
_LIST_ITEM = re.compile(r"^[ \t]*(\d{1,2})\.[ \t]+\S", re.M)
_LAST_QUESTION = re.compile(r"[-\u2013\u2014|:]\s*(?:how|what|why|when|where|who|which)\s*$", re.I)  # "... - How"
_RUN_ON = re.compile(HEADING_SENTENCE_END + r"[A-Za-z]")  # a heading that goes on past a sentence's end
_DOUBLED = re.compile(r"\b(\w{3,})\s+\1\b", re.I)  # a word twice in a row in a title: "Wedding Wedding"
# Words a heading does not end on: it was cut off mid-phrase.
_DANGLING = set("""a an and are as at be but by for from has have in into is its of on or our so than the their
to was were which while will with your you're we're they're it's i'm there's vs that because if when want worth
becoming toward towards onto should can could would must""".split())


def _words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def _stems(words: list[str]) -> list[str]:
    return [w[:-1] if len(w) > 3 and w.endswith("s") and not w.endswith("ss") else w for w in words]


@functools.lru_cache(maxsize=8)  # keyed by the tokenizer object itself, which the cache keeps alive
def whole_words(tokenizer) -> frozenset[str]:
    """The whole words a tokenizer knows as single tokens ("Ġkettle", "▁kettle"), in lower case: what
    ``find_defects`` splits a tag into to find words run together."""
    if tokenizer is None:
        return frozenset()
    return frozenset(t[1:].lower() for t in tokenizer.get_vocab() if t[:1] in ("\u0120", "\u2581") and t[1:].isalpha())


def check_post(post, target_words: int | None = None) -> list[Defect]:
    """The defects of a written post (a ``blogneo.Post``), part by part, in reading order: every one the rules and
    checks find, and the learned signal's in a part that none of them blocks.

    ``target_words`` is the words asked for per prose part; None takes the post's own target. A post written by
    a model also has its tags checked against the model's whole words (``whole_words``), and its prose and
    description read by the learned signal when that model is the embedded one.
    """
    target = target_words if target_words is not None else getattr(post, "words", None)
    model = getattr(post, "model", None)
    title = post.title.text
    found = find_defects(title, "title", part="title", topic=getattr(post, "topic", ""))
    found += find_defects(post.description.text, "description", part="description", model=model)
    vocabulary = whole_words(getattr(model, "tokenizer", None))
    found += find_defects(post.tags.text, "tags", part="tags", title=title, topic=getattr(post, "topic", ""),
                          vocabulary=vocabulary)
    for i, heading in enumerate(post.headings):
        found += find_defects(heading, "heading", part=f"heading {i + 1}", title=title,
                              headings=tuple(post.headings[:i]))
    found += find_defects(post.introduction.text, part="introduction", target_words=target, model=model)
    for i, section in enumerate(post.sections):
        found += find_defects(section.text, part=f"section {i + 1}", target_words=target, model=model)
    found += find_defects(post.conclusion.text, part="conclusion", target_words=target, model=model)
    return found
