"""Issue 5's verbs as a user meets them: the commands a result tells the user to run do what they say, and
errors name the culprit once."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kaggle_magics.cli import main
from kaggle_magics.datasets import stage
from kaggle_magics.errors import BackendError
from kaggle_magics.handles import DatasetRef
from kaggle_magics.outputs import download_output
from tests.kaggle_server import SIGNATURE


def test_the_unpack_command_for_a_lone_executable_restores_it_in_place(tmp_path: Path) -> None:
    """In each input layout: the command names the archive where that layout mounts the dataset."""
    src = tmp_path / "src"
    src.mkdir()
    (src / "run.sh").write_text("#!/bin/sh\necho ran\n")
    os.chmod(src / "run.sh", 0o755)
    for layout, mounted in (("nested", "datasets/me/cmi-codes"), ("flat", "cmi-codes")):
        staging, work = tmp_path / layout / "input" / mounted, tmp_path / layout / "working"
        for folder in (staging, work):
            folder.mkdir(parents=True)
        (note,) = stage(src, staging, DatasetRef.parse("me/cmi-codes"), layout)
        command = note.split("in the notebook: ", 1)[1]
        assert f"/kaggle/input/{mounted}/run.sh" in command
        command = command.replace("/kaggle/input/", f"{tmp_path / layout}/input/").replace("/kaggle/working", str(work))
        subprocess.run(["sh", "-c", command], check=True)
        restored = work / "run.sh"
        assert restored.is_file() and restored.stat().st_mode & stat.S_IXUSR, sorted(work.rglob("*"))
        assert subprocess.run([str(restored)], capture_output=True, text=True).stdout == "ran\n"


def test_a_missing_kernel_or_competition_is_named_once_with_its_url(kaggle_server, capsys) -> None:
    assert main(["status", "kmtester/nope-kern"]) == 1
    err = capsys.readouterr().err
    assert err.count("not found") == 1 and "https://www.kaggle.com/code/kmtester/nope-kern" in err, err
    kaggle_server.add_kernel("kmtester/run-kern")
    assert main(["submit", "--competition", "nocomp", "--kernel", "kmtester/run-kern"]) == 1
    err = capsys.readouterr().err
    assert err.count("not found") == 1 and "https://www.kaggle.com/competitions/nocomp" in err, err


def _running_kernel(server, ref: str = "kmtester/long-kern") -> str:
    server.add_kernel(ref)
    server.set_status(ref, *["RUNNING"] * 100)
    return ref


def test_a_wait_cut_short_by_its_timeout_exits_non_zero(kaggle_server, capsys) -> None:
    ref = _running_kernel(kaggle_server)
    assert main(["status", ref, "--wait", "--timeout", "0.5"]) == 1, "status --wait && submit must stop here"
    assert "stopped waiting" in capsys.readouterr().out


def test_ctrl_c_stops_the_wait_with_exit_code_130(kaggle_server, tmp_path: Path) -> None:
    ref = _running_kernel(kaggle_server)
    env = {k: v for k, v in os.environ.items() if k.lower() not in ("no_proxy", "https_proxy")}
    child = subprocess.Popen(
        [sys.executable, "-m", "kaggle_magics", "status", ref, "--wait"],
        env=env, cwd=tmp_path, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    deadline = time.monotonic() + 60
    while len(kaggle_server.calls("GetKernelSessionStatus")) < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    child.send_signal(signal.SIGINT)
    out, err = child.communicate(timeout=60)
    assert child.returncode == 130, out + err
    assert "stopped waiting (Ctrl-C): the run goes on as RUNNING" in out, out
    assert kaggle_server.kernel(ref).latest.status == "RUNNING", "the run itself was not touched"


def test_a_submission_kaggle_fails_exits_non_zero_with_its_error(kaggle_server, tmp_path, capsys) -> None:
    kaggle_server.add_competition("titanic")
    kaggle_server.set_submission_run("PENDING", "ERROR", error="Submission has 1 rows, expected 418")
    (tmp_path / "sub.csv").write_text("id,y\n1,0\n")
    assert main(["submit", "--competition", "titanic", "--file", str(tmp_path / "sub.csv"), "--wait"]) == 1
    out = capsys.readouterr().out
    assert "ERROR" in out and "expected 418" in out, out


def test_a_failed_download_never_shows_the_signed_url_query(kaggle_server, kaggle_backend, tmp_path) -> None:
    kaggle_server.add_kernel("kmtester/out-kern")
    kaggle_server.set_output("kmtester/out-kern", {"submission.csv": "id\n1\n"})
    kaggle_server.fail("Download", 500, times=20)
    with pytest.raises(BackendError) as caught:
        download_output(kaggle_backend, "kmtester/out-kern", dest=tmp_path / "o", display=False)
    err = f"{caught.value.message} {caught.value.hint}"
    assert "/download/kernels/kmtester/out-kern/1/submission.csv" in err, err
    assert SIGNATURE not in err and "X-Goog" not in err, err
    assert not (tmp_path / "o").exists(), "nothing half-downloaded into DEST"


def test_a_run_seen_running_only_once_has_no_made_up_runtime(kaggle_server, capsys) -> None:
    kaggle_server.add_kernel("kmtester/short-kern")
    kaggle_server.set_status("kmtester/short-kern", "RUNNING", "COMPLETE")
    assert main(["status", "kmtester/short-kern", "--wait"]) == 0
    out = capsys.readouterr().out
    assert "runtime seconds" not in out and "runtime unknown" in out, out


def test_a_dropped_answer_to_a_new_dataset_version_makes_one_version(
    kaggle_server, kaggle_backend, tmp_path
) -> None:
    from kaggle_magics.handles import DatasetRef as Ref

    src = tmp_path / "src"
    src.mkdir()
    (src / "a.py").write_text("x = 1\n")
    ref = Ref.parse("kmtester/dd-codes")
    kaggle_backend.dataset_upload(src, ref, message="first")
    (src / "a.py").write_text("x = 2\n")
    kaggle_server.drop("CreateDatasetVersion", after=True)
    result = kaggle_backend.dataset_upload(src, ref, message="second")
    assert len(kaggle_server.dataset("kmtester/dd-codes").versions) == 2, "the version was not made twice"
    assert result.version == 2 and any("connection failed" in n for n in result.notes), result
    (src / "a.py").write_text("x = 3\n")
    kaggle_server.fail("StartBlobUpload", 503)
    assert kaggle_backend.dataset_upload(src, ref, message="third").version == 3, "uploads still retried"


def test_the_log_heading_says_whether_it_is_the_whole_log(kaggle_server, capsys) -> None:
    kaggle_server.add_kernel("kmtester/log-kern")
    lines = "".join(f"line {i}\n" for i in range(30))
    kaggle_server.set_output("kmtester/log-kern", log=[{"stream_name": "stdout", "time": 2.0, "data": lines}])
    assert main(["status", "kmtester/log-kern"]) == 0
    out = capsys.readouterr().out
    assert "log (last lines)" in out and "line 29" in out and "line 5\n" not in out, out
    assert main(["status", "kmtester/log-kern", "--logs"]) == 0
    out = capsys.readouterr().out
    assert "log (last lines)" not in out and "  log\n" in out and "line 0\n" in out, out


def test_submit_without_a_competition_is_bad_input(tmp_path, monkeypatch, capsys) -> None:
    monkeypatch.chdir(tmp_path)
    assert main(["submit", "--kernel", "kmtester/sub-kern", "--backend", "local"]) == 2
    assert "[tool.kaggle_magics]" in capsys.readouterr().err


class _FailingFrom:
    """A display that, at its first update, makes the server fail the next ``times`` status polls."""

    def __init__(self, server, times: int) -> None:
        self.server, self.times, self.states = server, times, []

    def update(self, state: str, elapsed: float) -> None:
        if not self.states:
            self.server.fail("GetKernelSessionStatus", 503, times=self.times)
        self.states.append(state)

    def close(self, final: str | None = None) -> None:
        pass


def _fake_poll():
    from kaggle_magics.waiting import Poll

    clock = [0.0]

    def sleep(seconds: float) -> None:
        clock[0] += seconds

    return Poll(clock=lambda: clock[0], sleep=sleep)


def test_a_long_wait_rides_out_a_kaggle_outage(kaggle_server, kaggle_backend) -> None:
    from kaggle_magics.status import UNREADABLE, status

    kaggle_server.add_kernel("kmtester/outage-kern")
    kaggle_server.set_status("kmtester/outage-kern", "RUNNING", "RUNNING", "COMPLETE")
    shown = _FailingFrom(kaggle_server, times=2 * kaggle_backend.retry.attempts)  # two polls fail for good
    result = status(kaggle_backend, "kmtester/outage-kern", wait=True, poll=_fake_poll(), display=shown)
    assert result.status == "COMPLETE" and UNREADABLE in shown.states, shown.states


def test_an_outage_longer_than_the_grace_ends_the_wait(kaggle_server, kaggle_backend, monkeypatch) -> None:
    from kaggle_magics import status as status_module

    monkeypatch.setattr(status_module, "OUTAGE_GRACE", 3.0)
    kaggle_server.add_kernel("kmtester/outage-kern")
    kaggle_server.set_status("kmtester/outage-kern", *["RUNNING"] * 50)
    shown = _FailingFrom(kaggle_server, times=1000)
    with pytest.raises(BackendError, match="HTTP 503"):
        status_module.status(kaggle_backend, "kmtester/outage-kern", wait=True, poll=_fake_poll(), display=shown)


def test_a_submissions_message_is_the_users_description_not_kaggles_reply(kaggle_server, tmp_path, capsys) -> None:
    kaggle_server.add_competition("titanic")
    kaggle_server.add_kernel("kmtester/sub-kern")
    (tmp_path / "sub.csv").write_text("id,y\n1,0\n")
    assert main(["submit", "--competition", "titanic", "--file", str(tmp_path / "sub.csv")]) == 0
    assert "Successfully submitted" not in capsys.readouterr().out
    assert main(["submit", "--competition", "titanic", "--kernel", "kmtester/sub-kern", "-m", "fold 3"]) == 0
    out = capsys.readouterr().out
    assert "fold 3" in out and "Successfully submitted" not in out, out
