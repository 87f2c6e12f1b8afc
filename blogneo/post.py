"""A whole blog post: title, description, tags, outline, introduction, sections and conclusion.

Each step is one generation (the outline is one short generation per heading) with its own seed,
derived from the post's seed, so the same topic, model, params and seed give the same post.
Stop strings keep each step to its part. With ``candidates > 1`` every step generates that many
in one batch and keeps the best by ``score`` (documented there); every candidate's score is
kept, so a reader can see why one won.
"""

from __future__ import annotations

import datetime
import hashlib
import html
import re
import secrets
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from .display import HTML
from .errors import BlogneoError, ParameterError
from .files import write_new
from .generation import _SENTENCE_END, ends_sentence, stream, trim_to_sentence
from .lens import score_text
from .loading import LoadedModel, loaded
from .markdown import document
from .prompts import POST_STOPS, check_prompt, post_prompt
from .quality import ngram_repeats
from .sampling import MAX_CANDIDATES, SamplingParams, resolve_params

# Tokens for the short steps; the prose steps use params.max_new_tokens.
SHORT_BUDGET = {"title": 24, "description": 60, "tags": 24, "heading": 16}
SHORT_TEMPERATURE = 0.5  # short, structured steps are sampled cooler than the prose
MIN_WORDS = 12  # a prose part shorter than this does not count as written
ATTEMPTS = 3  # rounds of candidates per step before taking the best of what there is
_STOPWORDS = set("""a an and are as at be but by for from has have how i in into is it its my of on or our so that the
their this to was we what when why will with you your about after before more most than then they them these those
over under can just like make made very much many some such also out up down only own same too""".split())


class PostEvent(NamedTuple):
    """Progress while a post is written: ``kind`` is "start", "text" (a streamed chunk) or "done"."""

    kind: str
    step: str  # "title", "description", "tags", "outline", "introduction", "section 1", ..., "conclusion"
    text: str = ""
    candidate: int = 0


@dataclass(frozen=True)
class Scored:
    """One candidate for a step, with the parts of its score."""

    text: str
    score: float
    fluency: float  # mean log-probability per token under the model: nearer 0 reads more fluent
    repetition: int  # how often the most repeated run of 3 words occurs (1: no repeats)
    on_topic: float  # share of the topic's key words the text uses, 0 to 1
    valid: bool  # long enough, ends on a whole sentence (prose), and no 4-gram more than 3 times


@dataclass
class Part:
    """One part of a post: the chosen text, its seed, and every candidate it was chosen from."""

    step: str
    text: str
    seed: int
    candidates: list[Scored] = field(default_factory=list)
    heading: str = ""  # sections only
    locked: bool = False


def score(text: str, fluency: float, keywords: set[str], prose: bool, sentence: bool = False) -> Scored:
    """Best-of-N's score: ``fluency + on_topic - 0.5 * (repetition - 1)``, and -100 when not valid.

    - fluency: mean natural-log probability of the text's tokens under the model (about -1 to -4);
    - on_topic: the share of the key words of the topic (and title and heading) that the text
      uses, matched on their first five letters, from 0 to 1;
    - repetition: how often the most repeated run of three words occurs; each repeat beyond the
      first costs 0.5;
    - valid: a prose part has at least 12 words, ends on a whole sentence, and repeats no run of
      four words more than 3 times. A one-sentence part (the description) needs 5 to 60 words
      ending a sentence; a short part (title, heading, tags) needs 1 to 16 words.
    """
    words = re.findall(r"[a-z0-9']+", text.lower())
    stems = {w[:5] for w in words}
    on_topic = sum(k[:5] in stems for k in keywords) / len(keywords) if keywords else 0.0
    repetition = ngram_repeats(text, 3)
    if prose:
        valid = len(words) >= MIN_WORDS and ends_sentence(text) and ngram_repeats(text, 4) <= 3
    elif sentence:
        valid = 5 <= len(words) <= 60 and ends_sentence(text)
    else:
        valid = 1 <= len(words) <= 16
    total = fluency + on_topic - 0.5 * max(repetition - 1, 0) - (0 if valid else 100)
    return Scored(text=text, score=round(total, 4), fluency=round(fluency, 4), repetition=repetition,
                  on_topic=round(on_topic, 4), valid=valid)


def derive_seed(seed: int, name: str) -> int:
    """A seed for one step, from the post's seed and the step's name: stable across runs and machines."""
    return int.from_bytes(hashlib.sha256(f"{seed}/{name}".encode()).digest()[:4], "big")


