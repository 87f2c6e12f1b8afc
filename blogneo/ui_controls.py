"""The studio's controls: every widget a writer sets, how they are laid out, and the ``Run`` they describe.

``Controls`` knows nothing of runs, models or history: ``blogneo.ui.Studio`` builds on it and wires its
buttons to a ``blogneo.session.Session``. Ranges, steps and labels of the sliders come from the one table
of fields (``blogneo.fields``).
"""

from __future__ import annotations

import contextlib
import functools
import html
import secrets

from .errors import BlogneoError, said

try:
    import ipywidgets as w
except ImportError as error:  # before anything heavier is imported, and before any model loads
    raise BlogneoError('blogneo.studio() needs ipywidgets, which this Python cannot import '
                       f'({error}). Install it with: pip install "ipywidgets>=7.7,<9", then restart the kernel and run '
                       'the cell again.') from error

from .fields import FIELD, MAX_CANDIDATES, MAX_SEED, POST_DEFAULTS, SLIDERS
from .files import on_colab
from .history import Entry
from .post import MAX_SECTIONS, WORDS
from .prompts import POST_TYPES, TONES
from .sampling import PRESETS, SamplingParams
from .session import MODES, Run


def _guarded(method):
    """Run a handler; show any error in the studio instead of raising it into the kernel."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        try:
            return method(self, *args, **kwargs)
        except Exception as error:  # noqa: BLE001 - the UI must survive anything
            self.show_error(error)

    return wrapper


class Controls(w.VBox):
    """The studio's widgets, as attributes (``.prompt``, ``.temperature``, ``.generate``...), laid out; what they
    describe (``snapshot``, ``params``); and setting them back from a history entry (``show_entry``)."""

    model = None  # what a Run is written with: the Studio's model

    def __init__(self):
        self._quiet = False  # True while code sets controls, so observers do not react
        full = w.Layout(width="100%")
        self.mode = w.ToggleButtons(options=list(MODES), value="Text",
                                    tooltips=["continue or answer the prompt", "write a post about the prompt"])
        self.sections = w.IntSlider(POST_DEFAULTS["sections"], min=1, max=MAX_SECTIONS, description="sections",
                                    layout=w.Layout(width="300px"))
        short = {"style": {"description_width": "50px"}, "layout": w.Layout(width="240px")}
        self.post_type = w.Dropdown(options=list(POST_TYPES), value=POST_DEFAULTS["post_type"],
                                    description="type", **short)
        self.tone = w.Combobox(options=list(TONES), value=POST_DEFAULTS["tone"], description="tone",
                               ensure_option=False, placeholder="or your own words", **short)
        self.words = w.IntSlider(POST_DEFAULTS["words"], min=WORDS[0], max=WORDS[1], step=10, description="words",
                                 **short)
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
        self.preset.observe(self._on_preset, names="value")
        self.mode.observe(self._on_mode, names="value")
        self.new_seed.on_click(self._on_new_seed)
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

    def show_error(self, error: Exception) -> None:
        self.message.value = f'<div class="blogneo-error" style="color:#b00020">⚠ {html.escape(said(error))}</div>'

    def show_note(self, text: str) -> None:
        self.message.value = f'<div class="blogneo-note" style="color:#555">{html.escape(text)}</div>'

    def _set_busy(self, busy: bool, stoppable: bool = False) -> None:
        self.generate.disabled = busy or self.model is None
        self.stop.disabled = not (busy and stoppable)
        self.checkpoint.disabled = busy
        self.restore.disabled = busy

    @contextlib.contextmanager
    def _quietly(self):
        """Set controls from code without the observers reacting, whatever happens meanwhile."""
        self._quiet = True
        try:
            yield
        finally:
            self._quiet = False

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
    def _on_new_seed(self, _button=None) -> None:
        self.seed.value = secrets.randbelow(MAX_SEED + 1)

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

    def show_entry(self, entry: Entry, params: SamplingParams) -> None:
        """Put a history entry's run back into the controls: its prompt, preset, sliders, seed, candidates and
        mode, and in the Whole post mode its sections, type, tone, words and bans."""
        with self._quietly():
            self.preset.value = entry.preset if entry.preset in PRESETS else "balanced"
            self.prompt.value = entry.prompt
            for field in SLIDERS:
                getattr(self, field).value = getattr(params, field)
            self.seed.value = entry.seed if entry.seed is not None else self.seed.value
        self.num_candidates.value = params.num_candidates  # what fits is shown again for it
        self.mode.value = entry.mode
        if entry.mode == "Whole post":
            self.sections.value, self.post_type.value, self.tone.value = entry.sections, entry.post_type, entry.tone
            self.words.value, self.banned.value = entry.words, ", ".join(entry.banned)
