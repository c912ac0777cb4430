"""%kaggle_panel in a real browser: JupyterLab on loopback opens a notebook that shows the panel, with a live
kernel behind it on the embedded local Kaggle; headless Chromium (Debian's, driven by Playwright) runs the
cell, fills the form, clicks Dry run and Rehearse, and reads what the page shows. This is what the in-process
tests cannot see: that the widgets render, that typing and clicks reach the kernel, and that what the
background actions write shows in the page. The screenshot it takes is the README's (docs/panel.png)."""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
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


ROOT = Path(__file__).resolve().parent.parent
SCREENSHOT = ROOT / "docs" / "panel.png"


@pytest.fixture
def lab_url(tmp_path: Path) -> Iterator[str]:
    """JupyterLab serving a folder with the panel notebook on a free loopback port, no token; stopped (with its
    kernels) at the end."""
    site = tmp_path / "site"
    site.mkdir()
    cells = [f"print({GREETING!r}, flush=True)", "open('/kaggle/working/submission.csv', 'w').write('id\\n1\\n')"]
    (site / "hello.ipynb").write_text(json.dumps(build_notebook(cells)), encoding="utf-8")
    cell = "%load_ext kaggle_magics\n%kaggle_panel --backend local"
    (site / "panel.ipynb").write_text(json.dumps(build_notebook([cell])), encoding="utf-8")
    jupyter = tmp_path / "jupyter"
    env = {
        **os.environ,  # KAGGLE_MAGICS_STORE, _STATE_DIR and TMPDIR are this test's own (tests/conftest.py)
        "JUPYTER_PLATFORM_DIRS": "1",
        "JUPYTER_CONFIG_DIR": str(jupyter / "config"),
        "JUPYTER_DATA_DIR": str(jupyter / "data"),
        "JUPYTER_RUNTIME_DIR": str(jupyter / "runtime"),
        "JUPYTERLAB_SETTINGS_DIR": str(jupyter / "lab-settings"),
        "JUPYTERLAB_WORKSPACES_DIR": str(jupyter / "lab-workspaces"),
    }
    # no "get notified about Jupyter news?" toast over the panel
    news = jupyter / "lab-settings" / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    news.parent.mkdir(parents=True)
    news.write_text(json.dumps({"fetchNews": "false", "checkForUpdates": False}), encoding="utf-8")
    port = _free_port()
    log = tmp_path / "jupyterlab.log"
    with log.open("wb") as sink:
        proc = subprocess.Popen(
            [
                sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ServerApp.ip=127.0.0.1",
                "--ServerApp.port_retries=0", "--IdentityProvider.token=", "--ServerApp.password=",
                "--ServerApp.disable_check_xsrf=True", f"--ServerApp.root_dir={site}",
                "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
                "--LabServerApp.extension_manager=readonly", "--ServerApp.allow_root=True",
            ],
            cwd=site, env=env, stdout=sink, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        url = f"http://127.0.0.1:{port}/"
        deadline = time.monotonic() + 60
        while f"127.0.0.1:{port}/lab" not in log.read_text(errors="replace"):
            if proc.poll() is not None or time.monotonic() > deadline:
                pytest.fail(f"JupyterLab did not start (exit {proc.poll()}):\n{log.read_text(errors='replace')}")
            time.sleep(0.2)
        yield url
    finally:
        _stop(proc)


def test_fill_dry_run_and_rehearse_in_jupyterlab(lab_url: str, tmp_path: Path) -> None:
    from playwright.sync_api import expect, sync_playwright

    expect.set_options(timeout=60_000)
    started = time.monotonic()
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 2400})
            page.set_default_timeout(60_000)
            page.goto(lab_url + "lab/tree/panel.ipynb")
            page.locator(".jp-Notebook .jp-Cell").first.click()
            expect(page.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']")).to_have_count(1)
            page.keyboard.press("Shift+Enter")  # run the cell: the panel appears under it

            dry_run = page.get_by_role("button", name="Dry run")
            expect(dry_run).to_be_visible()  # the widgets rendered, with a kernel behind them
            page.get_by_placeholder("owner/kernel-slug").fill(KERNEL)
            page.get_by_placeholder("a kernel folder, a .ipynb or a percent-format .py").fill("hello.ipynb")
            page.get_by_role("combobox", name="accelerator").select_option("NvidiaTeslaT4")
            page.get_by_role("textbox", name="requirements").fill("polars==1.35.2")

            dry_run.click()
            expect(page.get_by_text("kernel folder written (dry run: nothing pushed)")).to_be_visible()
            expect(page.get_by_role("row", name="folder kaggle/panel-browser", exact=True)).to_be_visible()
            meta = json.loads((tmp_path / "site" / "kaggle" / "panel-browser" / "kernel-metadata.json").read_text())
            assert meta["machine_shape"] == "NvidiaTeslaT4" and meta["enable_internet"] is False

            page.get_by_role("button", name="Rehearse").click()
            expect(page.get_by_role("button", name="Push")).to_be_disabled(timeout=10_000)  # busy while it runs
            expect(page.get_by_role("row", name="status COMPLETE", exact=True)).to_be_visible(timeout=90_000)
            log = page.locator("pre.kaggle-magics-log")
            expect(log).to_contain_text("In [1]")
            expect(log).to_contain_text("In [2]")
            expect(page.get_by_role("button", name="Push")).to_be_enabled()
            page.locator(".kaggle-magics-panel").screenshot(path=str(tmp_path / "panel.png"))

            # An error is one line and a hint in the page, not lost and not a traceback.
            page.get_by_placeholder("owner/kernel-slug").fill("not a ref!!")
            page.get_by_role("button", name="Status").click()
            expect(page.get_by_text(re.compile(r"error: 'not a ref!!' names no owner"))).to_be_visible()
            assert "Traceback" not in page.locator(".kaggle-magics-panel").inner_text()
        finally:
            browser.close()
    assert (tmp_path / "panel.png").stat().st_size > 10_000
    SCREENSHOT.parent.mkdir(exist_ok=True)
    shutil.copyfile(tmp_path / "panel.png", SCREENSHOT)  # the README shows what this test saw
    assert time.monotonic() - started < 180
