"""Text without a model: sentence ends, trimming, repetition, and shaping what a model wrote.

Everything here is a plain function of strings, so it is cheap, deterministic and testable with
literal examples. ``generate`` trims with it, ``write_post`` cleans and scores with it, and the
quality benchmark measures with it.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass

# A sentence ends at . ! ? or an ellipsis, perhaps followed by closing quotes or brackets, then
# whitespace or the end of the text. "3.5" and "e.g.," do not end one.
SENTENCE_END = re.compile(r"[.!?\u2026][\"'\u201d\u2019)\]]*(?=\s|$)")
# Words that name no subject: a tag of only these says nothing ("every", "better", "nobody": a topic's words, not its
# key words).
VAGUE = set("""every nobody better best good great thing things need needs help first time really always never ever
should would could much many more most want wants awesome amazing""".split())
MIN_WORDS = 12  # a prose part shorter than this does not count as written
STOPWORDS = set("""a an and are as at be but by for from has have how i in into is it its my of on or our so that the
their this to was we what when why will with you your about after before more most than then they them these those
over under can just like make made very much many some such also out up down only own same too""".split())


# Typeset quotes and apostrophes as the rules are written: straight. Each is one character for one, so offsets hold.
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u201c": '"', "\u201d": '"'})
# Spelt-out forms read as their contraction, so a rule written "I'm" also finds "I am" (and "here's", "here is").
_CONTRACTIONS = {"i am": "i'm", "i have": "i've", "i would": "i'd", "i had": "i'd", "i will": "i'll",
                 "you are": "you're", "you have": "you've", "you would": "you'd", "you will": "you'll",
                 "we are": "we're", "we have": "we've", "we will": "we'll", "they are": "they're",
                 "here is": "here's", "it is": "it's", "that is": "that's", "let us": "let's",
                 "do not": "don't", "does not": "doesn't", "did not": "didn't", "cannot": "can't",
                 "what is": "what's", "there is": "there's"}
_SPELT_OUT = re.compile(r"\b(?:" + "|".join(k.replace(" ", r"[ \t]+") for k in _CONTRACTIONS) + r")\b", re.I)


def straight(text: str) -> str:
    """``text`` with its typeset quotes and apostrophes straight, character for character (offsets hold)."""
    return text.translate(_QUOTES)


def normalize(text: str) -> tuple[str, list[int]]:
    """``text`` as every phrase rule reads it, and where each of its characters came from in ``text``.

    Quotes and apostrophes become straight ones, and spelt-out forms their contraction ("I am" reads "I'm"); case
    is left to the rules (they match in any case unless they say otherwise). The offsets map a match back to the
    text as written, one more at the end for a match that ends there.

    Example:
        >>> normalize("Here is your draft, and I\u2019m glad")[0]
        "Here's your draft, and I'm glad"
    """
    text = straight(text)
    out, offsets, last = [], [], 0
    for m in _SPELT_OUT.finditer(text):
        out.append(text[last:m.start()])
        offsets.extend(range(last, m.start()))
        short = _CONTRACTIONS[" ".join(m.group(0).lower().split())]
        short = (m.group(0)[0] + short[1:]) if m.group(0)[0].isupper() else short  # "Here is" -> "Here's"
        out.append(short)
        offsets.extend(min(m.start() + i, m.end() - 1) for i in range(len(short)))
        last = m.end()
    out.append(text[last:])
    offsets.extend(range(last, len(text) + 1))
    return "".join(out), offsets


# A list's number before the point: "3." at a line's start, or mid-line after a sentence or an item ("7. **Espresso
# and Chili*  8.", "... is important too. 4. Eat well") when the list goes on at the next line's start ("5.") or,
# after no point, the item before it is on its line ("7."). Otherwise a number ends a sentence: "I took up swimming
# at 62.", "We left on Dec. 23. We came back on Dec. 24.", "My score: 8."
_LINE_NUMBER = re.compile(r"(?:\A|\n)[ \t]*\d{1,2}\Z")
_ITEM_NUMBER = re.compile(r"(?:([.!?*)\]])[ \t]+|[ \t]{2})(\d{1,2})\Z")


def _list_number(text: str, point: int, text_start: bool) -> bool:
    """Whether the "." at ``point`` follows a list's number. ``text_start``: ``text`` starts where the text does
    (not a window on its end), so a number at its start is at a line's start."""
    window = max(0, point - 16)
    if (m := _LINE_NUMBER.search(text, window, point)) and (text_start or text[m.start()] == "\n"):
        return True
    if not (m := _ITEM_NUMBER.search(text, window, point)):
        return False
    n = int(m.group(2))
    after = text.find("\n", point)
    if after >= 0 and re.compile(rf"[ \t]*{n + 1}[.)][ \t]").match(text, after + 1):
        return True
    line = text[text.rfind("\n", 0, m.start()) + 1:m.start()]
    return m.group(1) != "." and n >= 2 and \
        re.search(rf"(?:\A[ \t]*|[!?*)\]][ \t]+|[ \t]{{2}}){n - 1}[.)][ \t]", line) is not None