class Post:
    """A written post. Parts are attributes; ``regenerate`` rewrites a section; ``to_markdown`` and ``save`` export.

    Example:
        >>> post = blogneo.write_post("Why I bike to work", sections=3, seed=7)
        >>> post.title, post.headings, len(post.sections)
    """

    def __init__(self, topic: str, model: LoadedModel, params: SamplingParams, seed: int, candidates: int):
        self.topic, self.model, self.params, self.seed, self.candidates = topic, model, params, seed, candidates
        self.title: Part | None = None
        self.description: Part | None = None
        self.tags: Part | None = None
        self.outline: Part | None = None
        self.introduction: Part | None = None
        self.sections: list[Part] = []
        self.conclusion: Part | None = None
        self.headings: list[str] = []  # the outline's section headings
    @property
    def tag_list(self) -> list[str]:
        return [t.strip() for t in self.tags.text.split(",") if t.strip()] if self.tags else []

    def parts(self) -> list[Part]:
        fixed = [self.title, self.description, self.tags, self.outline, self.introduction]
        return [p for p in [*fixed, *self.sections, self.conclusion] if p is not None]

    def lock(self, *indexes: int) -> None:
        """Keep these sections (0-based) as they are when regenerating."""
        for i in indexes:
            self._section(i).locked = True

    def unlock(self, *indexes: int) -> None:
        for i in indexes:
            self._section(i).locked = False

    def regenerate(self, index: int | None = None, seed: int | None = None, on_event=None) -> list[Part]:
        """Rewrite section ``index`` (0-based), or every unlocked section when None. Nothing else changes.

        ``seed`` makes the new text reproducible; None draws one, recorded in the part's ``seed``.
        A locked section is refused with an error rather than silently kept.
        """
        if index is not None and self._section(index).locked:
            raise BlogneoError(f"Section {index + 1} ({self.sections[index].heading!r}) is locked. "
                               f"Unlock it first: post.unlock({index}).")
        targets = [index] if index is not None else [i for i, s in enumerate(self.sections) if not s.locked]
        writer = _Writer(self, on_event)
        for i in targets:
            new_seed = seed if seed is not None else secrets.randbelow(2**32)
            self.sections[i] = writer.section(i, self.sections[i].heading, new_seed)
        return [self.sections[i] for i in targets]

    def seeds(self) -> dict[str, int]:
        """Every step's seed, by step name: with the post's seed and params, enough to write it again."""
        named = {"title": self.title, "description": self.description, "tags": self.tags, "outline": self.outline,
                 "introduction": self.introduction}
        named.update({f"section {i + 1}": s for i, s in enumerate(self.sections)})
        named["conclusion"] = self.conclusion
        return {name: part.seed for name, part in named.items() if part is not None}

    def body(self) -> str:
        blocks = [self.introduction.text]
        blocks += [f"## {s.heading}\n\n{s.text}" for s in self.sections]
        blocks.append(f"## Conclusion\n\n{self.conclusion.text}")
        return "\n\n".join(blocks)

    def to_markdown(self) -> str:
        """The post as Markdown with YAML front matter: what a static site generator reads."""
        meta = {
            "title": self.title.text,
            "description": self.description.text,
            "date": datetime.date.today(),
            "tags": self.tag_list,
            "topic": self.topic,
            "model": self.model.name,
            "revision": self.model.revision,
            "seed": self.seed,
            "candidates": self.candidates,
            "params": {k: v for k, v in self.params.to_dict().items() if k not in ("seed", "num_candidates")},
            "seeds": self.seeds(),
        }
        return document(meta, self.body())

    def save(self, folder: str | Path = "posts") -> Path:
        """Write ``<slug of the title>.md`` into ``folder``, atomically, never overwriting (``-2.md`` then)."""
        return write_new(folder, self.title.text, self.to_markdown())

    def scores(self) -> HTML:
        """Every step's candidates with their scores, the chosen one marked: why each part won."""
        rows, lines = [], []
        for part in self.parts():
            name = part.step if part.step != "section" else f"section: {part.heading}"
            for c in part.candidates:
                won = c.text == part.text or (part.step == "outline" and c.text in self.headings)
                chosen = "✔" if won else ""
                short = c.text if len(c.text) <= 70 else c.text[:69] + "…"
                cells = [name, chosen, f"{c.score:.2f}", f"{c.fluency:.2f}", f"{c.on_topic:.2f}", str(c.repetition),
                         "yes" if c.valid else "no", short]
                rows.append("".join(f"<td style='text-align:left'>{html.escape(x)}</td>" for x in cells))
                lines.append(" | ".join(cells))
        head = "".join(f"<th style='text-align:left'>{h}</th>" for h in
                       ("step", "chosen", "score", "fluency", "on topic", "repetition", "valid", "text"))
        markup = f"<table><tr>{head}</tr>" + "".join(f"<tr>{r}</tr>" for r in rows) + "</table>"
        return HTML(markup, "\n".join(lines))

    def _section(self, index: int) -> Part:
        if not 0 <= index < len(self.sections):
            raise ParameterError("index", f"There is no section {index}; this post has sections 0 to "
                                          f"{len(self.sections) - 1}.")
        return self.sections[index]

    def __repr__(self) -> str:
        title = self.title.text if self.title else "(not written)"
        return f"Post({title!r}, {len(self.sections)} sections, seed={self.seed}, model={self.model.name!r})"


