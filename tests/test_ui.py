"""The studio, driven headless through its real ipywidgets with `.value` and `.click()`.

These run on whichever ipywidgets is importable: 8.x from the venv, and 7.7 (what Colab ships)
through test_the_studio_works_on_ipywidgets_7, which reruns this file with 7.7 first on the path.
"""

import html
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import ipywidgets
import pytest

import blogneo
from blogneo import memory
from blogneo.generation import finishing_room
from blogneo.markdown import read
from blogneo.ui import studio

ROOT = Path(__file__).resolve().parents[1]
IPYWIDGETS7 = ROOT / ".venv" / "ipywidgets7"


@pytest.fixture
def make(tmp_path):
    def make(model, **kwargs):
        return studio(model, history_path=tmp_path / "history.json", posts_dir=tmp_path / "posts", **kwargs)

    return make


def _generate(s, **controls):
    """Set controls in order (a preset before the sliders it fills), click Generate, wait for the end."""
    for name, value in controls.items():
        getattr(s, name).value = value
    s.generate.click()
    assert s.wait(120), s.message.value


def _panel_texts(s):
    return [panel.text.value for panel in s.view.panels]


def _stats(s):
    return [panel.stats.value for panel in s.view.panels]


def test_generate_runs_off_the_main_thread_then_shows_the_result(make, tiny):
    s = make(tiny)
    assert not s.generate.disabled and s.stop.disabled
    s.prompt.value = "Baking bread"
    s.temperature.value = 0
    s.generate.click()
    assert s.running and s.generate.disabled and not s.stop.disabled  # click returned while the run goes on
    assert any(t.name == "blogneo-run" and t is not threading.main_thread() for t in threading.enumerate())
    assert s.wait(60)
    assert not s.generate.disabled and s.stop.disabled
    [c] = s.candidates
    assert c.text.startswith(" takes patience. Mix the flour") and c.finish_reason == "eos"
    assert html.escape(c.text) in _panel_texts(s)[0]
    assert "finished" in _stats(s)[0] and f"{c.new_tokens} tokens" in _stats(s)[0] and "tokens/s" in _stats(s)[0]
    assert not s.view.panels[0].export.disabled  # Export is ready


def test_text_streams_into_the_panel_before_the_run_ends_and_stop_keeps_it(make, embedded):
    s = make(embedded)
    s.prompt.value = "Write a long blog post about the history of bicycles."
    s.max_new_tokens.value = 400
    s.generate.click()
    deadline = time.monotonic() + 60
    while not _panel_texts(s)[0].count(" ") > 3 and time.monotonic() < deadline:
        s.wait(0.05)  # waiting on the main thread shows the streamed text meanwhile
    streamed = _panel_texts(s)[0]
    assert s.running, "text must arrive while the run is still going"
    assert len(streamed) > 40
    stop_clicked = time.monotonic()
    s.stop.click()
    assert s.stop.disabled  # one Stop is enough; a second click has nothing to do
    s.stop.click()
    assert s.wait(30)
    stopped_after = time.monotonic() - stop_clicked
    [c] = s.candidates
    assert c.finish_reason == "cancelled" and 0 < c.new_tokens < 400
    assert "stopped" in _stats(s)[0]
    assert c.text and html.escape(c.text[:30]) in _panel_texts(s)[0]  # the partial text is kept
    assert s.history.entries[-1].finish_reasons == ["cancelled"]
    print(f"stop to idle: {stopped_after:.2f} s")


def test_candidates_are_shown_side_by_side_each_with_its_numbers(make, random_model):
    s = make(random_model)
    _generate(s, prompt="The", temperature=1.0, num_candidates=3, max_new_tokens=24)
    assert len(s.view.panels) == 3 and len(s.candidates) == 3
    assert len({c.text for c in s.candidates}) > 1
    for stats, c in zip(_stats(s), s.candidates, strict=True):
        assert f"{c.new_tokens} tokens" in stats and "tokens/s" in stats


def test_a_second_generate_click_during_a_run_starts_nothing(make, random_model):
    s = make(random_model)
    s.prompt.value = "The"
    s.max_new_tokens.value = 200
    s.generate.click()
    first = s.run
    s._on_generate()  # what a fast double click reaches, past the disabled button
    assert s.run is first
    assert s.wait(60)
    assert len(s.history.entries) == 1


