"""Rich output for notebooks: HTML that Jupyter, Colab and GitHub render, with a plain-text twin.

Objects here only define ``_repr_html_`` and ``__repr__``, so blogneo needs no IPython import
and the same objects print sensibly in a terminal.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence


class HTML:
    """A piece of HTML for notebooks; ``repr`` gives its plain-text version."""

    def __init__(self, markup: str, text: str):
        self.markup = markup
        self.text = text

    def _repr_html_(self) -> str:
        return self.markup

    def __repr__(self) -> str:
        return self.text


def _escape(text: str) -> str:
    return html.escape(text).replace("\n", "<br>")


def prose_html(text: str) -> str:
    """Plain text as HTML that keeps its line breaks and paragraphs."""
    return f'<div style="white-space:pre-wrap;line-height:1.5">{html.escape(text)}</div>'


def side_by_side(columns: Mapping[str, str]) -> HTML:
    """Texts in columns under their names, e.g. one column per preset or candidate.

    Example:
        >>> side_by_side({"precise": "A.", "creative": "B!"}).text
        '[precise]\\nA.\\n\\n[creative]\\nB!'
    """
    head = "".join(f'<th style="text-align:left">{html.escape(name)}</th>' for name in columns)
    body = "".join(f'<td style="vertical-align:top;text-align:left;width:{100 // max(len(columns), 1)}%">'
                   f"{_escape(text)}</td>" for text in columns.values())
    markup = f'<table style="table-layout:fixed;width:100%"><tr>{head}</tr><tr>{body}</tr></table>'
    return HTML(markup, "\n\n".join(f"[{name}]\n{text}" for name, text in columns.items()))


def probability_html(tokens: Sequence[str], probs: Sequence[float]) -> str:
    """Tokens on a background from red (the model found it unlikely) to green (it expected it).

    Hovering a token shows its probability.
    """
    spans = []
    for token, p in zip(tokens, probs, strict=True):
        hue = round(120 * p)  # 0 is red, 120 is green
        spans.append(f'<span style="background:hsl({hue},80%,80%);color:#000" title="{p:.1%}">'
                     f"{_escape(token)}</span>")
    legend = ('<div style="font-size:smaller;margin-top:0.5em">'
              '<span style="background:hsl(0,80%,80%);color:#000">&nbsp;unlikely&nbsp;</span> '
              '<span style="background:hsl(60,80%,80%);color:#000">&nbsp;50%&nbsp;</span> '
              '<span style="background:hsl(120,80%,80%);color:#000">&nbsp;expected&nbsp;</span>'
              " &middot; hover a token for its probability</div>")
    return f'<div style="line-height:1.9;white-space:normal">{"".join(spans)}{legend}</div>'


def text_table(rows: Sequence[Sequence[str]]) -> str:
    """Rows of cells as aligned plain text, the first row a header underlined with dashes.

    Example:
        >>> print(text_table([["name", "size"], ["tiny", "1M"]]))
        name  size
        ----  ----
        tiny  1M
    """
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip() for row in rows]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
