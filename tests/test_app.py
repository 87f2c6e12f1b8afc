"""The studio as a web page (`blogneo app`: Voila on 127.0.0.1) and `make lab`, as real processes.

One Voila serves the module's tests in order: where it listens, a real browser session, then a
real SIGTERM that must leave no process and no taken port behind. The browser is headless
Chromium driven by Playwright; it needs Debian's `chromium` (`.ci/run` installs it). Without it
that one test is skipped with a message saying so. Playwright's own browser download is never
used: it drives /usr/bin/chromium.
"""

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import psutil
import pytest

pytestmark = pytest.mark.slow  # real servers and a browser: out of `make test-fast`

ROOT = Path(__file__).resolve().parents[1]
OUTPUT = ROOT / "tests" / "output"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# As this machine's notes advise: no background networking, a closed network refuses it anyway.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium; .ci/run does it), "
                             "so the real-browser test of the studio cannot run")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _port_is_free(port: int) -> bool:
    """Whether a new server could listen on ``port`` now (as servers do, with SO_REUSEADDR: the
    connections a test made linger in TIME_WAIT, which does not keep a server out)."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _wait_for(url: str, process: subprocess.Popen, log: Path, seconds: float = 120) -> None:
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5):
                return
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"{url} did not come up:\n" + log.read_text()[-3000:])
            time.sleep(0.3)


def _tree(pid: int) -> list[psutil.Process]:
    root = psutil.Process(pid)
    return [root, *root.children(recursive=True)]


def _gone(processes: list[psutil.Process], seconds: float = 20) -> list[psutil.Process]:
    """Those of ``processes`` still running after ``seconds`` (zombies count as gone)."""
    deadline = time.monotonic() + seconds
    while True:
        alive = [p for p in processes if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
        if not alive or time.monotonic() > deadline:
            return alive
        time.sleep(0.2)


@dataclass
class App:
    url: str
    port: int
    process: subprocess.Popen


def _start_app(tmp_path: Path, *extra: str, log: str = "voila.log") -> App:
    """`blogneo app` (Voila; with "--gradio" among ``extra``, the Gradio app) on a free port, once it answers."""
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "BLOGNEO_MODEL"}  # offline, the default is `embedded`
    env.update(HF_HUB_OFFLINE="1", BLOGNEO_HISTORY=str(tmp_path / "history.json"))
    log = tmp_path / log
    process = subprocess.Popen(
        [sys.executable, "-m", "blogneo.cli", "app", *extra, "--no-browser", f"--port={port}",
         f"--posts={tmp_path / 'posts'}"],
        env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True,
        # Ctrl+C as a terminal delivers it, even when this run was started in the background, where a shell ignores
        # SIGINT for its children (and Python then installs no KeyboardInterrupt handler)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    url = f"http://127.0.0.1:{port}/"
    _wait_for(url, process, log)
    return App(url, port, process)


def _keep_figures(name: str, figures: dict, screenshot: Path) -> None:
    """A browser test's figures beside its screenshot in tests/output/, printed too."""
    (OUTPUT / f"{name}.json").write_text(json.dumps({**figures, "screenshot": str(screenshot)}, indent=1))
    print(figures)
    assert screenshot.stat().st_size > 10_000


def _stop(app: App) -> None:
    """Whatever a failed test left running: SIGKILL to everything of the app's."""
    try:
        tree = _tree(app.process.pid)
    except psutil.NoSuchProcess:
        return
    for p in tree:
        try:
            p.kill()
        except psutil.NoSuchProcess:
            pass
    app.process.wait(10)


@pytest.fixture(scope="module")
def app(tmp_path_factory):
    running = _start_app(tmp_path_factory.mktemp("app"))
    yield running
    _stop(running)


def test_the_studio_page_listens_on_127_0_0_1_only_by_default(app):
    listening = [c.laddr for p in _tree(app.process.pid) for c in p.net_connections(kind="inet")
                 if c.status == psutil.CONN_LISTEN and c.laddr.port == app.port]
    assert listening, "the studio page never listened"
    assert {a.ip for a in listening} == {"127.0.0.1"}