def sentence_ends(text: str, text_start: bool = True) -> list[re.Match]:
    r"""Where the sentences of ``text`` end, as ``trim_to_sentence`` and ``ends_sentence`` read it: at a
    ``SENTENCE_END`` that is not a list's number ("3." on its own line, "8." after item 7's bold name).
    ``text_start=False``: ``text`` is the end of a longer text, whose start is no line's start.

    Example:
        >>> [m.end() for m in sentence_ends("I ran at 62. Next:\n1. Shoes.\n2.")]
        [12, 28]
    """
    return [m for m in SENTENCE_END.finditer(text) if not (text[m.start()] == "." and _list_number(text, m.start(),
                                                                                                       text_start))]


def ends_sentence(text: str) -> bool:
    r"""Whether ``text`` ends on a whole sentence (the same rule ``trim_to_sentence`` cuts back to).

    Example:
        >>> ends_sentence('She said "yes."'), ends_sentence("and then the"), ends_sentence("Shoes.\n2.")
        (True, False, False)
    """
    text = text.rstrip()
    return any(m.end() == len(text) for m in sentence_ends(text))


def trim_to_sentence(text: str) -> str:
    r"""Cut ``text`` back to its last whole sentence; text with no sentence end is kept whole.

    Example:
        >>> trim_to_sentence("It rained. Then the sun came out and")
        'It rained.'
        >>> trim_to_sentence("1. Buy oats.\n2. Soak them.\n3.")  # a list's next number is no sentence's end
        '1. Buy oats.\n2. Soak them.'
    """
    ends = sentence_ends(text)
    return text[: ends[-1].end()] if ends else text.rstrip()


_WORD = re.compile(r"\w+(?:['\u2019]\w+)*")


def ngram_repeats(text: str, n: int = 4) -> int:
    """How many times the most frequent run of ``n`` words occurs in ``text``.

    Words are compared in lower case, ignoring punctuation. 1 means no run of ``n`` words
    repeats; 0 means the text is shorter than ``n`` words. A repetition loop scores high.

    Example:
        >>> ngram_repeats("a tale of love and loss, a tale of love and loss, a tale of love")
        3
    """
    if n < 1:
        raise ValueError(f"n={n} must be at least 1.")
    words = _WORD.findall(text.lower())
    counts = Counter(tuple(words[i:i + n]) for i in range(len(words) - n + 1))
    return max(counts.values(), default=0)


def tail(text: str, chars: int = 300) -> str:
    """The end of ``text``, at most about ``chars`` long, starting at a sentence start where it can.

    Example:
        >>> tail("It rained all day. Then the sun came out over the hills.", chars=45)
        'Then the sun came out over the hills.'
    """
    if len(text) <= chars:
        return text
    end = text[-chars:]
    starts = [m.end() for m in SENTENCE_END.finditer(end)]
    return end[starts[0]:].strip() if starts and starts[0] < len(end) - 20 else end.strip()


def keywords(*texts: str) -> set[str]:
    """The key words of ``texts``: words of four letters or more that are not common function words.

    Example:
        >>> sorted(keywords("Why I bike to work"))
        ['bike', 'work']
    """
    words = re.findall(r"[a-z][a-z']+", " ".join(texts).lower())
    return {w for w in words if len(w) >= 4 and w not in STOPWORDS}


