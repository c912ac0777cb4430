"""%kaggle_panel driven in process: its settings filled, its buttons clicked against the embedded local Kaggle,
real freezes and runs included.

Every action runs in a background thread (the kernel stays free), so each click is followed by ``join``. What
a user sees is what lands in the panel's Output widget (``panel.out.outputs``), its live log, its labels and
its table of recent kernels, so that is what these tests read.
"""

from __future__ import annotations

import json
import os
import re
import signal
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from kaggle_magics.waiting import Poll
from tests.fixtures_local import make_notebook

needs_bwrap = pytest.mark.requires("bwrap")

FAST = Poll(first=0.2, factor=1.5, most=1.0, tick=0.2)
SUBMISSION = "id,target\n1,0.5\n2,0.25\n"
WRITES_SUBMISSION = [
    "print('writing', flush=True)",
    f"open('/kaggle/working/submission.csv', 'w').write({SUBMISSION!r})",
]


def notebook(folder: Path, name: str, cells: list[str | tuple[str, str]]) -> Path:
    path = folder / name
    path.write_text(make_notebook(cells), encoding="utf-8")
    return path


def streams(panel: Any, name: str) -> list[str]:
    return [o["text"] for o in panel.out.outputs if o["output_type"] == "stream" and o["name"] == name]


def html_of(panel: Any) -> str:
    shown = [o for o in panel.out.outputs if o["output_type"] == "display_data"]
    return "".join(o["data"].get("text/html", "") for o in shown)


def enabled(panel: Any) -> list[bool]:
    return [not b.disabled for b in panel.actions]


def click(panel: Any, button: Any, timeout: float = 90) -> None:
    button.click()
    assert panel.join(timeout), f"{button.description} did not end within {timeout} s"


def test_settings_are_prefilled_from_the_project_and_config(shell: Any) -> None:
    Path("pyproject.toml").write_text(
        "[tool.kaggle_magics]\nowner = 'bob'\ncompetition = 'cmi-detect'\naccelerator = 'nvidiatesla t4'\n"
        .replace("nvidiatesla t4", "NvidiaTeslaT4")
        + "datasets = ['bob/codes']\nmodels = ['bob/weights/pyTorch/v1/2']\nattach = ['bob/feats']\n"
        "internet = true\nbackend = 'local'\n"
    )
    shell.run("%config KaggleMagics.owner = 'alice'")
    panel = shell.run("%kaggle_panel alice/sub --path 'my sub.ipynb' --dest out")
    from kaggle_magics.panel import KagglePanel

    assert isinstance(panel, KagglePanel)
    s = panel.settings
    assert (s.ref.value, s.path.value, s.dest.value) == ("alice/sub", "my sub.ipynb", "out")
    assert s.ref.placeholder == "alice/kernel-slug", "%config wins over pyproject.toml"
    assert (s.competition.value, s.accelerator.value, s.backend.value) == ("cmi-detect", "NvidiaTeslaT4", "local")
    assert (s.datasets.value, s.models.value, s.attach.value) == (
        "bob/codes", "bob/weights/pyTorch/v1/2", "bob/feats"
    )
    assert s.internet.value is True
    from kaggle_magics.metadata import ACCELERATORS

    assert list(s.accelerator.options)[1:] == list(ACCELERATORS), "every valid machine shape, in a dropdown"


def test_where_widgets_do_not_show_the_panel_reads_as_its_settings(work: Path) -> None:
    """A terminal, or a notebook rendered as a static page, shows the text/plain fallback: the settings."""
    from kaggle_magics.panel import kernel_panel

    panel = kernel_panel("me/sub-kernel", backend="local", path="sub.ipynb", competition="comp-a")
    panel.settings.datasets.value = "me/codes"
    text = repr(panel)
    assert text.splitlines()[:3] == [
        "kaggle-magics panel (ipywidgets: its buttons work in JupyterLab, Jupyter Notebook, VS Code)",
        "  kernel       me/sub-kernel",
        "  code         sub.ipynb",
    ]
    assert "  datasets     me/codes" in text and "  internet     off" in text and "  backend      local" in text
    assert "deps kernels" not in text, "an empty setting is left out"
    assert text.splitlines()[-1].startswith("  buttons      Freeze, Dry run, Push, Rehearse, Status, Wait, Output")
    bundle = panel._repr_mimebundle_()
    assert bundle["text/plain"] == text and bundle["application/vnd.jupyter.widget-view+json"]["model_id"]


