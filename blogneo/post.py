"""A whole blog post: title, description, tags, outline, introduction, sections and conclusion.

Each step is one generation (the outline is one short generation per heading) with its own seed,
derived from the post's seed (``params.seed``), so the same topic, model, params and controls (post
type, tone, words, banned phrases) give the same post. Stop strings keep each step to its part.
With ``params.num_candidates > 1`` every step generates that many in one batch and keeps the best
by ``blogneo.text.score`` (documented there; ``blogneo.text.best`` reads a candidate's fluency only where it
decides); a candidate with a defect (``blogneo.defects``) loses to any without, and a step with no defect-free
candidate retries with new seeds. A prose candidate whose clean start (the whole sentences before its first blocking
defect) has most of the target words is a candidate at once; a prose part still without a clean one after three
rounds tries every candidate's clean start and then more rounds, so no section is left empty. Every candidate's score
and defects are kept, so a reader can see why one won. Cleaning and scoring the text are plain functions in
``blogneo.text``; this module runs the steps.

How each kind of step is written is one table, ``STEPS`` (a ``StepSpec`` each: template, the part the checker
reads it as, budget, temperature cap, rounds, cleaning). A step is written and judged against an explicit
``Context`` (topic, title, tags, the headings chosen so far, its heading, the end of the part before), never
against the half-built post. ``Writer(post, generate=...)`` is the one seam a test drives: it hands the writer
candidates of its own, with cleaning, the checker and the scores all real.
"""

from __future__ import annotations

import hashlib
import html
import re
import secrets
import threading
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import NamedTuple

from . import rules
from .defects import DRIFT, DRIFT_PARTS, Defect, before_defects, check_post, find_defects, whole_words, without_preamble
from .display import HTML
from .errors import BlogneoError, ParameterError
from .examples import Examples, Excerpt, example_budget
from .fields import POST_DEFAULTS
from .files import offer_download, slugify, write_new
from .generation import Candidate, Stream
from .lens import score_text, topic_pmi
from .loading import LoadedModel, loaded
from .markdown import document, for_site, front_matter, read
from .prompts import POST_STOPS, POST_TYPES, TAGS_EXAMPLE_DOMAIN, TONES, check_prompt, post_prompt
from .sampling import SamplingParams, resolve_params
from .text import (
    VAGUE,
    Scored,
    best,
    clean_description,
    clean_heading,
    clean_prose,
    clean_tags,
    clean_title,
    keywords,
    score,
    shares_stem,
    tail,
    title_phrases,
)

SHORT_TEMPERATURE = 0.5  # short, structured steps are sampled cooler than the prose
ATTEMPTS = 3  # rounds of candidates per step before taking the best of what there is
HEADING_ATTEMPTS = 6  # a heading or a description is short: more rounds cost little (one of 167 characters was kept)
PROSE_ATTEMPTS = 5  # a prose part with no clean candidate in ATTEMPTS rounds gets more, and keeps the start of each
# candidate before its first blocking defect as one more (defects.before_defects): left empty, a section showed a bare
# heading; and a start a little short reads better than a candidate that ran into junk lines
WHOLE_START = 0.7  # a prose candidate's clean start with this share of the target words is a candidate at once (a
# section that ends "I hope this helps!" is a section without it), instead of costing another round (8-10 s)
MAX_SECTIONS = 10  # sections between the introduction and the conclusion: 1 to this
WORDS = (30, 400)  # target words per prose part: from, to
TOKENS_PER_WORD = 1.5  # a prose part's token budget is its target words times this (English: about 1.3)
#: Clichés no post needs, banned while writing (beside the phrases a writer bans): the "cliche" rules of rules.toml.
DEFAULT_BANNED = rules.cliches()


@dataclass(frozen=True)
class StepSpec:
    """How one kind of step is written: its template, the part the checker reads it as, its token budget (None: the
    prose budget), a cap on its temperature (None: the post's own), its rounds of candidates and its cleaning."""

    template: str  # a key of prompts.POST_TEMPLATES and POST_STOPS
    part: str  # what the checker reads it as: title, description, tags, heading or prose
    budget: int | None
    temperature: float | None
    rounds: int
    clean: Callable[[str], str]
    reply_is_text: bool = False  # the reply the answer starts with is part of the text ("This post ...")

    @property
    def prose(self) -> bool:
        return self.part == "prose"


def _clean_prose_part(text: str) -> str:
    return clean_prose(without_preamble(text))


