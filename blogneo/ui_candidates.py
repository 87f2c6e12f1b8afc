"""The studio's "Text" view: one panel per candidate, side by side, each with its text, why it
finished, and an Export button. The studio (``blogneo.ui``) owns the threads; this only shows."""

from __future__ import annotations

import ipywidgets as w

from .display import prose_html
from .generation import Candidate

FINISH_LABELS = {"length": "length limit", "eos": "finished", "stop": "stop string", "cancelled": "stopped",
                 "time": "time limit"}


class CandidatePanel(w.VBox):
    """One candidate: ``title``, ``text`` (HTML), ``stats`` (HTML) and the ``export`` button."""

    def __init__(self, index: int, of: int, on_export, posts_dir: str):
        self.title = w.HTML(f"<b>Candidate {index + 1}</b>" if of > 1 else "<b>Your text</b>")
        self.text = w.HTML("", layout=w.Layout(width="100%"))
        self.text.add_class("blogneo-candidate")
        self.stats = w.HTML("<i>writing…</i>")
        self.stats.add_class("blogneo-stats")
        self.export = w.Button(description="Export", icon="save", disabled=True,
                               tooltip="save this candidate as Markdown in " + posts_dir)
        self.export.on_click(lambda _button: on_export(index))
        super().__init__([self.title, self.text, self.stats, self.export],
                         layout=w.Layout(flex="1 1 0", margin="0 8px 0 0", border="1px solid #ddd", padding="6px",
                                         width=f"{100 // of}%"))

    def show_text(self, text: str) -> None:
        self.text.value = prose_html(text)

    def show_result(self, c: Candidate) -> None:
        self.show_text(c.text)
        reason = FINISH_LABELS.get(c.finish_reason, c.finish_reason)
        self.stats.value = (f'<span class="blogneo-finish-{c.finish_reason}">{reason}</span> · '
                            f"{c.new_tokens} tokens · {c.tokens_per_second:.1f} tokens/s · seed {c.seed}")
        self.export.disabled = not c.text.strip()

    def show_restored(self, text: str, reason: str, when: str) -> None:
        self.show_text(text)
        self.stats.value = f"{FINISH_LABELS.get(reason, reason)} · from the run at {when}"


class CandidatesView(w.HBox):
    """``n`` candidate panels side by side; ``panels[i]`` is candidate ``i``."""

    def __init__(self, n: int, on_export, posts_dir: str):
        self.panels = [CandidatePanel(i, n, on_export, posts_dir) for i in range(n)]
        super().__init__(self.panels, layout=w.Layout(width="100%", align_items="stretch"))

    def show_texts(self, texts: list[str]) -> None:
        for panel, text in zip(self.panels, texts, strict=False):
            panel.show_text(text)

    def show_results(self, candidates: list[Candidate]) -> None:
        for panel, c in zip(self.panels, candidates, strict=False):
            panel.show_result(c)
