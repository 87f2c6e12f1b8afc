"""The studio's core, without widgets: runs, Stop, Restore, errors and one run at a time (blogneo.session).

Both views (the ipywidgets studio, the Gradio app) only read controls into a ``Run`` and show what the
session reports, so what a run does is tested here once, on the tiny GPT-Neo and on the embedded chat model.
"""

from __future__ import annotations

import threading

import pytest

import blogneo
from blogneo.errors import BlogneoError, ParameterError
from blogneo.session import BusyError, Run, Session


@pytest.fixture
def session(tmp_path):
    return Session(history_path=tmp_path / "history.json", posts_dir=tmp_path / "posts")


def text_run(model, prompt="The old lighthouse", **params) -> Run:
    params = {"seed": 1, "max_new_tokens": 30, **params}
    return Run("Text", prompt, blogneo.SamplingParams(**params), "balanced", 1, model)


def post_run(model, prompt="Baking bread", **params) -> Run:
    params = {"seed": 11, **params}
    return Run("Whole post", prompt, blogneo.SamplingParams(**params), "balanced", 1, model, post_type="how-to",
               tone="calm", words=30, banned=("oven",))


class Reports:
    """What the session said, in order, and on which thread."""

    def __init__(self):
        self.said: list[tuple[str, object]] = []
        self.threads: set[str] = set()

    def __getattr__(self, name):
        if not name.startswith("on_"):
            raise AttributeError(name)

        def report(*args):
            self.threads.add(threading.current_thread().name)
            self.said.append((name, args))

        return report

    def kinds(self) -> list[str]:
        return [kind for kind, _ in self.said]

    def last(self, kind: str):
        return [args for k, args in self.said if k == kind][-1]

    def callbacks(self, *names) -> dict:
        return {name: getattr(self, name) for name in names}


@pytest.mark.parametrize("name", ["tiny", "embedded"])
def test_a_text_run_streams_then_is_kept_in_the_history(session, name, request):
    model = request.getfixturevalue(name)
    session.use(model)
    said = Reports()
    run = text_run(model, "Write two sentences about the sea." if model.chat else "The old lighthouse",
                   num_candidates=2, temperature=0.9)
    session.generate(run, **said.callbacks("on_texts", "on_done", "on_error", "on_end", "on_note"))
    assert session.running
    assert session.wait(120)
    assert said.kinds()[-2:] == ["on_done", "on_end"] and "on_error" not in said.kinds()
    assert said.kinds().count("on_texts") >= 1 and said.threads == {"blogneo-run"}  # at once, on the worker
    candidates, entry = said.last("on_done")
    assert len(candidates) == 2 and session.candidates == candidates and session.run is run
    assert said.last("on_texts")[0][0].startswith(candidates[0].text[:10])  # the streamed text, then the final
    assert session.history.entries == [entry] and entry.texts == [c.text for c in candidates]
    assert entry.mode == "Text" and entry.seed == 1 and entry.model == model.name


def test_stop_ends_a_text_run_within_a_step_and_keeps_its_text(session, slow_model):
    session.use(slow_model)
    said = Reports()
    started = threading.Event()
    session.generate(text_run(slow_model, max_new_tokens=200, min_new_tokens=200),
                     on_texts=lambda texts: started.set() if texts[0] else None, **said.callbacks("on_done"))
    assert started.wait(60)
    session.stop()
    assert session.wait(30)
    [candidate] = session.candidates
    assert candidate.finish_reason == "cancelled" and 0 < candidate.new_tokens < 200
    assert session.history.entries[-1].finish_reasons == ["cancelled"]  # a stopped run is kept too


def test_a_second_run_while_one_is_going_is_refused_and_changes_nothing(session, slow_model):
    session.use(slow_model)
    first = text_run(slow_model, max_new_tokens=100, min_new_tokens=100)
    session.generate(first)
    with pytest.raises(BusyError, match="A run is going already"):
        session.generate(text_run(slow_model, "Baking bread"))
    with pytest.raises(BusyError):
        session.load("embedded")
    assert session.run is first  # the refused run left the first one's settings
    session.stop()
    assert session.wait(30) and len(session.history.entries) == 1
    session.generate(text_run(slow_model, "Baking bread", max_new_tokens=4))  # free again once it ended
    assert session.wait(30) and len(session.history.entries) == 2


