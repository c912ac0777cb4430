"""%kaggle_status: the polling schedule, the runtime measured from polls and logs, and the wait loop.

The backend-level tests (the official client against the loopback server, and the local backend running a real
kernel) are at the end of this file.
"""

from __future__ import annotations

import io
import itertools

import pytest

from kaggle_magics import timing
from kaggle_magics.errors import BackendError, NotFound
from kaggle_magics.progress import TqdmDisplay, format_seconds, make_display
from kaggle_magics.results import LogEntry
from kaggle_magics.status import status
from kaggle_magics.waiting import Observation, Poll, wait_for
from tests.fixtures_kaggle import client_reads_versions
from tests.fixtures_workflow import OUTPUT_COUNT, SLEEP, WORKFLOW_RUN

LOG_SAYS = "(its last entry; the run ends seconds after)"


class FakeClock:
    """A clock that moves only when slept on: long waits in no time, with exact times to assert on."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds > 0
        self.sleeps.append(seconds)
        self.now += seconds

    def poll(self, **kw: float) -> Poll:
        return Poll(clock=self.clock, sleep=self.sleep, **kw)


class Recorder:
    """A display that records what it was shown, and can raise KeyboardInterrupt on its n-th update."""

    def __init__(self, interrupt_at: int | None = None) -> None:
        self.updates: list[tuple[str, float]] = []
        self.closed: str | None = None
        self.interrupt_at = interrupt_at

    def update(self, state: str, elapsed: float) -> None:
        self.updates.append((state, elapsed))
        if self.interrupt_at is not None and len(self.updates) >= self.interrupt_at:
            raise KeyboardInterrupt

    def close(self, final: str | None = None) -> None:
        self.closed = final


# -- the backoff schedule ------------------------------------------------------------------------------------
def test_backoff_grows_from_first_to_most() -> None:
    delays = list(itertools.islice(Poll().delays(), 12))
    assert delays[0] == 1.0
    assert all(b >= a for a, b in itertools.pairwise(delays))
    assert delays[-1] == 30.0 and max(delays) == 30.0
    assert list(itertools.islice(Poll(first=2, factor=2, most=10).delays(), 5)) == [2, 4, 8, 10, 10]


@pytest.mark.parametrize("bad", [{"first": 0}, {"factor": 0.5}, {"first": 5, "most": 1}, {"tick": 0}])
def test_backoff_rejects_nonsense(bad: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="bad poll schedule"):
        Poll(**bad)


# -- runtime from polls and logs -----------------------------------------------------------------------------
def obs(*pairs: tuple[float, str]) -> list[Observation]:
    return [Observation(t, s) for t, s in pairs]


def test_runtime_from_polls_is_bounded_by_the_poll_interval() -> None:
    # started between 10 and 20, ended between 400 and 430: runtime between 380 and 420
    got = timing.from_polls(
        obs((0, "QUEUED"), (10, "QUEUED"), (20, "RUNNING"), (400, "RUNNING"), (430, "COMPLETE"))
    )
    assert got is not None
    assert (got.low, got.high) == (380, 420)
    assert got.seconds == 400
    assert got.text == "between 380 s and 420 s from polls"


def test_runtime_from_polls_when_running_at_first_poll_is_a_lower_bound() -> None:
    got = timing.from_polls(obs((0, "RUNNING"), (50, "RUNNING"), (60, "ERROR")))
    assert got is not None and got.low == 50 and got.high is None
    assert "at least 50 s" in got.text and "already running" in got.text


def test_runtime_from_polls_when_queued_then_done_between_two_polls() -> None:
    got = timing.from_polls(obs((0, "QUEUED"), (5, "QUEUED"), (12, "COMPLETE")))
    assert got is not None and (got.low, got.high) == (0, 7)


def test_no_runtime_from_polls_that_never_saw_the_end_or_saw_only_the_end() -> None:
    assert timing.from_polls(obs((0, "QUEUED"), (5, "RUNNING"))) is None
    assert timing.from_polls(obs((0, "COMPLETE"))) is None
    assert timing.from_polls([]) is None


def test_runtime_from_log_is_its_last_timestamp() -> None:
    log = [LogEntry("stdout", 0.8, "a\n"), LogEntry("stderr", 411.6, "b\n"), LogEntry("stdout", 300.0, "c\n")]
    got = timing.from_log(log)
    assert got is not None and got.seconds == 411.6
    assert got.text == f"412 s from the log {LOG_SAYS}"
    assert got.low == 411.6 and got.high is None
    assert timing.from_log([]) is None


def test_combined_runtime_prefers_the_log_and_states_both() -> None:
    log = timing.from_log([LogEntry("stdout", 405.0, "x")])
    polls = timing.from_polls(obs((0, "QUEUED"), (10, "RUNNING"), (400, "RUNNING"), (430, "COMPLETE")))
    got = timing.combine(log, polls)
    assert got is not None and got.seconds == 405.0
    assert got.text == f"405 s from the log {LOG_SAYS}; between 390 s and 430 s from polls"
    assert (got.low, got.high) == (405, 430)
    disagree = timing.combine(timing.from_log([LogEntry("stdout", 900.0, "x")]), polls)
    assert disagree is not None and "disagree" in disagree.text and disagree.seconds == 900
    # polls that saw it running for 390 s beat a log that stops at 100 s
    short = timing.combine(timing.from_log([LogEntry("stdout", 100.0, "x")]), polls)
    assert short is not None and short.seconds == polls.seconds and short.low == 390
    assert "the log's last entry is at 100 s (the run went on after it)" in short.text
    assert timing.combine(None, polls) is polls and timing.combine(log, None) is log


def test_submission_runtime_counts_from_the_submit() -> None:
    got = timing.since_start(
        obs((0, "PENDING"), (3, "PENDING"), (7.5, "COMPLETE")), ended={"COMPLETE", "ERROR"}
    )
    assert got is not None and (got.low, got.high) == (3, 7.5)


# -- the wait loop -------------------------------------------------------------------------------------------
def scripted(states: list[str]):
    it = iter(states)
    return lambda: next(it)


def test_wait_polls_with_backoff_until_done_and_refreshes_the_display_between_polls() -> None:
    fake = FakeClock()
    shown = Recorder()
    waited = wait_for(
        scripted(["QUEUED", "RUNNING", "RUNNING", "COMPLETE"]),
        str,
        lambda s: s == "COMPLETE",
        first="QUEUED",
        poll=fake.poll(first=2, factor=2, most=5),
        display=shown,
    )
    assert [(o.at, o.state) for o in waited.observations] == [
        (0, "QUEUED"),
        (2, "QUEUED"),
        (6, "RUNNING"),
        (11, "RUNNING"),
        (16, "COMPLETE"),
    ]
    assert not waited.stopped_early and waited.elapsed == 16
    # one update per second of sleep plus one per poll: the elapsed time never freezes for a whole interval
    assert max(fake.sleeps) <= 1.0
    assert [e for _, e in shown.updates] == sorted(e for _, e in shown.updates)
    assert shown.updates[-1] == ("COMPLETE", 16)


def test_wait_stops_at_the_timeout_after_one_last_poll() -> None:
    fake = FakeClock()
    waited = wait_for(
        lambda: "RUNNING",
        str,
        lambda s: s == "COMPLETE",
        first="RUNNING",
        poll=fake.poll(first=4, factor=1, most=4),
        timeout=10,
        display=Recorder(),
    )
    assert waited.timed_out and not waited.interrupted
    assert [o.at for o in waited.observations] == [0, 4, 8, 10]
    assert waited.elapsed == 10


def test_ctrl_c_in_the_display_ends_the_wait_with_what_is_known() -> None:
    fake = FakeClock()
    calls: list[int] = []

    def check() -> str:
        calls.append(1)
        return "RUNNING"

    waited = wait_for(
        check,
        str,
        lambda s: s == "COMPLETE",
        first="QUEUED",
        poll=fake.poll(first=1, factor=1, most=1),
        display=Recorder(interrupt_at=6),
    )
    assert waited.interrupted and not waited.timed_out
    assert waited.last == "RUNNING" and len(calls) == 2


def test_ctrl_c_during_a_poll_keeps_the_previous_answer() -> None:
    fake = FakeClock()
    answers = iter(["RUNNING"])

    def check() -> str:
        for answer in answers:
            return answer
        raise KeyboardInterrupt

    waited = wait_for(
        check, str, lambda s: s == "COMPLETE", first="QUEUED", poll=fake.poll(), display=Recorder()
    )
    assert waited.interrupted and waited.last == "RUNNING"
    assert [o.state for o in waited.observations] == ["QUEUED", "RUNNING"]


def test_a_poll_that_fails_for_good_closes_the_display_and_raises() -> None:
    from kaggle_magics.errors import BackendError

    def check() -> str:
        raise BackendError("Kaggle failed on the status (HTTP 503, 4 tries)")

    shown = Recorder()
    with pytest.raises(BackendError, match="HTTP 503"):
        wait_for(
            check, str, lambda s: s == "COMPLETE", first="RUNNING", poll=FakeClock().poll(), display=shown
        )
    assert shown.closed == "RUNNING, stopped waiting: the status could not be read"


# -- the display ---------------------------------------------------------------------------------------------
def test_terminal_display_is_one_updating_line_with_state_and_elapsed() -> None:
    out = io.StringIO()
    shown = TqdmDisplay("me/my-kernel", file=out, force=True)
    shown.update("QUEUED", 3)
    shown.update("RUNNING", 75)
    shown.close("COMPLETE after 2 min 00 s")
    text = out.getvalue()
    assert "\n" not in text.rstrip("\n")  # redrawn in place with \r, never a new line per update
    frames = text.split("\r")
    assert any("me/my-kernel: RUNNING, 1 min 15 s elapsed" in f for f in frames)
    assert frames[-1].strip() == "me/my-kernel: COMPLETE after 2 min 00 s"


def test_display_choice() -> None:
    assert make_display(False, "x").__class__.__name__ == "NullDisplay"
    rec = Recorder()
    assert make_display(rec, "x") is rec
    with pytest.raises(TypeError):
        make_display(42, "x")
    assert [format_seconds(s) for s in (0.4, 59, 61, 3725)] == ["0 s", "59 s", "1 min 01 s", "1 h 02 min"]


# -- through the official client against the loopback Kaggle -------------------------------------------------

RUN = "kmtester/long-training-run"
LOG = [
    ("stdout", 0.42, "\x1b[32mstarting\x1b[0m\n"),
    ("stderr", 12.5, "epoch 1/2\n"),
    ("stderr", 250.0, "epoch 2/2\nsaving\n"),
    ("stdout", 95.25, "done\n"),  # entries need not come sorted
    ("stdout", 411.6, "[NbConvertApp] Writing 2345 bytes to __notebook__.ipynb\n"),
]


def test_wait_until_complete_reports_a_runtime_that_matches_the_log(kaggle_server, kaggle_backend) -> None:
    kaggle_server.add_kernel(RUN)
    kaggle_server.set_status(RUN, "QUEUED", "RUNNING", *["RUNNING"] * 13, "COMPLETE")
    kaggle_server.set_output(RUN, {"submission.csv": "id,y\n1,0\n", "model/w.bin": b"\x00" * 10}, log=LOG)
    fake = FakeClock()
    shown = Recorder()
    result = status(
        kaggle_backend, RUN, wait=True, poll=fake.poll(first=30, factor=1, most=30), display=shown
    )

    assert result.status == "COMPLETE" and result.ok and not result.interrupted
    # polls at 0 (QUEUED), 30 (RUNNING) ... 420 (RUNNING), 450 (COMPLETE): the run took 390..450 s;
    # the log's last entry says 411.6 s, and that is the answer
    assert result.runtime_seconds == 411.6
    assert result.runtime_precision == (f"412 s from the log {LOG_SAYS}; between 390 s and 450 s from polls")
    assert result.waited_seconds == 450
    assert result.log_tail[0] == "starting"  # colour codes stripped
    assert result.log_tail[-1].startswith("[NbConvertApp] Writing")
    assert result.output_files == ["model/w.bin", "submission.csv"]
    assert len(kaggle_server.calls("GetKernelSessionStatus")) == 16  # one per poll, no more
    assert shown.closed == "COMPLETE after 7 min 30 s"
    assert "runtime precision" in str(result) and "log (last lines)" in str(result)


def test_ctrl_c_stops_the_waiting_not_the_run(kaggle_server, kaggle_backend) -> None:
    kaggle_server.add_kernel(RUN)
    kaggle_server.set_status(RUN, "QUEUED", "RUNNING", "RUNNING", "COMPLETE")
    fake = FakeClock()
    result = status(
        kaggle_backend,
        RUN,
        wait=True,
        poll=fake.poll(first=1, factor=1, most=1),
        display=Recorder(interrupt_at=4),
    )
    assert result.interrupted and result.status == "RUNNING" and not result.done
    assert any("Ctrl-C" in n and "the run goes on" in n for n in result.notes)
    assert result.runtime_seconds is None and result.log_tail == []
    # nothing but status polls went out: no cancel, no push
    assert {r.name for r in kaggle_server.calls()} == {"GetKernelSessionStatus"}
    # and the run carries on to its end
    later = status(kaggle_backend, RUN, wait=True, poll=FakeClock().poll(), display=False)
    assert later.status == "COMPLETE"


def test_timeout_stops_waiting_with_a_clear_note(kaggle_server, kaggle_backend) -> None:
    kaggle_server.add_kernel(RUN)
    kaggle_server.set_status(RUN, "RUNNING")
    fake = FakeClock()
    result = status(
        kaggle_backend, RUN, timeout=45, poll=fake.poll(first=10, factor=2, most=30), display=False
    )
    assert result.timed_out and result.status == "RUNNING"
    assert result.waited_seconds == 45
    assert any("timeout 45 s" in n and "still RUNNING" in n for n in result.notes)


def test_a_failed_run_shows_its_failure_message_and_log(kaggle_server, kaggle_backend) -> None:
    kaggle_server.add_kernel(RUN)
    kaggle_server.set_status(RUN, "ERROR", failure_message="Your notebook tried to allocate more memory")
    kaggle_server.set_output(RUN, {}, log=[("stderr", 3.0, "Traceback...\nMemoryError\n")])
    result = status(kaggle_backend, RUN, display=False)
    assert result.status == "ERROR" and not result.ok
    assert result.failure_message == "Your notebook tried to allocate more memory"
    assert result.log_tail == ["Traceback...", "MemoryError"]
    assert result.runtime_seconds == 3.0
    assert result.runtime_precision == f"3 s from the log {LOG_SAYS}"


def test_a_version_in_the_ref_asks_for_that_version(kaggle_server, kaggle_backend) -> None:
    kaggle_server.add_kernel(RUN, versions=2)
    kaggle_server.set_status(RUN, "ERROR", version=1, failure_message="v1 broke")
    kaggle_server.set_status(RUN, "COMPLETE", version=2)
    if not client_reads_versions():  # kagglesdk 0.1.18 (Kaggle's image): the latest only, others refused
        assert status(kaggle_backend, f"{RUN}/2", display=False).status == "COMPLETE"
        with pytest.raises(BackendError, match=f"{RUN}/1: .* can only read the latest version \\(2\\)"):
            status(kaggle_backend, f"{RUN}/1", display=False)
        return
    result = status(kaggle_backend, f"{RUN}/1", display=False)
    assert result.version == 1 and result.status == "ERROR" and result.failure_message == "v1 broke"
    assert kaggle_server.bodies("GetKernelSessionStatus")[-1].get("versionLabel") == "1"
    assert status(kaggle_backend, RUN, display=False).status == "COMPLETE"


def test_a_missing_kernel_is_named_with_its_url(kaggle_server, kaggle_backend) -> None:
    with pytest.raises(NotFound) as info:
        status(kaggle_backend, "kmtester/no-such-kernel", display=False)
    assert "kmtester/no-such-kernel" in info.value.message
    assert "https://www.kaggle.com/code/kmtester/no-such-kernel" in (
        info.value.message + (info.value.hint or "")
    )


def test_transient_server_errors_while_waiting_are_retried_not_fatal(kaggle_server, kaggle_backend) -> None:
    kaggle_server.add_kernel(RUN)
    kaggle_server.set_status(RUN, "QUEUED", "RUNNING", "COMPLETE")
    kaggle_server.fail("GetKernelSessionStatus", 503)
    kaggle_server.fail("GetKernelSessionStatus", 429, retry_after=0.1)
    result = status(kaggle_backend, RUN, wait=True, poll=FakeClock().poll(), display=False)
    assert result.status == "COMPLETE"
    answered = [r.status for r in kaggle_server.calls("GetKernelSessionStatus")]
    assert answered == [503, 429, 200, 200, 200]


# -- on the local backend: a real kernel run -----------------------------------------------------------------


def test_local_run_followed_to_its_end(local_world) -> None:
    shown = Recorder()
    result = status(
        local_world.backend,
        WORKFLOW_RUN,
        wait=True,
        poll=Poll(first=0.2, factor=1.5, most=1),
        timeout=120,
        display=shown,
    )
    assert result.status == "COMPLETE", (result.failure_message, result.log_tail)
    assert result.version == 1
    assert "starting" in result.log_tail and "done" in result.log_tail
    assert result.log_tail.index("starting") < result.log_tail.index("done")
    assert "submission.csv" in result.output_files and len(result.output_files) == OUTPUT_COUNT + 1
    # the runtime: the run slept SLEEP s; the log's last timestamp is a lower bound a few seconds short
    assert result.runtime_seconds is not None and SLEEP <= result.runtime_seconds < 60
    from_log = timing.from_log(local_world.backend.kernel_log(WORKFLOW_RUN))
    assert from_log is not None and from_log.seconds <= result.runtime_seconds <= from_log.seconds + 5
    assert result.runtime_precision
    if shown.updates:  # the run may have ended before the first poll when other tests waited on it first
        assert shown.closed is not None and shown.closed.startswith("COMPLETE after")


# -- the automatic display: a widget in a notebook, silence when stderr is not a terminal --------------------
def test_in_a_notebook_the_display_is_tqdms_widget() -> None:
    import json

    import nbclient
    import nbformat.v4 as v4

    nb = v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        v4.new_code_cell(
            "from kaggle_magics.progress import make_display\n"
            "shown = make_display(None, 'me/run')\n"
            "shown.update('RUNNING', 65)\n"
            "shown.close('COMPLETE after 2 min 00 s')"
        )
    ]
    nbclient.NotebookClient(nb, timeout=60, kernel_name="python3").execute()
    (output,) = nb.cells[0].outputs
    assert "application/vnd.jupyter.widget-view+json" in output["data"]
    state = json.dumps(nb.metadata["widgets"]).replace("\\u2007", " ")  # tqdm pads with figure spaces
    assert "me/run: COMPLETE after 2 min 00 s" in state


def test_in_a_notebook_without_ipywidgets_the_display_is_text_and_no_warning() -> None:
    """ipywidgets is an extra ([panel]): without it a notebook shows tqdm's text bar, not tqdm.auto's warning
    "IProgress not found. Please update jupyter and ipywidgets"."""
    import nbclient
    import nbformat.v4 as v4

    nb = v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [
        v4.new_code_cell("import sys\nsys.modules['ipywidgets'] = None  # not installed"),
        v4.new_code_cell(
            "from kaggle_magics.progress import make_display\n"
            "from kaggle_magics.bundle.progress import Progress\n"
            "shown = make_display(None, 'me/run')\n"
            "shown.update('RUNNING', 65)\n"
            "shown.close('COMPLETE after 2 min 00 s')\n"
            "with Progress().stage('download', 2048, unit='B', desc='download') as stage:\n"
            "    stage.advance(2048)"
        ),
    ]
    nbclient.NotebookClient(nb, timeout=60, kernel_name="python3").execute()
    outputs = nb.cells[1].outputs
    assert all(o["output_type"] == "stream" and o["name"] == "stderr" for o in outputs), outputs
    text = "".join(o["text"] for o in outputs)
    assert "IProgress" not in text and "ipywidgets" not in text
    assert "me/run: COMPLETE after 2 min 00 s" in text and "download" in text


def test_in_a_pipe_the_automatic_display_stays_silent(capsys: pytest.CaptureFixture[str]) -> None:
    shown = make_display(None, "me/run")
    shown.update("RUNNING", 5)
    shown.close("COMPLETE after 5 s")
    assert capsys.readouterr() == ("", "")