def shares_stem(words, others) -> bool:
    """Whether any of ``words`` shares its first four letters with any of ``others``: "blogging" and "blogs" do.

    Example:
        >>> shares_stem(["blogging"], ["blogs", "bread"]), shares_stem(["kitchen"], ["job", "interview"])
        (True, False)
    """
    return bool({w[:4] for w in words} & {w[:4] for w in others})


def topic_share(text: str, key_words: set[str]) -> float:
    """The share of ``key_words`` that ``text`` uses, matched on their first five letters; 0 without key words.

    Example:
        >>> topic_share("I cycle to the office", keywords("Why I cycle to work"))
        0.5
    """
    stems = {w[:5] for w in re.findall(r"[a-z0-9']+", text.lower())}
    return sum(k[:5] in stems for k in key_words) / len(key_words) if key_words else 0.0


def title_phrases(title: str) -> tuple[str, ...]:
    """The title, its halves (split at a colon, a dash, a bar or "and"), and the first three words of
    each that has four or more: what a section heading must not copy. The outline bans them while
    it writes (a heading tends to repeat the title, or to start as it does: "The Art of Language").

    Example:
        >>> title_phrases("The Art of Running: Notes from a Slow Runner")[1:4]
        ('The Art of Running', 'Notes from a Slow Runner', 'The Art of')
    """
    halves = re.split(r"\s*(?::|\s[-\u2013\u2014]\s|\|)\s*|\s+and\s+", title.strip())
    phrases = [p for p in [title.strip(), *halves] if len(p.split()) >= 2]
    openings = [" ".join(p.split()[:3]) for p in phrases if len(p.split()) >= 4]
    return tuple(dict.fromkeys(phrases + openings))


# --- scoring best-of-N candidates ------------------------------------------------------------

@dataclass(frozen=True)
class Scored:
    """One candidate for a step, with the parts of its score."""

    text: str
    score: float
    fluency: float | None  # mean log-probability per token under the model: nearer 0 reads more fluent. None: not
    # read, because it could not decide (only candidates tied at the top by their defects are read; see ``best``),
    # and then ``score`` counts it as 0: compare scores only between candidates whose fluency was read
    repetition: int  # how often the most repeated run of 3 words occurs (1: no repeats)
    on_topic: float  # how much likelier the topic makes it, nats per token (blogneo.lens.topic_pmi)
    defects: tuple = ()  # the blogneo.defects.Defect objects found in it

    @property
    def valid(self) -> bool:
        """No defects: the only candidates a step chooses while it has any."""
        return not self.defects


def score(text: str, fluency: float | None, on_topic: float, defects: tuple = ()) -> Scored:
    """Best-of-N's score: ``fluency + on_topic - 0.5 * (repetition - 1)``, -100 with any defect, and -100 more
    for each blocking one (so a part a little short beats one cut off mid-sentence when neither is clean).

    - fluency: mean natural-log probability of the text's tokens under the model (about -1 to -4);
    - on_topic: how much likelier, per token, the model finds the text on a page about the topic than
      on a page about nothing in particular (``blogneo.lens.topic_pmi``, in the same units: about -0.5
      to 1.5; near 0 or below for a part about something else);
    - repetition: how often the most repeated run of three words occurs; each repeat beyond the
      first costs 0.5;
    - defects: what ``blogneo.defects.find_defects`` found in it (meta-talk, artifacts, an
      unfinished or far too short part...); any one makes the candidate invalid.
    """
    repetition = ngram_repeats(text, 3)
    found = tuple(defects)
    total = (fluency or 0.0) + on_topic - 0.5 * max(repetition - 1, 0) + penalty(found)
    return Scored(text=text, score=round(total, 4), fluency=None if fluency is None else round(fluency, 4),
                  repetition=repetition, on_topic=round(on_topic, 4), defects=found)


def penalty(defects: tuple) -> int:
    """The defects' part of a score: -100 with any defect, and -100 more for each blocking one. It outweighs every
    other part, so candidates are ranked by it first."""
    return -(100 if defects else 0) - 100 * sum(d.blocking for d in defects)