def _enabled(page, label: str, timeout_ms: int) -> None:
    page.wait_for_function(
        """label => { const b = [...document.querySelectorAll('.blogneo-studio button')]
                        .find(b => b.textContent.trim() === label);
                      return b && !b.disabled; }""", arg=label, timeout=timeout_ms)


@needs_chromium
def test_type_generate_see_text_stream_stop_and_screenshot(app):
    from playwright.sync_api import sync_playwright

    OUTPUT.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.goto(app.url, timeout=120_000)
            page.wait_for_selector(".blogneo-studio textarea", timeout=120_000)
            _enabled(page, "Generate", 120_000)  # the embedded model has loaded in the kernel
            assert page.locator(".blogneo-model select").first.input_value().startswith("embedded · ")
            page.locator(".blogneo-studio textarea").first.fill("Write a blog post about the history of bicycles.")

            clicked = time.monotonic()
            page.get_by_role("button", name="Generate").click()
            page.wait_for_function(
                "() => (document.querySelector('.blogneo-candidate')?.innerText || '').trim().length > 0",
                timeout=60_000)
            first_text = time.monotonic() - clicked
            assert page.locator(".blogneo-stats").first.inner_text().strip() == "writing…"  # the run goes on
            _enabled(page, "Stop", 5_000)
            page.wait_for_function(  # a few more words, so the screenshot shows streamed text
                "() => document.querySelector('.blogneo-candidate').innerText.split(' ').length > 6",
                timeout=60_000)

            stop_clicked = time.monotonic()
            page.get_by_role("button", name="Stop").click()
            page.wait_for_function(
                "() => (document.querySelector('.blogneo-stats')?.innerText || '').includes('stopped')",
                timeout=30_000)
            _enabled(page, "Generate", 30_000)
            stop_to_idle = time.monotonic() - stop_clicked

            text = page.locator(".blogneo-candidate").first.inner_text()
            assert len(text.split()) > 6  # the partial text stays on the page
            screenshot = OUTPUT / "studio-browser.png"
            page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    _keep_figures("studio-browser", {"click_to_first_text_s": round(first_text, 3),
                                     "stop_to_idle_s": round(stop_to_idle, 3)}, screenshot)


def test_sigterm_stops_voila_and_its_kernels_and_frees_the_port(app):
    with urllib.request.urlopen(app.url, timeout=120) as page:  # a page view starts a kernel for it
        page.read()
    tree = _tree(app.process.pid)
    assert len(tree) >= 3, [p.cmdline() for p in tree]  # blogneo, Voila, and the page's kernel
    app.process.send_signal(signal.SIGTERM)  # to blogneo alone, as a service manager or `kill` sends it
    assert app.process.wait(30) == 0
    alive = _gone(tree)
    assert not alive, [p.cmdline() for p in alive]
    assert _port_is_free(app.port)


def test_ctrl_c_stops_voila_too(tmp_path):
    app = _start_app(tmp_path)
    try:
        tree = _tree(app.process.pid)
        app.process.send_signal(signal.SIGINT)  # what Ctrl+C in the terminal sends to blogneo
        assert app.process.wait(30) == 0
        assert not _gone(tree)
        assert _port_is_free(app.port)
    finally:
        _stop(app)