STEPS = {
    "title": StepSpec("title", "title", 24, SHORT_TEMPERATURE, ATTEMPTS, clean_title),
    "description": StepSpec("description", "description", 60, SHORT_TEMPERATURE, HEADING_ATTEMPTS, clean_description,
                            reply_is_text=True),
    "tags": StepSpec("tags", "tags", 24, SHORT_TEMPERATURE, ATTEMPTS, clean_tags),
    "heading": StepSpec("heading", "heading", 16, SHORT_TEMPERATURE, HEADING_ATTEMPTS, clean_heading),
    "introduction": StepSpec("introduction", "prose", None, None, PROSE_ATTEMPTS, _clean_prose_part),
    "section": StepSpec("section", "prose", None, None, PROSE_ATTEMPTS, _clean_prose_part),
    "conclusion": StepSpec("conclusion", "prose", None, None, PROSE_ATTEMPTS, _clean_prose_part),
}


@dataclass(frozen=True)
class Context:
    """What a step is written and judged against: never read from a half-built ``Post``."""

    topic: str
    title: str = ""
    tags: str = ""
    headings: tuple[str, ...] = ()  # the headings chosen before this step (the outline's so far, while it is chosen)
    heading: str = ""  # a section's own
    previous: str = ""  # the end of the part before


class PostEvent(NamedTuple):
    """Progress while a post is written: ``kind`` is "start", "text" (a streamed chunk) or "done"."""

    kind: str
    step: str  # "title", "description", "tags", "outline", "introduction", "section 1", ..., "conclusion"
    text: str = ""
    candidate: int = 0


@dataclass
class Part:
    """One part of a post: the chosen text, its seed, and every candidate it was chosen from."""

    step: str
    text: str
    seed: int
    candidates: list[Scored] = field(default_factory=list)
    heading: str = ""  # sections only
    locked: bool = False


def derive_seed(seed: int, name: str) -> int:
    """A seed for one step, from the post's seed and the step's name: stable across runs and machines."""
    return int.from_bytes(hashlib.sha256(f"{seed}/{name}".encode()).digest()[:4], "big")


