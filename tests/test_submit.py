"""%kaggle_submit: code and file submissions through the official client against the loopback Kaggle, the
wait for the score, what is said when the competition is missing or its rules not accepted, a lost answer that
is never resubmitted; then the same on the local backend with a real run."""

from __future__ import annotations

from pathlib import Path

import pytest

from kaggle_magics.errors import BackendError, InvalidRef, KaggleMagicsError, NotFound, PermissionDenied
from kaggle_magics.submit import NoSubmissionsLeft, submit
from kaggle_magics.waiting import Poll
from tests.fixtures_kaggle import left
from tests.fixtures_workflow import TOY_COMP, WORKFLOW_RUN
from tests.test_status import FakeClock, Recorder

COMP = "toy-code-comp"
KERNEL = "kmtester/sub-kernel"


@pytest.fixture
def comp(kaggle_server):
    kaggle_server.add_kernel(KERNEL, versions=2)
    return kaggle_server.add_competition(COMP, title="Toy Code Comp", daily_limit=5)


def test_code_submission_of_a_kernel_version(kaggle_server, kaggle_backend, comp) -> None:
    result = submit(kaggle_backend, COMP, kernel=KERNEL, version=2, message="fold 0 only", display=False)
    (made,) = comp.submissions
    assert result.ref == str(made.ref) and made.kernel == f"{KERNEL}/2"
    assert result.kernel == f"{KERNEL}/2" and result.competition == COMP
    assert result.submissions_left == left(kaggle_backend, 4)
    assert result.url == f"https://www.kaggle.com/competitions/{COMP}/submissions"
    (body,) = kaggle_server.bodies("CreateCodeSubmission")
    assert body["kernelSlug"] == "sub-kernel" and body["kernelVersion"] == 2
    assert body["fileName"] == "submission.csv" and body["submissionDescription"] == "fold 0 only"
    assert "submissions left" in str(result)
    if result.submissions_left is None:  # an old client says that it cannot tell
        assert any("cannot read the limits" in note for note in result.notes)


def test_code_submission_of_the_latest_version_with_another_file_name(
    kaggle_server, kaggle_backend, comp
) -> None:
    result = submit(kaggle_backend, COMP, kernel=KERNEL, file="preds/submission.parquet", display=False)
    (body,) = kaggle_server.bodies("CreateCodeSubmission")
    assert "kernelVersion" not in body and body["fileName"] == "preds/submission.parquet"
    assert comp.submissions[0].kernel == f"{KERNEL}/2" and result.kernel == KERNEL


def test_file_submission_uploads_the_file(kaggle_server, kaggle_backend, comp, tmp_path: Path) -> None:
    csv = tmp_path / "my-preds.csv"
    csv.write_text("id,target\n1,0.5\n")
    result = submit(kaggle_backend, COMP, file=csv, message="first try", display=False)
    assert kaggle_server.submission(result.ref).data == csv.read_bytes()
    assert kaggle_server.submission(result.ref).description == "first try"
    assert result.kernel is None and result.submissions_left == left(kaggle_backend, 4)
    assert kaggle_server.calls("CreateCodeSubmission") == []


def test_wait_for_the_score_and_time_it(kaggle_server, kaggle_backend, comp) -> None:
    fake = FakeClock()
    shown = Recorder()
    result = submit(
        kaggle_backend,
        COMP,
        kernel=KERNEL,
        wait=True,
        poll=fake.poll(first=5, factor=2, most=30),
        display=shown,
    )
    assert result.status == "COMPLETE" and result.public_score == "0.750"
    # submitted at 0, PENDING at 5, COMPLETE at 15
    assert (result.runtime_seconds, result.waited_seconds) == (10, 15)
    assert (
        result.runtime_precision
        == "between 5 s and 15 s from polls, from submit to score (Kaggle's queue included)"
    )
    assert len(kaggle_server.calls("GetSubmission")) == 2
    assert result.submissions_left == left(kaggle_backend, 4)
    assert shown.closed == "COMPLETE after 15 s"


def test_ctrl_c_while_waiting_for_the_score(kaggle_server, kaggle_backend, comp) -> None:
    result = submit(
        kaggle_backend,
        COMP,
        kernel=KERNEL,
        wait=True,
        poll=FakeClock().poll(),
        display=Recorder(interrupt_at=1),
    )
    assert result.interrupted and result.status == "PENDING" and result.ref
    assert any("Ctrl-C" in n for n in result.notes)
    assert len(comp.submissions) == 1


def test_a_missing_competition_is_named_with_its_url(kaggle_server, kaggle_backend, tmp_path: Path) -> None:
    kaggle_server.add_kernel(KERNEL)
    with pytest.raises(NotFound) as info:
        submit(kaggle_backend, "no-such-comp", kernel=KERNEL, display=False)
    assert "competition 'no-such-comp' not found" in info.value.message
    assert "https://www.kaggle.com/competitions/no-such-comp" in (info.value.hint or "")
    assert kaggle_server.calls("CreateCodeSubmission") == []


