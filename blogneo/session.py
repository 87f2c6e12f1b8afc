"""The studio without widgets: a ``Session`` holds the model, the runs, one job at a time, and the history.

The ipywidgets studio (``blogneo.studio``) and the Gradio app (``blogneo.gradio_app``) are views of a
``Session``: they read their controls into a ``Run``, hand it over, and show what comes back. Every
rule of a run lives here once: what a run records, how Stop reaches it, what Restore brings back, where
an export goes.

Work runs on one worker thread (``Jobs``), so the caller's thread stays free for clicks. What the work
reports goes through ``deliver``: the notebook studio passes its ``MainThread``, so widgets and the
history change only on the kernel's main thread (Colab drops widget changes made elsewhere); other
callers get the report at once, on the worker. The history is written under its own lock either way.

Example:
    >>> session = Session(history_path="history.json", posts_dir="posts")
    >>> session.use(model)
    >>> run = Run("Text", "The old lighthouse", SamplingParams(seed=1, max_new_tokens=20), "balanced", 1, model)
    >>> job = session.generate(run)
    >>> session.wait(60) and len(session.candidates)
    1
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from .errors import BlogneoError, ParameterError
from .fields import FIELD, POST_DEFAULTS
from .files import write_new
from .generation import Candidate, stream
from .history import Entry, History
from .loading import LoadedModel, load
from .markdown import document, front_matter
from .post import Part, Post, PostEvent, read_post, write_post
from .prompts import POST_TYPES, check_prompt
from .sampling import PRESETS, SamplingParams

MODES = ("Text", "Whole post")
RENDER_EVERY = 0.1  # seconds between streamed text updates: smooth to read, light on a browser


class BusyError(BlogneoError):
    """A run or a load was started while another is going."""


@dataclass(frozen=True)
class Run:
    """Everything a run uses, read from the controls once, when it starts.

    The worker gets this and never reads a control: moving a slider mid-run changes the next
    run, not this one, and its history entry records what it really used.
    """

    mode: str  # "Text" or "Whole post"
    prompt: str
    params: SamplingParams
    preset: str
    sections: int
    model: LoadedModel
    post_type: str = POST_DEFAULTS["post_type"]  # the Whole post mode's controls
    tone: str = POST_DEFAULTS["tone"]
    words: int = POST_DEFAULTS["words"]
    banned: tuple[str, ...] = ()

    @classmethod
    def of(cls, model: LoadedModel, mode: str, prompt: str, preset: str, knobs: dict, seed, candidates,
           sections=POST_DEFAULTS["sections"], post_type: str = POST_DEFAULTS["post_type"],
           tone: str = POST_DEFAULTS["tone"], words=POST_DEFAULTS["words"], banned: str = "") -> Run:
        """The run a view's controls describe, checked: ``knobs`` are the sliders' values by field name (on top
        of the preset), ``banned`` the ban box's comma-separated phrases. Bad values raise ParameterError."""
        if mode not in MODES:
            raise ParameterError("mode", f"mode={mode!r} is not one of {', '.join(MODES)}.")
        if preset not in PRESETS:
            raise ParameterError("preset", f"preset={preset!r} is not one of {', '.join(PRESETS)}.")
        values = {name: _number(value, name) if FIELD[name].kind == "float" else _whole(value, name)
                  for name, value in knobs.items()}
        params = PRESETS[preset].replace(**values, seed=_whole(seed, "seed"),
                                         num_candidates=_whole(candidates, "num_candidates"))
        phrases = tuple(p.strip() for p in (banned or "").split(",") if p.strip())  # a web form's empty box: None
        return cls(mode=mode, prompt=check_prompt(prompt, "topic" if mode == "Whole post" else "prompt"),
                   params=params, preset=preset, sections=_whole(sections, "sections"), model=model,
                   post_type=post_type, tone=check_prompt(tone, "tone").strip(), words=_whole(words, "words"),
                   banned=phrases)

    def entry(self, texts: list[str], finish_reasons: list[str], seed: int | None) -> Entry:
        """What the history keeps of this run: enough to show it again and to repeat it."""
        params = {**self.params.to_dict(), "seed": seed}
        return Entry(prompt=self.prompt, model=self.model.name, preset=self.preset, params=params, texts=texts,
                     finish_reasons=finish_reasons, mode=self.mode, sections=self.sections, post_type=self.post_type,
                     tone=self.tone, words=self.words, banned=list(self.banned))