def test_ctrl_c_in_the_instant_voila_starts_still_stops_it(monkeypatch, capsys):
    # Ctrl+C right as the server process is started, before blogneo has kept its handle: that handle is kept
    # anyway, and the server stopped. A sleeping process stands in for Voila, so the instant is hit every time.
    from blogneo import cli

    popen = subprocess.Popen
    started = []

    def start_then_ctrl_c(command, **kwargs):
        started.append(popen([sys.executable, "-c", "import time; time.sleep(600)"], **kwargs))
        os.kill(os.getpid(), signal.SIGINT)  # raised here, before the handle is returned, unless it is held
        return started[-1]

    monkeypatch.setattr(subprocess, "Popen", start_then_ctrl_c)
    # Ctrl+C as in a terminal: a test worker (pytest-xdist) ignores SIGINT, and blogneo keeps a signal ignored
    interrupt, terminate = signal.signal(signal.SIGINT, signal.default_int_handler), signal.getsignal(signal.SIGTERM)
    try:
        said = cli.main(["app", "--no-browser", "--port", str(_free_port())])
    except KeyboardInterrupt:
        pytest.fail("Ctrl+C as Voila started escaped `blogneo app`")
    finally:
        left = [process for process in started if process.poll() is None]
        for process in left:
            process.kill()
        back = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
        signal.signal(signal.SIGINT, interrupt)
    assert said == 0
    assert len(started) == 1 and not left, "Ctrl+C as Voila started left it running"
    assert "blogneo: stopping the studio" in capsys.readouterr().err
    assert back == (signal.default_int_handler, terminate)  # the handlers are back


def test_voila_that_exits_by_itself_gives_its_exit_status(monkeypatch):
    # Voila that cannot start (a port taken) ends on its own: its status is the command's, and nothing else is stopped
    from blogneo import cli

    popen = subprocess.Popen
    monkeypatch.setattr(subprocess, "Popen",
                        lambda command, **kwargs: popen([sys.executable, "-c", "raise SystemExit(3)"], **kwargs))
    stopped = []
    monkeypatch.setattr(cli, "_stop_process_tree", stopped.append)
    assert cli.main(["app", "--no-browser", "--port", str(_free_port())]) == 3
    assert stopped == []  # its pid, reaped, may be another process's by now


def test_make_lab_starts_jupyterlab_and_says_when_it_allows_root(tmp_path):
    port = _free_port()
    log = tmp_path / "lab.log"
    # -o: the venv is set up already (make test did it); start JupyterLab and nothing else.
    args = f"--no-browser --port={port} --ServerApp.token= --ServerApp.password= --ServerApp.root_dir={ROOT}"
    process = subprocess.Popen(["make", "-s", "-o", ".venv/.blogneo-installed", "lab", f"LAB_ARGS={args}"],
                               cwd=ROOT, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True)
    try:
        _wait_for(f"http://127.0.0.1:{port}/lab", process, log)
        said = "running as root, so JupyterLab is started with --allow-root" in log.read_text()
        assert said == (os.getuid() == 0)
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)


# --- the tutorial's Gradio app: `blogneo app --gradio` ---------------------------------------------------------------


def _start_gradio(tmp_path: Path, *extra: str) -> App:
    return _start_app(tmp_path, "--gradio", *extra, log="gradio.log")


@pytest.fixture(scope="module")
def gradio(tmp_path_factory):
    pytest.importorskip("gradio", reason="the Gradio app is an extra: pip install 'blogneo[gradio]' (make setup does)")
    folder = tmp_path_factory.mktemp("gradio")
    running = _start_gradio(folder, "--share")  # no network here: no public link, and the local page works
    running.log = folder / "gradio.log"
    deadline = time.monotonic() + 60  # the page is up before the share link is asked for
    while "blogneo: share:" not in running.log.read_text() and time.monotonic() < deadline:
        time.sleep(0.3)
    yield running
    _stop(running)


def test_the_gradio_app_says_in_one_line_that_no_share_link_can_be_had_and_serves_locally(gradio):
    lines = gradio.log.read_text().splitlines()
    said = [line for line in lines if line.startswith("blogneo: share:")]
    assert said == ["blogneo: share: no public link: Gradio's share server cannot be reached from here, so the page "
                    "is local only"], lines
    assert not any("Could not create share link" in line for line in lines)  # Gradio's own lines are not shown
    listening = [c.laddr for p in _tree(gradio.process.pid) for c in p.net_connections(kind="inet")
                 if c.status == psutil.CONN_LISTEN and c.laddr.port == gradio.port]
    assert {a.ip for a in listening} == {"127.0.0.1"}
    with urllib.request.urlopen(gradio.url, timeout=30) as page:
        assert page.status == 200