class Post:
    """A written post. Parts are attributes; ``regenerate`` rewrites a section; ``to_markdown`` and ``save`` export.

    ``params`` are the post's own: ``params.seed`` is the post's seed (drawn when none was given),
    ``params.num_candidates`` how many candidates each step chose from and ``params.banned`` the
    phrases it could not write. ``post_type``, ``tone`` and ``words`` are the rest of its recipe.

    Example:
        >>> post = blogneo.write_post("Why I bike to work", sections=3, params=blogneo.SamplingParams(seed=7))
        >>> post.seed, len(post.sections)
        (7, 3)
    """

    def __init__(self, topic: str, model: LoadedModel, params: SamplingParams,
                 post_type: str = POST_DEFAULTS["post_type"], tone: str = POST_DEFAULTS["tone"],
                 words: int = POST_DEFAULTS["words"], examples: Examples | None = None):
        self.topic, self.model, self.params = topic, model, params
        self.post_type, self.tone, self.words = post_type, tone, words
        self.examples = examples  # the writer's posts it writes like (``write_post(..., examples=)``), or None
        # the excerpts its prose parts read, chosen once for the topic and named in the front matter
        self.excerpts: list[Excerpt] = examples.choose(model.tokenizer, topic, example_budget(model.context_length)) \
            if examples else []
        self.title: Part | None = None
        self.description: Part | None = None
        self.tags: Part | None = None
        self.outline: Part | None = None
        self.introduction: Part | None = None
        self.sections: list[Part] = []
        self.conclusion: Part | None = None
        self.headings: list[str] = []  # the outline's section headings

    @property
    def seed(self) -> int:
        return self.params.seed

    @property
    def candidates(self) -> int:
        return self.params.num_candidates

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

    def regenerate(self, index: int | None = None, seed: int | None = None, on_event=None,
                   cancel: threading.Event | None = None, progress: Callable[[str], None] | None = None) -> list[Part]:
        """Rewrite section ``index`` (0-based), or every unlocked section when None. Nothing else changes.

        ``seed`` makes the new text reproducible; None draws one, recorded in the part's ``seed``.
        A locked section is refused with an error rather than silently kept. Setting ``cancel``
        stops it within a decoding step (a BlogneoError), the section as it was. ``progress``
        gets the run's notes (a compile on a GPU), as in ``write_post``.
        """
        if index is not None and self._section(index).locked:
            raise BlogneoError(f"Section {index + 1} ({self.sections[index].heading!r}) is locked. "
                               f"Unlock it first: post.unlock({index}).")
        targets = [index] if index is not None else [i for i, s in enumerate(self.sections) if not s.locked]
        writer = Writer(self, on_event, cancel, progress=progress)
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

    @property
    def slug(self) -> str:
        """The post's URL slug (and file name): its title in lower-case ASCII and hyphens, cut after a whole word."""
        return slugify(self.title.text)

    def defects(self) -> list:
        """Every defect ``blogneo.defects`` finds in the post, part by part; [] for a clean post."""
        return check_post(self, self.words)

    def body(self) -> str:
        numbered = self.post_type == "listicle"  # a listicle's headings are its numbered items
        blocks = [self.introduction.text]
        blocks += [f"## {f'{i}. ' if numbered else ''}{s.heading}\n\n{s.text}" for i, s in enumerate(self.sections, 1)]
        blocks.append(f"## Conclusion\n\n{self.conclusion.text}")
        return "\n\n".join(blocks)

    def to_markdown(self) -> str:
        """The post as Markdown with YAML front matter: what a static site generator reads.

        Beside the title and date: the SEO fields Hugo and Jekyll read (``slug``, ``description``,
        at most 160 characters when the checker found no defect, and ``tags``), the recipe
        (topic, post type, tone, words per part) and the provenance (model, revision, params,
        every step's seed), so the post can be written again.
        """
        return document(self._front_matter(), self.body())

    def save(self, folder: str | Path = "posts", *, site: str | None = None, draft: bool | None = None,
             download: bool = True) -> Path:
        """Write ``<slug>.md`` into ``folder``, atomically, never overwriting (``-2.md`` then); its path.

        Args:
            folder: where to write: any folder, or with ``site`` the static site's own folder.
            site: None for the plain file (``to_markdown()``); "jekyll" for
                ``folder/_posts/YYYY-MM-DD-<slug>.md`` with ``layout: post`` first in the front
                matter; "hugo" for ``folder/content/posts/<slug>.md`` with ``draft``. Either site
                reads the slug from the file name, so their front matter has no ``slug`` field.
                The date, title, description, tags and the recipe are in every layout, so
                ``rewrite_post`` reads each back.
            draft: Hugo's ``draft`` field: True (the default) until you set ``draft=False`` to
                publish; refused for the other layouts, which have no such field.
            download: on Colab, also hand the file to your browser as a download (see below);
                ``download=False`` for a save you will not keep. Elsewhere it changes nothing.

        A site or draft that cannot be written is refused before anything is written. The slug
        ends on a whole word, at most 60 characters. On Colab, whose files go when the runtime is
        recycled, the saved file is also offered to your browser as a download.

        Example:
            >>> post = blogneo.write_post("Why I bike to work", sections=1, params=blogneo.SamplingParams(seed=7))
            >>> path = post.save("site", site="jekyll")
            >>> path.parent.name, path.name == f"{read(path.read_text())[0]['date']}-{post.slug}.md"
            ('_posts', True)
        """
        where, prefix, meta = for_site(self._front_matter(), site, draft)
        if not isinstance(download, bool):
            raise ParameterError("download", f"download={download!r} is not True or False: use download=False "
                                             "for a save you will not keep.")
        path = write_new(Path(folder) / where, self.title.text, document(meta, self.body()), prefix=prefix)
        if download:
            offer_download(path)
        return path

    def _front_matter(self) -> dict:
        meta = front_matter(self.title.text, self.model, self.params, self.seed, slug=self.slug,
                            description=self.description.text, tags=self.tag_list, topic=self.topic,
                            post_type=self.post_type, tone=self.tone, words=self.words)
        meta["seeds"] = self.seeds()
        if self.examples:
            meta["examples"] = self.examples.record(self.excerpts)
        return meta

    def scores(self) -> HTML:
        """Every step's candidates with their scores, the chosen one marked: why each part won."""
        rows, lines = [], []
        for part in self.parts():
            name = part.step if part.step != "section" else f"section: {part.heading}"
            for c in part.candidates:
                won = c.text == part.text or (part.step == "outline" and c.text in self.headings)
                chosen = "✔" if won else ""
                short = c.text if len(c.text) <= 70 else c.text[:69] + "…"
                fluency = "–" if c.fluency is None else f"{c.fluency:.2f}"  # not read: it could not decide
                cells = [name, chosen, f"{c.score:.2f}", fluency, f"{c.on_topic:.2f}", str(c.repetition),
                         "; ".join(f"{d.kind} at {d.where}: {d.excerpt!r}" for d in c.defects) or "none", short]
                rows.append("".join(f"<td style='text-align:left'>{html.escape(x)}</td>" for x in cells))
                lines.append(" | ".join(cells))
        head = "".join(f"<th style='text-align:left'>{h}</th>" for h in
                       ("step", "chosen", "score", "fluency", "on topic", "repetition", "defects", "text"))
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