def test_the_settings_become_each_verbs_arguments(work: Path) -> None:
    from kaggle_magics.panel import kernel_panel

    nb = notebook(work, "sub.ipynb", ["print(1)"])
    panel = kernel_panel("me/sub-kernel", backend="local", path=str(nb), competition="comp-a")
    s = panel.settings
    s.deps.value = "me/deps-a"
    s.attach.value = "me/feats-a, me/feats-b"
    s.datasets.value = "me/codes\nme/more"
    s.models.value = "me/m/pyTorch/v/3"
    s.accelerator.value = "NvidiaL4"
    assert s.push_argv(dry_run=True) == [
        "--backend=local", "--id=me/sub-kernel", "--competition=comp-a", "--deps=me/deps-a",
        "--attach=me/feats-a", "--attach=me/feats-b", "--dataset=me/codes", "--dataset=me/more",
        "--model=me/m/pyTorch/v/3", "--accelerator=NvidiaL4", "--dry-run", "--", str(nb),
    ]  # fmt: skip
    s.requirements.value = "# deps\npolars==1.2\n--find-links /wheels --no-index\n\nhydra-core  # a comment\n"
    s.deps_dest.value = "bundle"
    assert s.freeze_argv() == ["--find-links", "/wheels", "--no-index", "--dest=bundle", "--", "polars==1.2",
                               "hydra-core"]  # fmt: skip
    assert s.submit_argv() == ["--backend=local", "--kernel=me/sub-kernel", "--wait", "--competition=comp-a"]
    # a kernel folder's own metadata decides: push takes no metadata flags for it
    s.path.value = str(work)
    assert s.push_argv() == ["--backend=local", "--", str(work)]


