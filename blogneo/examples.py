"""The writer's own posts: read from a folder or a list, hashed, and cut into excerpts for a prompt.

Writing by example needs no training: excerpts of the writer's posts go into what the model reads.
A base model (GPT-Neo) continues a page that starts with them, as a blog's archive; a chat model
gets them as its own earlier answers, one turn each ("Write a post for my blog titled ...").
``blogneo.finetune`` reads its training posts with the same ``read_posts``.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

from .errors import BlogneoError, ParameterError
from .markdown import read as read_markdown

SUFFIXES = (".md", ".markdown", ".txt")
#: Most tokens of examples in one prompt: about three excerpts. A prompt's cost grows with its length (each
#: candidate reads it), and a model with a short context keeps room for what it writes: at most 3/8 of it.
EXAMPLE_TOKENS = 900
EXCERPT_TOKENS = 300  # of one post: its opening paragraphs (two thirds) and its closing ones (a third)
#: The chat model's request for each example, answered by the excerpt as if it had written it.
EXAMPLE_REQUEST = 'Write a post for my blog titled "{title}".'


def example_budget(context_length: int) -> int:
    """Tokens of examples for a model with this context: ``EXAMPLE_TOKENS``, within 3/8 of the context."""
    return min(EXAMPLE_TOKENS, context_length * 3 // 8)


@dataclass(frozen=True)
class Document:
    """One of the writer's posts: its name (the file, or "text 3"), title and text (without front matter)."""

    name: str
    title: str
    text: str

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.text.encode("utf-8")).hexdigest()

    @property
    def page(self) -> str:
        """The post as a page: its title as a heading (unless the text opens with one), then the text."""
        return self.text if self.text.startswith("# ") or not self.title else f"# {self.title}\n\n{self.text}"


def read_posts(data, least: int = 1, why: str = "") -> list[Document]:
    """The writer's posts from a folder of ``.md``/``.txt`` files (sub-folders included) or a list of texts.

    Front matter is dropped, its title kept as the post's; headings stay in the text. Every problem is
    an error that says what to do: a missing or empty folder, no posts in it, a file that is not UTF-8,
    fewer than ``least`` posts with text (``why`` says why so many), front matter that cannot be read.
    A folder holding an adapter (``blogneo.finetune``'s) is skipped: its files are no posts.
    """
    if isinstance(data, os.PathLike) or (isinstance(data, str) and "\n" not in data):
        folder = Path(data).expanduser()
        if not folder.is_dir():
            what = "is a file" if folder.is_file() else "does not exist"
            raise BlogneoError(f"{folder} {what}. Pass a folder of your posts (.md or .txt files), or a list of texts.")
        if not any(folder.iterdir()):
            raise BlogneoError(f"{folder} is empty. Put your posts in it as .md or .txt files, one post a file.")
        adapters = {p.parent for p in folder.rglob("adapter_config.json")}
        files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in SUFFIXES
                       and not any(part.startswith(".") for part in p.relative_to(folder).parts)
                       and not adapters & {*p.parents})
        if not files:
            raise BlogneoError(f"{folder} has no .md or .txt files. Put your posts in it, one post a file.")
        documents = []
        for path in files:
            try:
                raw = path.read_text(encoding="utf-8")
            except UnicodeDecodeError as error:
                raise BlogneoError(f"{path} is not UTF-8 text (byte {error.start}). Save it as UTF-8 in your editor, "
                                   "or move it out of the folder.") from None
            documents.append(_document(path.relative_to(folder).as_posix(), raw, path))
    elif isinstance(data, (list, tuple)) and all(isinstance(t, str) for t in data):
        documents = [_document(f"text {i + 1}", t) for i, t in enumerate(data)]
    elif isinstance(data, str):
        raise ParameterError("examples", "That is one text, not a folder: give texts as a list, [text], or the "
                                         "folder your posts are in.")
    else:
        raise ParameterError("examples", "Give a folder of your posts, or a list of texts (str); "
                                         f"got {type(data).__name__}.")
    documents = [d for d in documents if d.text.strip()]
    if len(documents) < least:
        raise BlogneoError(f"Found {len(documents)} post(s) with text; this needs at least {least}"
                           f"{': ' + why if why else ''}.")
    return documents


def _document(name: str, raw: str, path: Path | None = None) -> Document:
    raw = raw.replace("\r\n", "\n").lstrip("\ufeff")
    meta, body = {}, raw
    if raw.startswith("---\n"):
        if "\n---\n" not in raw[3:] and not raw.rstrip().endswith("\n---"):
            raise BlogneoError(f"{path or name}: its front matter opens with --- but never closes. Add the closing "
                               "--- line after it.")
        try:
            meta, body = read_markdown(raw)
        except Exception as error:  # yaml's errors, which name the line
            raise BlogneoError(f"{path or name}: its front matter is not valid YAML ({error}). Fix it, or remove "
                               "it.") from None
        if not isinstance(meta, dict):
            raise BlogneoError(f"{path or name}: its front matter is not a set of fields (title: ..., date: ...).")
    body = body.strip()
    title = str(meta.get("title") or "").strip()
    if not title:
        first = re.match(r"#\s+(.+)", body)
        named = Path(name).stem.replace("-", " ").replace("_", " ").strip() if path else ""  # a file's name
        title = first.group(1).strip() if first else named
    return Document(name, title, body)