def test_export_writes_markdown_in_posts_and_never_overwrites(make, tiny, tmp_path):
    s = make(tiny)
    _generate(s, prompt="Baking bread", temperature=0)
    existing = tmp_path / "posts" / "baking-bread.md"
    existing.parent.mkdir()
    existing.write_text("my own post")
    s.view.panels[0].export.click()
    s.view.panels[0].export.click()
    assert existing.read_text() == "my own post"
    assert [p.name for p in s.exported] == ["baking-bread-2.md", "baking-bread-3.md"]
    assert str(s.exported[-1]) in s.message.value
    meta, body = read(s.exported[0].read_text())
    assert meta["title"] == "Baking bread" and meta["seed"] == s.candidates[0].seed
    assert meta["model"] == tiny.name and meta["revision"] == tiny.revision
    back = blogneo.SamplingParams(**meta["params"], seed=meta["seed"], num_candidates=meta["candidates"])
    assert back == s.run.params
    assert body.startswith("Baking bread takes patience.")  # a base model's text continues the prompt


def test_history_survives_a_restart_and_restores_into_the_controls(make, tiny, tmp_path):
    s = make(tiny)
    _generate(s, prompt="The old lighthouse", preset="precise", temperature=0.25, top_k=7, seed=1234)
    text = s.candidates[0].text

    again = make(tiny)  # a new kernel: everything comes from the file
    assert json.loads((tmp_path / "history.json").read_text())["entries"][0]["prompt"] == "The old lighthouse"
    again.prompt.value = "something else"
    again.preset.value = "creative"
    again.history_list.value = 0
    again.restore.click()
    assert again.prompt.value == "The old lighthouse" and again.preset.value == "precise"
    assert again.temperature.value == pytest.approx(0.25) and again.top_k.value == 7 and again.seed.value == 1234
    assert html.escape(text[:20]) in _panel_texts(again)[0]
    assert again.params() == s.run.params


def test_a_whole_post_is_restored_as_it_was_and_its_sections_can_be_regenerated(make, tiny, tmp_path):
    from blogneo.ui_post import PostView

    s = make(tiny)
    s.mode.value = "Whole post"
    s.sections.value, s.prompt.value, s.seed.value = 2, "Baking bread", 3
    s.post_type.value, s.tone.value, s.words.value, s.banned.value = "listicle", "calm", 30, "crust"
    s.generate.click()
    assert s.wait(120), s.message.value
    written = s.post.to_markdown()

    again = make(tiny)  # a new kernel: the post comes back from the history file alone
    again.history_list.value = 0
    again.restore.click()
    assert again.mode.value == "Whole post" and again.post_controls.layout.display == ""
    assert (again.sections.value, again.post_type.value, again.tone.value, again.words.value,
            again.banned.value) == (2, "listicle", "calm", 30, "crust")
    assert isinstance(again.view, PostView) and again.post.to_markdown() == written
    assert html.escape(again.post.sections[0].text[:20]) in again.view.section_boxes[0].text.value
    assert "Restored the post" in again.message.value
    seed = again.post.sections[1].seed
    again.view.section_boxes[1].regenerate.click()  # Regenerate works on the restored post
    assert again.wait(120) and again.post.sections[1].seed != seed and "Rewrote section 2" in again.message.value


def test_a_post_written_by_another_model_is_not_restored_under_this_one(make, tiny, tmp_path):
    entry = {"prompt": "Baking bread", "model": "gpt-neo-1.3b", "preset": "balanced", "texts": ["---\n---\n"],
             "params": blogneo.PRESETS["balanced"].replace(seed=5).to_dict(), "finish_reasons": ["post"],
             "time": "2026-12-01 10:00:00", "mode": "Whole post", "sections": 2}
    (tmp_path / "history.json").write_text(json.dumps({"format": 2, "entries": [entry]}))
    s = make(tiny)
    s.prompt.value = "mine"
    s.history_list.value = 0
    s.restore.click()
    assert "written with gpt-neo-1.3b" in s.message.value and s.prompt.value == "mine" and s.mode.value == "Text"


def test_a_history_file_from_before_the_whole_run_was_kept_still_restores(make, tiny, tmp_path):
    old = {"prompt": "The old lighthouse", "model": "x", "preset": "precise", "texts": ["It stood."],
           "params": blogneo.PRESETS["precise"].replace(seed=5).to_dict(), "finish_reasons": ["eos"],
           "time": "2026-12-01 10:00:00"}  # no mode, sections, tone...: the format as it was
    (tmp_path / "history.json").write_text(json.dumps({"format": 1, "entries": [old]}))
    s = make(tiny)
    s.history_list.value = 0
    s.restore.click()
    assert s.mode.value == "Text" and s.prompt.value == "The old lighthouse" and s.seed.value == 5


