"""The writing studio: an ipywidgets UI with streaming, Stop, candidates, history and export.

``studio()`` returns one widget that displays in JupyterLab, Colab (ipywidgets 7.7) and Voila.
Generation and loading run on worker threads, so the kernel stays free to handle clicks: Stop
works mid-run. Every handler catches its errors and shows them as a message in the UI, never
as a traceback, and leaves the controls usable.
"""

from __future__ import annotations

import contextlib
import functools
import html
import os
import secrets
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from .errors import BlogneoError

try:
    import ipywidgets as w
except ImportError as error:  # before anything heavier is imported, and before any model loads
    raise BlogneoError('blogneo.studio() needs ipywidgets, which this Python cannot import '
                       f'({error}). Install it with: pip install "ipywidgets>=7.7,<9", then restart the kernel and run '
                       'the cell again.') from error

from .catalog import KNOWN
from .fields import FIELD, MAX_CANDIDATES, MAX_SEED, SLIDERS
from .files import offer_download, on_colab, write_new
from .generation import Candidate, stream
from .history import Entry, History
from .loading import LoadedModel, default_spec, load
from .markdown import document, front_matter
from .memory import available_memory, fits, format_gib, load_footprint
from .post import MAX_SECTIONS, WORDS, Post, read_post, write_post
from .precision import resolve_device, resolve_dtype
from .prompts import POST_TYPES, TONES, check_prompt
from .sampling import PRESETS, SamplingParams
from .ui_candidates import CandidatesView
from .ui_post import PostView
from .ui_updates import MainThread

_LOAD_STAGES = {"checking memory": 10, "loading weights": 30, "ready": 100}  # "moving to ..." is 90
_RENDER_EVERY = 0.1  # seconds between streamed updates: smooth to read, light on the browser


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


