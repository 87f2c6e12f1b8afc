"""Markdown files with YAML front matter, the format static site generators read."""

from __future__ import annotations

import yaml


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
