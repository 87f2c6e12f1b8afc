"""The tutorial's Gradio app, done on the studio's core: ``blogneo.gradio_app()`` and ``blogneo app --gradio``.

The tutorial this course replaces ends with ``gr.Interface(fn=generate, ...)`` and ``interface.launch()``.
This is that app with the studio's Text and Whole post modes: streaming, Stop, candidates, presets, and the
Markdown exported to ``posts/`` and offered as a download. It is a view of a ``blogneo.session.Session``,
like the notebook studio: the controls are read into a ``Run`` and the session runs it, so no rule of a run
is written here. One run at a time, whoever clicks: a second Generate waits its turn, and Stop stops only
the run of the page that started it.

It needs Gradio 6 (Colab's preinstall; elsewhere ``pip install "gradio>=6.24,<7"``, which ``make setup`` does).
"""

from __future__ import annotations

import contextlib
import io
import os
import queue
import secrets
import sys
from collections.abc import Callable

from .errors import BlogneoError, said

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")  # no usage reports from a writer's machine
try:
    import gradio as gr
except ImportError as error:  # before anything heavier is imported, and before any model loads
    raise BlogneoError(f'blogneo.gradio_app() needs Gradio, which this Python cannot import ({error}). Install '
                       'it with: pip install "gradio>=6.24,<7", then run it again.') from error

from .fields import FIELD, MAX_CANDIDATES, MAX_SEED, POST_DEFAULTS, SLIDERS
from .generation import passing_note
from .interrupts import held, wait
from .loading import LoadedModel, loaded
from .post import MAX_SECTIONS, WORDS, PostEvent
from .prompts import POST_TYPES, TONES
from .sampling import PRESETS
from .session import MODES, Run, Session, _whole, defects_left, model_line

_END = object()


def gradio_app(model: LoadedModel | str | None = None, *, history_path=None, posts_dir=None) -> gr.Blocks:
    """The writing studio as a Gradio app; ``.launch()`` it, as the tutorial did.

    Gradio hands out files only from the working folder and its own temporary one: with ``posts_dir`` elsewhere,
    launch with ``allowed_paths=[posts_dir]`` (``blogneo app --gradio`` does) so that Export's download works.

    Args:
        model: a LoadedModel, a spec to load now, or None for the default (GPT-Neo-125M, or ``embedded``
            offline).
        history_path: where runs are kept (default: ``$BLOGNEO_HISTORY`` or the user data folder).
        posts_dir: where Export writes Markdown (default: ``$BLOGNEO_POSTS`` or ``posts/``).

    Example:
        >>> app = blogneo.gradio_app(model)
        >>> type(app).__name__
        'Blocks'
    """
    session = Session(history_path, posts_dir)  # reports reach the handlers on the worker: Gradio streams them
    session.use(loaded(model))
    app = _build(session)
    app.session = session  # serve() lets Gradio hand out the files in its posts folder
    return app


