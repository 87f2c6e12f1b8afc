"""The studio as a web page: Voila on 127.0.0.1, driven by headless Chromium through Playwright.

Needs Debian's `chromium` (`.ci/run` installs it). Without it this test is skipped with a
message saying so; everything else in the suite still runs. Playwright's own browser download
is never used: it drives /usr/bin/chromium.
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
from pathlib import Path

import pytest

OUTPUT = Path(__file__).resolve().parent / "output"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
# As this machine's notes advise: no background networking, a closed network refuses it anyway.
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (apt-get install chromium; .ci/run does it), "
                             "so the real-browser test of the studio cannot run")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def app(tmp_path):
    port = _free_port()
    env = {k: v for k, v in os.environ.items() if k != "BLOGNEO_MODEL"}  # offline, the default is `embedded`
    env.update(HF_HUB_OFFLINE="1", BLOGNEO_HISTORY=str(tmp_path / "history.json"))
    log = open(tmp_path / "voila.log", "w")
    process = subprocess.Popen(
        [sys.executable, "-m", "blogneo.cli", "app", "--no-browser", f"--port={port}", f"--posts={tmp_path / 'posts'}"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/"
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5):
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                log.close()
                pytest.fail("Voila did not come up:\n" + (tmp_path / "voila.log").read_text()[-3000:])
            time.sleep(0.5)
    yield url
    os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(10)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
    log.close()


def _enabled(page, label: str, timeout_ms: int) -> None:
    page.wait_for_function(
        """label => { const b = [...document.querySelectorAll('.blogneo-studio button')]
                        .find(b => b.textContent.trim() === label);
                      return b && !b.disabled; }""", arg=label, timeout=timeout_ms)


def test_type_generate_see_text_stream_stop_and_screenshot(app):
    from playwright.sync_api import sync_playwright

    OUTPUT.mkdir(exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 900})
            page.goto(app, timeout=120_000)
            page.wait_for_selector(".blogneo-studio textarea", timeout=120_000)
            _enabled(page, "Generate", 120_000)  # the embedded model has loaded in the kernel
            assert page.locator(".blogneo-studio select").first.input_value().startswith("embedded · ")
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
