"""The studio's history of runs, kept on disk so that restarting the kernel loses nothing.

One JSON file, rewritten atomically after each run: a crash mid-write leaves the previous
version, never a half-written file. A file that cannot be read is set aside, not deleted.
"""

from __future__ import annotations

import dataclasses
import json
import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

from .files import replace_atomically
from .sampling import SamplingParams

FORMAT = 2  # the file's layout; a file in another (a newer blogneo's) is set aside, never misread
READS = (1, 2)  # 1: before an entry kept its mode, sections, post type, tone, words and bans (their defaults)


@dataclass(frozen=True)
class Entry:
    """One run: enough to see it again and to repeat it."""

    prompt: str
    model: str
    preset: str
    params: dict  # every SamplingParams field, seed included
    texts: list[str]  # the candidates' texts; a whole post's Markdown, front matter and all
    finish_reasons: list[str]
    time: str = field(default_factory=lambda: time.strftime("%Y-%m-%d %H:%M:%S"))
    # the rest of the run, so Restore brings it back as it was (defaults: what files written before them meant)
    mode: str = "Text"  # or "Whole post"
    sections: int = 4
    post_type: str = "opinion"
    tone: str = "friendly"
    words: int = 100
    banned: list[str] = field(default_factory=list)

    @property
    def seed(self) -> int | None:
        return self.params.get("seed")

    def sampling_params(self) -> SamplingParams:
        return SamplingParams(**self.params)

    def label(self) -> str:
        first_line = self.prompt.strip().splitlines()[0] if self.prompt.strip() else "(empty)"
        short = first_line if len(first_line) <= 40 else first_line[:39] + "…"
        return f"{self.time[11:16]} · seed {self.seed} · {short}"


class History:
    """The newest ``limit`` runs, oldest first, stored in ``path``."""

    def __init__(self, path: str | os.PathLike | None = None, limit: int = 200):
        self.path = Path(path) if path is not None else default_path()
        self.limit = limit
        self.entries: list[Entry] = []
        self.problem: str | None = None  # set when an unreadable file was set aside
        self._lock = threading.Lock()  # one writer at a time; readers see the old list or the new, never half
        self._read()

    def add(self, entry: Entry) -> None:
        """Keep ``entry`` after the file's own entries: another studio on the same file (a second notebook, the
        Gradio app) may have added some since this one read it, and none is lost."""
        with self._lock:
            self.entries = (self._on_disk() + [entry])[-self.limit:]
            data = {"format": FORMAT, "entries": [dataclasses.asdict(e) for e in self.entries]}
            replace_atomically(self.path, json.dumps(data, ensure_ascii=False, indent=1))

    def _on_disk(self) -> list[Entry]:
        """The file's entries now; this history's own when it cannot be read (set aside at the start, or gone)."""
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if data.get("format") in READS:
                return [Entry(**e) for e in data["entries"]]
        except (OSError, ValueError, KeyError, TypeError):
            pass
        return self.entries

    def _read(self) -> None:
        if not self.path.exists():
            return
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
            if data.get("format") not in READS:
                raise ValueError(f"it is in format {data.get('format')!r}; this blogneo reads formats "
                                 f"{', '.join(map(str, READS))}")
            self.entries = [Entry(**e) for e in data["entries"]][-self.limit:]
        except (OSError, ValueError, KeyError, TypeError) as error:
            aside = self.path.with_name(f"{self.path.name}.unreadable-{time.strftime('%Y%m%d-%H%M%S')}")
            try:
                os.replace(self.path, aside)
                where = f"it was kept as {aside.name}"
            except OSError:  # cannot move it: leave it alone and write the new history beside it
                self.path = self.path.with_name(f"{self.path.stem}-new{self.path.suffix}")
                where = f"it was left as it is, and the new history goes to {self.path.name}"
            why = str(error) if "format" in str(error) else type(error).__name__
            self.problem = (f"The history file {self.path} could not be read ({why}); "
                            f"{where}, and a new history starts.")


def default_path() -> Path:
    """$BLOGNEO_HISTORY, else history.json in the user's data folder (e.g. ~/.local/share/blogneo)."""
    return Path(os.environ.get("BLOGNEO_HISTORY") or Path(platformdirs.user_data_dir("blogneo")) / "history.json")