def _build(session: Session) -> gr.Blocks:
    owner: dict[str, str | None] = {"page": None}  # the page whose run is going: its Stop is the one that counts
    with gr.Blocks(title="blogneo studio", analytics_enabled=False) as app:
        gr.Markdown(f"## blogneo studio\n{model_line(session.model)}")
        mode = gr.Radio(list(MODES), value="Text", label="Mode", elem_id="blogneo-mode")
        prompt = gr.Textbox(label="Prompt", lines=4, elem_id="blogneo-prompt",
                            placeholder="Start your post, or ask for one: e.g. 'Write a short blog post about why "
                                        "I bike to work.'")
        with gr.Row(visible=False) as post_controls:  # the Whole post mode's
            sections = gr.Slider(1, MAX_SECTIONS, value=POST_DEFAULTS["sections"], step=1, label="sections")
            post_type = gr.Dropdown(list(POST_TYPES), value=POST_DEFAULTS["post_type"], label="type")
            tone = gr.Dropdown(list(TONES), value=POST_DEFAULTS["tone"], label="tone", allow_custom_value=True)
            words = gr.Slider(WORDS[0], WORDS[1], value=POST_DEFAULTS["words"], step=10, label="words")
            banned = gr.Textbox(label="ban", placeholder="phrases the post may not contain, comma-separated")
        with gr.Row():
            preset = gr.Dropdown(list(PRESETS), value="balanced", label="Preset")
            seed = gr.Number(secrets.randbelow(MAX_SEED + 1), label="seed", precision=0, minimum=0,
                             maximum=MAX_SEED)
            candidates = gr.Number(1, label="candidates", precision=0, minimum=1, maximum=MAX_CANDIDATES)
        with gr.Row():  # bounds, steps and labels from the one table of fields (blogneo.fields)
            knobs = [gr.Slider(*FIELD[name].slider[:2], value=getattr(PRESETS["balanced"], name),
                               step=FIELD[name].slider[2], label=FIELD[name].label) for name in SLIDERS]
        with gr.Row():
            generate = gr.Button("Generate", variant="primary", elem_id="blogneo-generate")
            stop = gr.Button("Stop", variant="stop", elem_id="blogneo-stop")
        status = gr.Markdown("", elem_id="blogneo-status")
        output = gr.Textbox(label="Text", lines=14, interactive=False, elem_id="blogneo-output")
        with gr.Row():
            which = gr.Number(1, label="candidate to export", precision=0, minimum=1, maximum=MAX_CANDIDATES)
            export = gr.Button("Export Markdown", elem_id="blogneo-export")
        download = gr.File(label="Markdown", interactive=False, elem_id="blogneo-download")

        def run_it(request: gr.Request, mode, prompt, preset, seed, candidates, sections, post_type, tone, words,
                   banned, *values):
            try:
                run = Run.of(session.model, mode, prompt, preset, dict(zip(SLIDERS, values, strict=True)), seed,
                             candidates, sections, post_type, tone, words, banned)
                yield from _stream(session, run, lambda: owner.update(page=_page(request)))
            except Exception as error:  # noqa: BLE001 - said on the page, as the notebook studio says it
                raise gr.Error(said(error), print_exception=not isinstance(error, BlogneoError)) from None

        def stop_it(request: gr.Request):
            if owner["page"] == _page(request):  # another page's Stop leaves this run alone
                session.stop()

        def export_it(index):
            try:
                if session.run is not None and session.run.mode == "Whole post":
                    path = session.save_post()
                else:
                    path = session.export(_whole(index or 1, "candidate") - 1)
            except Exception as error:  # noqa: BLE001
                raise gr.Error(said(error), print_exception=not isinstance(error, BlogneoError)) from None
            return str(path), f"Saved to {path}"

        def preset_chosen(name):
            return [getattr(PRESETS[name], field) for field in SLIDERS]

        mode.change(lambda m: gr.update(visible=m == "Whole post"), mode, post_controls)
        preset.change(preset_chosen, preset, knobs)
        generate.click(run_it, [mode, prompt, preset, seed, candidates, sections, post_type, tone, words, banned,
                                *knobs], [output, status], concurrency_limit=1)
        stop.click(stop_it, None, None, concurrency_limit=None, queue=False)  # never behind the run it stops
        export.click(export_it, which, [download, status])
    return app


def _page(request) -> str | None:
    return getattr(request, "session_hash", None)


