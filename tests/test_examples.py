"""Writing by example (examples= on generate, stream and write_post): what the model reads, and the recipe."""

import pytest

import blogneo
from blogneo import BlogneoError, ParameterError
from blogneo.examples import EXAMPLE_REQUEST, Examples, archive, example_budget, read_posts
from blogneo.markdown import read

POSTS = {
    "kettle.md": "---\ntitle: My kettle\ndate: 2025-01-01\n---\n\nThe kettle on Alder Street sings at seven.\n\n"
                 "## Mornings\n\nI make the tea grey and strong.\n\nThat's me for now. Mind how you go.\n",
    "bread.md": "# Bread at last\n\nThe dough rose on the windowsill by the harbour.\n\nMind how you go.\n",
    "walk.txt": "A long walk up Priory Hill in the rain, and a biscuit at the top.\n",
}


@pytest.fixture
def blog(tmp_path):
    folder = tmp_path / "blog"
    folder.mkdir()
    for name, text in POSTS.items():
        (folder / name).write_text(text, encoding="utf-8")
    return folder


def test_posts_are_read_without_front_matter_their_titles_kept(blog):
    docs = {d.name: d for d in read_posts(blog)}
    assert set(docs) == set(POSTS)
    assert docs["kettle.md"].title == "My kettle" and not docs["kettle.md"].text.startswith("---")
    assert "## Mornings" in docs["kettle.md"].text  # headings stay: a model learns the page
    assert docs["kettle.md"].page.startswith("# My kettle\n\n")
    assert docs["bread.md"].title == "Bread at last" and docs["bread.md"].page == docs["bread.md"].text


def test_excerpts_fit_the_budget_the_topic_s_posts_first_and_the_same_every_time(blog, tiny):
    examples = Examples.of(blog)
    chosen = examples.choose(tiny.tokenizer, "Baking bread by the harbour", 400)
    assert chosen[0].name == "bread.md"  # shares "bread" and "harbour" with the topic
    assert sum(e.tokens for e in chosen) <= 400
    assert examples.choose(tiny.tokenizer, "Baking bread by the harbour", 400) == chosen
    small = examples.choose(tiny.tokenizer, "Baking bread", 20)
    assert len(small) == 1 and small[0].tokens <= 20  # at least one, cut to fit
    assert example_budget(256) == 96 and example_budget(2048) == 768 and example_budget(8192) == 900


def test_a_base_model_s_archive_puts_the_most_relevant_post_last_each_under_one_title(blog, tiny):
    excerpts = Examples.of(blog).choose(tiny.tokenizer, "Baking bread by the harbour", 400)
    page = archive(excerpts)
    assert page.rstrip().endswith("Mind how you go.\n\n---") and page.count("# Bread at last") == 1
    assert page.index("# My kettle") < page.index("# Bread at last")  # bread.md, the most relevant, nearest


def test_the_examples_never_push_the_prompt_out_of_a_short_context(blog, tiny, monkeypatch, recwarn):
    import blogneo.generation as generation

    pages = []
    real = generation.encode
    monkeypatch.setattr(generation, "encode", lambda model, prompt, *a, **k: pages.append(prompt) or real(
        model, prompt, *a, **k))
    blogneo.generate("The old lighthouse", model=tiny, seed=3, max_new_tokens=160, examples=blog)  # 256 in all
    assert pages[-1].endswith("The old lighthouse") and not [w for w in recwarn if "Keeping the newest" in str(w)]
    assert "\n---\n" in pages[-1]  # not dropped altogether: the one excerpt left was cut to the room there is
    assert len(blogneo.prompts.text_ids(tiny.tokenizer, pages[-1])) + 160 <= tiny.context_length