def check_settings(topic: str, sections: int, post_type: str, tone: str, words: int) -> str:
    """Refuse a post's settings that ``write_post`` cannot use, each with what to do; the tone, stripped.

    Example:
        >>> check_settings("Baking bread", 99, "opinion", "friendly", 100)
        Traceback (most recent call last):
        ...
        blogneo.errors.ParameterError: sections=99 is out of range: use from 1 to 10.
    """
    check_prompt(topic, "topic")
    if not isinstance(sections, int) or isinstance(sections, bool) or not 1 <= sections <= MAX_SECTIONS:
        raise ParameterError("sections", f"sections={sections!r} is out of range: use from 1 to {MAX_SECTIONS}.")
    if post_type not in POST_TYPES:
        raise ParameterError("post_type", f"post_type={post_type!r} is not one we know: use one of "
                                          f"{', '.join(POST_TYPES)}.")
    tone = check_prompt(tone, "tone").strip()
    if len(tone.split()) > 6:
        raise ParameterError("tone", f"tone={tone!r} is too long: a few words, such as {', '.join(TONES)}.")
    if not isinstance(words, int) or isinstance(words, bool) or not WORDS[0] <= words <= WORDS[1]:
        raise ParameterError("words", f"words={words!r} is out of range: use from {WORDS[0]} to {WORDS[1]} "
                                      "words per part.")
    return tone


def write_post(topic: str, model: LoadedModel | str | None = None, sections: int = POST_DEFAULTS["sections"],
               params: SamplingParams | str | None = None, *, post_type: str = POST_DEFAULTS["post_type"],
               tone: str = POST_DEFAULTS["tone"], words: int = POST_DEFAULTS["words"],
               banned: tuple[str, ...] | list[str] = (),
               on_event: Callable[[PostEvent], None] | None = None,
               cancel: threading.Event | None = None, examples=None,
               progress: Callable[[str], None] | None = None) -> Post:
    """Write a whole post about ``topic``.

    Args:
        topic: what the post is about.
        model: a LoadedModel, a spec, or None for the default model.
        sections: how many sections between the introduction and the conclusion (1 to 10).
        params: SamplingParams or a preset name for the prose (short steps are sampled cooler).
            ``params.seed`` is the post's seed, from which each step's seed is derived (None
            draws one, kept in ``post.seed``); ``params.num_candidates`` is how many candidates
            each step generates in one batch, keeping the best by ``blogneo.text.score``. Prose
            parts take their token budget from ``words``, not from ``params.max_new_tokens``.
        post_type: one of ``POST_TYPES`` (how-to, listicle, opinion, review, personal story); it
            shapes the outline, and a listicle's headings are numbered.
        tone: one of ``TONES`` (friendly, professional, persuasive, humorous) or a few words of your own.
        words: target words per prose part (30 to 400); far off it is a defect.
        banned: phrases the post may not contain, beside ``DEFAULT_BANNED``; enforced as it is written.
        on_event: called with a PostEvent as each step starts, streams and ends.
        cancel: set it (from another thread) to stop; the run raises BlogneoError.
        examples: your own posts, to write like them with no training: a folder of ``.md``/``.txt``
            files or a list of texts. The posts sharing most words with the topic are chosen once
            (about 900 tokens of excerpts at most, 3/8 of a short context), and every prose part reads
            them: a base model as earlier posts on its page, a chat model as its earlier answers. The
            front matter names each by file and hash, so ``rewrite_post`` writes the post again.
        progress: called with the post's notes (on a GPU, "compiling for this GPU: ..." before a step
            that compiles); None prints them.

    Example:
        >>> post = write_post("Why I bike to work", model, params=SamplingParams(seed=7, num_candidates=2))
        >>> post.seed, post.candidates
        (7, 2)
    """
    tone = check_settings(topic, sections, post_type, tone, words)
    params = resolve_params(params)
    banned = (banned,) if isinstance(banned, str) else tuple(banned)
    params = params.replace(banned=(*DEFAULT_BANNED, *params.banned, *banned))  # validated there
    if params.seed is None:
        params = params.replace(seed=secrets.randbelow(2**32))
    examples = Examples.of(examples)  # a folder's problems are errors here too, before the model
    model = loaded(model)  # last: every check above runs before any model loads
    post = Post(topic.strip(), model, params, post_type, tone, words, examples)
    return Writer(post, on_event, cancel, progress=progress).write(sections)


