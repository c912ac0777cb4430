"""%kaggle_panel driven in process: its buttons clicked against the embedded local Kaggle, real runs included.

What a user sees is what lands in the panel's Output widget (``panel.out.outputs``) and its labels, so that is
what these tests read.
"""

from __future__ import annotations

import json
import os
import re
import signal
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


@pytest.fixture
def work(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The test's own working folder (Output's default destination is relative to it)."""
    folder = tmp_path / "work"
    folder.mkdir()
    monkeypatch.chdir(folder)
    return folder


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


@needs_bwrap
def test_push_wait_status_output_submit_on_the_local_kaggle(work: Path, isolated_env: Path) -> None:
    from kaggle_magics.local.admin import add_competition
    from kaggle_magics.panel import default_context, kernel_panel

    data = work / "comp-data"
    data.mkdir()
    (data / "sample_submission.csv").write_text("id,target\n1,0\n2,0\n")
    add_competition("panel-comp", data, Path(os.environ["KAGGLE_MAGICS_STORE"]))
    nb = notebook(work, "tiny-sub.ipynb", WRITES_SUBMISSION)
    before = nb.read_bytes()

    # Every action asks for the context as it starts: there we look at the buttons, and click Push again.
    seen: list[list[bool]] = []
    holder: dict[str, Any] = {}

    def probe() -> Any:
        if "panel" in holder:
            panel = holder["panel"]
            seen.append(enabled(panel))
            panel.push_button.click()  # a second click while busy is ignored, not a second push
        return default_context()

    panel = kernel_panel(
        "me/tiny-sub", backend="local", path=str(nb), competition="panel-comp", context=probe, poll=FAST
    )
    holder["panel"] = panel

    panel.push_button.click()
    assert seen == [[False] * 5], "every action button is disabled while Push runs"
    assert enabled(panel) == [True] * 5 and not panel.busy
    assert streams(panel, "stderr") == []
    assert "kernel pushed" in html_of(panel)
    assert "<th style='text-align:left'>version</th><td>1</td>" in html_of(panel)
    assert panel.ref.value == "me/tiny-sub"
    versions = Path(os.environ["KAGGLE_MAGICS_STORE"], "kernels", *panel.ref.value.split("/"), "versions")
    assert sorted(p.name for p in versions.iterdir() if p.name.isdigit()) == ["1"]
    pushed = json.loads((versions / "1" / "push.json").read_text())
    assert pushed["sources"]["competitions"] == ["panel-comp"], "the panel's competition is attached"
    assert nb.read_bytes() == before, "the user's notebook is never written to"

    seen.clear()
    started = time.monotonic()
    panel.wait_button.click()
    assert panel.busy and enabled(panel) == [False] * 5 and not panel.stop_button.disabled
    assert panel.join(60), "the wait ends when the run does"
    took = time.monotonic() - started
    assert enabled(panel) == [True] * 5 and panel.stop_button.disabled and not panel.busy
    assert seen == [[False] * 5]
    text = panel.text()
    assert re.search(r"^  status +COMPLETE$", text, re.M) and "runtime seconds" in text, text
    assert "writing" in text, "the log tail is shown"
    assert panel.elapsed.value.startswith(f"{panel.ref.value}: COMPLETE after "), panel.elapsed.value
    assert streams(panel, "stderr") == []
    assert took < 45

    panel.status_button.click()
    assert "COMPLETE" in html_of(panel) and "submission.csv" in html_of(panel)

    panel.output_button.click()
    assert "outputs downloaded" in html_of(panel), panel.text()
    slug = panel.ref.value.split("/")[1]
    assert (work / "kaggle_output" / slug / "submission.csv").read_text() == SUBMISSION
    panel.dest.value = str(work / "mine")
    panel.output_button.click()
    assert (work / "mine" / "submission.csv").read_text() == SUBMISSION

    panel.submit_button.click()
    assert streams(panel, "stderr") == [], panel.text()
    assert "<b>submission</b>" in html_of(panel)
    assert "<th style='text-align:left'>status</th><td>COMPLETE</td>" in html_of(panel), panel.text()
    assert re.search(r"^  kernel +me/tiny-sub$", panel.text(), re.M), panel.text()


def test_an_error_is_one_line_and_a_hint_in_the_output(work: Path) -> None:
    from kaggle_magics.panel import kernel_panel

    panel = kernel_panel("not a ref!!", backend="local", poll=FAST)
    for button in (panel.status_button, panel.output_button):
        panel.out.outputs = ({"output_type": "stream", "name": "stdout", "text": "old\n"},)
        button.click()
        (err,) = streams(panel, "stderr")
        first, hint = err.rstrip("\n").split("\n")
        assert first.startswith("error: ") and "'not a ref!!'" in first
        assert hint.startswith("hint: ") and "owner/kernel-slug" in hint
        assert "Traceback" not in panel.text() and "old" not in panel.text(), "each action starts afresh"
        assert enabled(panel) == [True] * 5 and not panel.busy

    panel.wait_button.click()
    assert panel.join(10)
    assert streams(panel, "stderr")[0].startswith("error: 'not a ref!!'")
    assert enabled(panel) == [True] * 5 and panel.stop_button.disabled

    panel.ref.value = "me/nothing-here"
    panel.status_button.click()
    (err,) = streams(panel, "stderr")
    assert err.startswith("error: kernel me/nothing-here not found"), err

    panel.path.value = str(work / "missing.ipynb")
    panel.push_button.click()
    (err,) = streams(panel, "stderr")
    assert err.startswith("error: ") and "missing.ipynb: no such file or folder" in err

    panel.competition.value = "no-such-comp"
    panel.submit_button.click()
    (err,) = streams(panel, "stderr")
    assert err.startswith("error: ") and "no-such-comp" in err.splitlines()[0], err


def test_an_unexpected_exception_shows_its_traceback_in_the_output(work: Path) -> None:
    """A bug must not vanish either: JupyterLab would drop an exception raised in a callback."""
    from kaggle_magics.panel import kernel_panel

    calls = []

    def broken_context() -> Any:
        calls.append(1)
        if len(calls) > 1:  # the first call builds the panel
            raise RuntimeError("context exploded")
        from kaggle_magics.panel import default_context

        return default_context()

    panel = kernel_panel("me/x", backend="local", context=broken_context)
    panel.status_button.click()
    (err,) = streams(panel, "stderr")
    assert "Traceback" in err and "RuntimeError: context exploded" in err
    assert enabled(panel) == [True] * 5


@needs_bwrap
def test_stop_ends_the_waiting_not_the_run(work: Path) -> None:
    from kaggle_magics.handles import KernelRef
    from kaggle_magics.local.backend import LocalBackend
    from kaggle_magics.panel import kernel_panel

    nb = notebook(work, "slow.ipynb", ["import time\ntime.sleep(60)"])
    panel = kernel_panel("me/slow-run", backend="local", path=str(nb), poll=FAST)
    panel.push_button.click()
    assert streams(panel, "stderr") == [], panel.text()
    panel.wait_button.click()
    deadline = time.monotonic() + 30
    while "RUNNING" not in panel.elapsed.value and time.monotonic() < deadline:
        time.sleep(0.05)
    assert re.fullmatch(r"me/slow-run: RUNNING, \d+ s elapsed", panel.elapsed.value), panel.elapsed.value
    stopped = time.monotonic()
    panel.stop_button.click()
    assert panel.join(5) and time.monotonic() - stopped < 2, "Stop ends the waiting at once"
    text = panel.text()
    assert "stopped waiting" in text and "the run goes on" in text, text
    assert enabled(panel) == [True] * 5 and panel.stop_button.disabled

    backend = LocalBackend()
    ref = KernelRef.parse("me/slow-run")
    assert backend.kernel_status(ref).status == "RUNNING", "the run itself was not stopped"
    _, run_dir = backend.run_dir(ref)
    pid = json.loads((run_dir / "status.json").read_text())["runner_pid"]
    os.kill(pid, signal.SIGTERM)  # end the run now rather than leave it sleeping under the next tests
    assert backend.wait(ref, timeout=20).status == "CANCEL_ACKNOWLEDGED"


def test_the_magic_builds_the_panel_with_config_defaults(shell: Any) -> None:
    shell.run("%config KaggleMagics.owner = 'alice'")
    shell.run("%config KaggleMagics.competition = 'some-comp'")
    panel = shell.run("%kaggle_panel alice/sub --backend local --path 'my sub.ipynb' --dest out")
    from kaggle_magics.panel import KagglePanel

    assert isinstance(panel, KagglePanel)
    assert (panel.ref.value, panel.backend.value, panel.path.value, panel.dest.value) == (
        "alice/sub", "local", "my sub.ipynb", "out"
    )
    assert panel.competition.value == "some-comp"
    assert panel.ref.placeholder == "alice/kernel-slug"
    default = shell.run("%kaggle_panel")
    assert default.backend.value == "auto" and default.ref.value == ""
    # A slug alone takes the configured owner, as in %kaggle_status.
    default.ref.value = "my-sub"
    default.backend.value = "local"
    default.status_button.click()
    assert streams(default, "stderr")[0].startswith("error: kernel alice/my-sub not found")
