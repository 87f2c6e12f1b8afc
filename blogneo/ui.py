"""The writing studio: an ipywidgets UI with streaming, Stop, candidates, history and export.

``studio()`` returns one widget that displays in JupyterLab, Colab (ipywidgets 7.7) and Voila.
It is a view of a ``blogneo.session.Session``, which runs generation and loading on a worker thread,
so the kernel stays free to handle clicks: Stop works mid-run. Every handler catches its errors and
shows them as a message in the UI, never as a traceback, and leaves the controls usable.
"""

from __future__ import annotations

import os

from .errors import BlogneoError

# isort: off
from .ui_controls import Controls, _guarded  # first: it says what to install when ipywidgets is missing
# isort: on

from .catalog import KNOWN
from .files import offer_download
from .generation import compile_ahead, passing_note
from .history import Entry
from .loading import LoadedModel, default_spec
from .memory import available_memory, fits, format_gib, load_footprint
from .post import Post
from .precision import resolve_device, resolve_dtype
from .session import Session, defects_left, model_line
from .ui_candidates import CandidatesView
from .ui_post import PostView
from .ui_updates import MainThread

_LOAD_STAGES = {"checking memory": 10, "loading weights": 30, "ready": 100}  # "moving to ..." is 90


def studio(model: LoadedModel | str | None = None, *, history_path: str | os.PathLike | None = None,
           posts_dir: str | os.PathLike | None = None) -> Studio:
    """The writing studio, ready to display.

    Args:
        model: a LoadedModel, a spec to load, or None for the default (GPT-Neo-125M, or
            ``embedded`` offline). Loading happens in the background, with a progress bar.
        history_path: where runs are kept (default: ``$BLOGNEO_HISTORY`` or the user data folder).
        posts_dir: where Export writes Markdown (default: ``$BLOGNEO_POSTS`` or ``posts/``).
    """
    return Studio(model, history_path=history_path, posts_dir=posts_dir)