_RECIPE = ("topic", "post_type", "tone", "words", "model", "revision", "seed", "candidates", "params", "seeds")


def _recipe(text: str) -> tuple[dict, str, SamplingParams]:
    """(front matter, body, params) of a post blogneo saved; a ParameterError for anything else."""
    meta, body = read(text)
    missing = [key for key in _RECIPE if key not in meta]
    if missing:
        raise ParameterError("saved", "This is not a post blogneo saved: its front matter has no "
                                      f"{', '.join(missing)}. Pass a file written by post.save().")
    return meta, body, SamplingParams(**meta["params"], seed=meta["seed"], num_candidates=meta["candidates"])


def read_post(saved: str | Path, model: LoadedModel | str | None = None, examples=None) -> Post:
    """A saved post as a ``Post`` again, without writing a word: its parts from the Markdown, its recipe and step
    seeds from the front matter (what ``rewrite_post`` reads). Its sections can then be regenerated, locked and
    saved as if it had just been written; its candidates are not kept, so ``scores()`` is empty.

    ``saved`` is the file or its Markdown; ``model`` defaults to the one the post names.

    Example:
        >>> post = write_post("Why I bike to work", model, sections=1, params=SamplingParams(seed=7))
        >>> read_post(post.to_markdown(), model).to_markdown() == post.to_markdown()
        True
    """
    text = saved if isinstance(saved, str) and saved.startswith("---\n") else Path(saved).read_text(encoding="utf-8")
    meta, body, params = _recipe(text)
    used = _examples_used(meta.get("examples"), examples)
    post = Post(meta["topic"], loaded(model if model is not None else meta["model"]), params, meta["post_type"],
                meta["tone"], meta["words"], used)
    seeds = meta["seeds"]
    blocks = re.split(r"^## ", body.strip(), flags=re.M)
    count = sum(name.startswith("section ") for name in seeds)
    if len(blocks) != count + 2 or not blocks[-1].startswith("Conclusion"):
        raise ParameterError("saved", f"This post's body does not read as its {count} section(s) and a conclusion: "
                                      "a part holds a '## ' line of its own, or the file was edited. Remove that "
                                      "line, or write the post again with rewrite_post.")
    sections = [block.split("\n\n", 1) + [""] for block in blocks[1:-1]]
    numbered = meta["post_type"] == "listicle"  # a listicle's headings carry their numbers in the body
    post.headings = [re.sub(r"^\d+\. ", "", h.strip()) if numbered else h.strip() for h, *_ in sections]
    post.title = Part("title", str(meta["title"]), seeds["title"])
    post.description = Part("description", str(meta.get("description", "")), seeds["description"])
    post.tags = Part("tags", ", ".join(map(str, meta.get("tags", []))), seeds["tags"])
    post.outline = Part("outline", "\n".join(f"{i}. {h}" for i, h in enumerate(post.headings, 1)), seeds["outline"])
    post.introduction = Part("introduction", blocks[0].strip(), seeds["introduction"])
    post.sections = [Part("section", text.strip(), seeds[f"section {i}"], heading=heading)
                     for i, ((_, text, *_), heading) in enumerate(zip(sections, post.headings, strict=True), 1)]
    post.conclusion = Part("conclusion", blocks[-1].partition("\n\n")[2].strip(), seeds["conclusion"])
    return post


def rewrite_post(saved: str | Path, model: LoadedModel | str | None = None, on_event=None, examples=None) -> Post:
    """Write a saved post again from its front matter: the same recipe, parameters and step seeds,
    a section rewritten with a seed of its own included.

    ``saved`` is the saved file, or its Markdown. ``model`` defaults to the one the post names;
    another revision of it is said in a warning, since it may write other words. With the same
    model and revision, the new post's Markdown is the saved one's (the date aside).

    A post written by example reads its examples again from the folder its front matter names (or
    ``examples``, the folder or texts to use instead); each must be the file it was, by hash.

    Example:
        >>> post = write_post("Why I bike to work", model, sections=1, params=SamplingParams(seed=7))
        >>> again = rewrite_post(post.save("posts"), model)
        >>> again.to_markdown() == post.to_markdown()
        True
    """
    text = saved if isinstance(saved, str) and saved.startswith("---\n") else Path(saved).read_text(encoding="utf-8")
    meta, _, params = _recipe(text)
    sections = sum(name.startswith("section ") for name in meta["seeds"])
    used = _examples_used(meta.get("examples"), examples)
    model = loaded(model if model is not None else meta["model"])
    if model.revision != meta["revision"]:
        warnings.warn(f"The post was written with {meta['model']} at revision {meta['revision']}; this model is at "
                      f"{model.revision}, so its words may differ.", stacklevel=2)
    post = write_post(meta["topic"], model, sections=sections, params=params, post_type=meta["post_type"],
                      tone=meta["tone"], words=meta["words"], on_event=on_event, examples=used)
    for i, part in enumerate(post.sections):  # the sections that were rewritten with seeds of their own
        if meta["seeds"].get(f"section {i + 1}", part.seed) != part.seed:
            post.regenerate(i, seed=meta["seeds"][f"section {i + 1}"], on_event=on_event)
    return post