@dataclass(frozen=True)
class Examples:
    """The posts a run writes by example, and where they came from (a folder's path, or "texts")."""

    source: str
    documents: tuple[Document, ...]

    @classmethod
    def of(cls, data) -> Examples | None:
        """``data`` (a folder, a list of texts, an Examples or None) as Examples; None stays None."""
        if data is None or isinstance(data, Examples):
            return data
        source = str(Path(data).expanduser().resolve()) if isinstance(data, (str, os.PathLike)) else "texts"
        return cls(source, tuple(read_posts(data)))

    def choose(self, tokenizer, topic: str, budget: int = EXAMPLE_TOKENS) -> list[Excerpt]:
        """Excerpts within ``budget`` tokens, the posts that share most words with ``topic`` first.

        Always at least one excerpt, cut to fit. The same posts, topic and budget give the same excerpts.
        """
        words = _words(topic)
        ranked = sorted(self.documents, key=lambda d: (-len(words & _words(d.title + " " + d.text)), d.name))
        chosen, left = [], budget
        for document in ranked:
            if left < min(64, budget):
                break
            excerpt = _excerpt(document, tokenizer, min(EXCERPT_TOKENS, left))
            chosen.append(excerpt)
            left -= excerpt.tokens
        return chosen

    def record(self, used: list[Excerpt]) -> dict:
        """What a post's front matter keeps: where the examples came from, and each used post's name and hash."""
        return {"from": self.source, "posts": [{"name": e.name, "sha256": e.sha256} for e in used]}

    def check(self, recorded: dict) -> None:
        """Refuse examples whose posts are not the ones ``recorded`` names (changed, renamed or missing)."""
        have = {d.name: d.sha256 for d in self.documents}
        for post in recorded.get("posts", []):
            if have.get(post["name"]) != post["sha256"]:
                what = "is missing" if post["name"] not in have else "has changed since"
                raise BlogneoError(f"The example {post['name']} {what} the post was written, so it cannot be written "
                                   f"again word for word. Restore it, or write a new post.")


@dataclass(frozen=True)
class Excerpt:
    name: str
    sha256: str
    title: str
    text: str
    tokens: int

    def cut(self, tokenizer, tokens: int) -> Excerpt:
        """This excerpt's first ``tokens`` tokens, ended at a word."""
        from .prompts import text_ids

        text = tokenizer.decode(text_ids(tokenizer, self.text)[:tokens]).rsplit(" ", 1)[0].rstrip()
        return Excerpt(self.name, self.sha256, self.title, text, len(text_ids(tokenizer, text)))


def _excerpt(document: Document, tokenizer, budget: int) -> Excerpt:
    """The post whole if it fits ``budget`` tokens; else its opening paragraphs and its closing ones."""
    from .prompts import text_ids

    def size(text: str) -> int:
        return len(text_ids(tokenizer, text))

    whole = size(document.text)
    if whole <= budget:
        return Excerpt(document.name, document.sha256, document.title, document.text, whole)
    paragraphs = [p for p in document.text.split("\n\n") if p.strip()]
    head, tail = [], []
    for p in paragraphs:
        if size("\n\n".join(head + [p])) > budget * 2 // 3:
            break
        head.append(p)
    for p in reversed(paragraphs[len(head):]):
        if size("\n\n".join(head + [p] + tail)) > budget:
            break
        tail.insert(0, p)
    whole_post = Excerpt(document.name, document.sha256, document.title, document.text, whole)
    if not head:  # one long paragraph: its first tokens, cut at a word
        return whole_post.cut(tokenizer, budget)
    text = "\n\n".join(head + tail)
    return Excerpt(document.name, document.sha256, document.title, text, size(text))


def archive(excerpts: list[Excerpt]) -> str:
    """A base model's page before the post it writes: the excerpts as earlier posts of the same blog, the most
    relevant last, nearest what it writes; each under its title, unless its text opens with it."""
    pages = [e.text if e.text.startswith("# ") or not e.title else f"# {e.title}\n\n{e.text}" for e in excerpts]
    return "".join(f"{page}\n\n---\n\n" for page in reversed(pages))


def turns(excerpts: list[Excerpt]) -> list[tuple[str, str]]:
    """A chat model's earlier turns: each excerpt the answer to a request for that post, the most relevant last."""
    return [(EXAMPLE_REQUEST.format(title=e.title or e.name), e.text) for e in reversed(excerpts)]


def _words(text: str) -> set[str]:
    return {w for w in re.findall(r"[a-z]{4,}", text.lower())}


__all__ = ["EXAMPLE_TOKENS", "Document", "example_budget", "Examples", "Excerpt", "archive", "read_posts", "turns"]