def test_runs_are_added_to_the_history_on_the_kernel_s_main_thread(make, tiny, monkeypatch):
    import threading

    from blogneo.history import History

    threads = []
    real = History.add
    monkeypatch.setattr(History, "add", lambda self, entry: threads.append(threading.current_thread()) or
                        real(self, entry))
    s = make(tiny)
    _generate(s, prompt="The old lighthouse", seed=1)
    assert threads == [threading.main_thread()]


def test_restore_with_nothing_chosen_says_what_to_do(make, tiny):
    s = make(tiny)
    s.restore.click()
    assert "Choose a run in the History list" in s.message.value


def test_the_sliders_take_their_bounds_steps_and_labels_from_the_table_of_fields(make, tiny):
    from blogneo.fields import FIELD, SLIDERS

    s = make(tiny)
    assert set(SLIDERS) == {"max_new_tokens", "temperature", "top_k", "top_p", "repetition_penalty",
                            "no_repeat_ngram_size"}
    for name in SLIDERS:
        field, slider = FIELD[name], getattr(s, name)
        assert (slider.min, slider.max, slider.step) == field.slider and slider.description == field.label
        # a narrower range than the model's, never a wider one: every slider position is a valid value
        assert field.low <= slider.min and (field.high is None or slider.max <= field.high)
        for position in (slider.min, slider.max):
            blogneo.SamplingParams(**{name: position})


def test_presets_set_the_sliders(make, tiny):
    s = make(tiny)
    s.preset.value = "creative"
    assert s.temperature.value == blogneo.PRESETS["creative"].temperature
    assert s.top_k.value == 0 and s.params().min_p == blogneo.PRESETS["creative"].min_p


@pytest.mark.parametrize("change,field", [
    ({"temperature": 0, "num_candidates": 2}, "temperature=0 is greedy"),
    ({"seed": -5}, "seed=-5 is out of range"),
    ({"prompt": "   "}, "The prompt is empty"),
])
def test_bad_input_is_a_message_in_the_ui_and_the_ui_stays_usable(make, tiny, change, field):
    s = make(tiny)
    s.prompt.value = "Baking bread"
    for name, value in change.items():
        getattr(s, name).value = value
    s.generate.click()
    assert field in s.message.value and "blogneo-error" in s.message.value
    assert "Traceback" not in s.message.value
    assert not s.running and not s.generate.disabled
    s.prompt.value, s.num_candidates.value, s.seed.value, s.temperature.value = "Baking bread", 1, 1, 0
    s.generate.click()
    assert s.wait(60) and s.candidates and s.message.value == ""


def test_a_checkpoint_the_hub_cannot_give_is_a_message_and_the_old_model_stays(make, tiny):
    s = make(tiny)
    s.checkpoint.value = "gpt-neo-125m"  # offline in tests: the Hub cannot be reached
    assert s.wait(60)
    assert "cannot be reached" in s.message.value and "embedded" in s.message.value
    assert s.model is tiny and s.checkpoint.value == tiny.name and not s.generate.disabled


def test_a_checkpoint_that_does_not_fit_is_refused_before_loading(make, tiny, monkeypatch):
    from blogneo.catalog import KNOWN
    from blogneo.memory import format_gib, load_footprint
    from blogneo.precision import resolve_device, resolve_dtype

    monkeypatch.setattr(memory, "available_memory", lambda device: 2 * 2**30)
    s = make(tiny)
    s.checkpoint.value = "gpt-neo-2.7b"
    assert s.wait(60)
    # What the default needs on this machine's device: 12.9 GiB on a CPU (fp32's peak), 6.7 on a GPU.
    device = resolve_device("auto")
    neo = KNOWN["gpt-neo-2.7b"]
    need = load_footprint(neo.parameters, resolve_dtype("auto", device), device.type, neo.shape)
    assert "Not loading" in s.message.value and format_gib(need) in s.message.value
    assert "2.0 GiB" in s.message.value
    assert s.model is tiny and s.load_bar.bar_style == "danger"


def test_the_checkpoint_list_shows_size_and_whether_it_fits(make, tiny):
    s = make(tiny)
    labels = dict((value, label) for label, value in s.checkpoint.options)
    assert {c.name for c in blogneo.checkpoints()} <= set(labels)
    assert "2,651M parameters" in labels["gpt-neo-2.7b"]
    assert all(("fits" in label or "too big" in label) for name, label in labels.items() if name != tiny.name)


def test_loading_in_the_background_shows_progress_then_enables_generate(make, tiny_folder, tiny):
    s = make(str(tiny_folder))  # already in the in-process cache, so this is quick but takes the same path
    assert s.wait(60)
    assert s.model is tiny and s.load_bar.value == 100 and s.load_bar.bar_style == "success"
    assert "base model" in s.load_status.value and not s.generate.disabled


