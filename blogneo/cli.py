"""`blogneo write "topic"`, `blogneo finetune POSTS_DIR` and `blogneo checkpoints`, from the terminal.

Bad input exits with code 2 and one line on stderr, never a traceback. Stdout carries the result
alone (the post, the table, the batch's summary), so `blogneo write "topic" > post.md` leaves only
the post in post.md: everything else, the library's one-line notes included, goes to stderr.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from pathlib import Path

import blogneo

from .errors import BlogneoError
from .fields import FIELDS, POST_DEFAULTS
from .files import create
from .interrupts import held, wait


class _Parser(argparse.ArgumentParser):
    def error(self, message: str):  # one line, no usage dump
        raise _UsageError(f"{message} (see `{self.prog} --help`)")


class _UsageError(Exception):
    pass


class _Version(argparse.Action):
    """--version, read from the package's metadata only when asked: every other call skips its imports."""

    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0, help="print blogneo's version and exit")

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"{parser.prog} {blogneo.__version__}")
        parser.exit()


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="blogneo", description="Write blog posts with GPT-Neo.")
    parser.add_argument("--version", action=_Version)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    write = commands.add_parser("write", help="write about a topic and print it")
    write.add_argument("topic", help='what to write about, e.g. "Why I bike to work"')
    write.add_argument("--model", help="checkpoint name, Hub id, folder or .gguf "
                       "(default: docs/reference.md#which-model-you-get)")
    write.add_argument("--preset", default="balanced", help="precise, balanced or creative")
    for field in FIELDS:  # the sampling flags, from the one table of fields (ranges checked by SamplingParams)
        if field.flag:
            unset = f"; left out: {field.unset}" if field.unset else ""
            write.add_argument("--" + field.name.replace("_", "-"), type=int if field.kind == "int" else float,
                               help=f"{field.help} [{field.allowed}{unset}]".replace("%", "%%"))
    write.add_argument("--seed", type=int)
    write.add_argument("--candidates", type=int, help="how many versions to write at once")
    write.add_argument("--out", type=Path, help="also write the text to this file (never overwritten); with "
                                                "--post, the folder to save the post in")
    write.add_argument("--post", action="store_true", help="write a whole post: title, outline, sections, Markdown")
    write.add_argument("--sections", type=int, default=POST_DEFAULTS["sections"],
                       help=f"sections in a whole post (default {POST_DEFAULTS['sections']})")
    write.add_argument("--type", dest="post_type", default=POST_DEFAULTS["post_type"], metavar="TYPE",
                       help="with --post: how-to, listicle, opinion, review or 'personal story' "
                            f"(default {POST_DEFAULTS['post_type']})")
    write.add_argument("--tone", default=POST_DEFAULTS["tone"],
                       help="with --post: friendly, professional, persuasive, humorous, or your own words "
                            f"(default {POST_DEFAULTS['tone']})")
    write.add_argument("--words", type=int, default=POST_DEFAULTS["words"],
                       help=f"with --post: target words per part (default {POST_DEFAULTS['words']})")
    write.add_argument("--ban", action="append", default=[], metavar="PHRASE",
                       help="a phrase the text may not contain (repeatable); in a --post a few clichés always are")
    write.add_argument("--examples", type=Path, metavar="POSTS_DIR",
                       help="a folder of your posts (.md or .txt) to write like, with no training")

    tune = commands.add_parser("finetune", help="train a LoRA adapter on your posts, for write --model OUT")
    tune.add_argument("posts", type=Path, help="a folder of your posts, .md or .txt, one post a file")
    tune.add_argument("--out", type=Path, required=True, help="a new folder for the adapter (never overwritten)")
    tune.add_argument("--model", help="the base model (default: docs/reference.md#which-model-you-get)")
    # the defaults are finetune's own, written there once (docs/reference.md#your-voice lists them)
    tune.add_argument("--epochs", type=int, help="passes over the training posts")
    tune.add_argument("--max-steps", type=int, help="stop after this many steps instead")
    tune.add_argument("--block-size", type=int, help="tokens a training block")
    tune.add_argument("--batch-size", type=int, help="blocks a step")
    tune.add_argument("--learning-rate", type=float)
    tune.add_argument("--rank", type=int, help="LoRA rank (alpha is twice it)")
    tune.add_argument("--seed", type=int)
    tune.add_argument("--eval-every", type=int, help="steps between evaluations on the held-out posts")
    tune.add_argument("--patience", type=int, help="evaluations without improvement before it stops early")
    tune.add_argument("--gradient-checkpointing", action="store_true", help="less memory, about a third slower")
    tune.add_argument("--device", default="auto", help="auto (cuda, then mps, then cpu), cpu, cuda or mps")

    batch = commands.add_parser("batch", help="write every post of a calendar (.csv or .jsonl), resumable")
    batch.add_argument("calendar", type=Path, help="one post per row: topic, and optionally tone, post_type, "
                                                   "sections, words, preset, seed, model")
    batch.add_argument("--out", type=Path, default=Path("posts"), help="where the posts go (default: ./posts)")
    batch.add_argument("--model", help="for rows that name none (default: docs/reference.md#which-model-you-get)")
    batch.add_argument("--ray", action="store_true", help="run the rows on Ray Data (pip install 'ray[data]>=2.40')")
    batch.add_argument("--ray-address", help="an existing Ray cluster: auto, or ray://host:10001 (default: start "
                                             "Ray on this machine)")
    batch.add_argument("--workers", type=int, default=1, help="with --ray: workers, each loading the model once")
    batch.add_argument("--cpus-per-worker", type=float, default=1)
    batch.add_argument("--gpus-per-worker", type=float, default=0)

    commands.add_parser("checkpoints", help="list the known checkpoints and what fits here")

    app = commands.add_parser("app", help="serve the writing studio as a web page (Voila; or Gradio's, --gradio)")
    app.add_argument("--gradio", action="store_true",
                     help="serve the tutorial's Gradio app instead (default port 7860; needs gradio>=6.24)")
    app.add_argument("--share", action="store_true", help="with --gradio: ask Gradio for a public link as well")
    app.add_argument("--model", help="with --gradio: the checkpoint to load (default: the default model)")
    app.add_argument("--port", type=int, default=None, help="default 8866 (Voila) or 7860 (--gradio)")
    app.add_argument("--ip", default="127.0.0.1", help="address to listen on (default: this machine only)")
    app.add_argument("--no-browser", action="store_true", help="do not open a browser")
    app.add_argument("--posts", type=Path, default=Path("posts"), help="where Export writes (default: ./posts)")
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")  # a terminal wants the text, not log lines
    out = sys.stdout  # the result alone goes here
    try:
        args = _parser().parse_args(argv)  # --help and --version print to stdout and exit here
        # In a notebook the library's notes ("converting ... once", "no GPT-Neo here, so using
        # 'embedded'", the fp16 fallback) print to stdout, where a cell shows them as its output.
        # From the terminal stdout may be piped into a file, so here they go to stderr.
        with contextlib.redirect_stdout(sys.stderr):
            if args.command == "checkpoints":
                return _checkpoints(out)
            if args.command == "app":
                return _app(args)
            if args.command == "batch":
                return _batch(args, out)
            if args.command == "finetune":
                return _finetune(args, out)
            return _write(args, out)
    except (_UsageError, BlogneoError) as error:
        print(f"blogneo: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("blogneo: interrupted", file=sys.stderr)
        return 130


def _batch(args, out) -> int:
    from .batch import REPORT, write_calendar

    report = write_calendar(args.calendar, args.out, args.model, ray=args.ray, ray_address=args.ray_address,
                            workers=args.workers, cpus_per_worker=args.cpus_per_worker,
                            gpus_per_worker=args.gpus_per_worker)
    for row in report["rows"]:
        if row["status"] == "failed":
            print(f"blogneo: line {row['line']} ({row['topic'] or 'no topic'}): {row['error']}", file=sys.stderr)
    print(f"{report['written']} written, {report['skipped']} skipped, {report['failed']} failed in "
          f"{report['seconds']:.0f} s ({report['posts_per_hour']:.0f} posts an hour); report: {args.out / REPORT}",
          file=out)
    return 1 if report["failed"] else 0


def _finetune(args, out) -> int:
    from .finetuning import finetune  # its progress bar and its one-line note go to stderr

    names = ("epochs", "max_steps", "block_size", "batch_size", "learning_rate", "rank", "seed", "eval_every",
             "patience")
    settings = {name: getattr(args, name) for name in names if getattr(args, name) is not None}
    if "rank" in settings:
        settings["alpha"] = 2 * settings["rank"]
    result = finetune(args.posts, args.model, out=args.out, device=args.device,
                      gradient_checkpointing=args.gradient_checkpointing, **settings)
    print(f"{result.folder}: {result.stopped} after {result.steps} steps in {result.seconds / 60:.1f} min; "
          f"validation perplexity {result.perplexity_before:.1f} -> {result.perplexity_after:.1f}. "
          f"Write with it: blogneo write --model {args.out} \"topic\"", file=out)
    return 130 if result.stopped == "interrupted" else 0


def _checkpoints(out) -> int:
    from .catalog import checkpoint_table
    from .precision import resolve_device

    print(checkpoint_table(device=resolve_device("auto")), file=out)
    return 0


def _app(args) -> int:
    import importlib.util
    import subprocess

    default = 7860 if args.gradio else 8866
    args.port = default if args.port is None else args.port
    if not 1 <= args.port <= 65535:
        raise BlogneoError(f"--port {args.port} is out of range: use from 1 to 65535 (default {default}).")
    if (args.share or args.model) and not args.gradio:
        raise BlogneoError("--share and --model go with --gradio; the Voila page loads its model in the page.")
    if args.gradio:
        return _gradio(args)
    if importlib.util.find_spec("voila") is None:
        raise BlogneoError("The studio page needs Voila: pip install 'voila>=0.5' (or run `make setup`).")
    notebook = Path(__file__).with_name("studio.ipynb")
    # Voila runs the kernel in the notebook's folder (inside the package), so posts go to an
    # absolute path chosen here, where the command was run.
    env = {**os.environ, "BLOGNEO_POSTS": str(args.posts.expanduser().resolve())}
    command = [sys.executable, "-m", "voila", str(notebook), f"--port={args.port}", f"--Voila.ip={args.ip}",
               "--show_tracebacks=False"]
    if args.no_browser:
        command.append("--no-browser")
    print(f"blogneo: serving the studio at http://{args.ip}:{args.port}/ (Ctrl+C to stop); "
          f"exports go to {env['BLOGNEO_POSTS']}", file=sys.stderr)
    # Voila in a session of its own, so that this process alone decides when it stops: on Ctrl+C
    # (SIGINT) or SIGTERM, Voila and every kernel it started are stopped here, and the port is free.
    # Both are only noted while Voila runs (blogneo.interrupts), so none lands where it would leave Voila running.
    with held() as came:
        server = subprocess.Popen(command, env=env, start_new_session=True)
        try:
            wait(came, running=lambda: server.poll() is None)
        finally:
            if came:
                print("blogneo: stopping the studio", file=sys.stderr)
            if server.returncode is None:  # once reaped, its pid may be another process's
                _stop_process_tree(server.pid)
    code = server.returncode
    return 0 if came else (128 - code if code < 0 else code)  # killed by signal N: 128 + N, as a shell says


def _gradio(args) -> int:
    from .ui_gradio import gradio_app, serve  # says what to install, before any model loads, without Gradio

    app = gradio_app(args.model, posts_dir=args.posts.expanduser().resolve())
    return serve(app, args.ip, args.port, share=args.share, open_browser=not args.no_browser)


def _stop_process_tree(pid: int, grace: float = 5.0) -> None:
    """Stop ``pid`` and everything it started: SIGTERM to it first (Voila shuts its kernels down),
    then SIGTERM to whatever is left, then SIGKILL.

    Kernels run in sessions of their own, so a process group does not reach them: the tree is
    listed before anything is signalled, while they are still its children.
    """
    import psutil

    try:
        root = psutil.Process(pid)
        tree = [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return
    alive = tree
    for processes, stage in (([root], "terminate"), (None, "terminate"), (None, "kill")):
        for process in processes or alive:
            try:
                getattr(process, stage)()
            except psutil.NoSuchProcess:
                pass
        _, alive = psutil.wait_procs(alive, timeout=grace)
        if not alive:
            return


def _write(args, out) -> int:
    from .examples import Examples
    from .generation import generate
    from .loading import load
    from .prompts import blog_prompt, check_prompt
    from .sampling import resolve_params

    # Every check runs before any model loads or converts, so bad input fails in a moment.
    check_prompt(args.topic, "topic")
    flags = [(f.name, getattr(args, f.name)) for f in FIELDS if f.flag]
    overrides = {name: value for name, value in (
        *flags, ("seed", args.seed), ("num_candidates", args.candidates), ("banned", tuple(args.ban) or None))
        if value is not None}
    params = resolve_params(args.preset, **overrides)
    args.examples = Examples.of(args.examples)  # a folder's problems are errors before the model loads
    if args.post:
        return _write_post(args, params, out)
    if args.out is not None and args.out.exists():
        raise BlogneoError(f"{args.out} already exists; blogneo never overwrites. Choose another --out.")
    model = load(args.model, progress=_status)
    candidates = generate(blog_prompt(args.topic, model.chat), params, model=model, examples=args.examples,
                          progress=_status)
    texts = []
    for i, candidate in enumerate(candidates, 1):
        heading = f"--- candidate {i} of {len(candidates)} ---\n" if len(candidates) > 1 else ""
        texts.append(heading + _as_post(args.topic, candidate.text, model.chat))
        print(texts[-1], end="\n\n" if i < len(candidates) else "\n", file=out)  # stdout is the --out file
        print(f"[{candidate.new_tokens} tokens, {candidate.tokens_per_second:.1f} tokens/s, "
              f"finished by {candidate.finish_reason}, seed {candidate.seed}, model {model.name}]",
              file=sys.stderr)
    if args.out is not None:
        _write_new(args.out, "\n\n".join(texts) + "\n")
        print(f"wrote {args.out}", file=sys.stderr)
    return 0


def _status(text: str) -> None:
    """Loading's stages and the run's notes (a GPU's compile), on stderr: stdout carries the text alone."""
    print(f"blogneo: {text}", file=sys.stderr)


def _write_post(args, params, out) -> int:
    from tqdm.auto import tqdm

    from .loading import load
    from .post import MAX_SECTIONS, check_settings, write_post

    if not 1 <= args.sections <= MAX_SECTIONS:  # checked again by write_post; here before the model loads
        raise BlogneoError(f"--sections {args.sections} is out of range: use from 1 to {MAX_SECTIONS}.")
    if args.out is not None and args.out.exists() and not args.out.is_dir():
        raise BlogneoError(f"--out {args.out} is a file; with --post it names the folder the post is saved in.")
    steps = 6 + args.sections  # title, description, tags, outline, introduction, sections, conclusion
    bars = []  # the bar opens with the first step, after write_post has checked its arguments

    def progress(event):
        if not bars:
            bars.append(tqdm(total=steps, desc="writing", unit="step", file=sys.stderr, leave=False))
        if event.kind == "start":
            bars[0].set_postfix_str(event.step)
        elif event.kind == "done":
            bars[0].update(1)

    check_settings(args.topic, args.sections, args.post_type, args.tone, args.words)  # before the model loads
    model = load(args.model, progress=_status)
    try:
        post = write_post(args.topic, model, sections=args.sections, params=params, post_type=args.post_type,
                          tone=args.tone, words=args.words, on_event=progress,  # --ban is in params
                          examples=args.examples, progress=_status)
    finally:
        for bar in bars:
            bar.close()
    if args.out is not None:
        path = post.save(args.out)
        print(f"wrote {path}", file=sys.stderr)
    else:
        print(post.to_markdown(), end="", file=out)
    defects = post.defects()
    print(f"[{post.title.text!r}: {len(post.sections)} sections, seed {post.seed}, model {post.model.name}, "
          f"{len(defects)} defect(s){': ' + '; '.join(map(str, defects)) if defects else ''}]", file=sys.stderr)
    return 0


def _as_post(topic: str, text: str, chat: bool) -> str:
    # A base model continued "# topic\n\n", so the heading is part of the post; a chat model wrote it all.
    return text.strip() if chat else f"# {topic.strip()}\n\n{text.strip()}"


def _write_new(path: Path, text: str) -> None:
    try:
        create(path, text)
    except FileExistsError:
        raise BlogneoError(f"{path} already exists; blogneo never overwrites. Choose another --out.") from None


if __name__ == "__main__":
    sys.exit(main())