def test_an_error_in_a_run_is_reported_and_the_session_stays_usable(session, tiny):
    session.use(tiny)
    said = Reports()
    # valid params, but more new tokens than the tiny model's 256-token context holds: refused by the run
    session.generate(text_run(tiny, max_new_tokens=400), **said.callbacks("on_done", "on_error", "on_end"))
    assert session.wait(30)
    assert said.kinds() == ["on_error", "on_end"]
    [error] = said.last("on_error")
    assert isinstance(error, ParameterError) and "context" in str(error)
    assert session.history.entries == [] and not session.running
    session.generate(text_run(tiny))
    assert session.wait(60) and session.candidates


def test_a_load_that_fails_is_reported_and_the_model_stays(session, tiny):
    session.use(tiny)
    said = Reports()
    session.load("gpt-neo-125m", **said.callbacks("on_progress", "on_done", "on_error", "on_end"))  # offline here
    assert session.wait(60)
    assert said.kinds()[-2:] == ["on_error", "on_end"] and "cannot be reached" in str(said.last("on_error")[0])
    assert session.model is tiny


def test_a_model_loaded_before_comes_from_load_s_own_cache(session, tiny, tiny_folder):
    said = Reports()
    session.load(str(tiny_folder), **said.callbacks("on_progress", "on_done"))
    assert session.wait(60) and session.model is tiny and said.last("on_done") == (tiny,)


def test_restore_brings_back_a_text_run_as_it_ran(session, tiny):
    session.use(tiny)
    run = text_run(tiny, num_candidates=2, temperature=0.8, top_k=12)
    session.generate(run)
    assert session.wait(60)
    again = Session(history_path=session.history.path, posts_dir=session.posts_dir)  # a restarted kernel
    again.use(tiny)
    restored = again.restore(0)
    assert restored.post is None and restored.params == run.params
    assert restored.entry.texts == [c.text for c in session.candidates] and restored.entry.mode == "Text"
    with pytest.raises(BlogneoError, match="Choose a run in the History list"):
        again.restore(None)


@pytest.mark.slow
@pytest.mark.parametrize("name", ["tiny", "embedded"])
def test_a_post_run_then_restore_gives_back_the_same_post_and_its_recipe(session, name, request, tmp_path):
    model = request.getfixturevalue(name)
    session.use(model)
    said = Reports()
    run = post_run(model, max_new_tokens=48)
    session.write(run, **said.callbacks("on_event", "on_done", "on_error", "on_end"))
    assert session.wait(600), said.kinds()
    assert "on_error" not in said.kinds() and said.kinds()[-2:] == ["on_done", "on_end"]
    post, entry = said.last("on_done")
    assert {e.kind for (e,) in (args for k, args in said.said if k == "on_event")} >= {"start", "text", "done"}
    assert session.post is post and entry.texts == [post.to_markdown()] and entry.finish_reasons == ["post"]
    again = Session(history_path=session.history.path, posts_dir=tmp_path / "other")
    again.use(model)
    restored = again.restore(0)
    assert restored.post.to_markdown() == post.to_markdown() and again.post is restored.post
    entry = restored.entry
    assert (entry.mode, entry.sections, entry.post_type, entry.tone, entry.words, entry.banned) == \
        ("Whole post", 1, "how-to", "calm", 30, ["oven"])
    assert restored.params == run.params
    path = again.save_post()
    assert path.read_text(encoding="utf-8") == post.to_markdown() and again.exported == [path]


@pytest.mark.slow
def test_a_restored_post_s_section_is_regenerated_and_stop_keeps_it(session, tiny, random_model, monkeypatch):
    session.use(tiny)
    session.write(post_run(tiny, max_new_tokens=48))
    assert session.wait(300)
    restored = Session(history_path=session.history.path, posts_dir=session.posts_dir)
    restored.use(tiny)
    post = restored.restore(0).post
    seed = post.sections[0].seed
    said = Reports()
    restored.regenerate(0, **said.callbacks("on_done", "on_error", "on_end"))
    assert restored.wait(120) and said.kinds() == ["on_done", "on_end"]
    assert post.sections[0].seed != seed and said.last("on_done")[0] is post.sections[0]
    # a post from another model is refused before anything changes
    session.use(random_model)
    with pytest.raises(BlogneoError, match="written with"):
        session.restore(0)