def test_an_unreadable_history_file_is_set_aside_and_said(make, tiny, tmp_path):
    (tmp_path / "history.json").write_text("{ not json")
    s = make(tiny)
    assert "could not be read" in s.message.value
    kept = list(tmp_path.glob("history.json.unreadable-*"))
    assert len(kept) == 1 and kept[0].read_text() == "{ not json"


def test_whole_post_mode_shows_the_outline_and_sections_and_rewrites_one_section(make, tiny, tmp_path):
    s = make(tiny)
    assert s.post_controls.layout.display == "none"  # type, tone, words and bans belong to the Whole post mode
    s.mode.value = "Whole post"
    assert s.post_controls.layout.display == ""
    s.sections.value = 2
    s.prompt.value = "Baking bread"
    s.seed.value = 3
    s.post_type.value, s.tone.value, s.words.value, s.banned.value = "how-to", "humorous", 40, "oven, crust"
    s.generate.click()
    assert s.running and not s.stop.disabled
    assert s.wait(120), s.message.value
    assert "blogneo-error" not in s.message.value and s.post is not None and len(s.post.sections) == 2
    defects = s.post.defects()  # the tiny model, with "oven" banned, cannot write every part whole
    assert (f"{len(defects)} defect(s) left" in s.message.value) if defects else s.message.value == ""
    assert (s.post.post_type, s.post.tone, s.post.words) == ("how-to", "humorous", 40)
    assert {"oven", "crust"} <= set(s.post.params.banned) and "oven" not in s.post.body().lower()
    view = s.view
    assert "Outline" in view.outline.value and view.outline.value.count("<li>") == 2
    assert html.escape(s.post.title.text) in view.header.value
    texts = [box.text.value for box in view.section_boxes]
    assert all(html.escape(sec.text[:20]) in t for sec, t in zip(s.post.sections, texts, strict=True))
    first, second = s.post.sections[0].text, s.post.sections[1].seed
    view.section_boxes[1].regenerate.click()  # Regenerate section 2
    assert s.wait(120)
    assert s.post.sections[0].text == first and s.post.sections[1].seed != second
    assert "Rewrote section 2" in s.message.value
    view.save.click()
    [path] = s.exported
    assert path.parent == (tmp_path / "posts").resolve() and read(path.read_text())[0]["seed"] == 3
    assert s.history.entries[-1].finish_reasons == ["post"]


def test_stop_ends_a_whole_post_with_a_message(make, embedded):
    s = make(embedded)
    s.mode.value = "Whole post"
    s.prompt.value = "Why I bike to work"
    s.generate.click()
    deadline = time.monotonic() + 60
    while s.running and "<h2>" not in s.view.header.value and time.monotonic() < deadline:
        s.wait(0.05)
    s.stop.click()
    assert s.wait(60)
    assert "stopped" in s.message.value and not s.generate.disabled


@pytest.mark.slow  # this file's tests again, in a second process
@pytest.mark.skipif(ipywidgets.__version__.startswith("7."), reason="this is the 7.7 run itself")
def test_the_studio_works_on_ipywidgets_7(tmp_path):
    if not (IPYWIDGETS7 / "ipywidgets").is_dir():
        pytest.skip(f"ipywidgets 7.7 is not installed in {IPYWIDGETS7}; `make setup` puts it there")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(IPYWIDGETS7), os.environ.get("PYTHONPATH", "")])}
    check = subprocess.run([sys.executable, "-c", "import ipywidgets; print(ipywidgets.__version__)"],
                           env=env, capture_output=True, text=True, check=True)
    assert check.stdout.startswith("7.7")
    # The widget tests again, on 7.7's widgets; those that stream from the embedded model differ
    # from the tiny model's only in the model, which the 8.x run and the browser test cover.
    run = subprocess.run([sys.executable, "-m", "pytest", __file__, "-q", "-p", "no:cacheprovider", "-p", "no:xdist",
                          "-m", "not embedded", "--basetemp", str(tmp_path / "run")],
                         env=env, capture_output=True, text=True, cwd=ROOT)
    assert run.returncode == 0, run.stdout[-3000:] + run.stderr[-2000:]
    assert " passed" in run.stdout and " failed" not in run.stdout