@needs_bwrap
def test_the_whole_workflow_from_the_panel(work: Path, bundle_env: Any, isolated_env: Path) -> None:
    """Freeze a bundle, then dry run, rehearse, push, wait, download and submit a submission: every button, on
    the local Kaggle, with real runs."""
    from kaggle_magics.local.admin import add_competition
    from kaggle_magics.panel import default_context, kernel_panel

    data = work / "comp-data"
    data.mkdir()
    (data / "sample_submission.csv").write_text("id,target\n1,0\n2,0\n")
    add_competition("panel-comp", data, Path(os.environ["KAGGLE_MAGICS_STORE"]))

    # Every action asks for the context as it starts: there we look at the buttons, and click Push again.
    seen: list[list[bool]] = []
    holder: dict[str, Any] = {}

    def probe() -> Any:
        if "panel" in holder and holder["panel"].busy:
            seen.append(enabled(holder["panel"]))
            holder["panel"].push_button.click()  # a second click while busy is ignored, not a second push
        return default_context()

    panel = kernel_panel("", backend="local", context=probe, poll=FAST)
    holder["panel"] = panel
    s = panel.settings
    panel.join()  # the table is filled in the background
    assert "no kernels pushed" in panel.recent.value

    # 1. Freeze requirements (and freeze's own options) into a bundle, with a progress bar.
    s.requirements.value = f"--find-links {bundle_env.links}\n--no-index\nkmt-alpha\n"
    s.deps_dest.value = str(work / "bundle")
    click(panel, panel.freeze_button)
    assert streams(panel, "stderr") == [], panel.text()
    assert "bundle" in html_of(panel) and (work / "bundle").is_dir()
    assert seen and all(row == [False] * len(panel.actions) for row in seen), "buttons are off while it runs"
    assert panel.progress.stages[0] == "resolve" and "download" in panel.progress.stages, panel.progress.stages
    assert panel.bar.value == panel.bar.max and panel.bar.bar_style == "success", "a full bar at the end"

    # 2. The submission, attaching the competition.
    sub = notebook(work, "sub.ipynb", WRITES_SUBMISSION)
    before = sub.read_bytes()
    s.ref.value, s.path.value, s.competition.value = "me/panel-sub", str(sub), "panel-comp"

    click(panel, panel.dry_run_button)
    assert "kernel folder written" in html_of(panel), panel.text()
    folder = work / "kaggle" / "panel-sub"
    meta = json.loads((folder / "kernel-metadata.json").read_text())
    assert meta["competition_sources"] == ["panel-comp"]
    assert meta["enable_internet"] is False

    click(panel, panel.rehearse_button)
    assert streams(panel, "stderr") == [], panel.text()
    assert re.search(r"^  status +COMPLETE$", panel.text(), re.M), panel.text()
    log = panel.live.text()
    assert "kernel folder written" in log and re.search(r"In \[2\] +[\d.]+ s", log), log

    click(panel, panel.push_button)
    assert "kernel pushed" in html_of(panel) and s.ref.value == "me/panel-sub"
    click(panel, panel.wait_button)
    text = panel.text()
    assert re.search(r"^  status +COMPLETE$", text, re.M), text
    assert "writing" in text, "the log tail is shown"
    assert panel.stop_button.disabled

    click(panel, panel.output_button)
    assert (work / "kaggle_output" / "panel-sub" / "submission.csv").read_text() == SUBMISSION

    click(panel, panel.submit_button)
    assert streams(panel, "stderr") == [], panel.text()
    assert "<th style='text-align:left'>status</th><td>COMPLETE</td>" in html_of(panel), panel.text()
    assert panel.elapsed.value == "me/panel-sub: submission COMPLETE"
    assert sub.read_bytes() == before, "the user's notebook is never written to"

    # 3. The table of recent kernels: what was pushed, with its status and runtime.
    rows = re.findall(r"<tr><td>(.*?)</td><td>(\d*)</td><td>(\w+)</td><td>(\w+)</td><td>(.*?)</td>", panel.recent.value)
    assert rows[:1] == [("me/panel-sub", "1", "local", "COMPLETE", rows[0][4])] and rows[0][4].endswith(" s")


def test_the_kernel_stays_free_while_an_action_runs(work: Path) -> None:
    """An action runs in a thread: the click returns at once, whatever the action takes."""
    from kaggle_magics.panel import default_context, kernel_panel

    release = threading.Event()

    def slow_context() -> Any:
        if threading.current_thread().name == "kaggle-panel":
            release.wait(10)
        return default_context()

    panel = kernel_panel("me/some-kernel", backend="local", context=slow_context)
    started = time.monotonic()
    panel.status_button.click()
    assert time.monotonic() - started < 1 and panel.busy and enabled(panel) == [False] * len(panel.actions)
    release.set()
    assert panel.join(10) and not panel.busy and enabled(panel) == [True] * len(panel.actions)
    assert streams(panel, "stderr")[0].startswith("error: kernel me/some-kernel not found"), panel.text()