def test_rules_not_accepted_points_at_the_rules_page(kaggle_server, kaggle_backend, tmp_path: Path) -> None:
    kaggle_server.add_kernel(KERNEL)
    kaggle_server.add_competition("ruled-comp", rules_accepted=False)
    csv = tmp_path / "s.csv"
    csv.write_text("id\n")
    for kwargs in ({"kernel": KERNEL}, {"file": csv}):
        with pytest.raises(PermissionDenied) as info:
            submit(kaggle_backend, "ruled-comp", display=False, **kwargs)
        assert "ruled-comp" in info.value.message
        assert "https://www.kaggle.com/competitions/ruled-comp/rules" in (info.value.hint or "")
    assert kaggle_server.competition("ruled-comp").submissions == []


def test_a_missing_kernel_is_named_not_the_competition(kaggle_server, kaggle_backend, comp) -> None:
    with pytest.raises(NotFound) as info:
        submit(kaggle_backend, COMP, kernel="kmtester/never-pushed", display=False)
    assert "kernel kmtester/never-pushed not found" in info.value.message
    assert "https://www.kaggle.com/code/kmtester/never-pushed" in (info.value.hint or "")


def test_no_submissions_left_stops_before_submitting(kaggle_server, kaggle_backend) -> None:
    kaggle_server.add_kernel(KERNEL)
    kaggle_server.add_competition(COMP, daily_limit=1)
    assert submit(kaggle_backend, COMP, kernel=KERNEL, display=False).submissions_left == left(kaggle_backend, 0)
    if not kaggle_backend.reads_limits():  # an old client cannot check first: Kaggle's refusal is the answer
        with pytest.raises(BackendError, match="daily Submission allowance"):
            submit(kaggle_backend, COMP, kernel=KERNEL, display=False)
        assert len(kaggle_server.calls("CreateCodeSubmission")) == 2
        return
    with pytest.raises(NoSubmissionsLeft, match="no submissions left today") as info:
        submit(kaggle_backend, COMP, kernel=KERNEL, display=False)
    assert "00:00 UTC" in (info.value.hint or "")
    assert len(kaggle_server.calls("CreateCodeSubmission")) == 1


@pytest.mark.parametrize("after", [True, False], ids=["answer-lost", "request-lost"])
def test_a_dropped_connection_never_makes_two_submissions(kaggle_server, kaggle_backend, comp, after) -> None:
    kaggle_server.drop("CreateCodeSubmission", after=after)
    try:
        result = submit(kaggle_backend, COMP, kernel=KERNEL, display=False)
    except BackendError as exc:  # allowed: a clear error that says to look first
        assert "submissions" in (exc.hint or "")
        result = None
    assert len(comp.submissions) <= 1
    if after:  # the submission was made: it is found and reported, not made again
        assert result is not None and result.ref == str(comp.submissions[0].ref)
    if result is not None:
        assert len(comp.submissions) == 1 and result.submissions_left == left(kaggle_backend, 4)


def test_bad_arguments(kaggle_server, kaggle_backend, comp, tmp_path: Path) -> None:
    with pytest.raises(KaggleMagicsError, match="not found") as info:
        submit(kaggle_backend, COMP, file=tmp_path / "nope.csv", display=False)
    assert "--kernel" in (info.value.hint or "")
    with pytest.raises(InvalidRef, match="version 1 but version 2"):
        submit(kaggle_backend, COMP, kernel=f"{KERNEL}/1", version=2, display=False)
    with pytest.raises(InvalidRef, match="without a kernel"):
        submit(kaggle_backend, COMP, version=2, display=False)
    with pytest.raises(InvalidRef, match="not a local path"):
        submit(kaggle_backend, COMP, kernel=KERNEL, file="/home/me/submission.csv", display=False)
    assert kaggle_server.calls("CreateCodeSubmission") == [] and kaggle_server.calls("CreateSubmission") == []


# -- on the local backend: a real run submitted --------------------------------------------------------------
def test_local_code_and_file_submissions(local_world, tmp_path: Path) -> None:
    from kaggle_magics.status import status

    fast = Poll(first=0.2, most=1)
    assert status(local_world.backend, WORKFLOW_RUN, wait=True, timeout=120, poll=fast, display=False).ok
    code = submit(
        local_world.backend,
        TOY_COMP,
        kernel=WORKFLOW_RUN,
        version=1,
        wait=True,
        timeout=60,
        poll=fast,
        display=False,
    )
    assert code.status == "COMPLETE", code.error
    assert code.kernel == f"{WORKFLOW_RUN}/1" and code.submissions_left == 2
    bad = tmp_path / "bad.csv"
    bad.write_text("wrong,columns\n")
    failed = submit(local_world.backend, TOY_COMP, file=bad, wait=True, timeout=60, poll=fast, display=False)
    assert failed.status == "ERROR" and failed.error and failed.submissions_left == 1
