"""%kaggle_panel in a real browser: Voila serves a notebook that shows the panel, with a live kernel behind
it on the embedded local Kaggle; headless Chromium (Debian's, driven by Playwright) clicks Push and Wait and
reads what the page shows. This is what the in-process tests cannot see: that the widgets render, that clicks
reach the kernel, and that results and errors written from callbacks (one from a thread) show in the page."""

from __future__ import annotations

import contextlib
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from kaggle_magics.notebook import build_notebook

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-quic",
]
KERNEL = "me/panel-browser"
GREETING = "hello from the browser test"

pytestmark = pytest.mark.requires("chromium")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _stat(pid: int) -> list[str] | None:
    """The fields of /proc/PID/stat after the command name (state, ppid, ..., start time at index 19)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None


def _children(pid: int) -> list[tuple[int, str]]:
    """Direct children of ``pid`` with their start times (Voila's kernels run in sessions of their own, so a
    process group misses them; the start time tells a reused pid apart)."""
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            fields = _stat(int(entry.name))
            if fields and fields[1] == str(pid):
                found.append((int(entry.name), fields[19]))
    return found


def _stop(proc: subprocess.Popen[bytes]) -> None:
    """End Voila and the kernels it started, by their pids, waiting a bounded time for each."""
    kernels = _children(proc.pid)
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
    deadline = time.monotonic() + 5
    for pid, start in kernels:
        while time.monotonic() < deadline and (_stat(pid) or [""] * 20)[19] == start:
            time.sleep(0.1)
        fields = _stat(pid)
        if fields and fields[19] == start and fields[0] not in ("Z", "X"):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)


@pytest.fixture
def voila_url(tmp_path: Path) -> Iterator[str]:
    """Voila serving the panel notebook on a free loopback port; stopped (with its kernels) at the end."""
    site = tmp_path / "site"
    site.mkdir()
    (site / "hello.ipynb").write_text(json.dumps(build_notebook([f"print({GREETING!r})"])), encoding="utf-8")
    cell = f"%load_ext kaggle_magics\n%kaggle_panel {KERNEL} --backend local --path hello.ipynb"
    (site / "panel.ipynb").write_text(json.dumps(build_notebook([cell])), encoding="utf-8")
    jupyter = tmp_path / "jupyter"
    env = {
        **os.environ,  # KAGGLE_MAGICS_STORE and TMPDIR are this test's own (tests/conftest.py)
        "JUPYTER_PLATFORM_DIRS": "1",
        "JUPYTER_CONFIG_DIR": str(jupyter / "config"),
        "JUPYTER_DATA_DIR": str(jupyter / "data"),
        "JUPYTER_RUNTIME_DIR": str(jupyter / "runtime"),
    }
    port = _free_port()
    log = tmp_path / "voila.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [
                sys.executable, "-m", "voila", "panel.ipynb", "--no-browser", f"--port={port}",
                "--Voila.ip=127.0.0.1", "--Voila.port_retries=0",
                "--VoilaConfiguration.extension_denylist=jupyterlab-jupytext",  # not needed, slow to fail
                "--show_tracebacks=True",
            ],
            cwd=site, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True,
        )
    try:
        url = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 30
        while url not in log.read_text(errors="replace"):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"Voila did not start (exit {proc.poll()}):\n{log.read_text(errors='replace')}")
            time.sleep(0.1)
        yield url
    finally:
        _stop(proc)


def test_push_and_wait_in_a_real_browser(voila_url: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=30_000)
    started = time.monotonic()
    shot = tmp_path / "kaggle-panel.png"
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1100, "height": 800})
            page.set_default_timeout(30_000)
            page.goto(voila_url)
            push = page.get_by_role("button", name="Push")
            wait = page.get_by_role("button", name="Wait")
            expect(push).to_be_visible()  # the widgets rendered, with a kernel behind them
            expect(page.get_by_role("textbox").first).to_have_value(KERNEL)

            push.click()
            expect(page.get_by_text("kernel pushed")).to_be_visible()
            expect(page.get_by_role("row", name="version 1", exact=True)).to_be_visible()
            expect(push).to_be_enabled()

            wait.click()
            expect(push).to_be_disabled(timeout=5_000)  # busy: every action button is off while waiting
            expect(page.get_by_role("button", name="Stop")).to_be_enabled()
            label = page.get_by_text(re.compile(rf"^{KERNEL}: COMPLETE after \d+ s$"))
            expect(label).to_be_visible(timeout=45_000)
            expect(page.get_by_text("kernel status")).to_be_visible()
            expect(page.get_by_role("row", name="status COMPLETE", exact=True)).to_be_visible()
            expect(page.locator("pre", has_text=GREETING).last).to_be_visible()  # the log tail (after the cells)
            expect(push).to_be_enabled()
            expect(page.get_by_role("button", name="Stop")).to_be_disabled()
            page.screenshot(path=str(shot), full_page=True)

            # An error from a callback is one line and a hint in the page, not lost and not a traceback.
            page.get_by_role("textbox").first.fill("not a ref!!")
            page.get_by_role("button", name="Status").click()
            expect(page.get_by_text(re.compile(r"error: 'not a ref!!' names no owner"))).to_be_visible()
            assert "Traceback" not in page.inner_text("body")
        finally:
            browser.close()
    assert shot.stat().st_size > 10_000
    print(f"screenshot: {shot}")
    assert time.monotonic() - started < 90