def test_examples_change_a_base_model_s_prompt_and_its_text_from_the_same_seed(blog, tiny, monkeypatch):
    import blogneo.generation as generation

    pages = []
    real = generation.encode

    def recording(model, prompt, *args, **kwargs):
        pages.append(prompt)
        return real(model, prompt, *args, **kwargs)

    monkeypatch.setattr(generation, "encode", recording)
    settings = dict(model=tiny, seed=3, max_new_tokens=30, trim_to_sentence=False)
    [plain] = blogneo.generate("The old lighthouse", **settings)
    [voiced] = blogneo.generate("The old lighthouse", examples=blog, **settings)
    assert pages[0] == "The old lighthouse"
    excerpts = Examples.of(blog).choose(tiny.tokenizer, "The old lighthouse", example_budget(tiny.context_length))
    assert pages[-1] == archive(excerpts) + "The old lighthouse"  # earlier posts of the blog, then the prompt
    assert voiced.text != plain.text and voiced.prompt == "The old lighthouse"


def test_a_chat_model_reads_the_examples_as_its_own_earlier_answers(blog, embedded):
    from blogneo.examples import turns
    from blogneo.prompts import encode

    excerpts = Examples.of(blog).choose(embedded.tokenizer, "Tea", 900)
    ids = encode(embedded, "Write about tea.", 50, turns=turns(excerpts))[0].tolist()
    text = embedded.tokenizer.decode(ids)
    first = EXAMPLE_REQUEST.format(title=excerpts[0].title)
    assert text.index(first) < text.index(excerpts[0].text) < text.index("Write about tea.")  # the most relevant last
    assert text.count("<|im_start|>assistant") == len(excerpts) + 1  # one answer each, and the one to write


@pytest.mark.slow
def test_a_post_written_by_example_names_its_examples_and_is_written_again(blog, tiny, tmp_path):
    post = blogneo.write_post("Baking bread", tiny, sections=1, params=blogneo.SamplingParams(seed=5), words=30,
                              examples=blog)
    plain = blogneo.write_post("Baking bread", tiny, sections=1, params=blogneo.SamplingParams(seed=5), words=30)
    assert post.introduction.text != plain.introduction.text  # the prose read the examples
    assert post.title.text == plain.title.text  # the short steps did not
    meta, _ = read(post.to_markdown())
    assert meta["examples"]["from"] == str(blog.resolve())
    assert [p["name"] for p in meta["examples"]["posts"]] == [e.name for e in post.excerpts]
    path = post.save(tmp_path / "posts", download=False)
    assert blogneo.rewrite_post(path, tiny).to_markdown() == post.to_markdown()
    (blog / post.excerpts[0].name).write_text("Changed.", encoding="utf-8")
    with pytest.raises(BlogneoError, match="has changed"):
        blogneo.rewrite_post(path, tiny)


@pytest.mark.slow
def test_a_post_written_with_an_adapter_is_written_again(tiny_folder, tmp_path):
    texts = [f"The kettle sang on Alder Street, number {i}. Mind how you go." * 4 for i in range(6)]
    result = blogneo.finetune(texts, tiny_folder, out=tmp_path / "voice", max_steps=8, block_size=32,
                              progress=False)
    model = blogneo.load(result.folder)
    post = blogneo.write_post("Baking bread", model, sections=1, params=blogneo.SamplingParams(seed=5), words=30)
    meta, _ = read(post.to_markdown())
    assert meta["model"] == str(result.folder) and meta["revision"].startswith("lora sha256:")
    path = post.save(tmp_path / "posts", download=False)
    assert blogneo.rewrite_post(path).to_markdown() == post.to_markdown()  # the model named in the front matter


def test_bad_examples_are_refused_before_any_model_loads(tmp_path, monkeypatch):
    monkeypatch.setattr(blogneo.loading, "_read", lambda *a: pytest.fail("a model loaded"))
    with pytest.raises(BlogneoError, match="does not exist"):
        blogneo.generate("Hello", model="gpt-neo-1.3b", examples=tmp_path / "missing")
    with pytest.raises(BlogneoError, match="is empty"):
        blogneo.write_post("Tea", "gpt-neo-1.3b", examples=tmp_path)
    with pytest.raises(ParameterError, match="list of texts"):
        blogneo.generate("Hello", model="gpt-neo-1.3b", examples=42)