@needs_chromium
def test_gradio_type_generate_see_text_stream_stop_and_export(gradio):
    from playwright.sync_api import sync_playwright

    OUTPUT.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 1400})
            page.goto(gradio.url, timeout=120_000)
            page.wait_for_selector("#blogneo-prompt textarea", timeout=120_000)
            assert "embedded on cpu" in page.inner_text("body")  # the model line: the offline default
            page.locator("#blogneo-prompt textarea").fill("Write a blog post about the history of bicycles.")
            length = page.get_by_label("number input for max new tokens")
            length.fill("512")
            length.press("Enter")

            clicked = time.monotonic()
            page.locator("#blogneo-generate").click()
            output = page.locator("#blogneo-output textarea")
            page.wait_for_function(
                "() => document.querySelector('#blogneo-output textarea').value.split(' ').length > 6",
                timeout=120_000)
            first_text = time.monotonic() - clicked
            assert "finished" not in page.locator("#blogneo-status").inner_text()  # the run goes on

            stop_clicked = time.monotonic()
            page.locator("#blogneo-stop").click()
            page.wait_for_function(
                "() => document.querySelector('#blogneo-status').innerText.includes('finished (cancelled)')",
                timeout=30_000)
            stop_to_end = time.monotonic() - stop_clicked
            text = output.input_value()
            assert len(text.split()) > 6  # the partial text stays on the page

            page.locator("#blogneo-export").click()  # the Markdown, saved and offered as a download
            page.wait_for_function(
                "() => document.querySelector('#blogneo-status').innerText.includes('Saved to')", timeout=30_000)
            saved = Path(page.locator("#blogneo-status").inner_text().split("Saved to", 1)[1].strip())
            assert saved.parent.name == "posts" and text.strip()[:30] in saved.read_text(encoding="utf-8")
            assert page.locator("#blogneo-download a").count() >= 1  # the file's download link
            screenshot = OUTPUT / "gradio-browser.png"
            page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    _keep_figures("gradio-browser", {"click_to_first_words_s": round(first_text, 3),
                                     "stop_to_end_s": round(stop_to_end, 3)}, screenshot)


def test_sigterm_stops_the_gradio_app_and_frees_the_port(gradio):
    tree = _tree(gradio.process.pid)
    gradio.process.send_signal(signal.SIGTERM)
    assert gradio.process.wait(30) == 0
    assert not _gone(tree)
    assert _port_is_free(gradio.port)
    assert "blogneo: stopping the studio" in gradio.log.read_text()


def test_ctrl_c_stops_the_gradio_app_too(tmp_path):
    pytest.importorskip("gradio", reason="the Gradio app is an extra: pip install 'blogneo[gradio]' (make setup does)")
    app = _start_gradio(tmp_path)
    try:
        tree = _tree(app.process.pid)
        app.process.send_signal(signal.SIGINT)
        assert app.process.wait(30) == 0
        assert not _gone(tree)
        assert _port_is_free(app.port)
    finally:
        _stop(app)


def test_ctrl_c_while_gradio_is_still_launching_stops_it_cleanly_too(monkeypatch):
    # The page answers before launch() returns, so a quick Ctrl+C lands inside launch (CI once saw exit 130 there).
    # Here it lands there every time: raised right after the real launch() has started the server, inside the call.
    gr = pytest.importorskip("gradio", reason="the Gradio app is an extra: pip install 'blogneo[gradio]'")
    from blogneo.ui_gradio import serve

    with gr.Blocks() as app:
        gr.Markdown("hello")
    launch = type(app).launch

    def launch_then_ctrl_c(self, *args, **kwargs):
        launch(self, *args, **kwargs)
        raise KeyboardInterrupt

    monkeypatch.setattr(type(app), "launch", launch_then_ctrl_c)
    port = _free_port()
    try:
        said = serve(app, port=port)
    except KeyboardInterrupt:  # caught here so that a failure fails this test, not the whole run
        pytest.fail("Ctrl+C during launch() escaped serve(): the command would exit 130 and leave the port taken")
    assert said == 0
    assert _port_is_free(port)