def write_post(topic: str, model: LoadedModel | str | None = None, sections: int = 4,
               params: SamplingParams | str | None = None, seed: int | None = None, candidates: int = 1,
               on_event: Callable[[PostEvent], None] | None = None,
               cancel: threading.Event | None = None) -> Post:
    """Write a whole post about ``topic``.

    Args:
        topic: what the post is about.
        model: a LoadedModel, a spec, or None for the default model.
        sections: how many sections between the introduction and the conclusion (1 to 10).
        params: SamplingParams or a preset name for the prose (short steps are sampled cooler).
        seed: the post's seed; each step's seed is derived from it. None draws one.
        candidates: generate this many per step, in one batch, and keep the best by ``score``.
        on_event: called with a PostEvent as each step starts, streams and ends.
        cancel: set it (from another thread) to stop; the run raises BlogneoError.
    """
    check_prompt(topic, "topic")
    if not isinstance(sections, int) or isinstance(sections, bool) or not 1 <= sections <= 10:
        raise ParameterError("sections", f"sections={sections!r} is out of range: use from 1 to 10.")
    if not isinstance(candidates, int) or isinstance(candidates, bool) or not 1 <= candidates <= MAX_CANDIDATES:
        raise ParameterError("candidates", f"candidates={candidates!r} is out of range: use from 1 to "
                                           f"{MAX_CANDIDATES}.")
    params = resolve_params(params)
    if candidates > 1 and params.temperature == 0:
        raise ParameterError("candidates", f"candidates={candidates} needs sampling, but temperature=0 is greedy. "
                                           "Set a temperature above 0, or use one candidate.")
    model = loaded(model)  # last: every check above runs before any model loads
    seed = seed if seed is not None else secrets.randbelow(2**32)
    post = Post(topic.strip(), model, params, seed, candidates)
    writer = _Writer(post, on_event, cancel)
    post.title = writer.title()
    post.description = writer.description()
    post.tags = writer.tags()
    post.outline, post.headings = writer.outline(sections)
    post.introduction = writer.introduction()
    for i, heading in enumerate(post.headings):
        post.sections.append(writer.section(i, heading, derive_seed(seed, f"section {i + 1}")))
    post.conclusion = writer.conclusion()
    return post


