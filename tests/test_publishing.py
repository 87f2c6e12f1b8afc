"""Publishing a post: the plain file, Jekyll's and Hugo's layouts, whole-word slugs, a download on
Colab, and the studio's one clear error when ipywidgets is missing."""

import copy
import dataclasses
import datetime
import re
import sys
import types
from pathlib import Path

import pytest
import yaml

import blogneo
from blogneo import ParameterError
from blogneo.files import offer_download, slugify
from blogneo.markdown import read
from blogneo.post import rewrite_post, write_post

AWKWARD = 'Bread: "why" --- and #how, it\'s [not] {hard}: yes'


@pytest.fixture(scope="module")
def post(tiny):
    return write_post("Baking bread", tiny, sections=1, params=blogneo.SamplingParams(seed=5))


def _retitled(post, title):
    """A copy of ``post`` with another title; the module's shared post stays as written."""
    post = copy.copy(post)
    post.title = dataclasses.replace(post.title, text=title)
    return post


def _front_matter(path):
    """The front matter as any YAML reader sees it, and the line order it was written in."""
    text = path.read_text(encoding="utf-8")
    assert text.startswith("---\n")
    header = text[4:].split("\n---\n", 1)[0]
    keys = [line.split(":", 1)[0] for line in header.splitlines() if line[:1].isalpha()]
    return yaml.safe_load(header), keys


# --- slugs ---------------------------------------------------------------------------------------

@pytest.mark.parametrize("title,slug", [
    ("How to bake sourdough bread at home without a starter and take it to work every day",
     "how-to-bake-sourdough-bread-at-home-without-a-starter-and"),
    ("The story of the lighthouse keeper who wrote letters to an unwritten past",
     "the-story-of-the-lighthouse-keeper-who-wrote-letters-to-an"),
    ("a" * 57 + " bc", "a" * 57 + "-bc"),  # 60 characters fit whole
    ("a" * 58 + " bc", "a" * 58),  # 61 do not: the last word goes
    ("a" * 60 + " bc", "a" * 60),  # a hyphen right after the limit still ends a whole word
    ("short " + "x" * 90, "short"),
    ("x" * 90 + " short", "x" * 60),  # one word longer than the limit: nothing but cutting it
])
def test_a_slug_ends_on_a_whole_word(title, slug):
    assert slugify(title) == slug and len(slug) <= 60


def test_a_long_title_gives_a_whole_word_slug_and_file_name(post, tmp_path):
    long = _retitled(post, "Why I bike to work: the seven reasons I would never take it to work by car")
    assert long.slug == "why-i-bike-to-work-the-seven-reasons-i-would-never-take-it"
    assert long.save(tmp_path).name == f"{long.slug}.md"


# --- layouts -------------------------------------------------------------------------------------

def test_the_plain_file_is_the_default_and_unchanged(post, tmp_path):
    path = post.save(tmp_path)
    assert path == (tmp_path / f"{post.slug}.md").resolve()
    assert path.read_text() == post.to_markdown()


def test_jekyll_gets_a_dated_file_in_posts_with_its_front_matter(post, tmp_path):
    titled = _retitled(post, AWKWARD)
    path = titled.save(tmp_path, site="jekyll")
    today = datetime.date.today()
    assert path == (tmp_path / "_posts" / f"{today:%Y-%m-%d}-{titled.slug}.md").resolve()
    meta, keys = _front_matter(path)
    assert keys[:5] == ["layout", "title", "date", "description", "tags"]
    assert meta["layout"] == "post" and meta["title"] == AWKWARD and meta["date"] == today
    assert meta["description"] == post.description.text and meta["tags"] == post.tag_list
    assert "slug" not in meta and "draft" not in meta  # Jekyll takes the slug from the file name
    assert read(path.read_text())[1] == read(post.to_markdown())[1]  # the same body


def test_hugo_gets_a_draft_in_content_posts_until_the_writer_says_otherwise(post, tmp_path):
    titled = _retitled(post, AWKWARD)
    path = titled.save(tmp_path, site="hugo")
    assert path == (tmp_path / "content" / "posts" / f"{titled.slug}.md").resolve()
    meta, keys = _front_matter(path)
    assert keys[:5] == ["title", "date", "draft", "description", "tags"]
    assert meta["draft"] is True and meta["title"] == AWKWARD and meta["date"] == datetime.date.today()
    assert meta["tags"] == post.tag_list and "slug" not in meta and "layout" not in meta
    published = titled.save(tmp_path, site="hugo", draft=False)
    assert _front_matter(published)[0]["draft"] is False


@pytest.mark.parametrize("site,where", [(None, ""), ("jekyll", "_posts"), ("hugo", "content/posts")])
def test_no_layout_overwrites_a_file_the_writer_has(post, tmp_path, site, where):
    first = post.save(tmp_path, site=site)
    first.write_text("my own edits")
    second = post.save(tmp_path, site=site)
    assert first.read_text() == "my own edits"
    assert second.parent == (tmp_path / where).resolve() and second.name == first.name.replace(".md", "-2.md")


@pytest.mark.parametrize("kwargs,field", [
    ({"site": "wordpress"}, "site"), ({"site": "Jekyll"}, "site"), ({"site": "hugo", "draft": "no"}, "draft"),
    ({"draft": False}, "draft"), ({"site": "jekyll", "draft": True}, "draft"),
])
def test_a_layout_blogneo_cannot_write_is_refused_before_anything_is_written(post, tmp_path, kwargs, field):
    with pytest.raises(ParameterError) as caught:
        post.save(tmp_path / "site", **kwargs)
    assert caught.value.field == field and isinstance(caught.value, ValueError)
    if field == "site":
        assert "jekyll, hugo" in str(caught.value)
    assert not (tmp_path / "site").exists()