def test_a_second_ctrl_c_while_gradio_closes_does_not_escape(monkeypatch):
    # The first Ctrl+C starts the close; a second one, impatient, lands inside close(): it closes all the same.
    gr = pytest.importorskip("gradio", reason="the Gradio app is an extra: pip install 'blogneo[gradio]'")
    from blogneo.ui_gradio import serve

    with gr.Blocks() as app:
        gr.Markdown("hello")
    blocks = type(app)
    launch, close = blocks.launch, blocks.close

    def launch_then_ctrl_c(self, *args, **kwargs):
        launch(self, *args, **kwargs)
        raise KeyboardInterrupt

    def ctrl_c_then_close(self, *args, **kwargs):
        os.kill(os.getpid(), signal.SIGINT)
        return close(self, *args, **kwargs)

    monkeypatch.setattr(blocks, "launch", launch_then_ctrl_c)
    monkeypatch.setattr(blocks, "close", ctrl_c_then_close)
    port = _free_port()
    interrupt = signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal, not a test worker
    try:
        said = serve(app, port=port)
    except KeyboardInterrupt:
        close(app)
        pytest.fail("a second Ctrl+C during close() escaped serve(): the command would exit 130")
    finally:
        signal.signal(signal.SIGINT, interrupt)
    assert said == 0
    assert _port_is_free(port)


def test_the_gradio_app_writes_a_whole_post_and_exports_its_markdown(tiny, tmp_path):
    # In this process, through Gradio's own client: the Whole post mode on the tiny GPT-Neo (a base model).
    pytest.importorskip("gradio", reason="the Gradio app is an extra: pip install 'blogneo[gradio]' (make setup does)")
    from gradio_client import Client

    import blogneo
    from blogneo.fields import SLIDERS

    app = blogneo.gradio_app(tiny, history_path=tmp_path / "history.json", posts_dir=tmp_path / "posts")
    port = _free_port()
    app.queue().launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True)
    try:
        client = Client(f"http://127.0.0.1:{port}/", verbose=False)
        knobs = [getattr(blogneo.PRESETS["balanced"], name) for name in SLIDERS]
        text, status = client.predict("Whole post", "Baking bread", "balanced", 11, 1, 1, "how-to", "calm", 30, "",
                                      *knobs, api_name="/run_it")
        assert status.startswith("finished: a post of 1 section(s)") and text.startswith("---\n")
        path, said = client.predict(1, api_name="/export_it")
        saved = sorted((tmp_path / "posts").glob("*.md"))
        assert len(saved) == 1 and said == f"Saved to {saved[0]}"
        assert saved[0].read_text(encoding="utf-8") == text  # the post on the page is the file
        meta = blogneo.read_markdown(text)[0]
        assert (meta["post_type"], meta["tone"], meta["words"], meta["model"]) == ("how-to", "calm", 30, tiny.name)
        from blogneo.history import History

        [entry] = History(tmp_path / "history.json").entries  # kept, with its recipe, for Restore in the notebook
        assert entry.mode == "Whole post" and entry.texts == [text]
    finally:
        app.close()


def test_the_gradio_sliders_take_their_bounds_and_steps_from_the_table_of_fields(tiny, tmp_path):
    pytest.importorskip("gradio", reason="the Gradio app is an extra: pip install 'blogneo[gradio]' (make setup does)")
    import blogneo
    from blogneo.fields import FIELD, SLIDERS

    app = blogneo.gradio_app(tiny, history_path=tmp_path / "history.json", posts_dir=tmp_path / "posts")
    sliders = {c.label: c for c in app.blocks.values() if type(c).__name__ == "Slider"}
    for name in SLIDERS:
        field, slider = FIELD[name], sliders[FIELD[name].label]
        assert (slider.minimum, slider.maximum, slider.step) == field.slider
        for position in (slider.minimum, slider.maximum):  # every position is a value the model takes
            blogneo.SamplingParams(**{name: position})