class _Writer:
    """Runs the steps of one post: prompts, batched candidates, scoring, retries."""

    def __init__(self, post: Post, on_event=None, cancel: threading.Event | None = None):
        self.post = post
        self.model = post.model
        self.chat = post.model.chat
        self.on_event = on_event or (lambda event: None)
        self.cancel = cancel or threading.Event()

    # --- steps ---------------------------------------------------------------------------------

    def title(self) -> Part:
        part = self._step("title", "title", derive_seed(self.post.seed, "title"), clean=_clean_title)
        if not part.text:  # no usable title in any round: the topic itself is a fine title
            part.text = self.post.topic[:1].upper() + self.post.topic[1:]
        return part

    def description(self) -> Part:
        return self._step("description", "description", derive_seed(self.post.seed, "description"),
                          clean=_clean_description)

    def tags(self) -> Part:
        part = self._step("tags", "tags", derive_seed(self.post.seed, "tags"), clean=_clean_tags)
        tags = [t for t in part.text.split(", ") if t]
        for word in sorted(self._keywords("")):  # too few usable tags: add the topic's key words
            if len(tags) >= 3:
                break
            if word not in tags:
                tags.append(word)
        part.text = ", ".join(tags) or "blog"
        return part

    def outline(self, n: int) -> tuple[Part, list[str]]:
        seed = derive_seed(self.post.seed, "outline")
        self.on_event(PostEvent("start", "outline"))
        headings, written, chosen = [], [], []
        for k in range(1, n + 1):
            # Only headings the model really wrote go back into the prompt: a stand-in such as
            # "Part 2" would be copied by the next heading.
            outline = "".join(f"{i}. {h}\n" for i, h in enumerate(written, 1))
            part = self._step("heading", f"outline {k}", derive_seed(seed, str(k)), clean=_clean_heading,
                              fields={"outline": outline, "number": len(written) + 1, "sections": n},
                              announce=False, reject={h.lower() for h in headings},
                              stops=(f"\n{len(written) + 2}.",))
            valid = any(c.valid and c.text == part.text for c in part.candidates) and part.text
            headings.append(part.text if valid else f"Part {k}")
            if valid:
                written.append(part.text)
            chosen.append(part)
        text = "\n".join(f"{i}. {h}" for i, h in enumerate(headings, 1))
        self.on_event(PostEvent("done", "outline", text))
        candidates = [c for p in chosen for c in p.candidates]
        return Part("outline", text, seed, candidates), headings

    def introduction(self) -> Part:
        return self._step("introduction", "introduction", derive_seed(self.post.seed, "introduction"))

    def section(self, index: int, heading: str, seed: int) -> Part:
        previous = self.post.sections[index - 1].text if index > 0 else self.post.introduction.text
        part = self._step("section", f"section {index + 1}", seed, heading=heading,
                          fields={"heading": heading, "previous": self._tail(previous)})
        part.heading = heading
        return part

    def conclusion(self) -> Part:
        last = self.post.sections[-1].text if self.post.sections else self.post.introduction.text
        return self._step("conclusion", "conclusion", derive_seed(self.post.seed, "conclusion"),
                          fields={"previous": self._tail(last)})

    # --- one step ----------------------------------------------------------------------------------

    def _step(self, step: str, label: str, seed: int, clean=None, fields: dict | None = None,
              heading: str = "", announce: bool = True, reject: set[str] | None = None,
              stops: tuple[str, ...] | None = None) -> Part:
        post = self.post
        values = {"topic": post.topic, "title": post.title.text if post.title else post.topic,
                  "sections": len(post.headings), "headings": "; ".join(post.headings) or post.topic,
                  "outline": "", "number": 1, "heading": heading, "previous": ""}
        values.update(fields or {})
        prompt, reply = post_prompt(step, self.chat, **values)
        prose = step in ("introduction", "section", "conclusion")
        params = post.params.replace(
            num_candidates=post.candidates, stop=stops or POST_STOPS[step],
            trim_to_sentence=prose or step == "description",
            max_new_tokens=post.params.max_new_tokens if prose else SHORT_BUDGET[step], max_length=None,
            min_new_tokens=0)
        if not prose and params.temperature > SHORT_TEMPERATURE:
            params = params.replace(temperature=SHORT_TEMPERATURE)
        keywords = self._keywords(heading)
        if announce:
            self.on_event(PostEvent("start", label))
        scored: list[Scored] = []
        for attempt in range(ATTEMPTS):
            attempt_seed = seed if attempt == 0 else derive_seed(seed, f"retry {attempt}")
            for text in self._generate(prompt, reply, params.replace(seed=attempt_seed), label):
                if step == "description":  # the reply "This post" is part of the sentence
                    text = reply.strip() + text
                text = clean(text) if clean else _clean_prose(text)
                if reject and text.lower() in reject:
                    text = ""
                fluency = self._fluency(text, prompt, reply) if text.strip() else -100.0
                scored.append(score(text, fluency, keywords, prose, sentence=step == "description"))
            if any(s.valid for s in scored):
                break
        best = max(scored, key=lambda s: s.score)
        part = Part(step=step, text=best.text, seed=seed, candidates=scored, heading=heading)
        if announce:
            self.on_event(PostEvent("done", label, best.text))
        return part

    def _generate(self, prompt: str, reply: str, params: SamplingParams, label: str) -> list[str]:
        if self.cancel.is_set():
            raise BlogneoError("The post was stopped before it was finished.")
        running = stream(prompt, params, self.model, reply=reply)
        for chunk in running:
            if self.cancel.is_set():
                running.cancel()
            self.on_event(PostEvent("text", label, str(chunk), chunk.candidate))
        if self.cancel.is_set():
            running.result()
            raise BlogneoError("The post was stopped before it was finished.")
        return [c.text for c in running.result()]

    def _fluency(self, text: str, prompt: str, reply: str) -> float:
        scored = score_text(text, prompt, self.model, reply=reply)
        return scored.mean_logprob() if scored.probs else -100.0

    def _keywords(self, heading: str) -> set[str]:
        title = self.post.title.text if self.post.title else ""
        words = re.findall(r"[a-z][a-z']+", f"{self.post.topic} {title} {heading}".lower())
        return {w for w in words if len(w) >= 4 and w not in _STOPWORDS}

    def _tail(self, text: str, chars: int = 300) -> str:
        """The end of the previous part, from a sentence start, so the next part can follow on."""
        if len(text) <= chars:
            return text
        tail = text[-chars:]
        starts = [m.end() for m in _SENTENCE_END.finditer(tail)]
        return tail[starts[0]:].strip() if starts and starts[0] < len(tail) - 20 else tail.strip()


