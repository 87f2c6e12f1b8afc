import pytest

from blogneo.display import HTML, probability_html, side_by_side
from blogneo.text import ngram_repeats


@pytest.mark.parametrize("text,n,expected", [
    ("", 4, 0),
    ("one two three", 4, 0),
    ("one two three four", 4, 1),
    ("A tale of love. A TALE of love! a tale, of love", 4, 3),  # case and punctuation ignored
    ("I can't stop. I can't stop. I can't stop.", 3, 3),  # an apostrophe keeps a word whole
    ("the cat sat on the mat", 1, 2),
])
def test_ngram_repeats_counts_the_most_repeated_run_of_words(text, n, expected):
    assert ngram_repeats(text, n) == expected


def test_ngram_repeats_needs_a_positive_n():
    with pytest.raises(ValueError, match="n=0"):
        ngram_repeats("a b c", 0)


def test_side_by_side_escapes_text_and_keeps_a_plain_text_twin():
    out = side_by_side({"<b>precise</b>": "1 < 2\nand more", "creative": "B"})
    assert isinstance(out, HTML)
    assert "&lt;b&gt;precise&lt;/b&gt;" in out._repr_html_() and "1 &lt; 2<br>and more" in out._repr_html_()
    assert out._repr_html_().count("<td") == 2
    assert repr(out) == "[<b>precise</b>]\n1 < 2\nand more\n\n[creative]\nB"


def test_probability_html_colours_red_to_green_and_escapes():
    markup = probability_html(["<x>", " sure"], [0.0, 1.0])
    assert "hsl(0," in markup and "hsl(120," in markup
    assert "&lt;x&gt;" in markup and 'title="100.0%"' in markup
    with pytest.raises(ValueError):
        probability_html(["a"], [0.5, 0.5])
