"""The writing studio: an ipywidgets UI with streaming, Stop, candidates, history and export.

``studio()`` returns one widget that displays in JupyterLab, Colab (ipywidgets 7.7) and Voila.
It is a view of a ``blogneo.session.Session``, which runs generation and loading on a worker thread,
so the kernel stays free to handle clicks: Stop works mid-run. Every handler catches its errors and
shows them as a message in the UI, never as a traceback, and leaves the controls usable.
"""

from __future__ import annotations

import contextlib
import functools
import html
import os
import secrets

from .errors import BlogneoError

try:
    import ipywidgets as w
except ImportError as error:  # before anything heavier is imported, and before any model loads
    raise BlogneoError('blogneo.studio() needs ipywidgets, which this Python cannot import '
                       f'({error}). Install it with: pip install "ipywidgets>=7.7,<9", then restart the kernel and run '
                       'the cell again.') from error

from .catalog import KNOWN
from .fields import FIELD, MAX_CANDIDATES, MAX_SEED, SLIDERS
from .files import offer_download, on_colab
from .generation import compile_ahead
from .history import Entry
from .loading import LoadedModel, default_spec
from .memory import available_memory, fits, format_gib, load_footprint
from .post import MAX_SECTIONS, WORDS, Post
from .precision import resolve_device, resolve_dtype
from .prompts import POST_TYPES, TONES
from .sampling import PRESETS, SamplingParams
from .session import MODES, Run, Session
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