def test_an_error_is_one_line_and_a_hint_in_the_output(work: Path) -> None:
    from kaggle_magics.panel import kernel_panel

    panel = kernel_panel("not a ref!!", backend="local", poll=FAST)
    for button in (panel.status_button, panel.output_button, panel.wait_button):
        panel.out.outputs = ({"output_type": "stream", "name": "stdout", "text": "old\n"},)
        click(panel, button, 10)
        (err,) = streams(panel, "stderr")
        first, hint = err.rstrip("\n").split("\n")
        assert first.startswith("error: ") and "'not a ref!!'" in first
        assert hint.startswith("hint: ") and "owner/kernel-slug" in hint
        assert "Traceback" not in panel.text() and "old" not in panel.text(), "each action starts afresh"
        assert enabled(panel) == [True] * len(panel.actions) and not panel.busy and panel.stop_button.disabled

    click(panel, panel.freeze_button, 10)
    assert streams(panel, "stderr")[0].startswith("error: nothing to freeze")
    (work / "depot" / "bin").mkdir(parents=True)
    (work / "depot" / "bin" / "tool").write_text("#!/bin/sh\necho hi\n")
    panel.settings.requirements.value = f"--dir {work / 'depot'}\n"  # a folder alone is something to freeze
    panel.settings.deps_dest.value = str(work / "depot-bundle")
    click(panel, panel.freeze_button, 60)
    assert streams(panel, "stderr") == [], panel.text()
    assert any(p.name.startswith("depot") for p in (work / "depot-bundle").iterdir())
    panel.settings.requirements.value = ""
    click(panel, panel.push_button, 10)
    assert streams(panel, "stderr")[0].startswith("error: nothing to push")

    panel.settings.path.value = str(work / "missing.ipynb")
    panel.settings.ref.value = "me/nothing-here"
    click(panel, panel.dry_run_button, 10)
    (err,) = streams(panel, "stderr")
    assert err.startswith("error: ") and "missing.ipynb: no such file or folder" in err

    panel.settings.competition.value = "no-such-comp"
    click(panel, panel.submit_button, 10)
    (err,) = streams(panel, "stderr")
    assert err.startswith("error: ") and "no-such-comp" in err.splitlines()[0], err


def test_an_unexpected_exception_shows_its_traceback_in_the_output(work: Path) -> None:
    """A bug must not vanish either: JupyterLab would drop an exception raised in a callback."""
    from kaggle_magics.panel import default_context, kernel_panel

    def broken_context() -> Any:
        if threading.current_thread().name == "kaggle-panel":
            raise RuntimeError("context exploded")
        return default_context()

    panel = kernel_panel("me/x-kernel", backend="local", context=broken_context)
    click(panel, panel.status_button, 10)
    (err,) = streams(panel, "stderr")
    assert "Traceback" in err and "RuntimeError: context exploded" in err
    assert enabled(panel) == [True] * len(panel.actions)
    assert "recent kernels unavailable: RuntimeError: context exploded" in panel.recent.value


@needs_bwrap
def test_stop_ends_the_waiting_not_the_run(work: Path) -> None:
    from kaggle_magics.handles import KernelRef
    from kaggle_magics.local.backend import LocalBackend
    from kaggle_magics.panel import kernel_panel

    nb = notebook(work, "slow.ipynb", ["import time\ntime.sleep(60)"])
    panel = kernel_panel("me/slow-run", backend="local", path=str(nb), poll=FAST)
    click(panel, panel.push_button)
    assert streams(panel, "stderr") == [], panel.text()
    panel.wait_button.click()
    deadline = time.monotonic() + 30
    while "RUNNING" not in panel.elapsed.value and time.monotonic() < deadline:
        time.sleep(0.05)
    assert re.fullmatch(r"me/slow-run: RUNNING, \d+ s elapsed", panel.elapsed.value), panel.elapsed.value
    assert not panel.stop_button.disabled
    stopped = time.monotonic()
    panel.stop_button.click()
    assert panel.join(5) and time.monotonic() - stopped < 2, "Stop ends the waiting at once"
    text = panel.text()
    assert "stopped waiting" in text and "the run goes on" in text, text
    assert enabled(panel) == [True] * len(panel.actions) and panel.stop_button.disabled
    assert "RUNNING" in panel.recent.value

    backend = LocalBackend()
    ref = KernelRef.parse("me/slow-run")
    assert backend.kernel_status(ref).status == "RUNNING", "the run itself was not stopped"
    _, run_dir = backend.run_dir(ref)
    pid = json.loads((run_dir / "status.json").read_text())["runner_pid"]
    os.kill(pid, signal.SIGTERM)  # end the run now rather than leave it sleeping under the next tests
    assert backend.wait(ref, timeout=20).status == "CANCEL_ACKNOWLEDGED"