def _examples_used(recorded: dict | None, examples) -> Examples | None:
    """The examples a saved post was written with: its recorded posts only, each checked by hash."""
    if not recorded:
        return None
    if examples is None:
        if recorded["from"] == "texts":
            raise ParameterError("examples", "This post was written with examples given as texts: pass the same "
                                             "texts again, examples=[...].")
        examples = recorded["from"]
    found = Examples.of(examples)
    found.check(recorded)
    names = {p["name"] for p in recorded["posts"]}
    return Examples(found.source, tuple(d for d in found.documents if d.name in names))


Generate = Callable[[str, str, SamplingParams, str, "list[Excerpt]"], "list[Candidate]"]


class Writer:
    """Runs the steps of one post: prompts, batched candidates, judging, retries.

    ``generate(prompt, reply, params, label, excerpts)`` returns a step's candidates (``excerpts``: what the step
    reads of the writer's examples, prose steps only); by default it streams them from the post's model, reporting
    each chunk to ``on_event``. It is the one seam a test drives to hand the writer candidates of its own
    (``Writer(post, generate=scripted)``), with every other step real: cleaning, the checker, the scores.
    """

    def __init__(self, post: Post, on_event=None, cancel: threading.Event | None = None,
                 generate: Generate | None = None, progress: Callable[[str], None] | None = None):
        self.post = post
        self.model = post.model
        self.chat = post.model.chat
        self.on_event = on_event or (lambda event: None)
        self.cancel = cancel or threading.Event()
        self.generate = generate or self._stream
        self.progress = progress  # the post's notes: a compile before a step that needs one

    def context(self, heading: str = "", previous: str = "", headings: tuple[str, ...] | None = None) -> Context:
        post = self.post
        return Context(topic=post.topic, title=post.title.text if post.title else "",
                       tags=post.tags.text if post.tags else "",
                       headings=tuple(post.headings) if headings is None else headings,
                       heading=heading, previous=previous)

    def write(self, sections: int) -> Post:
        """Every step of the post in order, each part kept on it as it is chosen; the post."""
        post = self.post
        post.title = self.title()
        post.description = self.description()
        post.tags = self.tags()
        post.outline, post.headings = self.outline(sections)
        post.introduction = self.introduction()
        for i, heading in enumerate(post.headings):
            post.sections.append(self.section(i, heading, derive_seed(post.seed, f"section {i + 1}")))
        post.conclusion = self.conclusion()
        return post

    # --- steps ---------------------------------------------------------------------------------

    def title(self) -> Part:
        part = self.best_of(STEPS["title"], "title", derive_seed(self.post.seed, "title"), self.context(),
                            ban=rules.bans("title", self.post.topic))
        if not any(c.valid for c in part.candidates):  # no usable title in any round: the topic is a fine title
            part.text = self.post.topic[:1].upper() + self.post.topic[1:]
        return part

    def description(self) -> Part:
        return self.best_of(STEPS["description"], "description", derive_seed(self.post.seed, "description"),
                            self.context())

    def tags(self) -> Part:
        context = self.context()
        about = keywords(context.topic, context.title)
        part = self.best_of(STEPS["tags"], "tags", derive_seed(self.post.seed, "tags"), context,
                            ban=tuple(w for w in TAGS_EXAMPLE_DOMAIN if not shares_stem([w], about)))
        known = whole_words(self.model.tokenizer)
        # the best list may still hold a tag the checker names ("grammar" on a guitar review): it goes
        tags = [t for t in part.text.split(", ")
                if t and not find_defects(t, "tags", title=context.title, topic=context.topic, vocabulary=known)]
        for word in sorted(about - VAGUE):  # too few usable tags: add the key words of the topic and title
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
        title = self.post.title.text
        ban = rules.bans("heading") + title_phrases(title) + title_phrases(self.post.topic)
        for k in range(1, n + 1):
            # Only headings the model really wrote go back into the prompt: a stand-in such as
            # "Part 2" would be copied by the next heading.
            outline = "".join(f"{i}. {h}\n" for i, h in enumerate(written, 1))
            # judged against the headings chosen so far, so a near-duplicate loses while it can still be replaced
            part = self.best_of(STEPS["heading"], f"outline {k}", derive_seed(seed, str(k)),
                                self.context(headings=tuple(headings)),
                                fields={"outline": outline, "number": len(written) + 1, "sections": n},
                                announce=False, reject={h.lower() for h in headings},
                                stops=(f"\n{len(written) + 2}.",), ban=ban)
            valid = any(c.valid and c.text == part.text for c in part.candidates) and part.text
            # Without a clean heading, the best that was written (post.defects() names its defect);
            # a placeholder only when nothing was written at all, and the checker names that too.
            headings.append(part.text or f"Part {k}")
            if valid:
                written.append(part.text)
            chosen.append(part)
        text = "\n".join(f"{i}. {h}" for i, h in enumerate(headings, 1))
        self.on_event(PostEvent("done", "outline", text))
        candidates = [c for p in chosen for c in p.candidates]
        return Part("outline", text, seed, candidates), headings

    def introduction(self) -> Part:
        return self.best_of(STEPS["introduction"], "introduction", derive_seed(self.post.seed, "introduction"),
                            self.context())

    def section(self, index: int, heading: str, seed: int) -> Part:
        previous = self.post.sections[index - 1].text if index > 0 else self.post.introduction.text
        part = self.best_of(STEPS["section"], f"section {index + 1}", seed,
                            self.context(heading=heading, previous=tail(previous)))
        part.heading = heading
        return part

    def conclusion(self) -> Part:
        last = self.post.sections[-1].text if self.post.sections else self.post.introduction.text
        return self.best_of(STEPS["conclusion"], "conclusion", derive_seed(self.post.seed, "conclusion"),
                            self.context(previous=tail(last)))

    # --- one step ----------------------------------------------------------------------------------

    def best_of(self, spec: StepSpec, label: str, seed: int, context: Context, fields: dict | None = None,
                announce: bool = True, reject: set[str] | None = None, stops: tuple[str, ...] | None = None,
                ban: tuple[str, ...] = ()) -> Part:
        """One step: rounds of candidates until one is clean (or the rounds run out), the best by ``text.score``."""
        post = self.post
        values = {"topic": context.topic, "title": context.title or context.topic, "kind": post.post_type,
                  "tone": post.tone, "words": post.words, "sections": len(context.headings),
                  "headings": "; ".join(context.headings) or context.topic, "outline": "", "number": 1,
                  "heading": context.heading, "previous": context.previous, "tags": context.tags}
        values.update(fields or {})
        prompt, reply = post_prompt(spec.template, self.chat, **values)
        if spec.prose:
            ban = ban + rules.bans("prose")
        params = post.params.replace(
            stop=stops or POST_STOPS[spec.template], banned=post.params.banned + ban,
            trim_to_sentence=spec.prose or spec.part == "description",
            max_new_tokens=spec.budget or self._prose_budget(), max_length=None, min_new_tokens=0)
        if spec.temperature is not None and params.temperature > spec.temperature:
            params = params.replace(temperature=spec.temperature)
        known = whole_words(self.model.tokenizer)
        if announce:
            self.on_event(PostEvent("start", label))
        # the writer's voice is in the prose; short steps keep their own format examples, and their cost
        excerpts = post.excerpts if spec.prose else []

        model_wrote: dict[str, str] = {}  # a candidate's text: what the model wrote of it, for its fluency

        def judge(text: str, written: str, cut: bool = False) -> tuple[Scored, list[Defect]]:
            """``text`` as the part reads, ``written`` what the model wrote of it after the prompt and reply. Its
            fluency is read later, and only where it decides (``text.best``)."""
            model_wrote[text] = written
            fluency = None if written.strip() else -100.0
            defects = find_defects(text, spec.part, part=label, title=context.title, topic=context.topic,
                                   headings=context.headings, target_words=post.words, vocabulary=known,
                                   model=self.model)
            if cut and text:
                defects.append(Defect("unfinished", label, len(text), f"cut at {params.max_new_tokens} tokens"))
            # two forward passes: spent only where they can decide (a blocked candidate loses anyway)
            live = text.strip() and not any(d.blocking for d in defects)
            on_topic = topic_pmi(text, context.topic, self.model) if live else 0.0
            if live and spec.part in DRIFT_PARTS and on_topic < DRIFT:
                defects.append(Defect("drift", label, 0, f"the topic makes it no likelier ({on_topic:+.2f} a token)",
                                      "topic-signal"))
            return score(text, fluency, on_topic, defects), defects

        scored: list[Scored] = []
        starts: list[str] = []  # what blocked prose candidates wrote before their first blocking defect, not yet tried
        for attempt in range(spec.rounds):
            attempt_seed = seed if attempt == 0 else derive_seed(seed, f"retry {attempt}")
            if attempt == ATTEMPTS:  # a heading still stuck (on the title) after the cool rounds: sample as the prose
                params = params.replace(temperature=max(params.temperature, post.params.temperature))
            for candidate in self.generate(prompt, reply, params.replace(seed=attempt_seed), label, excerpts):
                raw = candidate.text
                # a title or heading that ran out of tokens before its line ended was cut off mid-phrase
                cut = spec.part in ("title", "heading") and candidate.finish_reason == "length" and \
                    "\n" not in raw.strip()
                text = spec.clean(reply.strip() + raw if spec.reply_is_text else raw)  # "This post" + "walks you..."
                cut = cut and _kept_end(raw, text)  # a cut line whose cut tail cleaning dropped reads whole
                if reject and text.lower() in reject:
                    text = ""
                # the model's own words are scored after the reply, never the reply twice
                written = text[len(reply.strip()):] if spec.reply_is_text and text.startswith(reply.strip()) else text
                judged, defects = judge(text, written, cut)
                scored.append(judged)
                if spec.prose and any(d.blocking for d in defects):
                    start = before_defects(text, defects)
                    if len(start.split()) >= WHOLE_START * post.words:
                        scored.append(judge(start, start)[0])  # a clean one ends the rounds; one still
                        # blocked (the learned signal reads it afresh) is one more candidate that loses
                    elif start:
                        starts.append(start)
            if not any(s.valid for s in scored) and spec.prose and attempt + 1 >= ATTEMPTS:
                # No clean candidate in the usual rounds: what each wrote before its first blocking defect. A clean
                # one ends the rounds; one only too short stays in the running, to beat junk lines at the end.
                scored += [s for s, found in (judge(t, t) for t in sorted(set(starts)))
                           if not any(d.blocking for d in found)]
                starts.clear()
            if any(s.valid for s in scored):
                break
        chosen = best(scored, lambda s: self._fluency(model_wrote[s.text], prompt, reply))
        part = Part(step=spec.template, text=chosen.text, seed=seed, candidates=scored, heading=context.heading)
        if announce:
            self.on_event(PostEvent("done", label, chosen.text))
        return part

    def _prose_budget(self) -> int:
        """Tokens for a prose part: its target words' worth, within a quarter of the model's context."""
        return min(round(self.post.words * TOKENS_PER_WORD), self.model.context_length // 4)

    def _stream(self, prompt: str, reply: str, params: SamplingParams, label: str,
                excerpts: list[Excerpt]) -> list[Candidate]:
        if self.cancel.is_set():
            raise BlogneoError("The post was stopped before it was finished.")
        running = Stream(self.model, prompt, params, reply=reply, excerpts=excerpts, progress=self.progress)
        for chunk in running:
            if self.cancel.is_set():
                running.cancel()
            self.on_event(PostEvent("text", label, str(chunk), chunk.candidate))
        if self.cancel.is_set():
            running.result()
            raise BlogneoError("The post was stopped before it was finished.")
        return running.result()

    def _fluency(self, text: str, prompt: str, reply: str) -> float:
        scored = score_text(text, prompt, self.model, reply=reply)
        return scored.mean_logprob() if scored.probs else -100.0


def _kept_end(raw: str, cleaned: str) -> bool:
    """Whether ``cleaned`` still ends where ``raw`` did (within its last two words)."""
    raw_words, kept = re.findall(r"[\w']+", raw.lower()), re.findall(r"[\w']+", cleaned.lower())
    return bool(kept) and kept[-1] in raw_words[-2:]


__all__ = ["DEFAULT_BANNED", "MAX_SECTIONS", "STEPS", "Context", "StepSpec", "Writer", "check_settings", "Part", "Post",
           "PostEvent", "derive_seed", "read_post", "rewrite_post", "write_post"]
