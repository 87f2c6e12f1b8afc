"""The studio's "Whole post" view: the outline first, then each part as it streams, and a
Regenerate button per section. The studio (``blogneo.ui``) owns the threads; this only shows."""

from __future__ import annotations

import html
import time

import ipywidgets as w

from .display import prose_html
from .post import Post, PostEvent

_RENDER_EVERY = 0.1


class SectionBox(w.VBox):
    """One section: its ``heading`` and ``text`` (HTML) and its ``regenerate`` button."""

    def __init__(self, index: int, on_regenerate):
        self.heading, self.text = w.HTML(""), w.HTML("")
        self.text.add_class("blogneo-section")
        self.regenerate = w.Button(description="Regenerate", icon="refresh", disabled=True,
                                   tooltip="rewrite this section alone, with a new seed")
        self.regenerate.on_click(lambda _button: on_regenerate(index))
        super().__init__([self.heading, self.text, self.regenerate])


class PostView(w.VBox):
    """Shows a post while it is written, and after."""

    def __init__(self, sections: int, on_regenerate, on_save):
        self.header = w.HTML("<i>writing the title…</i>")
        self.outline = w.HTML("")
        self.introduction = w.HTML("")
        self.section_boxes = [SectionBox(i, on_regenerate) for i in range(sections)]
        self.conclusion = w.HTML("")
        self.save = w.Button(description="Save post", icon="save", disabled=True,
                             tooltip="save the post as Markdown with front matter")
        self.save.on_click(lambda _b: on_save())
        self._live: dict[str, str] = {}
        self._last = 0.0
        super().__init__([self.header, self.outline, self.introduction, *self.section_boxes, self.conclusion,
                          self.save], layout=w.Layout(width="100%", border="1px solid #ddd", padding="6px"))
        self.add_class("blogneo-post")

    def event(self, event: PostEvent) -> None:
        """Called from the writing thread for each PostEvent."""
        if event.kind == "start":
            self._live[event.step] = ""
        elif event.kind == "text" and event.candidate == 0:
            self._live[event.step] = self._live.get(event.step, "") + event.text
            if time.perf_counter() - self._last >= _RENDER_EVERY:
                self._show_live(event.step)
                self._last = time.perf_counter()
        elif event.kind == "done":
            self._live[event.step] = event.text
            self._show_live(event.step)

    def _show_live(self, step: str) -> None:
        text = self._live.get(step, "")
        if step == "title":
            self.header.value = f"<h2>{html.escape(text)}</h2>"
        elif step == "outline":
            items = "".join(f"<li>{html.escape(line.split('. ', 1)[-1])}</li>" for line in text.splitlines())
            self.outline.value = f"<b>Outline</b><ol>{items}</ol>"
        elif step == "introduction":
            self.introduction.value = prose_html(text)
        elif step.startswith("section "):
            index = int(step.split()[1]) - 1
            if index < len(self.section_boxes):
                self.section_boxes[index].text.value = prose_html(text)
        elif step == "conclusion":
            self.conclusion.value = "<h3>Conclusion</h3>" + prose_html(text)

    def show(self, post: Post) -> None:
        """The finished post, with its buttons enabled (a locked section's Regenerate stays off)."""
        tags = ", ".join(post.tag_list)
        self.header.value = (f"<h2>{html.escape(post.title.text)}</h2><p><i>{html.escape(post.description.text)}"
                             f"</i></p><p>Tags: {html.escape(tags)}</p>")
        self._live["outline"] = post.outline.text
        self._show_live("outline")
        self.introduction.value = prose_html(post.introduction.text)
        for box, section in zip(self.section_boxes, post.sections, strict=False):
            lock = " (locked)" if section.locked else ""
            box.heading.value = f"<h3>{html.escape(section.heading)}{lock}</h3>"
            box.text.value = prose_html(section.text)
            box.regenerate.disabled = section.locked
        self.conclusion.value = "<h3>Conclusion</h3>" + prose_html(post.conclusion.text)
        self.save.disabled = False

    def set_busy(self, busy: bool) -> None:
        for box in self.section_boxes:
            box.regenerate.disabled = busy
        self.save.disabled = busy