def test_a_run_keeps_the_settings_it_started_with(make, slow_model):
    s = make(slow_model)
    s.preset.value = "precise"
    s.prompt.value = "The old lighthouse"
    s.max_new_tokens.value = 40
    s.generate.click()
    started_with = s.run.params
    s.preset.value = "creative"  # moved while the run goes on: it is for the next run
    s.max_new_tokens.value = 200
    assert s.wait(60)
    [entry] = s.history.entries
    assert entry.preset == "precise" and entry.sampling_params().max_new_tokens == 40
    assert s.run.params == started_with and s.candidates[0].new_tokens <= 40 + finishing_room(40)


def test_a_failed_load_leaves_the_controls_working(make, tiny):
    s = make(tiny)
    s.checkpoint.value = "gpt-neo-125m"  # offline: fails, and the list goes back to the old model
    assert s.wait(60) and s.checkpoint.value == tiny.name
    s.preset.value = "creative"  # the preset observer still reacts: it was not left switched off
    assert s.temperature.value == blogneo.PRESETS["creative"].temperature
    with pytest.raises(RuntimeError):  # an error while controls are set from code...
        with s._quietly():
            raise RuntimeError("boom")
    s.preset.value = "precise"  # ...leaves the observers on all the same
    assert s.temperature.value == blogneo.PRESETS["precise"].temperature


@pytest.mark.slow
def test_stop_ends_a_section_rewrite_and_keeps_the_section(make, random_model, monkeypatch):
    s = make(random_model)
    s.mode.value = "Whole post"
    s.sections.value = 1
    s.max_new_tokens.value = 32
    s.prompt.value = "The old lighthouse"
    s.generate.click()
    assert s.wait(120), s.message.value
    before = s.post.sections[0].text
    forward = random_model.model.forward

    def slow(*args, **kwargs):  # about 20 ms a step from here on, so Stop lands mid-rewrite
        time.sleep(0.02)
        return forward(*args, **kwargs)

    monkeypatch.setattr(random_model.model, "forward", slow)
    s.view.section_boxes[0].regenerate.click()
    assert s.running and not s.stop.disabled  # a rewrite can be stopped
    time.sleep(0.2)
    s.stop.click()
    assert s.wait(30)
    assert "stopped" in s.message.value and s.post.sections[0].text == before


@pytest.mark.slow
def test_every_widget_change_happens_on_the_main_thread(make, random_model, monkeypatch):
    # Colab renders only widget changes made on the kernel's main thread (colabtools issue 3373).
    # Every trait change of every widget is recorded, with its thread, through a load, a streamed
    # run with candidates, a whole post and a section rewrite.
    changes = []
    original = ipywidgets.Widget.notify_change

    def recording(self, change):
        changes.append((threading.current_thread().name, type(self).__name__, change["name"]))
        return original(self, change)

    monkeypatch.setattr(ipywidgets.Widget, "notify_change", recording)
    s = make(str(random_model.name))  # loaded on a worker thread, with a progress bar
    assert s.wait(60) and s.model is random_model
    _generate(s, prompt="The", temperature=1.0, num_candidates=2, max_new_tokens=40)
    s.mode.value, s.sections.value, s.max_new_tokens.value = "Whole post", 1, 16
    s.generate.click()
    assert s.wait(120), s.message.value
    s.view.section_boxes[0].regenerate.click()
    assert s.wait(60)
    elsewhere = {(thread, kind, name) for thread, kind, name in changes if thread != threading.main_thread().name}
    assert not elsewhere, elsewhere
    values = [kind for _, kind, name in changes if name == "value"]
    assert values.count("HTML") > 10 and "IntProgress" in values  # streamed text and the load bar, all seen


def test_the_studio_says_before_generate_when_a_change_of_candidates_or_length_will_compile(make, tiny_folder,
                                                                                           tmp_path):
    # A GPU's default path (compile=True), taken here on the CPU; nothing compiles until Generate.
    import shutil

    model = blogneo.load(shutil.copytree(tiny_folder, tmp_path / "compiled"), dtype="fp32", compile=True)
    s = make(model)
    s.prompt.value = "The old lighthouse"
    s.temperature.value = 0.8
    s.num_candidates.value = 3
    assert "The next run starts by compiling for this CPU: a batch of 4 (3 shown" in s.message.value
    assert "about 20 s on an H100" in s.message.value and not model.compiled  # said, not done
    model.compiled.add((4, 256))  # as if a run of 3 or 4 had compiled it
    s.message.value = ""
    s.num_candidates.value = 4
    s.max_new_tokens.value = 64  # another length in the same bucket
    assert s.message.value == ""  # nothing to compile: nothing said


def test_an_eager_model_says_nothing_when_the_candidates_change(make, tiny):
    s = make(tiny)
    s.temperature.value = 0.8
    s.num_candidates.value = 3
    assert "compiling" not in s.message.value