class Studio(Controls):
    """The studio widget: a view of a ``blogneo.session.Session``. Its controls are attributes, so code and tests
    can drive them; the session (``.session``) holds the model, the runs and the history."""

    def __init__(self, model: LoadedModel | str | None = None, *, history_path=None, posts_dir=None):
        super().__init__()  # the controls, laid out
        self._on_main = MainThread(on_error=self.show_error)  # workers change widgets only through this
        self.session = Session(history_path, posts_dir, deliver=self._on_main)
        self.view: CandidatesView | PostView | None = None  # what the outputs area shows
        self._refresh_history()
        self.checkpoint.observe(self._on_checkpoint, names="value")
        self.num_candidates.observe(self._on_length_or_candidates, names="value")
        self.max_new_tokens.observe(self._on_length_or_candidates, names="value")
        self.generate.on_click(self._on_generate)
        self.stop.on_click(self._on_stop)
        self.restore.on_click(self._on_restore)
        self.download_history.on_click(self._on_download_history)
        if self.session.history.problem:
            self.show_error(BlogneoError(self.session.history.problem))
        self._start(model)

    # --- state: the session's ----------------------------------------------------------------

    model = property(lambda self: self.session.model)
    history = property(lambda self: self.session.history)
    posts_dir = property(lambda self: self.session.posts_dir)
    run = property(lambda self: self.session.run, doc="the latest run's settings, as it used them")
    candidates = property(lambda self: self.session.candidates, doc="the latest text run's results")
    post = property(lambda self: self.session.post, doc="the latest whole post")
    exported = property(lambda self: self.session.exported)

    @property
    def running(self) -> bool:
        return self.session.running

    def wait(self, timeout: float | None = None) -> bool:
        """Block until no run or load is going; True if it finished within ``timeout``.

        Waiting on the main thread (a notebook cell) also shows the run's progress meanwhile: the
        updates the workers hand over run here, since the kernel's loop cannot while a cell blocks.
        """
        return self.session.wait(timeout, pump=self._on_main.run_pending, settled=self._on_main.empty)

    # --- models ------------------------------------------------------------------------------

    def _start(self, model) -> None:
        if isinstance(model, LoadedModel):
            self._fill_checkpoints(model.name)
            self.session.use(model)
            self._use(model)
            return
        spec = str(model) if model is not None else default_spec()
        self._fill_checkpoints(spec)
        self._load(spec)

    def _fill_checkpoints(self, selected: str) -> None:
        device = resolve_device("auto")
        precision = resolve_dtype("auto", device)
        free = available_memory(device)
        options = []
        candidates = int(self.num_candidates.value)  # the worst case for the candidates chosen now
        for c in KNOWN.values():
            need = load_footprint(c.parameters, precision, device.type, c.shape, candidates)
            verdict = f"fits ({format_gib(need)} of {format_gib(free)} free)" \
                if fits(c.parameters, precision, device.type, free, c.shape, candidates) else \
                f"too big here: needs {format_gib(need)}, {format_gib(free)} free"
            options.append((f"{c.name} · {c.parameters / 1e6:,.0f}M parameters · {verdict}", c.name))
        if selected not in KNOWN:
            options.append((f"{selected} · your checkpoint", selected))
        with self._quietly():
            self.checkpoint.options = options
            self.checkpoint.value = selected

    @_guarded
    def _on_checkpoint(self, change) -> None:
        if self._quiet or change["new"] is None:
            return
        self._load(change["new"], previous=change["old"])  # a model loaded before comes from load()'s cache at once

    def _load(self, spec: str, previous: str | None = None) -> None:
        self.load_bar.value, self.load_bar.bar_style = 0, "info"
        self.load_status.value = f"Loading {spec}…"
        self.session.load(spec, on_progress=self._on_load_progress, on_done=self._use,
                          on_error=lambda error: self._load_failed(spec, previous, error),
                          on_end=lambda: self._set_busy(False))
        self._set_busy(True)

    def _load_failed(self, spec: str, previous: str | None, error: Exception) -> None:
        self.load_bar.bar_style = "danger"
        self.load_status.value = f"Could not load {spec}"
        self.show_error(error)
        if previous is not None:
            with self._quietly():
                self.checkpoint.value = previous

    def _on_load_progress(self, stage: str) -> None:
        self.load_bar.value = _LOAD_STAGES.get(stage, 90)
        self.load_status.value = stage

    def _use(self, model: LoadedModel) -> None:
        self._show_model()
        self._set_busy(False)  # Generate is enabled once there is a model

    def _show_model(self) -> None:
        """The model line under the bar; a run's note there ("compiling for this GPU: ...") ends with the run."""
        if self.model is not None:
            self.load_bar.value, self.load_bar.bar_style = 100, "success"
            self.load_status.value = model_line(self.model)

    def _run_note(self, text: str) -> None:
        """A run's own note, under the model's bar until the run ends (a GPU's compile, said before it starts);
        one that says why the model now runs otherwise (fp32, no compile) stays in the message line too."""
        self.load_status.value = text
        if not passing_note(text):
            self.show_note(text)

    def _run_ended(self) -> None:
        self._show_model()
        self._set_busy(False)

    # --- controls ----------------------------------------------------------------------------

    @_guarded
    def _on_length_or_candidates(self, change) -> None:
        if self.running or self._quiet:
            return
        if change["owner"] is self.num_candidates:  # what fits depends on how many candidates a run writes
            self._fill_checkpoints(self.checkpoint.value)
        if self.model is not None and self.model.compile and self.mode.value == "Text":
            try:  # said now, not as a pause after Generate: a batch or a cache this model has not compiled
                ahead = compile_ahead(self.prompt.value.strip() or "Hello", self.params(), self.model)
            except BlogneoError:
                return  # a value the run itself will refuse, with its own message
            if ahead:
                self.show_note(f"The next run starts by {ahead}.")

    # --- generating --------------------------------------------------------------------------

    @_guarded
    def _on_generate(self, _button=None) -> None:
        if self.running or self.model is None:
            return  # a second click while a run is going does nothing
        run = self.snapshot()  # bad values raise ParameterError here, shown by _guarded
        self.message.value = ""
        if run.mode == "Whole post":
            view = PostView(run.sections, self._on_regenerate_section, self._on_save_post)
            self.session.write(run, on_event=view.event, on_done=lambda post, entry: self._show_post(view, post),
                               on_error=self.show_error, on_end=self._run_ended, on_note=self._run_note)
        else:
            view = CandidatesView(run.params.num_candidates, self._on_export, str(self.posts_dir))
            self.session.generate(run, on_texts=view.show_texts,
                                  on_done=lambda candidates, entry: self._show_candidates(view, candidates),
                                  on_error=self.show_error, on_end=self._run_ended, on_note=self._run_note)
        self._show(view)
        self._set_busy(True, stoppable=True)

    def _show_candidates(self, view: CandidatesView, candidates) -> None:
        view.show_results(candidates)
        self._refresh_history(select_last=True)

    @_guarded
    def _on_stop(self, _button=None) -> None:
        self.session.stop()
        self.stop.disabled = True

    def _show(self, view) -> None:
        self.view = view
        self.outputs.children = [view]

    # --- whole post --------------------------------------------------------------------------

    def _show_post(self, view: PostView, post: Post) -> None:
        view.show(post)
        left = defects_left(post)
        if left:
            self.show_note(left)
        self._refresh_history(select_last=True)

    @_guarded
    def _on_regenerate_section(self, index: int) -> None:
        if self.running or self.post is None or not isinstance(self.view, PostView):
            return
        view = self.view
        self.session.regenerate(  # Stop ends a rewrite too; the section stays as it was
            index, on_event=view.event, on_error=self.show_error, on_note=self._run_note,
            on_done=lambda part: self.show_note(f"Rewrote section {index + 1} with seed {part.seed}."),
            on_end=lambda: (view.show(self.post), self._run_ended()))
        self._set_busy(True, stoppable=True)
        view.set_busy(True)

    @_guarded
    def _on_save_post(self) -> None:
        path = self.session.save_post()
        self.show_note(f"Saved the post to {path}{_downloaded(offer_download(path))}")

    # --- export and history ------------------------------------------------------------------

    @_guarded
    def _on_export(self, index: int) -> None:
        path = self.session.export(index)
        self.show_note(f"Saved candidate {index + 1} to {path}{_downloaded(offer_download(path))}")

    @_guarded
    def _on_download_history(self, _button=None) -> None:
        if not self.history.path.exists():
            raise BlogneoError("The history is empty: nothing has run yet, so there is no file to download.")
        if offer_download(self.history.path):
            self.show_note(f"Offered the history, {self.history.path}, as a download.")
        else:
            self.show_note(f"The history, {self.history.path}, could not be offered as a download (see the warning): "
                           "download it from Colab's Files pane (left).")

    def _refresh_history(self, select_last: bool = False) -> None:
        entries = self.history.entries
        options = [(e.label(), i) for i, e in enumerate(entries)][::-1]  # newest first
        with self._quietly():
            self.history_list.options = options
            self.history_list.value = (len(entries) - 1) if (select_last and options) else None

    @_guarded
    def _on_restore(self, _button=None) -> None:
        restored = self.session.restore(self.history_list.value)  # checked before any control changes
        entry, post = restored.entry, restored.post
        self.show_entry(entry, restored.params)
        if post is not None:
            view = PostView(len(post.sections), self._on_regenerate_section, self._on_save_post)
            self._show(view)
            view.show(post)
            self.show_note(f"Restored the post from {entry.time}: Regenerate a section, or Save post.")
            return
        self._show_restored_texts(entry)

    def _show_restored_texts(self, entry: Entry) -> None:
        view = CandidatesView(len(entry.texts), self._on_export, str(self.posts_dir))
        self._show(view)
        for panel, text, reason in zip(view.panels, entry.texts, entry.finish_reasons, strict=False):
            panel.show_restored(text, reason, entry.time)
        self.show_note(f"Restored the run from {entry.time} (model {entry.model}). Generate to run it again.")


def _downloaded(offered: bool) -> str:
    """What a saved file's note adds when ``offer_download`` handed it to the browser (on Colab only)."""
    if not offered:
        return ""
    return (" and offered it as a download: Colab deletes this machine's files, posts and history included, "
            "when the runtime is recycled")