def _stream(session: Session, run: Run, started: Callable[[], None] = lambda: None):
    """(text, status) as the run goes: the candidates' texts, or the post's parts as they are written. Every
    second without news it yields again, so a page that went away is noticed, and its run stopped."""
    reports: queue.SimpleQueue = queue.SimpleQueue()
    put = reports.put
    callbacks = {"on_done": lambda *result: put(("done", result)), "on_error": lambda error: put(("error", error)),
                 "on_end": lambda: put(_END), "on_note": lambda text: put(("note", text))}
    parts: dict[str, str] = {}
    if run.mode == "Text":
        session.generate(run, on_texts=lambda texts: put(("texts", texts)), **callbacks)
    else:
        session.write(run, on_event=lambda event: put(("event", event)), **callbacks)
    started()
    text, status, error, notes = "", "writing…", None, []
    try:
        while True:
            try:
                report = reports.get(timeout=1)
            except queue.Empty:
                yield text, status
                continue
            if report is _END:
                break
            what, value = report
            if what == "texts":
                text = _candidates(value)
            elif what == "event":
                text = _post_so_far(parts, value)
            elif what == "note":
                status = value
                if not passing_note(value):
                    notes.append(value)
            elif what == "done":
                text, status = _finished(run, *value)
                status = " ".join([status, *notes])  # why the model now runs otherwise, kept
            elif what == "error":
                error = value
            yield text, status
    finally:  # the page went away mid-run (Gradio closes this generator): the run stops too
        if session.running and run is session.run:
            session.stop()
    if error is not None:
        raise error


def _candidates(texts: list[str]) -> str:
    if len(texts) == 1:
        return texts[0]
    return "\n\n".join(f"── candidate {i} ──\n{text}" for i, text in enumerate(texts, 1))


def _post_so_far(parts: dict[str, str], event: PostEvent) -> str:
    if event.kind == "start":
        parts[event.step] = ""
    elif event.kind == "text" and event.candidate == 0:  # the first candidate of each step, as it is written
        parts[event.step] = parts.get(event.step, "") + event.text
    elif event.kind == "done":
        parts[event.step] = event.text
    return "\n\n".join(f"[{step}]\n{text}" for step, text in parts.items())


def _finished(run: Run, result, entry) -> tuple[str, str]:
    if run.mode == "Whole post":
        left = defects_left(result)
        return result.to_markdown(), f"finished: a post of {len(result.sections)} section(s). Export saves it. {left}"
    reasons = ", ".join(c.finish_reason for c in result)
    tokens = sum(c.new_tokens for c in result)
    return _candidates([c.text for c in result]), f"finished ({reasons}): {tokens} tokens, seed {entry.seed}"


def serve(app: gr.Blocks, host: str = "127.0.0.1", port: int = 7860, share: bool = False,
          open_browser: bool = False) -> int:
    """Serve ``app`` until Ctrl+C or SIGTERM, then close its server, so the port is free; 0.

    ``share=True`` asks Gradio for a public link; where none can be had (no network), that is said in one line
    and the page on ``host:port`` keeps working.
    """
    said = io.StringIO()  # Gradio's own launch text, several lines; blogneo says what matters in one
    session = getattr(app, "session", None)
    # Ctrl+C and SIGTERM are only noted while the server starts, serves and closes (blogneo.interrupts), so neither
    # lands where it would leave it running: the page answers before launch() returns, and a second Ctrl+C may come
    # while it closes.
    with held() as came:
        try:
            with contextlib.redirect_stdout(said):
                app.queue().launch(server_name=host, server_port=port, share=share, inbrowser=open_browser,
                                   prevent_thread_lock=True, quiet=True, show_error=True,
                                   allowed_paths=[str(session.posts_dir.resolve())] if session else None)
            print(f"blogneo: serving the studio at http://{host}:{port}/ (Ctrl+C to stop)", file=sys.stderr)
            if share:
                where = f"a public link: {app.share_url}" if app.share_url else \
                    "no public link: Gradio's share server cannot be reached from here, so the page is local only"
                print(f"blogneo: share: {where}", file=sys.stderr)
            wait(came)
        except KeyboardInterrupt:  # raised by code of Gradio's own, not by a signal: it stops the server all the same
            pass
        finally:
            print("blogneo: stopping the studio", file=sys.stderr)
            app.close()
    return 0


__all__ = ["gradio_app", "serve"]