# --- cleaning what the model wrote into the shape each step needs --------------------------------------

def _clean_title(text: str) -> str:
    line = text.strip().splitlines()[0] if text.strip() else ""
    line = re.split(r"\s[#@|]", line)[0]
    line = re.sub(r"^(title|titel)\s*:\s*", "", line, flags=re.I)
    line = line.strip().strip("\"'*#“”‘’ ").strip()
    if _META_TITLE.search(line):
        return ""  # the model talking about its answer, not a title: try again
    words = line.split()
    return " ".join(words[:14])


_META_TITLE = re.compile(r"\b(here'?s|here is|blog (post|chat)|awesome!|sure!|title for)\b", re.I)


def _clean_heading(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip(" *#-")]
    line = lines[0] if lines else ""
    line = re.sub(r":\s*\d+\s*(words?|paragraphs?|sentences?)\b.*$", "", line, flags=re.I)
    line = line.strip().strip("\"'*#“”‘’ ").strip()
    before, colon, after = line.partition(":")
    if colon and re.match(r"^(introduction|conclusion)$", before.strip(), re.I) and len(after.split()) >= 2:
        line = after  # "Introduction: Why I ride" -> "Why I ride"; the post has its own introduction
    elif colon and len(before.split()) >= 2:  # "The Power of Bicycles: In this paragraph..." -> the heading
        line = before
    line = line.strip().strip("\"'*#“”‘’ ").strip()
    if len(line.split()) > 8 and "," in line:
        line = line.split(",")[0]
    line = line.strip().rstrip(":.-–—,;").strip()
    if re.match(r"^(introduction|conclusion)\b", line, re.I) or _META.search(line):
        return ""  # the post has its own introduction and conclusion; a heading about the post is no heading
    words = line.split()[:12]
    while words and words[-1].lower() in _STOPWORDS:  # a heading cut off at "... and how to"
        words.pop()
    return " ".join(words)


# Words that mark a "heading" as the model talking about the post instead of naming a section.
_META = re.compile(r"\b(sections?|paragraphs?|introduce|blog ?posts?|this post|outline|headings?|words?|"
                   r"sentences?)\b", re.I)


def _clean_tags(text: str) -> str:
    tags = []
    for raw in re.split(r"[,#;|\n]", text):
        tag = re.sub(r"^\s*\d+[).]", "", raw.lower())
        tag = " ".join(re.sub(r"[^a-z \-]", "", tag).split()).strip(" -")
        if tag and 1 <= len(tag.split()) <= 2 and 3 <= len(tag) <= 20 and tag not in tags:
            tags.append(tag)
    return ", ".join(tags[:5])


def _clean_description(text: str) -> str:
    text = " ".join(text.split())
    first = _SENTENCE_END.search(text)
    return text[: first.end()] if first else text


# A small chat model sometimes opens with a line about its answer ("Here's the conclusion for ...:").
_PREAMBLE = re.compile(r"^(here(?:'s| is| are)|sure|certainly|below|this is)\b[^\n]*:\s*\n+", re.I)


def _clean_prose(text: str) -> str:
    text = _PREAMBLE.sub("", text.strip())
    text = trim_to_sentence(text.strip())
    return re.sub(r"\n{3,}", "\n\n", text)


__all__ = ["Part", "Post", "PostEvent", "Scored", "derive_seed", "score", "write_post"]
