"""A content calendar: many posts from a CSV or JSONL file, resumable, in this process or on Ray Data.

Each row is one post's recipe (``COLUMNS``); only ``topic`` is required. Rows are checked before
any model loads: an unknown column stops the run before it starts, a bad row is reported with its
line number and the others go on. Each post is written atomically to ``<out>/<topic slug>.md``
with ``write_post``'s front matter plus ``recipe_hash``; a run finds the posts an earlier run
wrote with the same recipe and skips them, so a run stopped any way at all (Ctrl-C, SIGTERM,
SIGKILL) resumes where it stopped. A file there with another recipe, or none (written by hand),
is never overwritten: its row fails and says so. ``batch-report.json`` beside the posts says what
happened to every row.

In this process (the default) the model loads once and the rows are written in order. With
``ray=True`` the same rows run on Ray Data: ``map_batches`` over a class that loads the model once
per worker, through ``blogneo.load``, so each worker gets its device's defaults. On a cluster,
``out`` must be a path every worker can write (a shared file system).
"""

from __future__ import annotations

import csv
import dataclasses
import hashlib
import json
import time
from dataclasses import dataclass
from pathlib import Path

from .errors import BlogneoError, ParameterError
from .fields import POST_DEFAULTS
from .files import create, slugify
from .markdown import document, read
from .post import check_settings
from .sampling import PRESETS

#: The columns a calendar may have; ``topic`` is the one it must.
COLUMNS = ("topic", "tone", "post_type", "sections", "words", "preset", "seed", "model")
REPORT = "batch-report.json"


