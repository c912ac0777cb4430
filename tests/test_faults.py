"""The fault suite: every RPC the package calls through the official clients, met with each fault (429 with
Retry-After, 500, 503, a dropped connection, an answer lost after the server acted), as a user meets it; then
the writes whose answer is lost while the check after them fails too. Each case asserts on what the loopback
server recorded (nothing made twice) and on the message; the last test keeps docs/faults.md equal to what the
suite ran."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from kaggle_magics.errors import KaggleMagicsError, MaybeApplied
from tests.faults import BY_NAME, CASES, FAULT_LABELS, FAULTS, OPERATIONS, Observed, render
from tests.fixtures_kaggle import fast_retry_policy
from tests.kaggle_server import FAKE_KEY, FAKE_TOKEN, FAKE_USER, KaggleServer

TABLE = Path(__file__).resolve().parent.parent / "docs" / "faults.md"
_observed: dict[tuple[str, str, str], Observed] = {}
_extra: dict[str, tuple[str, str, str]] = {}


def _backend():
    from kaggle_magics.backends.kaggle import KaggleBackend

    return KaggleBackend(retry=fast_retry_policy())


def _use_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("KAGGLE_USERNAME")
    monkeypatch.delenv("KAGGLE_KEY")
    monkeypatch.setenv("KAGGLE_API_TOKEN", FAKE_TOKEN)


@pytest.mark.parametrize("op", OPERATIONS, ids=[op.name for op in OPERATIONS])
def test_each_operation_calls_the_rpcs_the_suite_faults(kaggle_server: KaggleServer, tmp_path, monkeypatch, op):
    """The table of RPCs cannot go stale: a clean run of each operation calls exactly those listed."""
    if op.token:
        _use_token(monkeypatch)
    run = op.prepare(kaggle_server, _backend(), tmp_path)
    first = len(kaggle_server.calls())
    before = op.made(kaggle_server) if op.made else None
    result = run()
    called = list(dict.fromkeys(c.name for c in kaggle_server.calls()[first:]))
    assert tuple(called) == op.rpcs
    if op.made:
        assert op.made(kaggle_server) == before + 1
    assert op.right(result, kaggle_server)


@pytest.mark.parametrize(("name", "rpc", "kind"), CASES, ids=[f"{o}-{r}-{k}" for o, r, k in CASES])
def test_single_fault(kaggle_server: KaggleServer, tmp_path: Path, monkeypatch, name: str, rpc: str, kind: str):
    op = BY_NAME[name]
    if op.token:
        _use_token(monkeypatch)
    run = op.prepare(kaggle_server, _backend(), tmp_path)
    first = len(kaggle_server.calls())
    before = op.made(kaggle_server) if op.made else None
    FAULTS[kind][1](kaggle_server, rpc)
    try:
        result = run()
    except KaggleMagicsError as exc:
        error: KaggleMagicsError | None = exc
        result = None
    else:
        error = None
    calls = [c for c in kaggle_server.calls()[first:] if c.name == rpc]
    made = op.made(kaggle_server) - before if op.made else None
    observed = Observed(
        name, rpc, kind, ok=error is None, calls=len(calls), made=made,
        message=error.message if error else "", notes=list(getattr(result, "notes", []) or []),
    )  # fmt: skip
    _observed[(name, rpc, kind)] = observed

    assert calls and calls[0].fault == FAULT_LABELS[kind], "the fault was injected where it was meant to be"
    if made is not None:
        assert made <= 1, f"{op.what}: {made} made by one {name}"
    if error is None:
        assert made in (None, 1), f"{name} succeeded but made {made} {op.what}"
        assert op.right(result, kaggle_server), f"{name} succeeded but its result is not what the server holds"
    else:
        text = error.render()
        assert "\n" not in error.message and FAKE_KEY not in text and FAKE_TOKEN not in text
        if made:  # it happened: the message must not say it failed
            assert isinstance(error, MaybeApplied) or "may have" in error.message, error.message
    assert error is None, f"a single {kind} on {rpc} stopped {name}: {error and error.render()}"


# -- combined faults: the answer lost, the check after it failing ----------------------------------------------
def _record(case: str, recorded: str, error: KaggleMagicsError) -> None:
    _extra[case] = (case, recorded, f"`{error.message}` (exit {error.exit_code})")


def test_push_lost_while_the_version_check_fails(kaggle_server: KaggleServer, tmp_path: Path) -> None:
    from tests.faults import KERNEL, kernel_folder

    kaggle_server.add_kernel(KERNEL)
    kaggle_server.drop("SaveKernel", after=True)
    kaggle_server.fail("GetKernel", 503, times=10, skip=1)
    with pytest.raises(MaybeApplied) as info:
        _backend().push_kernel(kernel_folder(tmp_path))
    versions = [v.number for v in kaggle_server.kernel(KERNEL).versions]
    assert versions == [1, 2] and len(kaggle_server.calls("SaveKernel")) == 1
    assert info.value.message == (
        f"the push of {KERNEL} failed on the way back: it may have been pushed as version 2; "
        f"check https://www.kaggle.com/code/{KERNEL} before pushing again"
    )
    _record("push: SaveKernel answer lost, every GetKernel after it 503", "1 SaveKernel, version 2 made once",
            info.value)  # fmt: skip


def test_submission_lost_while_the_listing_fails_and_the_count_lags(
    kaggle_server: KaggleServer, tmp_path: Path
) -> None:
    """The submission landed; the listing that would show it fails; the submissions-left count Kaggle serves
    has not moved yet. The message may not say it failed."""
    from kaggle_magics.submit import submit
    from tests.faults import COMPETITION, KERNEL

    kaggle_server.add_kernel(KERNEL)
    kaggle_server.add_competition(COMPETITION)
    kaggle_server.respond("GetSubmissionLimits", {"numAllowedNow": 5}, times=2)  # a count not updated yet
    kaggle_server.drop("CreateCodeSubmission", after=True)
    kaggle_server.fail("ListSubmissions", 503, times=10, skip=1)
    with pytest.raises(MaybeApplied) as info:
        submit(_backend(), COMPETITION, kernel=KERNEL, version=1)
    assert len(kaggle_server.competition(COMPETITION).submissions) == 1
    assert len(kaggle_server.calls("CreateCodeSubmission")) == 1
    message = info.value.message
    assert "failed" not in message.split(":")[0] and "may have gone through" in message, message
    assert f"https://www.kaggle.com/competitions/{COMPETITION}/submissions" in (info.value.hint or "")
    _record("submit: CreateCodeSubmission answer lost, ListSubmissions 503, the count not updated yet",
            "1 CreateCodeSubmission, 1 submission", info.value)  # fmt: skip


def test_submission_lost_while_the_listing_fails(kaggle_server: KaggleServer, tmp_path: Path) -> None:
    from kaggle_magics.submit import submit
    from tests.faults import COMPETITION, KERNEL

    kaggle_server.add_kernel(KERNEL)
    kaggle_server.add_competition(COMPETITION)
    kaggle_server.drop("CreateCodeSubmission", after=True)
    kaggle_server.fail("ListSubmissions", 503, times=10, skip=1)
    with pytest.raises(MaybeApplied, match="probably went through") as info:
        submit(_backend(), COMPETITION, kernel=KERNEL, version=1)
    assert len(kaggle_server.competition(COMPETITION).submissions) == 1
    assert len(kaggle_server.calls("CreateCodeSubmission")) == 1
    _record("submit: CreateCodeSubmission answer lost, ListSubmissions 503", "1 CreateCodeSubmission, 1 submission",
            info.value)  # fmt: skip


def test_dataset_version_lost_while_the_check_fails(kaggle_server: KaggleServer, tmp_path: Path) -> None:
    from kaggle_magics.datasets import upload_dataset
    from tests.faults import DATASET

    kaggle_server.add_dataset(DATASET, {"a.txt": b"old"})
    folder = tmp_path / "data"
    folder.mkdir()
    (folder / "a.txt").write_text("new")
    kaggle_server.drop("CreateDatasetVersion", after=True)
    kaggle_server.fail("GetDataset", 503, times=10, skip=1)
    with pytest.raises(MaybeApplied) as info:
        upload_dataset(_backend(), folder, DATASET, state_dir=tmp_path / "state")
    assert len(kaggle_server.dataset(DATASET).versions) == 2
    assert len(kaggle_server.calls("CreateDatasetVersion")) == 1
    assert "may have" in info.value.message + (info.value.hint or "")
    _record("dataset: CreateDatasetVersion answer lost, GetDataset 503", "1 CreateDatasetVersion, version 2 made once",
            info.value)  # fmt: skip


def test_model_version_lost_while_the_check_fails(kaggle_server: KaggleServer, tmp_path: Path) -> None:
    from kaggle_magics.models import upload_model
    from tests.faults import MODEL, _model_versions

    folder = tmp_path / "weights"
    folder.mkdir()
    (folder / "model.pt").write_bytes(b"w")
    backend = _backend()
    upload_model(backend, folder, MODEL)
    kaggle_server.drop("CreateModelInstanceVersion", after=True)
    kaggle_server.fail("GetModelInstance", 503, times=10, skip=1)
    with pytest.raises(MaybeApplied) as info:
        upload_model(backend, folder, MODEL)
    assert _model_versions(kaggle_server) == 2
    assert len(kaggle_server.calls("CreateModelInstanceVersion")) == 1
    _record("model: CreateModelInstanceVersion answer lost, GetModelInstance 503",
            "1 CreateModelInstanceVersion, version 2 made once", info.value)  # fmt: skip


# -- the table -------------------------------------------------------------------------------------------------
def test_the_table_in_the_docs_is_what_the_suite_ran() -> None:
    """Last in this file: renders what the cases above observed. ``FAULTS_TABLE=write`` writes it."""
    if len(_observed) < len(CASES) or len(_extra) < 5:
        pytest.skip("the table needs every case of this file in the same run")
    text = render([_observed[c] for c in CASES], list(_extra.values()))
    if os.environ.get("FAULTS_TABLE") == "write":
        TABLE.parent.mkdir(exist_ok=True)
        TABLE.write_text(text, encoding="utf-8")
    assert TABLE.is_file() and TABLE.read_text(encoding="utf-8") == text, (
        "docs/faults.md is out of date: run FAULTS_TABLE=write python -m pytest tests/test_faults.py"
    )


def test_fake_user_is_the_one_the_cases_act_as() -> None:
    assert FAKE_USER == "kmtester"
