"""Markdown files with YAML front matter, the format static site generators read, and where
Jekyll and Hugo look for a post and which front matter they read first."""

from __future__ import annotations

import datetime
from dataclasses import dataclass

import yaml

from .errors import ParameterError


@dataclass(frozen=True)
class Site:
    """Where a static site generator reads posts (inside the site's folder), and the front matter it needs."""

    folder: str
    dated: bool  # the file name starts with the post's date: Jekyll reads the date and the slug from it
    layout: str = ""  # the theme's layout for a post, named before the title (Jekyll's "layout: post")
    drafts: bool = False  # the front matter says whether the post is a draft (Hugo builds one only with -D)


#: The layouts ``Post.save(site=...)`` writes. In both the file name is the slug, so no ``slug`` field
#: overrides it: a second copy (``-2.md``) gets a URL of its own instead of sharing the first one's.
SITES = {
    "jekyll": Site("_posts", dated=True, layout="post"),
    "hugo": Site("content/posts", dated=False, drafts=True),
}


def front_matter(title: str, model, params, seed: int, **fields) -> dict:
    """The front matter of every file blogneo writes: title, date, ``fields``, then where it came from.

    ``fields`` (a post's description, tags and topic; a candidate's prompt) follow the date; then
    the model, its revision, the seed, how many candidates each step chose from, and every other
    sampling parameter. One function, so a post and an exported candidate carry the same provenance,
    and ``SamplingParams(**meta["params"], seed=meta["seed"], num_candidates=meta["candidates"])``
    gives the params back.

    Example:
        >>> meta = front_matter("Bikes", model, SamplingParams(seed=3), 3, topic="bikes")
        >>> list(meta)[:4], meta["seed"], "seed" in meta["params"]
        (['title', 'date', 'topic', 'model'], 3, False)
    """
    meta = {"title": title, "date": datetime.date.today(), **fields}
    meta.update(model=model.name, revision=model.revision, seed=seed, candidates=params.num_candidates,
                params={k: v for k, v in params.to_dict().items() if k not in ("seed", "num_candidates")})
    return meta


def for_site(meta: dict, site: str | None, draft: bool | None = None) -> tuple[str, str, dict]:
    """(folder inside the site, file name prefix, front matter) of a post with ``meta`` on ``site``.

    ``site`` is None (the plain file: no folder, no prefix, ``meta`` as it is), "jekyll"
    (``_posts/``, the file named ``YYYY-MM-DD-<slug>.md`` from ``meta["date"]``, ``layout: post``
    first) or "hugo" (``content/posts/``, ``draft`` after the date: True unless ``draft=False``).
    Both sites name the post by its file, so their front matter has no ``slug``. Each refusal
    comes before anything is written.

    Example:
        >>> folder, prefix, meta = for_site({"title": "Bikes", "date": datetime.date(2026, 5, 1), "slug": "bikes"},
        ...                                 "jekyll")
        >>> folder, prefix, meta
        ('_posts', '2026-05-01-', {'layout': 'post', 'title': 'Bikes', 'date': datetime.date(2026, 5, 1)})
        >>> for_site({"title": "Bikes"}, "wordpress")
        Traceback (most recent call last):
        ...
        blogneo.errors.ParameterError: site='wordpress' is not a layout blogneo writes: use one of jekyll, hugo, ...
    """
    if site is None:
        if draft is not None:
            raise ParameterError("draft", f"draft={draft!r} is for site='hugo', whose front matter says whether a post "
                                          "is a draft; a plain file has no such field. Leave draft out.")
        return "", "", meta
    if site not in SITES:
        raise ParameterError("site", f"site={site!r} is not a layout blogneo writes: use one of {', '.join(SITES)}, "
                                     "or leave it out for a plain Markdown file.")
    where = SITES[site]
    if draft is not None and not where.drafts:
        raise ParameterError("draft", f"draft={draft!r} is for site='hugo'; {site} publishes every post in "
                                      f"{where.folder}/. Leave draft out, or save the post elsewhere until it is done.")
    if draft is not None and not isinstance(draft, bool):
        raise ParameterError("draft", f"draft={draft!r} must be True or False.")
    fields = {"layout": where.layout} if where.layout else {}
    for key, value in meta.items():
        if key != "slug":
            fields[key] = value
        if key == "date" and where.drafts:  # beside the date, where a writer looks before publishing
            fields["draft"] = True if draft is None else draft
    prefix = f"{meta['date']:%Y-%m-%d}-" if where.dated else ""
    return where.folder, prefix, fields


def document(meta: dict, body: str) -> str:
    """``body`` under a YAML front matter block holding ``meta``.

    PyYAML does the quoting, so a title with a colon, quotes or ``---`` reads back unchanged.

    Example:
        >>> print(document({"title": "Bikes: a love story"}, "It began in May."))
        ---
        title: 'Bikes: a love story'
        ---
        <BLANKLINE>
        It began in May.
        <BLANKLINE>
    """
    header = yaml.safe_dump(meta, sort_keys=False, allow_unicode=True, default_flow_style=False, width=1_000_000)
    return f"---\n{header}---\n\n{body.strip()}\n"


def read(text: str) -> tuple[dict, str]:
    """(meta, body) of a document written by ``document``."""
    if not text.startswith("---\n"):
        return {}, text
    header, _, body = text[4:].partition("\n---\n")
    return yaml.safe_load(header) or {}, body.lstrip("\n")