@dataclass(frozen=True)
class Restored:
    """A history entry brought back: its run's settings, and its texts or its post."""

    entry: Entry
    params: SamplingParams
    post: Post | None  # a whole post, read back from its Markdown; None for a text run


def _whole(value, name: str) -> int:
    """A control's number as a whole number (a web form's 3.0 is 3); a ParameterError for anything else."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != int(value):
        raise ParameterError(name, f"{name}={value!r} must be a whole number.")
    return int(value)


def _number(value, name: str) -> float:
    """A control's number, to 3 decimals (what a slider's float arithmetic leaves); a ParameterError if none."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ParameterError(name, f"{name}={value!r} must be a number.")
    return round(float(value), 3)


def model_line(model: LoadedModel) -> str:
    """The line a studio shows under its title: which model, where, in what precision, and what kind."""
    kind = "chat model: the prompt is a request" if model.chat else "base model: it continues the prompt"
    compiled = ", compiled" if model.compile else ""
    return f"{model.name} on {model.device.type}, {model.precision}{compiled} ({kind})"


def defects_left(post: Post) -> str:
    """What a studio says of a finished post's defects (what the retries could not avoid: named, never hidden);
    "" when there are none."""
    defects = post.defects()
    if not defects:
        return ""
    return (f"{len(defects)} defect(s) left: " + "; ".join(map(str, defects)) +
            ". Regenerate those sections, or try another seed.")


def _now(function: Callable, *args) -> None:
    function(*args)


def _ignore(*args) -> None:
    pass


class Job:
    """One piece of work on the worker thread: its cancel event, and what it reports."""

    def __init__(self, jobs: Jobs, on_update: Callable, on_note: Callable):
        self.cancel = threading.Event()
        self._jobs, self._on_update, self._on_note = jobs, on_update, on_note
        self._stoppers: list[Callable[[], None]] = []

    def update(self, *args) -> None:
        """Report progress (streamed text, a post's event, a load's stage) to the view."""
        self._jobs.deliver(self._on_update, *args)

    def note(self, text: str) -> None:
        """Say a note of the run's (a compile, before it starts) to the view."""
        self._jobs.deliver(self._on_note, text)

    def when_stopped(self, stop: Callable[[], None]) -> None:
        """Call ``stop`` on Stop (at once if Stop came already): a stream's own cancel, say."""
        self._stoppers.append(stop)
        if self.cancel.is_set():
            stop()

    def stop(self) -> None:
        self.cancel.set()
        for stop in list(self._stoppers):
            stop()