@dataclass(frozen=True)
class Run:
    """Everything a run uses, read from the controls once, on the click that starts it.

    The worker gets this and never reads a control: moving a slider mid-run changes the next
    run, not this one, and its history entry records what it really used.
    """

    mode: str  # "Text" or "Whole post"
    prompt: str
    params: SamplingParams
    preset: str
    sections: int
    model: LoadedModel
    post_type: str = "opinion"  # the Whole post mode's controls
    tone: str = "friendly"
    words: int = 100
    banned: tuple[str, ...] = ()


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
    """The studio widget. Its controls are attributes, so code and tests can drive them."""

    def __init__(self, model: LoadedModel | str | None = None, *, history_path=None, posts_dir=None):
        self.model: LoadedModel | None = None
        self.history = History(history_path)
        self.posts_dir = Path(posts_dir or os.environ.get("BLOGNEO_POSTS") or "posts")
        self.candidates: list[Candidate] = []  # the latest run's results
        self.exported: list[Path] = []
        self.run: Run | None = None  # the latest run's settings, as it used them
        self.view: CandidatesView | PostView | None = None  # what the outputs area shows
        self.post: Post | None = None  # the latest whole post
        self._stream = None
        self._idle = threading.Event()
        self._idle.set()
        self._quiet = False  # True while code sets controls, so observers do not react
        self._loaded_models: dict[str, LoadedModel] = {}
        self._cancel = threading.Event()
        self._on_main = MainThread(on_error=self.show_error)  # workers change widgets only through this

        full = w.Layout(width="100%")
        self.mode = w.ToggleButtons(options=["Text", "Whole post"], value="Text",
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
        self.num_candidates.observe(self._on_candidates, names="value")
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
        if self.history.problem:
            self.show_error(BlogneoError(self.history.problem))
        self._start(model)

    # --- state -------------------------------------------------------------------------------

    @property
    def running(self) -> bool:
        return not self._idle.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until no run or load is going; True if it finished within ``timeout``.

        Waiting on the main thread (a notebook cell) also shows the run's progress meanwhile: the
        updates the workers hand over run here, since the kernel's loop cannot while a cell blocks.
        """
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            self._on_main.run_pending()
            if self._idle.is_set() and self._on_main.empty():
                return True
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                return False
            self._idle.wait(0.05 if left is None else min(0.05, left))

    def params(self) -> SamplingParams:
        """The SamplingParams the controls describe: the preset, with the sliders, seed and candidates on top."""
        return PRESETS[self.preset.value].replace(
            max_new_tokens=int(self.max_new_tokens.value),
            temperature=round(float(self.temperature.value), 3),
            top_k=int(self.top_k.value),
            top_p=round(float(self.top_p.value), 3),
            repetition_penalty=round(float(self.repetition_penalty.value), 3),
            no_repeat_ngram_size=int(self.no_repeat_ngram_size.value),
            seed=int(self.seed.value),
            num_candidates=int(self.num_candidates.value),
        )

    def snapshot(self) -> Run:
        """The run the controls describe now; bad values raise ParameterError (shown as a message)."""
        field = "topic" if self.mode.value == "Whole post" else "prompt"
        banned = tuple(p.strip() for p in self.banned.value.split(",") if p.strip())
        return Run(mode=self.mode.value, prompt=check_prompt(self.prompt.value, field), params=self.params(),
                   preset=self.preset.value, sections=int(self.sections.value), model=self.model,
                   post_type=self.post_type.value, tone=check_prompt(self.tone.value, "tone").strip(),
                   words=int(self.words.value), banned=banned)

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
        (self._idle.clear if busy else self._idle.set)()

    # --- models ------------------------------------------------------------------------------

    def _start(self, model) -> None:
        if isinstance(model, LoadedModel):
            self._loaded_models[model.name] = model
            self._fill_checkpoints(model.name)
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
        if change["new"] in self._loaded_models:
            self._use(self._loaded_models[change["new"]])
            return
        self._load(change["new"], previous=change["old"])

    def _load(self, spec: str, previous: str | None = None) -> None:
        self._set_busy(True)
        self.load_bar.value, self.load_bar.bar_style = 0, "info"
        self.load_status.value = f"Loading {spec}…"
        threading.Thread(target=self._load_worker, args=(spec, previous), daemon=True, name="blogneo-load").start()

    def _load_worker(self, spec: str, previous: str | None) -> None:
        try:
            model = load(spec, progress=lambda stage: self._on_main(self._on_load_progress, stage))
        except Exception as error:  # noqa: BLE001
            self._on_main(self._load_failed, spec, previous, error)
            return
        self._loaded_models[spec] = model
        self._on_main(self._use, model)

    def _load_failed(self, spec: str, previous: str | None, error: Exception) -> None:
        self.load_bar.bar_style = "danger"
        self.load_status.value = f"Could not load {spec}"
        self.show_error(error)
        if previous is not None:
            with self._quietly():
                self.checkpoint.value = previous
        self._set_busy(False)

    def _on_load_progress(self, stage: str) -> None:
        self.load_bar.value = _LOAD_STAGES.get(stage, 90)
        self.load_status.value = stage

    def _use(self, model: LoadedModel) -> None:
        self.model = model
        self._show_model()
        self._set_busy(False)

    def _show_model(self) -> None:
        """The model line under the bar; a run's note there ("compiling for this GPU: ...") ends with the run."""
        model = self.model
        self.load_bar.value, self.load_bar.bar_style = 100, "success"
        kind = "chat model: the prompt is a request" if model.chat else "base model: it continues the prompt"
        compiled = ", compiled" if model.compile else ""
        self.load_status.value = f"{model.name} on {model.device.type}, {model.precision}{compiled} ({kind})"

    def _run_note(self, text: str) -> None:
        """A run's own note (a GPU's compile, said before it starts), under the model's bar until the run ends."""
        self._on_main(setattr, self.load_status, "value", text)

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
    def _on_candidates(self, change) -> None:
        if not self.running:  # what fits depends on how many candidates a run writes
            self._fill_checkpoints(self.checkpoint.value)

    @_guarded
    def _on_new_seed(self, _button=None) -> None:
        self.seed.value = secrets.randbelow(MAX_SEED + 1)

    # --- generating --------------------------------------------------------------------------

    @_guarded
    def _on_generate(self, _button=None) -> None:
        if self.running or self.model is None:
            return  # a second click while a run is going does nothing
        run = self.snapshot()  # bad values raise ParameterError here, shown by _guarded
        self.run, self._cancel = run, threading.Event()
        self.message.value = ""
        if run.mode == "Whole post":
            self._start_post(run)
            return
        running = stream(run.prompt, run.params, run.model, progress=self._run_note)
        self._stream = running
        self.candidates = []
        self._show(CandidatesView(run.params.num_candidates, self._on_export, str(self.posts_dir)))
        self._set_busy(True, stoppable=True)
        threading.Thread(target=self._generate_worker, args=(run, running, self.view), daemon=True,
                         name="blogneo-ui").start()

    def _generate_worker(self, run: Run, running, view: CandidatesView) -> None:
        texts = [""] * run.params.num_candidates
        last = 0.0
        try:
            for chunk in running:
                texts[chunk.candidate] += chunk
                if time.perf_counter() - last >= _RENDER_EVERY:
                    self._on_main(view.show_texts, list(texts))
                    last = time.perf_counter()
            self._on_main(view.show_texts, list(texts))
            candidates = running.result()
            entry = Entry.of(run.prompt, run.model.name, run.preset, run.params, candidates)
            self._on_main(self._show_candidates, view, candidates, entry)
        except Exception as error:  # noqa: BLE001
            self._on_main(self.show_error, error)
        finally:
            self._stream = None
            self._on_main(self._run_ended)

    def _show_candidates(self, view: CandidatesView, candidates: list[Candidate], entry: Entry) -> None:
        self.history.add(entry)  # on the kernel's main thread, as every read of the history is; first, so kept
        self.candidates = candidates
        view.show_results(candidates)
        self._refresh_history(select_last=True)

    @_guarded
    def _on_stop(self, _button=None) -> None:
        self._cancel.set()
        running = self._stream  # read once: the worker sets it to None when it ends
        if running is not None:
            running.cancel()
        self.stop.disabled = True

    def _show(self, view) -> None:
        self.view = view
        self.outputs.children = [view]

    # --- whole post --------------------------------------------------------------------------

    def _start_post(self, run: Run) -> None:
        view = PostView(run.sections, self._on_regenerate_section, self._on_save_post)
        self._show(view)
        self._set_busy(True, stoppable=True)
        threading.Thread(target=self._post_worker, args=(run, view, self._cancel), daemon=True,
                         name="blogneo-ui").start()

    def _post_worker(self, run: Run, view: PostView, cancel: threading.Event) -> None:
        try:
            post = write_post(run.prompt, run.model, sections=run.sections, params=run.params,
                              post_type=run.post_type, tone=run.tone, words=run.words, banned=run.banned,
                              on_event=lambda event: self._on_main(view.event, event), cancel=cancel,
                              progress=self._run_note)
            entry = Entry(prompt=run.prompt, model=run.model.name, preset=run.preset, params=run.params.to_dict(),
                          texts=[post.to_markdown()], finish_reasons=["post"], mode=run.mode, sections=run.sections,
                          post_type=run.post_type, tone=run.tone, words=run.words, banned=list(run.banned))
            self._on_main(self._show_post, view, post, entry)
        except Exception as error:  # noqa: BLE001
            self._on_main(self.show_error, error)
        finally:
            self._on_main(self._run_ended)

    def _show_post(self, view: PostView, post: Post, entry: Entry | None = None) -> None:
        if entry is not None:
            self.history.add(entry)  # on the kernel's main thread, as every read of the history is; first, so kept
        self.post = post
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
        self._cancel = threading.Event()
        self._set_busy(True, stoppable=True)  # Stop ends a rewrite too; the section stays as it was
        self.view.set_busy(True)
        threading.Thread(target=self._regenerate_worker, args=(index, self.view, self._cancel), daemon=True,
                         name="blogneo-ui").start()

    def _regenerate_worker(self, index: int, view: PostView, cancel: threading.Event) -> None:
        try:
            [part] = self.post.regenerate(index, on_event=lambda event: self._on_main(view.event, event),
                                          cancel=cancel, progress=self._run_note)
            self._on_main(self.show_note, f"Rewrote section {index + 1} with seed {part.seed}.")
        except Exception as error:  # noqa: BLE001
            self._on_main(self.show_error, error)
        finally:
            self._on_main(view.show, self.post)
            self._on_main(self._run_ended)

    @_guarded
    def _on_save_post(self) -> None:
        path = self.post.save(self.posts_dir, download=False)
        self.exported.append(path)
        self.show_note(f"Saved the post to {path}{_downloaded(offer_download(path))}")

    # --- export and history ------------------------------------------------------------------

    @_guarded
    def _on_export(self, index: int) -> None:
        c, run = self.candidates[index], self.run
        meta = front_matter(_title(c.prompt), run.model, run.params, c.seed, prompt=c.prompt)
        body = c.text if run.model.chat else c.prompt + c.text  # a base model's text continues the prompt
        path = write_new(self.posts_dir, meta["title"], document(meta, body))
        self.exported.append(path)
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
        options = [(e.label(), i) for i, e in enumerate(self.history.entries)][::-1]  # newest first
        with self._quietly():
            self.history_list.options = options
            self.history_list.value = (len(self.history.entries) - 1) if (select_last and options) else None

    @_guarded
    def _on_restore(self, _button=None) -> None:
        if self.history_list.value is None:
            raise BlogneoError("Choose a run in the History list first.")
        entry = self.history.entries[self.history_list.value]
        params = entry.sampling_params()
        post = None
        if entry.mode not in self.mode.options or entry.post_type not in POST_TYPES:
            raise BlogneoError(f"This history entry's mode ({entry.mode!r}) or post type ({entry.post_type!r}) is not "
                               "one this studio has, so it cannot be restored.")
        if entry.mode == "Whole post":  # read back before any control changes: a bad entry changes nothing
            if self.model is None:
                raise BlogneoError("Wait for the model to load, then restore the post.")
            if entry.model != self.model.name:  # its front matter would name this model as the writer
                raise BlogneoError(f"This post was written with {entry.model}. Choose that model in the Model "
                                   "list, then Restore it, so that what Save post records is true.")
            post = read_post(entry.texts[0], self.model)
        with self._quietly():
            self.preset.value = entry.preset if entry.preset in PRESETS else "balanced"
        self.prompt.value = entry.prompt
        for field in SLIDERS:
            getattr(self, field).value = getattr(params, field)
        self.seed.value = entry.seed if entry.seed is not None else self.seed.value
        self.num_candidates.value = params.num_candidates
        self.mode.value = entry.mode
        if post is not None:
            self.sections.value, self.post_type.value, self.tone.value = entry.sections, entry.post_type, entry.tone
            self.words.value, self.banned.value = entry.words, ", ".join(entry.banned)
            view = PostView(len(post.sections), self._on_regenerate_section, self._on_save_post)
            self._show(view)
            self.post = post
            view.show(post)
            self.show_note(f"Restored the post from {entry.time}: Regenerate a section, or Save post.")
            return
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


def _title(prompt: str) -> str:
    first = prompt.strip().splitlines()[0] if prompt.strip() else "Untitled"
    return first if len(first) <= 80 else first[:79] + "…"

