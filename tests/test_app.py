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


def _start_app(tmp_path: Path) -> App:
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "BLOGNEO_MODEL"}  # offline, the default is `embedded`
    env.update(HF_HUB_OFFLINE="1", BLOGNEO_HISTORY=str(tmp_path / "history.json"))
    log = tmp_path / "voila.log"
    process = subprocess.Popen(
        [sys.executable, "-m", "blogneo.cli", "app", "--no-browser", f"--port={port}", f"--posts={tmp_path / 'posts'}"],
        env=env, stdout=log.open("w"), stderr=subprocess.STDOUT, start_new_session=True,
        # Ctrl+C as a terminal delivers it, even when this run was started in the background, where a shell ignores
        # SIGINT for its children (and Python then installs no KeyboardInterrupt handler)
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    url = f"http://127.0.0.1:{port}/"
    _wait_for(url, process, log)
    return App(url, port, process)


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
    figures = {"click_to_first_text_s": round(first_text, 3), "stop_to_idle_s": round(stop_to_idle, 3),
               "screenshot": str(screenshot)}
    (OUTPUT / "studio-browser.json").write_text(json.dumps(figures, indent=1))
    print(figures)
    assert screenshot.stat().st_size > 10_000


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
