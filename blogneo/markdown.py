"""Markdown files with YAML front matter, the format static site generators read."""

from __future__ import annotations

import datetime

import yaml


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
