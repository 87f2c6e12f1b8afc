"""How much of a text sounds like the course's sample blog: its voice's markers, counted.

The sample blog (``blogneo.sample_blog()``, Kettle and Cobbles by the invented Ros Amery) was written
to four habits that can be measured, fixed before any model was trained on it:
  - British spelling and words ("colour", "realise", "pavement");
  - the streets of her neighbourhood by name ("up Priory Hill");
  - one sign-off line ("That's me for now. Mind how you go.");
  - short paragraphs, three sentences at most.
``voice_markers`` counts them in any text, so a post written by example or with an adapter can be
compared with one written without: the share of sentences that carry a marker is the headline.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# British spellings and words, and the American ones they stand for (the "American" count is the other side).
BRITISH = {
    "colour": "color", "colours": "colors", "favourite": "favorite", "favourites": "favorites",
    "realise": "realize", "realised": "realized", "organise": "organize", "organised": "organized",
    "neighbour": "neighbor", "neighbours": "neighbors", "neighbourhood": "neighborhood", "grey": "gray",
    "metre": "meter", "metres": "meters", "tyre": "tire", "tyres": "tires", "programme": "program",
    "centre": "center", "flavour": "flavor", "behaviour": "behavior", "travelling": "traveling",
    "honour": "honor", "labour": "labor", "theatre": "theater", "cheque": "check", "mum": "mom",
    "autumn": "fall", "jumper": "sweater", "biscuit": "cookie", "biscuits": "cookies", "pavement": "sidewalk",
    "flat": "apartment", "queue": "line", "rubbish": "trash", "allotment": "", "kettle": "", "quid": "",
}
STREETS = ("Alder Street", "Wharf Road", "Priory Hill", "Cotton Lane", "Mill Row")
SIGN_OFF = "That's me for now. Mind how you go."
SHORT_PARAGRAPH = 3  # sentences

_AMERICAN = {a for a in BRITISH.values() if a and a not in ("check", "line", "fall", "program")}  # common words too
_WORD = re.compile(r"[A-Za-z']+")
_SENTENCE = re.compile(r"[^.!?\n]+[.!?]*")


@dataclass(frozen=True)
class VoiceMarkers:
    """The sample blog's markers in one text."""

    sentences: int
    marked: int  # sentences with a British word, a street or the sign-off
    british: int  # British words
    american: int  # American spellings of them
    streets: int
    sign_off: bool
    short_paragraphs: float  # the share of paragraphs with at most three sentences

    @property
    def share(self) -> float:
        """The share of sentences that carry a marker: the headline figure."""
        return self.marked / self.sentences if self.sentences else 0.0


def voice_markers(text: str) -> VoiceMarkers:
    """Count the sample blog's habits in ``text`` (a post's Markdown or plain prose; headings are skipped).

    Example:
        >>> m = voice_markers("I walked up Priory Hill in the grey rain.\\n\\nThat's me for now. Mind how you go.")
        >>> m.sentences, m.marked, m.streets, m.sign_off
        (3, 2, 1, True)
    """
    body = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith(("#", "---", "title:")))
    paragraphs = [p for p in re.split(r"\n\s*\n", body) if p.strip()]
    sentences = [s.strip() for s in _SENTENCE.findall(body) if _WORD.search(s)]
    british = american = marked = 0
    for sentence in sentences:
        words = [w.lower() for w in _WORD.findall(sentence)]
        found = sum(w in BRITISH for w in words)
        british += found
        american += sum(w in _AMERICAN for w in words)
        if found or any(street in sentence for street in STREETS) or "Mind how you go" in sentence:
            marked += 1
    short = [len([s for s in _SENTENCE.findall(p) if _WORD.search(s)]) <= SHORT_PARAGRAPH for p in paragraphs]
    return VoiceMarkers(len(sentences), marked, british, american, sum(text.count(s) for s in STREETS),
                        SIGN_OFF.split(". ")[1].rstrip(".") in text, sum(short) / len(short) if short else 0.0)


__all__ = ["BRITISH", "SIGN_OFF", "STREETS", "VoiceMarkers", "voice_markers"]