def _guarded(method):
    """Run a handler; show any error in the studio instead of raising it into the kernel."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except Exception as error:  # noqa: BLE001 - the UI must survive anything
            self.show_error(error)

    return wrapper


class Studio(w.VBox):
    """The studio widget: a view of a ``blogneo.session.Session``. Its controls are attributes, so code and tests
    can drive them; the session (``.session``) holds the model, the runs and the history."""

    def __init__(self, model: LoadedModel | str | None = None, *, history_path=None, posts_dir=None):
        self._quiet = False  # True while code sets controls, so observers do not react
        self._on_main = MainThread(on_error=self.show_error)  # workers change widgets only through this
        self.session = Session(history_path, posts_dir, deliver=self._on_main)
        self.view: CandidatesView | PostView | None = None  # what the outputs area shows

        full = w.Layout(width="100%")
        self.mode = w.ToggleButtons(options=list(MODES), value="Text",
                                    tooltips=["continue or answer the prompt", "write a post about the prompt"])
        self.sections = w.IntSlider(4, min=1, max=MAX_SECTIONS, description="sections", layout=w.Layout(width="300px"))
        short = {"style": {"description_width": "50px"}, "layout": w.Layout(width="240px")}
        self.post_type = w.Dropdown(options=list(POST_TYPES), value="opinion", description="type", **short)
        self.tone = w.Combobox(options=list(TONES), value="friendly", description="tone", ensure_option=False,
                               placeholder="or your own words", **short)
        self.words = w.IntSlider(100, min=WORDS[0], max=WORDS[1], step=10, description="words", **short)
        self.banned = w.Text(placeholder="phrases the post may not contain, comma-separated", description="ban",
                             style={"description_width": "50px"}, layout=w.Layout(width="100%"))
        self.post_controls = w.VBox([w.HBox([self.post_type, self.tone, self.words]), self.banned],
                                    layout=w.Layout(display="none"))  # shown in the Whole post mode
        self.prompt = w.Textarea(placeholder="Start your post, or ask for one: e.g. 'Write a short blog post "
                                 "about why I bike to work.'", layout=w.Layout(width="100%", height="7em"))
        self.checkpoint = w.Dropdown(description="Model", layout=full, style={"description_width": "70px"})
        self.checkpoint.add_class("blogneo-model")  # what a page test finds it by
        self.load_bar = w.IntProgress(value=0, min=0, max=100, layout=w.Layout(width="30%"))
        self.load_status = w.Label("")
        self.preset = w.Dropdown(options=list(PRESETS), value="balanced", description="Preset",
                                 style={"description_width": "70px"})
        knob = {"style": {"description_width": "150px"}, "layout": w.Layout(width="420px")}
        for name in SLIDERS:  # bounds, steps and labels from the one table of fields (blogneo.fields)
            field = FIELD[name]
            low, high, step = field.slider
            slider = w.IntSlider if field.kind == "int" else w.FloatSlider
            setattr(self, name, slider(getattr(PRESETS["balanced"], name), min=low, max=high, step=step,
                                       description=field.label, **knob))
        self.seed = w.IntText(secrets.randbelow(MAX_SEED + 1), description="seed", style={"description_width": "40px"},
                              layout=w.Layout(width="210px"))
        self.new_seed = w.Button(description="new seed", icon="random", tooltip="draw a random seed")
        self.num_candidates = w.BoundedIntText(1, min=1, max=MAX_CANDIDATES, description="candidates",
                                               style={"description_width": "75px"}, layout=w.Layout(width="150px"))
        self.generate = w.Button(description="Generate", button_style="primary", icon="play", disabled=True)
        self.stop = w.Button(description="Stop", button_style="danger", icon="stop", disabled=True)
        self.message = w.HTML("")
        self.outputs = w.HBox([], layout=w.Layout(width="100%", align_items="stretch"))
        self.history_list = w.Dropdown(options=[], description="History", layout=w.Layout(width="70%"),
                                       style={"description_width": "70px"})
        self.restore = w.Button(description="Restore", icon="undo", tooltip="put this run back into the controls")
        # Colab recycles its machine, history file included: there the history can be downloaded too
        self.download_history = w.Button(description="Download", icon="download", tooltip="the history file",
                                         layout=w.Layout(display=None if on_colab() else "none"))

        self._apply_preset("balanced")
        self._refresh_history()
        self.preset.observe(self._on_preset, names="value")
        self.checkpoint.observe(self._on_checkpoint, names="value")
        self.num_candidates.observe(self._on_length_or_candidates, names="value")
        self.max_new_tokens.observe(self._on_length_or_candidates, names="value")
        self.new_seed.on_click(self._on_new_seed)
        self.generate.on_click(self._on_generate)
        self.stop.on_click(self._on_stop)
        self.restore.on_click(self._on_restore)
        self.download_history.on_click(self._on_download_history)
        self.mode.observe(self._on_mode, names="value")

        super().__init__([
            w.HBox([self.mode, self.sections]),
            self.post_controls,
            self.prompt,
            w.HBox([self.checkpoint], layout=full),
            w.HBox([self.load_bar, self.load_status]),
            w.HBox([w.VBox([self.preset, self.max_new_tokens, self.temperature, self.top_k]),
                    w.VBox([self.top_p, self.repetition_penalty, self.no_repeat_ngram_size])]),
            w.HBox([self.seed, self.new_seed, self.num_candidates]),
            w.HBox([self.generate, self.stop]),
            self.message,
            self.outputs,
            w.HBox([self.history_list, self.restore, self.download_history]),
        ], layout=w.Layout(width="100%"))
        self.add_class("blogneo-studio")
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

    def params(self) -> SamplingParams:
        """The SamplingParams the controls describe: the preset, with the sliders, seed and candidates on top."""
        return self.snapshot(check=False).params

    def snapshot(self, check: bool = True) -> Run:
        """The run the controls describe now; bad values raise ParameterError (shown as a message)."""
        prompt = self.prompt.value if check else "-"  # params() alone reads no text
        return Run.of(self.model, self.mode.value, prompt, self.preset.value,
                      {name: getattr(self, name).value for name in SLIDERS}, self.seed.value,
                      self.num_candidates.value, self.sections.value, self.post_type.value,
                      self.tone.value if check else "-", self.words.value, self.banned.value)

    def show_error(self, error: Exception) -> None:
        if isinstance(error, BlogneoError):
            text = str(error)
        else:
            text = f"Something went wrong: {type(error).__name__}: {error}"
        self.message.value = f'<div class="blogneo-error" style="color:#b00020">⚠ {html.escape(text)}</div>'

    def show_note(self, text: str) -> None:
        self.message.value = f'<div class="blogneo-note" style="color:#555">{html.escape(text)}</div>'

    def _set_busy(self, busy: bool, stoppable: bool = False) -> None:
        self.generate.disabled = busy or self.model is None
        self.stop.disabled = not (busy and stoppable)
        self.checkpoint.disabled = busy
        self.restore.disabled = busy

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

    @contextlib.contextmanager
    def _quietly(self):
        """Set controls from code without the observers reacting, whatever happens meanwhile."""
        self._quiet = True
        try:
            yield
        finally:
            self._quiet = False

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
        model = self.model
        if model is None:
            return
        self.load_bar.value, self.load_bar.bar_style = 100, "success"
        kind = "chat model: the prompt is a request" if model.chat else "base model: it continues the prompt"
        compiled = ", compiled" if model.compile else ""
        self.load_status.value = f"{model.name} on {model.device.type}, {model.precision}{compiled} ({kind})"

    def _run_note(self, text: str) -> None:
        """A run's own note (a GPU's compile, said before it starts), under the model's bar until the run ends."""
        self.load_status.value = text

    def _run_ended(self) -> None:
        self._show_model()
        self._set_busy(False)

    # --- controls ----------------------------------------------------------------------------

    @_guarded
    def _on_preset(self, change) -> None:
        if not self._quiet:
            self._apply_preset(change["new"])

    def _apply_preset(self, name: str) -> None:
        preset = PRESETS[name]
        for field in SLIDERS:
            getattr(self, field).value = getattr(preset, field)

    @_guarded
    def _on_mode(self, change) -> None:
        self.post_controls.layout.display = "" if change["new"] == "Whole post" else "none"

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

    @_guarded
    def _on_new_seed(self, _button=None) -> None:
        self.seed.value = secrets.randbelow(MAX_SEED + 1)

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
        defects = post.defects()  # what the retries could not avoid: named, never hidden
        if defects:
            self.show_note(f"{len(defects)} defect(s) left: " + "; ".join(map(str, defects)) +
                           ". Regenerate those sections, or try another seed.")
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
        entry, params, post = restored.entry, restored.params, restored.post
        with self._quietly():
            self.preset.value = entry.preset if entry.preset in PRESETS else "balanced"
            self.prompt.value = entry.prompt
            for field in SLIDERS:
                getattr(self, field).value = getattr(params, field)
            self.seed.value = entry.seed if entry.seed is not None else self.seed.value
        self.num_candidates.value = params.num_candidates  # what fits is shown again for it
        self.mode.value = entry.mode
        if post is not None:
            self.sections.value, self.post_type.value, self.tone.value = entry.sections, entry.post_type, entry.tone
            self.words.value, self.banned.value = entry.words, ", ".join(entry.banned)
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