class Jobs:
    """The one job runner: a job at a time on a worker thread; its busy state, its Stop, and where its result
    and errors go (each through ``deliver``)."""

    def __init__(self, deliver: Callable = _now):
        self.deliver = deliver
        self.job: Job | None = None  # the job going, or the last one
        self._idle = threading.Event()
        self._idle.set()
        self._starting = threading.Lock()

    @property
    def busy(self) -> bool:
        return not self._idle.is_set()

    def start(self, work: Callable[[Job], object], *, on_done: Callable = _ignore, on_error: Callable = _ignore,
              on_end: Callable = _ignore, on_update: Callable = _ignore, on_note: Callable = _ignore,
              on_start: Callable[[], None] = _ignore, name: str = "blogneo-run") -> Job:
        """Run ``work(job)`` on a worker thread; then ``on_done(result)`` or ``on_error(error)`` (an error in
        ``on_done`` itself goes there too), then ``on_end()``. ``on_start()`` runs first, on the caller's thread,
        before the worker can report anything: the state a view reads for this job.

        Refuses, with a BusyError, while another job is going: one run at a time, whoever asks. The runner is
        busy until ``on_end`` is handed over, so a view that has not shown a result yet is never given another.
        """
        with self._starting:
            if self.busy:
                raise BusyError("A run is going already: wait for it to end, or press Stop.")
            self._idle.clear()
            try:
                on_start()
            except BaseException:
                self._idle.set()
                raise
            job = self.job = Job(self, on_update, on_note)

        def done(result) -> None:
            try:
                on_done(result)
            except Exception as error:  # noqa: BLE001 - a result that could not be kept is said, not lost
                on_error(error)

        def end() -> None:
            self._idle.set()  # free once the view has everything: the result, then the end
            on_end()

        def worker() -> None:
            try:
                result = work(job)
            except Exception as error:  # noqa: BLE001 - handed to the view, never raised into the kernel
                self.deliver(on_error, error)
            else:
                self.deliver(done, result)
            finally:
                self.deliver(end)

        threading.Thread(target=worker, name=name, daemon=True).start()
        return job

    def stop(self) -> None:
        """Stop the job going, within one decoding step; what it wrote so far is kept."""
        job = self.job
        if job is not None and self.busy:
            job.stop()

    def wait(self, timeout: float | None = None, pump: Callable[[], None] = _ignore,
             settled: Callable[[], bool] = lambda: True) -> bool:
        """Block until no job is going and ``settled()``; True if within ``timeout``. ``pump`` runs meanwhile."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            pump()
            if not self.busy and settled():
                return True
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return False
            self._idle.wait(0.05 if left is None else min(0.05, left))


class Session:
    """One writer's studio, without widgets: the model, the latest run and its results, the history.

    Args:
        history_path: where runs are kept (default: ``$BLOGNEO_HISTORY`` or the user data folder).
        posts_dir: where exports and saved posts go (default: ``$BLOGNEO_POSTS`` or ``posts/``).
        deliver: how the worker's reports reach the view (``deliver(function, *args)``); by default they are
            called at once, on the worker.
    """

    def __init__(self, history_path=None, posts_dir=None, deliver: Callable = _now):
        self.history = History(history_path)
        self.posts_dir = Path(posts_dir or os.environ.get("BLOGNEO_POSTS") or "posts")
        self.jobs = Jobs(deliver)
        self.model: LoadedModel | None = None
        self.run: Run | None = None  # the latest run's settings, as it used them
        self.candidates: list[Candidate] = []  # the latest text run's results
        self.post: Post | None = None  # the latest whole post
        self.exported: list[Path] = []

    @property
    def running(self) -> bool:
        return self.jobs.busy

    def wait(self, timeout: float | None = None, **kwargs) -> bool:
        return self.jobs.wait(timeout, **kwargs)

    def stop(self) -> None:
        self.jobs.stop()

    # --- the model ----------------------------------------------------------------------------

    def use(self, model: LoadedModel) -> None:
        self.model = model

    def load(self, spec: str, *, on_progress: Callable = _ignore, on_done: Callable = _ignore,
             on_error: Callable = _ignore, on_end: Callable = _ignore) -> Job:
        """Load ``spec`` through ``blogneo.load`` (its in-process cache: a model loaded before comes back at
        once) on the worker; it becomes the session's model when it is ready."""

        def done(model: LoadedModel) -> None:
            self.model = model
            on_done(model)

        return self.jobs.start(lambda job: load(spec, progress=job.update), on_update=on_progress, on_done=done,
                               on_error=on_error, on_end=on_end, name="blogneo-load")

    # --- runs ---------------------------------------------------------------------------------

    def generate(self, run: Run, *, on_texts: Callable[[list[str]], None] = _ignore,
                 on_done: Callable = _ignore, on_error: Callable = _ignore, on_end: Callable = _ignore,
                 on_note: Callable[[str], None] = _ignore) -> Job:
        """Start a text run: ``on_texts(texts)`` as the candidates stream (every ``RENDER_EVERY`` seconds at most,
        and once at the end), then ``on_done(candidates, entry)`` once the history has the entry."""
        if run.mode != "Text":
            raise BlogneoError(f"generate() runs the Text mode; this run's mode is {run.mode!r}: use write().")

        def work(job: Job):
            running = stream(run.prompt, run.params, run.model, progress=job.note)
            job.when_stopped(running.cancel)
            texts, last = [""] * run.params.num_candidates, 0.0
            for chunk in running:
                texts[chunk.candidate] += chunk
                if time.perf_counter() - last >= RENDER_EVERY:
                    job.update(list(texts))
                    last = time.perf_counter()
            job.update(list(texts))
            candidates = running.result()
            seed = candidates[0].seed if candidates else run.params.seed
            return candidates, run.entry([c.text for c in candidates], [c.finish_reason for c in candidates], seed)

        def done(result) -> None:
            candidates, entry = result
            self.candidates = candidates  # first, so they can be exported whatever happens to the history file
            self.history.add(entry)
            on_done(candidates, entry)

        return self._start(run, work, done, on_texts, on_error, on_end, on_note)

    def write(self, run: Run, *, on_event: Callable[[PostEvent], None] = _ignore, on_done: Callable = _ignore,
              on_error: Callable = _ignore, on_end: Callable = _ignore,
              on_note: Callable[[str], None] = _ignore) -> Job:
        """Start a whole post: ``on_event`` for each step's events, then ``on_done(post, entry)``."""
        if run.mode != "Whole post":
            raise BlogneoError(f"write() runs the Whole post mode; this run's mode is {run.mode!r}: use generate().")

        def work(job: Job):
            post = write_post(run.prompt, run.model, sections=run.sections, params=run.params,
                              post_type=run.post_type, tone=run.tone, words=run.words, banned=run.banned,
                              on_event=job.update, cancel=job.cancel, progress=job.note)
            return post, run.entry([post.to_markdown()], ["post"], run.params.seed)

        def done(result) -> None:
            post, entry = result
            self.post = post
            self.history.add(entry)
            on_done(post, entry)

        return self._start(run, work, done, on_event, on_error, on_end, on_note)

    def regenerate(self, index: int, *, on_event: Callable[[PostEvent], None] = _ignore,
                   on_done: Callable = _ignore, on_error: Callable = _ignore, on_end: Callable = _ignore,
                   on_note: Callable[[str], None] = _ignore) -> Job:
        """Write section ``index`` of the latest post again with a new seed: ``on_done(part)``. Stop keeps the
        section as it was."""
        post = self.post
        if post is None:
            raise BlogneoError("There is no post to regenerate: write one in the Whole post mode, or restore one.")

        def work(job: Job) -> Part:
            [part] = post.regenerate(index, on_event=job.update, cancel=job.cancel, progress=job.note)
            return part

        return self.jobs.start(work, on_update=on_event, on_done=on_done, on_error=on_error, on_end=on_end,
                               on_note=on_note, name="blogneo-run")

    def _start(self, run: Run, work, done, on_update, on_error, on_end, on_note) -> Job:
        def begin() -> None:  # before the worker can report: a refused run leaves the last one's settings
            self.run = run
            if run.mode == "Text":
                self.candidates = []
            else:
                self.post = None  # a post stopped half-way is no post: Export and Save never take the last one

        return self.jobs.start(work, on_update=on_update, on_done=done, on_error=on_error, on_end=on_end,
                               on_note=on_note, on_start=begin, name="blogneo-run")

    # --- history, export ----------------------------------------------------------------------

    def restore(self, index: int | None) -> Restored:
        """History entry ``index`` as it ran: its settings, and its texts or its post (read back from its
        Markdown, so Regenerate and Save post work on it). Checked before anything changes: an entry this studio
        cannot show, or a post written by another model than the one loaded, is refused with what to do."""
        if index is None:
            raise BlogneoError("Choose a run in the History list first.")
        entry = self.history.entries[index]
        params = entry.sampling_params()
        if entry.mode not in MODES or entry.post_type not in POST_TYPES:
            raise BlogneoError(f"This history entry's mode ({entry.mode!r}) or post type ({entry.post_type!r}) is not "
                               "one this studio has, so it cannot be restored.")
        post = None
        if entry.mode == "Whole post":
            if self.model is None:
                raise BlogneoError("Wait for the model to load, then restore the post.")
            if entry.model != self.model.name:  # its front matter would name this model as the writer
                raise BlogneoError(f"This post was written with {entry.model}. Choose that model in the Model "
                                   "list, then Restore it, so that what Save post records is true.")
            post = read_post(entry.texts[0], self.model)
            self.post = post
        return Restored(entry, params, post)

    def export(self, index: int) -> Path:
        """Candidate ``index`` of the latest text run as a Markdown file in ``posts_dir`` (never overwriting)."""
        if not self.candidates:
            raise BlogneoError("Nothing to export yet: Generate first.")
        if not 0 <= index < len(self.candidates):
            raise BlogneoError(f"There are {len(self.candidates)} candidate(s): export 1 to {len(self.candidates)}.")
        c, run = self.candidates[index], self.run
        meta = front_matter(_title(c.prompt), run.model, run.params, c.seed, prompt=c.prompt)
        body = c.text if run.model.chat else c.prompt + c.text  # a base model's text continues the prompt
        path = write_new(self.posts_dir, meta["title"], document(meta, body))
        self.exported.append(path)
        return path

    def save_post(self) -> Path:
        """The latest post as a Markdown file in ``posts_dir`` (never overwriting)."""
        if self.post is None:
            raise BlogneoError("There is no post to save: write one in the Whole post mode, or restore one.")
        path = self.post.save(self.posts_dir, download=False)
        self.exported.append(path)
        return path


def _title(prompt: str) -> str:
    first = prompt.strip().splitlines()[0] if prompt.strip() else "Untitled"
    return first if len(first) <= 80 else first[:79] + "…"


__all__ = ["MODES", "BusyError", "Job", "Jobs", "Restored", "Run", "Session", "defects_left", "model_line"]