def test_a_post_written_by_another_model_or_with_none_loaded_is_not_restored(session, tiny, random_model):
    session.use(tiny)
    session.write(post_run(tiny, max_new_tokens=24))
    assert session.wait(300)
    other = Session(history_path=session.history.path, posts_dir=session.posts_dir)
    with pytest.raises(BlogneoError, match="Wait for the model to load"):
        other.restore(0)
    other.use(random_model)
    with pytest.raises(BlogneoError, match=f"written with {tiny.name}"):
        other.restore(0)
    assert other.post is None


def test_export_writes_a_candidate_and_never_overwrites(session, tiny):
    session.use(tiny)
    session.generate(text_run(tiny, "Baking bread", temperature=0.9, num_candidates=2))
    assert session.wait(60)
    first, second = session.export(0), session.export(0)
    assert first != second and first.parent == session.posts_dir and session.exported == [first, second]
    assert session.candidates[0].text.strip()[:20] in first.read_text(encoding="utf-8")


def test_two_studios_on_one_history_file_keep_each_other_s_runs(tmp_path):
    # The notebook studio and the Gradio app, or two notebooks: each adds after what the file holds now.
    from blogneo.history import Entry, History

    params = blogneo.SamplingParams(seed=1).to_dict()
    first, second = History(tmp_path / "history.json"), History(tmp_path / "history.json")
    for i, history in enumerate((first, second, first)):
        history.add(Entry(prompt=f"run {i}", model="m", preset="balanced", params=params, texts=["t"],
                          finish_reasons=["eos"]))
    assert [e.prompt for e in History(tmp_path / "history.json").entries] == ["run 0", "run 1", "run 2"]
    assert [e.prompt for e in first.entries] == ["run 0", "run 1", "run 2"]


def test_the_runner_stays_busy_until_the_view_has_the_end(tmp_path):
    # The notebook hands reports to the kernel's main thread; until they run there, no second run may start.
    from blogneo.session import Jobs

    handed: list = []
    jobs = Jobs(deliver=lambda function, *args: handed.append((function, args)))
    said = Reports()
    jobs.start(lambda job: 42, **said.callbacks("on_done", "on_end"))
    deadline = threading.Event()
    while len(handed) < 2 and not deadline.wait(0.01):
        pass
    assert jobs.busy and said.said == []  # the worker is done; the view has seen nothing yet
    with pytest.raises(BusyError):
        jobs.start(lambda job: 0)
    for function, args in handed:
        function(*args)
    assert not jobs.busy and said.said == [("on_done", (42,)), ("on_end", ())]


def test_a_result_that_cannot_be_kept_is_an_error_and_the_text_stays(session, tiny, monkeypatch):
    session.use(tiny)
    said = Reports()

    def full(entry):
        raise OSError("No space left on device")

    monkeypatch.setattr(session.history, "add", full)
    session.generate(text_run(tiny), **said.callbacks("on_done", "on_error", "on_end"))
    assert session.wait(60)
    assert said.kinds() == ["on_error", "on_end"] and "No space left" in str(said.last("on_error")[0])
    assert session.candidates and session.export(0).exists()  # the text can still be saved


def test_a_post_stopped_half_way_is_never_saved_as_the_one_before(session, slow_model):
    session.use(slow_model)
    session.write(post_run(slow_model, max_new_tokens=24))
    assert session.wait(300) and session.post is not None
    said = Reports()
    session.write(post_run(slow_model, "The old lighthouse", max_new_tokens=24), **said.callbacks("on_error"))
    session.stop()
    assert session.wait(60) and "stopped" in str(said.last("on_error")[0])
    with pytest.raises(BlogneoError, match="There is no post to save"):
        session.save_post()


def test_controls_from_a_web_form_are_checked(tiny):
    with pytest.raises(ParameterError, match="temperature=None must be a number"):
        Run.of(tiny, "Text", "Hello", "balanced", {"temperature": None}, 1, 1)
    with pytest.raises(ParameterError, match="seed=1.5 must be a whole number"):
        Run.of(tiny, "Text", "Hello", "balanced", {}, 1.5, 1)
    run = Run.of(tiny, "Whole post", "Baking bread", "creative", {"temperature": 0.8500001, "top_k": 40.0}, 3.0,
                 2, 2, "how-to", "calm", 60, None)
    assert (run.params.temperature, run.params.top_k, run.params.seed, run.banned) == (0.85, 40, 3, ())