@pytest.mark.parametrize("site", ["jekyll", "hugo"])
def test_a_post_saved_for_a_site_is_written_again_from_its_front_matter(post, tmp_path, site):
    again = rewrite_post(post.save(tmp_path, site=site), post.model)
    assert again.to_markdown() == post.to_markdown()


# --- Colab ---------------------------------------------------------------------------------------

@pytest.fixture
def colab(monkeypatch):
    """A stand-in for Colab's kernel: ``google.colab`` imported, its ``files.download`` recording paths."""
    downloads = []
    fake = types.ModuleType("google.colab")
    fake.files = types.SimpleNamespace(download=downloads.append)
    monkeypatch.setitem(sys.modules, "google.colab", fake)
    return downloads


def test_on_colab_a_saved_post_is_offered_as_a_download(post, tmp_path, colab):
    plain, jekyll = post.save(tmp_path), post.save(tmp_path, site="jekyll")
    assert colab == [str(plain), str(jekyll)]


def test_a_save_you_will_not_keep_is_not_offered(post, tmp_path, colab):
    path = post.save(tmp_path, download=False)
    assert colab == [] and path.read_text() == post.to_markdown()
    with pytest.raises(ParameterError, match="download='no'"):
        post.save(tmp_path / "never", download="no")
    assert not (tmp_path / "never").exists()  # refused before anything is written


def test_a_download_that_fails_is_a_warning_and_the_post_stays_saved(post, tmp_path, colab, monkeypatch):
    def broken(path):
        raise RuntimeError("no browser")

    monkeypatch.setattr(sys.modules["google.colab"].files, "download", broken)
    with pytest.warns(UserWarning, match="Files pane"):
        path = post.save(tmp_path)
    assert path.read_text() == post.to_markdown()


def test_elsewhere_nothing_is_downloaded_and_nothing_imported(post, tmp_path, monkeypatch):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    post.save(tmp_path)
    assert offer_download(tmp_path / "anything.md") is False
    assert "google.colab" not in sys.modules


def test_the_studio_offers_its_saves_and_exports_on_colab(tiny, tmp_path, colab):
    from blogneo.ui import studio

    s = studio(tiny, history_path=tmp_path / "history.json", posts_dir=tmp_path / "posts")
    s.prompt.value, s.max_new_tokens.value = "Baking bread", 16
    s.generate.click()
    assert s.wait(120), s.message.value
    s.view.panels[0].export.click()
    assert colab == [str(s.exported[0])] and "offered it as a download" in s.message.value
    assert s.download_history.layout.display != "none"  # Colab forgets the history too: it can be downloaded
    s.download_history.click()
    assert colab[-1] == str(s.history.path) and "Offered the history" in s.message.value


def test_the_studio_says_a_download_was_offered_only_when_it_was(tiny, tmp_path, colab, monkeypatch):
    from blogneo.ui import studio

    def broken(path):
        raise RuntimeError("no browser")

    s = studio(tiny, history_path=tmp_path / "history.json", posts_dir=tmp_path / "posts")
    s.download_history.click()
    assert "history is empty" in s.message.value  # nothing ran yet: no file to offer
    s.prompt.value, s.max_new_tokens.value = "Baking bread", 16
    s.generate.click()
    assert s.wait(120), s.message.value
    monkeypatch.setattr(sys.modules["google.colab"].files, "download", broken)
    with pytest.warns(UserWarning, match="Files pane"):
        s.view.panels[0].export.click()
    assert s.exported[0].is_file() and "Saved candidate 1" in s.message.value
    assert "offered" not in s.message.value


def test_elsewhere_the_studio_has_no_download_button(tiny, tmp_path, monkeypatch):
    from blogneo.ui import studio

    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    s = studio(tiny, history_path=tmp_path / "history.json", posts_dir=tmp_path / "posts")
    assert s.download_history.layout.display == "none"


# --- the studio without ipywidgets ---------------------------------------------------------------

def test_the_studio_without_ipywidgets_says_what_to_install_before_loading_anything(monkeypatch):
    import blogneo.loading

    def no_loading(*args, **kwargs):
        raise AssertionError("a model was loaded")

    monkeypatch.setattr(blogneo.loading, "load", no_loading)
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # `import ipywidgets` fails, as when it is not installed
    for module in ("blogneo.ui", "blogneo.ui_controls", "blogneo.ui_post", "blogneo.ui_candidates"):
        monkeypatch.delitem(sys.modules, module, raising=False)
    monkeypatch.delitem(vars(blogneo), "studio", raising=False)  # the lazy API caches what it imported
    with pytest.raises(blogneo.BlogneoError, match=r'pip install "ipywidgets>=7.7,<9"') as caught:
        blogneo.studio("gpt-neo-2.7b")
    assert "restart the kernel" in str(caught.value)


def test_no_message_advises_installing_blogneo_from_pypi():
    # blogneo is not on PyPI: `pip install "blogneo[...]"` fails for whoever follows it. Advice names what to install.
    root = Path(__file__).resolve().parents[1]
    texts = [*(root / "blogneo").glob("*.py"), *(root / "blogneo").glob("*.ipynb"), *(root / "docs").glob("*.md"),
             *root.glob("*.md"), *(root / "notebooks").glob("*.ipynb"), *(root / ".ci").glob("*.py")]
    advice = re.compile(r"""pip install -?[-\w ]*['"]?blogneo\b""")
    assert not [(p.name, m.group()) for p in texts for m in advice.finditer(p.read_text())]