def best(scored: list[Scored], fluency: Callable[[Scored], float]) -> Scored:
    """The best of ``scored`` by ``score``, reading ``fluency(candidate)`` only where it can decide: for the candidates
    tied at the top by their defects, when there are two or more (they are rescored in the list). A candidate alone at
    the top wins whatever its fluency (a few nats at most), so most steps of a post spend no pass on it."""
    top = max(penalty(s.defects) for s in scored)
    tied = [i for i, s in enumerate(scored) if penalty(s.defects) == top]
    if len(tied) > 1:
        for i in tied:
            s = scored[i]
            if s.fluency is None:
                scored[i] = score(s.text, fluency(s), s.on_topic, s.defects)
    return max((scored[i] for i in tied), key=lambda s: s.score)


# --- shaping what the model wrote into what each step of a post needs -------------------------

def clean_title(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    line = re.split(r"\s[#@|]", line)[0]
    line = re.sub(r"^(title|titel)\s*:\s*", "", line, flags=re.I)
    # one over TITLE_WORDS is kept whole, for the checker to name: cut, it read as cut off; one about the answer
    # ("Here's a title for your post") too, for its meta-talk rule
    return line.strip().strip("\"'*#“”‘’ ").strip()


TITLE_WORDS = 14  # a title longer than this is a sentence ("... from the Unwritten Pages of a Blogging" was one cut)



def clean_heading(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip(" *#-")]
    line = lines[0] if lines else ""
    if re.match(r"^[ \t*#]*" + REQUEST_FIELDS + r"[ \t]*:", line, re.I):
        return ""  # "Purpose: To encourage people...": a field of the request, not a section
    line = re.sub(r"^\s*\d{1,2}[.)]\s+", "", line)  # "1. What's next": the list's number written twice
    first = re.split(HEADING_SENTENCE_END + r"(?=\S)", line.strip(), maxsplit=1)[0]
    if len(first.split()) >= 2:  # "How to do it! - Step #2", "Tips for you. It's": a heading is one sentence
        line = first
    line = re.sub(r":\s*\d+\s*(words?|paragraphs?|sentences?)\b.*$", "", line, flags=re.I)
    line = line.strip().strip("\"'*#“”‘’ ").strip()
    before, colon, after = line.partition(":")
    if colon and re.match(LABEL, line, re.I) and len(after.split()) >= 2:
        line = after  # "Introduction: Why I ride", "Review: The lid" -> the heading after the label
    elif colon and len(before.split()) >= 2:  # "The Power of Bicycles: In this paragraph..." -> the heading
        line = before
    described = _DESCRIPTION.search(line)
    if described and len(line[:described.start()].split()) >= 2:  # "Reasons to learn - This is another easy topic"
        line = line[:described.start()]
    line = line.strip().strip("\"'*#“”‘’ ").strip()
    if len(line.split()) > 8 and "," in line:
        line = line.split(",")[0]
    dash = re.split(r"\s[-\u2013\u2014]\s", line, maxsplit=1)[0]
    if len(line.split()) > 8 and len(dash.split()) >= 2:  # "Begin by choosing a spot - whether it's": the heading
        line = dash
    before_bar = re.split(r"\s\|\s", line, maxsplit=1)[0]
    if len(before_bar.split()) >= 2:  # "A Wonderful Review | Awesome Reviews for Beginners": another heading after it
        line = before_bar
    words = line.split()
    cuts = [i for i, w in enumerate(words[:HEADING_WORDS + 1]) if i >= 3 and w.lower() in _CONNECTORS]
    if len(words) > HEADING_WORDS and cuts:  # "The story begins with baking bread to fuel my family's passion"
        line = " ".join(words[:cuts[-1]])
    line = re.sub(r"\s*" + NEXT_STEP, "", line)  # "Planning a weekend - Step 3"
    line = line.strip().rstrip(":.-–—,;|/&+ ").strip()  # "The first year - July 2018 |": a stray separator
    if re.match(r"^(in )?(introduction|conclusion)\b", line, re.I):
        return ""  # the post has its own introduction and conclusion
    words = line.split()[:12]
    while words and words[-1].lower() in STOPWORDS:  # a heading cut off at "... and how to"
        words.pop()
    return " ".join(words)


# Where a sentence ends inside a heading ("What is your goal? How do you want"): clean_heading keeps the first,
# blogneo.defects calls a heading that goes on an unfinished one. "St. Louis" is no end.
HEADING_SENTENCE_END = r"(?<=[a-z]{2}[.!?])\s+"
HEADING_WORDS = 10  # a heading longer than this is a sentence, not a heading: cut before a connector or flagged
# Words that start a clause a long heading can lose and still read whole: "... baking bread | to fuel my family's..."
_CONNECTORS = {"to", "by", "with", "for", "where", "which", "that", "because", "while", "when", "and", "so"}
# A heading's own description after a dash: " - This is...", " – It helps..."
_DESCRIPTION = re.compile(r"\s[-\u2013\u2014]\s+(?:this|it|these|that|here|you|we|they|i)\b", re.I)
def clean_tags(text: str) -> str:
    tags = []
    for raw in re.split(r"[,#;|\n]", text):
        tag = re.sub(r"^\s*\d+[).]", "", raw.lower())
        tag = " ".join(re.sub(r"[^a-z0-9 \-]", "", tag).split()).strip(" -")  # "3d printing" keeps its 3
        if not re.search("[a-z]", tag):
            continue  # "2019": no tag
        if 1 <= len(tag.split()) <= 2 and 3 <= len(tag) <= 20 and tag not in tags:
            tags.append(tag)
    return ", ".join(tags[:5])


def clean_description(text: str) -> str:
    text = " ".join(text.split())
    first = SENTENCE_END.search(text)
    return text[: first.end()] if first else text




# The next item's number after a heading: "Planning a weekend - Step 3", "Preparation: Step #2". clean_heading
# cuts it off; blogneo.defects calls a heading that keeps it a heading-number defect.
NEXT_STEP = r"[-:\u2013\u2014]\s*(?i:step|part|item|section|chapter)\s*#?\s*\d{1,2}\s*$"

# The fields of a request, which a chat model copies as if they were lines of the post: "Purpose: To encourage
# people...", "Audience: The audience is...", "Topic: Health benefits...". A heading so labelled is no heading.
REQUEST_FIELDS = (r"(?:purpose|audience|target audience|topic|goal|tone|style|format|length|keywords?|word count|type|"
                  r"meta description|category|categories|voice|persona|role|task|context)")
# Labels a chat model puts before a line of prose ("Premises: ...", "Summary: ...", a request's fields): template
# debris, which blogneo.defects calls an artifact and clean_prose drops, keeping the line's text.
LABEL = (r"^[ \t]*(?:title|tags?|description|summary|heading|outline|section \d+|introduction|conclusion|review|list|"
         r"guide|premises?|postscript|" + REQUEST_FIELDS + r")[ \t]*:")
_LABEL_BEFORE_TEXT = re.compile(LABEL + r"[ \t]*(?=\S)", re.I | re.M)

# A Markdown heading a model put first in a part it was asked to write under its own heading, or a line in
# emphasis doing a heading's job ("*About the World*"; "*I never looked back.*" is a sentence and stays).
_LEADING_HEADING = re.compile(r"\A(?:[ \t]*(?:#{1,6}[^\n]*|(\*{1,3}|_{1,3})[^*_\n.!?]{1,80}\1)[ \t]*(?:\n+|\Z))+")


def clean_prose(text: str) -> str:
    text = text.strip()
    text = _LEADING_HEADING.sub("", text)  # the part has its heading already
    text = _LABEL_BEFORE_TEXT.sub("", text)
    text = re.sub(r"^[ \t]*\d{1,2}[.)][ \t]*$", "", text, flags=re.M)  # a list's number with no item after it
    text = re.sub(r"^([ \t]*\d{1,2})\)(?=[ \t]+\S)", r"\1.", text, flags=re.M)  # "1) water" in Markdown: "1. water"
    if len(text) > 2 and text[0] in "\"\u201c" and text.count(text[0]) == 1:  # an opening quote never closed
        text = text[1:]
    elif len(text) > 2 and text[-1] in "\"\u201d" and text.count(text[-1]) == 1 and "\u201c" not in text:
        text = text[:-1]  # a closing quote never opened
    elif re.fullmatch(r"[\"\u201c][^\"\u201c\u201d]+[\"\u201d]", text.strip()):  # a paragraph in quotes
        text = text.strip()[1:-1]
    text = trim_to_sentence(text.strip())
    return re.sub(r"\n{3,}", "\n\n", text)
