"""The course's "Try it" exercises: each check cell must tell a reader who has not answered yet
"Not yet", and one who has "✓".

nbval skips the check cells (they must never stop a notebook over a reader's answer), so they are
run here instead: the cell's own source, taken from the notebook, executed once after the
exercise's empty stub and once after a worked answer written below. The answers use the models
the notebooks use where the exercise is about text (the embedded model), and the tiny GPT-Neo
where only the mechanics matter.
"""

import contextlib
import io
import time
from pathlib import Path

import nbformat
import pytest

import blogneo

ROOT = Path(__file__).resolve().parents[1]
# 07 is a project of the reader's own
LESSONS = [p for p in sorted((ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb")) if not p.name.startswith("07")]


def _exercises(name):
    """[(stub source or None, check source)] for each check cell of notebook ``name``, in order."""
    cells = nbformat.read(ROOT / "notebooks" / name, as_version=4).cells
    found = []
    for i, cell in enumerate(cells):
        if "check" in cell.metadata.get("tags", []) and "nbval-skip" in cell.metadata.get("tags", []):
            before = cells[i - 1]
            found.append((before.source if before.cell_type == "code" else None, cell.source))
    return found


def _run(source, namespace):
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(source, "<cell>", "exec"), namespace)  # noqa: S102 - the notebook's own cell
    return out.getvalue()


def _check(name, namespace, answers):
    exercises = _exercises(name)
    assert len(exercises) == len(answers)
    for (stub, check), answer in zip(exercises, answers, strict=True):
        if stub is not None:
            _run(stub, namespace)
        assert _run(check, namespace).startswith("Not yet"), check
        _run(answer, namespace)
        said = _run(check, namespace)
        assert said.startswith("✓"), (answer, said)


@pytest.mark.parametrize("path", LESSONS, ids=lambda p: p.name)
def test_each_lesson_ends_with_a_recap_exercises_with_hidden_checks_and_questions(path):
    cells = nbformat.read(path, as_version=4).cells
    heads = [c.source.splitlines()[0] for c in cells if c.cell_type == "markdown" and c.source]
    assert "## Recap" in heads and "## Try it" in heads and any(c.source.startswith("## Questions") or
                                                                "\n## Questions" in c.source for c in cells)
    recap = next(c.source for c in cells if c.source.startswith("## Recap"))
    assert 3 <= recap.count("\n- ") <= 5
    checks = [c for c in cells if "check" in c.metadata.get("tags", []) and "nbval-skip" in c.metadata.get("tags", [])]
    assert 3 <= len(checks) <= 5
    assert all(c.metadata.get("jupyter", {}).get("source_hidden") for c in checks)  # the answer is not on show
    questions = next(c.source for c in cells if "## Questions" in c.source)
    assert len([line for line in questions.splitlines() if line[:1].isdigit()]) >= 5


def test_the_exercises_of_01(embedded):
    ns = {"blogneo": blogneo, "model": embedded}
    _check("01_setup.ipynb", ns, [
        "[first] = blogneo.generate('Learning to bake bread at home is', model=model, max_length=50, do_sample=True,"
        " temperature=0.9, seed=5)\n[second] = blogneo.generate('Learning to bake bread at home is', model=model,"
        " max_length=50, do_sample=True, temperature=0.9, seed=5)",
        "[hundred] = blogneo.generate('Write a paragraph of about 100 words about baking bread.', model=model, seed=1,"
        " max_new_tokens=140)",
        "[fragment] = blogneo.generate('Learning to bake bread at home is', model=model, seed=1, max_new_tokens=6,"
        " trim_to_sentence=False)",
    ])


def test_the_exercises_of_02(embedded):
    ns = {"blogneo": blogneo, "model": embedded}
    _check("02_loading_checkpoints.ipynb", ns, [
        "fits_6gib = ['gpt-neo-125m', 'gpt-neo-1.3b']",
        "long_word = 'antidisestablishmentarianism'",
        "local_layers = 12",
    ])


@pytest.mark.slow
def test_the_exercises_of_03(embedded):
    from blogneo import blog_prompt, next_token_lens, score_text

    request = blog_prompt("My morning walk", chat=True)
    plain = blogneo.SamplingParams(temperature=1.0, top_k=0, top_p=1.0, repetition_penalty=1.0)
    ns = {"blogneo": blogneo, "model": embedded, "request": request, "plain": plain,
          "start": "This morning I walked to the", "score_text": score_text, "next_token_lens": next_token_lens}
    p20 = next(p / 100 for p in range(1, 101)
               if next_token_lens(request, plain.replace(top_p=p / 100), embedded, reply=ns["start"])
               .step("top_p").kept() >= 20)
    _check("03_sampling_parameters.ipynb", ns, [
        "beach = 'Write a list of things to pack for a beach day.'\n"
        "greedy = plain.replace(temperature=0, max_new_tokens=100, trim_to_sentence=False)\n"
        "[loop] = blogneo.generate(beach, greedy, model)\n"
        "[fix_a] = blogneo.generate(beach, greedy.replace(repetition_penalty=1.3), model)\n"
        "[fix_b] = blogneo.generate(beach, greedy.replace(no_repeat_ngram_size=3), model)",
        "noise_temperature = 2.0\n[noisy] = blogneo.generate(request, plain.replace(temperature=noise_temperature,"
        " max_new_tokens=60, trim_to_sentence=False, seed=1), model)",
        f"p20 = {p20}",
    ])


def test_the_exercises_of_04(tiny, tmp_path):
    mine = blogneo.studio(tiny, history_path=tmp_path / "history.json", posts_dir=tmp_path / "posts")

    original = tiny.model.forward

    def until_done():
        assert mine.wait(120), mine.message.value

    def slow_down():  # about 20 ms a step, so that Stop lands mid-run as a reader's click would
        tiny.model.forward = lambda *args, **kwargs: (time.sleep(0.02), original(*args, **kwargs))[1]

    def speed_up():
        del tiny.model.forward

    ns = {"blogneo": blogneo, "mine": mine, "until_done": until_done, "slow_down": slow_down, "speed_up": speed_up,
          "opened": time.strftime("%Y-%m-%d %H:%M:%S")}  # as the notebook's cell that makes `mine`
    _check("04_widget_ui.ipynb", ns, [
        "mine.prompt.value = 'Baking bread'\nmine.preset.value = 'creative'\nmine.seed.value = 7\n"
        "mine.num_candidates.value = 2\nmine.generate.click()\nuntil_done()\n"
        "mine.history_list.value = len(mine.history.entries) - 1\nmine.restore.click()\nmine.generate.click()\n"
        "until_done()",
        "slow_down()\nmine.num_candidates.value, mine.max_new_tokens.value = 1, 200\nmine.generate.click()\n"
        "while mine.running and len(mine.view.panels[0].text.value) < 40:\n    mine.wait(0.02)\n"
        "mine.stop.click()\nuntil_done()\nspeed_up()\nmine.view.panels[0].export.click()",
        "mine.mode.value = 'Whole post'\nmine.sections.value = 2\nmine.generate.click()\nuntil_done()\n"
        "mine.view.save.click()",
    ])


@pytest.mark.slow
def test_the_exercises_of_05(tiny):
    params = blogneo.SamplingParams(seed=11, num_candidates=2)
    post = blogneo.write_post("Baking bread", tiny, sections=2, params=params, words=30)
    phrase = " ".join(post.introduction.text.split()[2:4])
    ns = {"blogneo": blogneo, "model": tiny, "post": post, "params": params}
    _check("05_writing_a_full_post.ipynb", ns, [
        "my_post = blogneo.write_post('Baking bread', model, sections=2, words=30, post_type='how-to',"
        " tone='calm and dry')",
        f"phrase = {phrase!r}\nwithout = blogneo.write_post('Baking bread', model, sections=2, params=params,"
        " words=30, banned=[phrase])",
        "scores = [max(c.score for c in s.candidates if c.text == s.text) for s in post.sections]\n"
        "weakest = scores.index(min(scores))",
    ])


def test_the_exercises_of_06(tiny_folder):
    from blogneo import perplexity

    exact = blogneo.load(tiny_folder, device="cpu", dtype="fp32")
    fast = blogneo.load(tiny_folder, device="cpu")
    ns = {"blogneo": blogneo, "exact": exact, "fast": fast, "perplexity": perplexity}
    _check("06_speed.ipynb", ns, [
        "t4_tokens_per_s = 320e9 / (blogneo.checkpoint('gpt-neo-2.7b').parameters * 2)",
        "my_text = ' '.join(['Baking bread takes patience, flour, water and salt.'] * 8)",
        "throughput_gain = 2.4",
    ])


def test_the_exercises_of_08(tiny_folder, tmp_path):
    demo = tmp_path
    calendar = demo / "calendar.csv"
    calendar.write_text("topic,post_type,tone,sections,words\n"
                        "How to store fresh herbs,how-to,friendly,1,30\n"
                        "Why I read on paper,opinion,warm and honest,1,30\n"
                        ",opinion,friendly,1,30\n")
    model = blogneo.load(tiny_folder)
    blogneo.write_calendar(calendar, demo / "posts", model, progress=False)
    rows, _ = blogneo.read_calendar(calendar)
    ns = {"blogneo": blogneo, "calendar": calendar, "demo": demo, "rows": rows, "model": model, "tmp": tmp_path}
    _check("08_content_calendar.ipynb", ns, [
        "my_calendar = tmp / 'mine.csv'\n"
        "_ = my_calendar.write_text('topic,sections\\nBaking bread,1\\nA walk in the rain,2\\nWhy I garden,0\\n')\n"
        "my_rows, my_failures = blogneo.read_calendar(my_calendar)",
        "next((demo / 'posts').glob('why-i-read*.md')).unlink()\n"
        "resumed = blogneo.write_calendar(calendar, demo / 'posts', model, progress=False)",
        "import json\nmy_jsonl = tmp / 'calendar.jsonl'\n"
        "_ = my_jsonl.write_text(''.join(json.dumps({'topic': r.topic, 'post_type': r.post_type, 'tone': r.tone,"
        " 'sections': 1, 'words': 30}) + '\\n' for r in rows))\n"
        "jsonl_rows, _ = blogneo.read_calendar(my_jsonl)",
    ])


def test_the_exercises_of_09(tiny, tmp_path):
    prompt = blogneo.blog_prompt("Clearing out the loft", tiny.chat)
    [plain] = blogneo.generate(prompt, model=tiny, seed=4, max_new_tokens=160)
    ns = {"blogneo": blogneo, "model": tiny, "prompt": prompt, "plain": plain, "MY_POSTS": blogneo.sample_blog(),
          "tmp": tmp_path}
    _check("09_your_voice.ipynb", ns, [
        "my_texts = ['Right then. The bins go out on a Tuesday, always.', 'Right then. Tea first, then the loft.']\n"
        "[mine] = blogneo.generate(prompt, model=model, seed=4, max_new_tokens=80, examples=my_texts)",
        "one = tmp / 'one-post'\none.mkdir()\n_ = (one / 'only.md').write_text('Just the one post.')\n"
        "try:\n    blogneo.finetune(one, model, out=tmp / 'voice')\n"
        "except blogneo.BlogneoError as error:\n    refusal = str(error)",
        "try:\n    blogneo.finetune(MY_POSTS, 'gpt-neo-1.3b', out=tmp / 'big', available_memory_bytes=2 * 2**30)\n"
        "except blogneo.NotEnoughMemoryError as error:\n    too_big = str(error)",
    ])