@dataclass(frozen=True)
class Row:
    """One post of a calendar, checked: its recipe and the line it came from."""

    line: int
    topic: str
    tone: str = POST_DEFAULTS["tone"]
    post_type: str = POST_DEFAULTS["post_type"]
    sections: int = POST_DEFAULTS["sections"]
    words: int = POST_DEFAULTS["words"]
    preset: str = "balanced"
    seed: int | None = None  # None: one derived from the recipe, so that a rerun writes the same post
    model: str | None = None  # None: the run's model

    def recipe(self) -> dict:
        fields = dataclasses.asdict(self)
        del fields["line"]
        if fields["seed"] is None:
            fields["seed"] = int(hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:8], 16)
        return fields

    def recipe_hash(self, revision: str) -> str:
        """What identifies the post this row writes: its recipe and the weights (``revision``) that write it."""
        text = json.dumps({**self.recipe(), "model": revision}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    @property
    def file_name(self) -> str:
        return f"{slugify(self.topic)}.md"


def read_calendar(path: str | Path) -> tuple[list[Row], list[dict]]:
    """(rows that can be written, failures) from a ``.csv`` or ``.jsonl`` calendar.

    A failure is ``{"line", "topic", "status": "failed", "error"}``. Lines count from 1, the CSV
    header being line 1. Nothing here loads a model.

    Raises:
        ParameterError: the file has a column that is not in ``COLUMNS``, or no ``topic`` column.

    Example:
        >>> _ = Path("calendar.csv").write_text("topic,sections\\nBaking bread,1\\n,2\\n")
        >>> rows, failures = read_calendar("calendar.csv")
        >>> rows[0].topic, [f["line"] for f in failures]
        ('Baking bread', [3])
    """
    path = Path(path).expanduser()
    if path.suffix.lower() not in (".csv", ".jsonl"):
        raise ParameterError("calendar", f"{path.name}: a calendar is a .csv or a .jsonl file, one post per row.")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as error:
        raise BlogneoError(f"Cannot read the calendar {path}: {error.strerror or error}.") from error
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(text.splitlines())
        records = [(n, {k: v for k, v in r.items() if v not in (None, "")}) for n, r in enumerate(reader, 2)]
        columns = set(reader.fieldnames or ())
    else:
        records = []
        for n, line in enumerate(text.splitlines(), 1):
            if line.strip():
                try:
                    records.append((n, json.loads(line)))
                except json.JSONDecodeError as error:
                    records.append((n, {"__error__": f"not JSON: {error.msg}"}))
        columns = {k for _, r in records for k in r if k != "__error__"}
    unknown = sorted(columns - set(COLUMNS))
    if unknown:
        raise ParameterError("calendar", f"{path.name} has columns blogneo does not know: {', '.join(unknown)}. "
                                         f"Use only {', '.join(COLUMNS)}.")
    if "topic" not in columns:
        raise ParameterError("calendar", f"{path.name} has no topic column: each row needs a topic.")
    rows, failures = [], []
    for line, record in records:
        try:
            rows.append(_row(line, record))
        except (BlogneoError, ValueError, TypeError) as error:
            failures.append({"line": line, "topic": str(record.get("topic", "")), "status": "failed",
                             "error": str(error)})
    return rows, failures


def _row(line: int, record: dict) -> Row:
    if "__error__" in record:
        raise ParameterError("calendar", record["__error__"])
    fields = {"line": line, "topic": "", **{k: (v.strip() if isinstance(v, str) else v) for k, v in record.items()}}
    for name in ("sections", "words", "seed"):
        if isinstance(fields.get(name), str):
            try:
                fields[name] = int(fields[name])
            except ValueError:
                raise ParameterError(name, f"{name}={fields[name]!r} is not a whole number.") from None
    row = Row(**fields)
    tone = check_settings(row.topic, row.sections, row.post_type, row.tone, row.words)
    if row.preset not in PRESETS:
        raise ParameterError("preset", f"preset={row.preset!r} is not one we know: use one of {', '.join(PRESETS)}.")
    if row.seed is not None and (isinstance(row.seed, bool) or not 0 <= row.seed < 2**32):
        raise ParameterError("seed", f"seed={row.seed!r} is out of range: use from 0 to {2**32 - 1}.")
    return dataclasses.replace(row, topic=row.topic.strip(), tone=tone)


def write_row(row: Row, model, out: Path) -> dict:
    """Write one row's post into ``out`` unless a post with its recipe is there: the row's report entry."""
    from .post import write_post
    from .sampling import resolve_params

    started = time.perf_counter()
    entry = {"line": row.line, "topic": row.topic, "file": row.file_name}
    digest = row.recipe_hash(model.revision)
    path = out / row.file_name
    if path.exists():
        meta, _ = read(path.read_text(encoding="utf-8"))
        if meta.get("recipe_hash") == digest:
            return {**entry, "status": "skipped", "error": None, "seconds": 0.0, "tokens": 0}
        return {**entry, "status": "failed", "seconds": 0.0, "tokens": 0,
                "error": f"{path.name} exists, written by hand or with another recipe; it is kept. Move it away "
                         "or change the topic to write this row."}
    recipe = row.recipe()
    try:
        params = resolve_params(recipe["preset"]).replace(seed=recipe["seed"])
        post = write_post(row.topic, model, sections=row.sections, params=params, post_type=row.post_type,
                          tone=row.tone, words=row.words)
        meta, body = read(post.to_markdown())
        meta["recipe_hash"] = digest
        create(path, document(meta, body))
    except FileExistsError:  # another worker wrote the same row meanwhile
        return {**entry, "status": "skipped", "error": None, "seconds": 0.0, "tokens": 0}
    except Exception as error:  # noqa: BLE001 - a row that fails is reported; the others go on
        return {**entry, "status": "failed", "error": f"{type(error).__name__}: {error}",
                "seconds": round(time.perf_counter() - started, 2), "tokens": 0}
    tokens = len(model.tokenizer(post.body(), add_special_tokens=False)["input_ids"])
    return {**entry, "status": "written", "error": None, "seconds": round(time.perf_counter() - started, 2),
            "tokens": tokens}


class _Worker:
    """Ray Data's pattern for a model: loaded once per worker, then called with batches of rows."""

    def __init__(self, model: str | None, out: str):
        from .loading import load

        self.model, self.out = load(model), Path(out)

    def __call__(self, batch: dict) -> dict:
        import os

        from .loading import load

        rows = [Row(**json.loads(r)) for r in batch["row"]]
        entries = [write_row(r, load(r.model) if r.model else self.model, self.out) for r in rows]
        return {"entry": [json.dumps({**e, "worker": os.getpid()}) for e in entries]}


def write_calendar(calendar: str | Path, out: str | Path = "posts", model=None, *, ray: bool = False,
                   ray_address: str | None = None, workers: int = 1, cpus_per_worker: float = 1,
                   gpus_per_worker: float = 0, progress: bool = True) -> dict:
    """Write every row of ``calendar`` into ``out``; the report, also saved as ``out/batch-report.json``.

    ``model`` is the model for rows that name none: a name, a path, a LoadedModel, or None for
    ``blogneo.load()``'s default. With
    ``ray=True`` the rows run on Ray Data with ``workers`` workers of ``cpus_per_worker`` CPUs and
    ``gpus_per_worker`` GPUs each, on a local Ray (``ray.init()``) or the cluster at ``ray_address``
    (``"auto"``, ``"ray://host:10001"``).

    Example:
        >>> _ = Path("calendar.csv").write_text("topic,sections\\nBaking bread,1\\n,2\\n")
        >>> report = write_calendar("calendar.csv", "posts", model, progress=False)
        >>> [r["status"] for r in report["rows"]], report["written"]
        (['written', 'failed'], 1)
    """
    rows, failures = read_calendar(calendar)  # before any model loads
    if rows and not (isinstance(workers, int) and workers >= 1):
        raise ParameterError("workers", f"workers={workers!r}: use 1 or more.")
    out = Path(out).expanduser().resolve()
    out.mkdir(parents=True, exist_ok=True)
    for stale in out.glob(".blogneo-*.tmp"):  # what a killed run left half-written; its post was never linked
        stale.unlink(missing_ok=True)
    started = time.perf_counter()
    entries = (_on_ray(rows, out, model, ray_address, workers, cpus_per_worker, gpus_per_worker, progress) if ray
               else _in_process(rows, out, model, progress)) if rows else []
    seconds = time.perf_counter() - started
    report = _report(sorted(entries + failures, key=lambda e: e["line"]), seconds, "ray" if ray else "in-process",
                     workers if ray else 1)
    (out / REPORT).write_text(json.dumps(report, indent=1) + "\n", encoding="utf-8")
    return report


def _in_process(rows: list[Row], out: Path, model: str | None, progress: bool) -> list[dict]:
    import os

    from tqdm.auto import tqdm

    from .loading import loaded

    default = loaded(model)
    entries = []
    for row in tqdm(rows, desc="posts", unit="post", disable=not progress):
        entries.append({**write_row(row, loaded(row.model) if row.model else default, out), "worker": os.getpid()})
    return entries


def _on_ray(rows, out, model, address, workers, cpus, gpus, progress) -> list[dict]:
    try:
        import ray
        import ray.data
    except ImportError:
        raise BlogneoError("--ray needs Ray Data: pip install 'ray[data]>=2.40' (make setup installs it).") from None
    import logging

    if not ray.is_initialized():
        ray.init(address=address, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
    logging.getLogger("ray.data").setLevel(logging.WARNING)  # its plan and progress lines; the bar stays
    ray.data.DataContext.get_current().enable_progress_bars = progress
    spec = getattr(model, "name", model)  # a LoadedModel stays here; each worker loads its own by name
    items = [{"row": json.dumps(dataclasses.asdict(r))} for r in rows]
    data = ray.data.from_items(items, override_num_blocks=len(items)).map_batches(
        _Worker, fn_constructor_kwargs={"model": spec, "out": str(out)}, batch_size=1,
        compute=ray.data.ActorPoolStrategy(size=workers), num_cpus=cpus, num_gpus=gpus)
    return [json.loads(r["entry"]) for r in data.take_all()]


def _report(entries: list[dict], seconds: float, engine: str, workers: int) -> dict:
    written = [e for e in entries if e["status"] == "written"]
    by_worker: dict = {}
    for e in written:
        tokens, busy = by_worker.get(e["worker"], (0, 0.0))
        by_worker[e["worker"]] = (tokens + e["tokens"], busy + e["seconds"])
    return {
        "engine": engine, "workers": workers, "seconds": round(seconds, 1),
        "written": len(written), "skipped": sum(e["status"] == "skipped" for e in entries),
        "failed": sum(e["status"] == "failed" for e in entries),
        "posts_per_hour": round(len(written) * 3600 / seconds, 1) if written and seconds else 0.0,
        "tokens_per_second_per_worker": {str(w): round(t / s, 1) for w, (t, s) in by_worker.items() if s},
        "rows": entries,
    }


__all__ = ["COLUMNS", "REPORT", "Row", "read_calendar", "write_calendar", "write_row"]
