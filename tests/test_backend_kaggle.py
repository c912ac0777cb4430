"""The Kaggle backend through the real official clients, over real HTTP, against the loopback server."""

from __future__ import annotations

import io
import json
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import nbformat
import pytest

from kaggle_magics import config
from kaggle_magics.backends.kaggle import KaggleBackend, parse_log
from kaggle_magics.errors import (
    BackendError,
    CredentialsError,
    MaybeApplied,
    MetadataError,
    NotFound,
    PermissionDenied,
    RateLimited,
)
from kaggle_magics.handles import CompetitionRef, DatasetRef, KernelRef, ModelRef
from kaggle_magics.results import LogEntry
from tests.fixtures_kaggle import (
    client_reads_versions,
    client_resumes_uploads,
    fast_retry_policy,
    left,
    run_kaggle_cli,
)
from tests.kaggle_server import FAKE_KEY, FAKE_TOKEN, FAKE_USER, KaggleServer

KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}
SLUG = "km-backend-test"
REF = f"{FAKE_USER}/{SLUG}"


def kernel_folder(
    root: Path,
    *,
    slug: str = SLUG,
    owner: str = FAKE_USER,
    kernelspec: bool = True,
    **metadata: object,
) -> Path:
    """A folder as `kaggle kernels push -p` takes it: kernel-metadata.json and a notebook with outputs."""
    folder = root / slug
    folder.mkdir(parents=True)
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# submission"),
        nbformat.v4.new_code_cell(
            "import pandas as pd\nprint('{} $HOME')",
            outputs=[nbformat.v4.new_output("stream", name="stdout", text="stale output\n")],
            execution_count=3,
        ),
    ]
    if kernelspec:
        nb.metadata["kernelspec"] = dict(KERNELSPEC)
    data = nbformat.writes(nb)
    raw = json.loads(data)
    raw["cells"][1]["source"] = [
        "import pandas as pd\n",
        "print('{} $HOME')",
    ]  # the list form the spec allows
    (folder / "notebook.ipynb").write_text(json.dumps(raw), encoding="utf-8")
    meta = {
        "id": f"{owner}/{slug}",
        "title": slug.replace("-", " "),
        "code_file": "notebook.ipynb",
        "language": "python",
        "kernel_type": "notebook",
        "is_private": True,
        "enable_gpu": False,
        "enable_internet": False,
        "dataset_sources": [],
        "competition_sources": [],
        "kernel_sources": [],
        "model_sources": [],
    }
    meta.update(metadata)
    (folder / "kernel-metadata.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
    return folder


def pushed(server: KaggleServer, ref: str = REF) -> dict:
    return server.kernel(ref).latest.request


# -- push ----------------------------------------------------------------------------------------------------
def test_push_sends_the_notebook_and_metadata_as_written(kaggle_server, kaggle_backend, tmp_path):
    folder = kernel_folder(
        tmp_path,
        dataset_sources=["kmtester/cmi-codes", "kmtester/cmi-deps/3"],
        competition_sources=["child-mind-institute-detect-sleep-states"],
        kernel_sources=["kmtester/cmi-wheels"],
        model_sources=["kmtester/cmi-models/pyTorch/exp-001/1"],
        machine_shape="NvidiaTeslaT4",
    )
    before = {p.name: p.read_bytes() for p in folder.iterdir()}

    result = kaggle_backend.push_kernel(folder, timeout=7200)

    assert (result.ref, result.version, result.backend) == (REF, 1, "kaggle")
    assert result.url == f"https://www.kaggle.com/code/{REF}"
    body = pushed(kaggle_server)
    assert body["slug"] == REF
    assert body["enableInternet"] is False  # sent explicitly, not left to the client's default (true)
    assert body["datasetDataSources"] == ["kmtester/cmi-codes", "kmtester/cmi-deps/3"]
    assert body["competitionDataSources"] == ["child-mind-institute-detect-sleep-states"]
    assert body["kernelDataSources"] == ["kmtester/cmi-wheels"]
    assert body["modelDataSources"] == ["kmtester/cmi-models/pyTorch/exp-001/1"]
    assert body["machineShape"] == "NvidiaTeslaT4"
    assert body["sessionTimeoutSeconds"] == 7200
    assert "kernelExecutionType" not in body  # a normal push runs
    notebook = kaggle_server.kernel(REF).latest.notebook
    assert notebook["metadata"]["kernelspec"] == KERNELSPEC
    code = notebook["cells"][1]
    assert code["outputs"] == [] and code["source"] == "import pandas as pd\nprint('{} $HOME')"
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before  # the user's folder is untouched


@pytest.mark.parametrize("internet", [True, False])
def test_push_sends_internet_exactly_as_in_the_metadata(kaggle_server, kaggle_backend, tmp_path, internet):
    kaggle_backend.push_kernel(kernel_folder(tmp_path, enable_internet=internet))
    assert pushed(kaggle_server)["enableInternet"] is internet


def test_push_sends_a_notebook_without_kernelspec_as_it_is(kaggle_server, kaggle_backend, tmp_path):
    # The backend pushes what it is given; adding the kernelspec is the notebook module's job.
    kaggle_backend.push_kernel(kernel_folder(tmp_path, kernelspec=False))
    assert "kernelspec" not in kaggle_server.kernel(REF).latest.notebook["metadata"]


def test_accelerator_overrides_machine_shape_and_quick_save_does_not_run(
    kaggle_server, kaggle_backend, tmp_path
):
    folder = kernel_folder(tmp_path, machine_shape="NvidiaTeslaP100", enable_internet=False)
    first = kaggle_backend.push_kernel(folder, accelerator="NvidiaL4")
    second = kaggle_backend.push_kernel(folder, no_run=True, timeout=600)

    first_body, second_body = (v.request for v in kaggle_server.kernel(REF).versions)
    assert first_body["machineShape"] == "NvidiaL4"
    assert (first.version, second.version) == (1, 2)
    assert second_body["kernelExecutionType"] == "QUICK_SAVE"
    assert second_body["enableInternet"] is False and second_body["sessionTimeoutSeconds"] == 600
    assert second_body["machineShape"] == "NvidiaTeslaP100"
    assert second_body["text"] == first_body["text"]  # the same clean-up as the client's own push
    assert any("quick save" in note for note in second.notes)


def test_push_with_invalid_sources_is_one_line_listing_them(kaggle_server, kaggle_backend, tmp_path):
    kaggle_server.mark_invalid("kmtester/no-such-data", "nobody/gone-model/pyTorch/v1/1")
    folder = kernel_folder(
        tmp_path,
        dataset_sources=["kmtester/no-such-data", "kmtester/real-data"],
        model_sources=["nobody/gone-model/pyTorch/v1/1"],
    )
    with pytest.raises(BackendError) as info:
        kaggle_backend.push_kernel(folder)
    message = str(info.value)
    assert "\n" not in message
    assert "dataset sources: kmtester/no-such-data" in message
    assert "model sources: nobody/gone-model/pyTorch/v1/1" in message
    assert "kmtester/real-data" not in message
    assert info.value.hint


def test_push_error_answer_shows_the_server_message(kaggle_server, kaggle_backend, tmp_path):
    kaggle_server.respond("SaveKernel", {"error": "Notebook exceeds the maximum size"})
    with pytest.raises(BackendError, match="Notebook exceeds the maximum size"):
        kaggle_backend.push_kernel(kernel_folder(tmp_path))


def test_push_to_someone_elses_kernel_is_permission_denied(kaggle_server, kaggle_backend, tmp_path):
    with pytest.raises(PermissionDenied) as info:
        kaggle_backend.push_kernel(kernel_folder(tmp_path, owner="someone-else"))
    assert "someone-else/km-backend-test" in str(info.value)
    assert "HTTP 403" in str(info.value)


def test_bad_metadata_names_the_file(kaggle_server, kaggle_backend, tmp_path):
    folder = kernel_folder(tmp_path, code_file="missing.ipynb")
    with pytest.raises(MetadataError, match=r"kernel-metadata\.json.*missing\.ipynb"):
        kaggle_backend.push_kernel(folder)
    assert kaggle_server.calls("SaveKernel") == []


def test_dropped_push_after_saving_is_not_repeated(kaggle_server, kaggle_backend, tmp_path):
    kaggle_server.drop("SaveKernel", after=True)
    result = kaggle_backend.push_kernel(kernel_folder(tmp_path))
    assert result.version == 1
    assert len(kaggle_server.calls("SaveKernel")) == 1
    assert len(kaggle_server.kernel(REF).versions) == 1
    assert any("connection failed" in note for note in result.notes)


def test_dropped_push_that_did_not_land_is_tried_again(kaggle_server, kaggle_backend, tmp_path):
    kaggle_server.drop("SaveKernel")
    result = kaggle_backend.push_kernel(kernel_folder(tmp_path))
    assert result.version == 1 and not result.notes
    assert len(kaggle_server.calls("SaveKernel")) == 2
    assert len(kaggle_server.kernel(REF).versions) == 1


def test_push_that_cannot_be_checked_is_not_repeated(kaggle_server, kaggle_backend, tmp_path):
    kaggle_server.fail("GetKernel", 500, times=4)  # the version before the push stays unknown
    kaggle_server.drop("SaveKernel", after=True)
    with pytest.raises(MaybeApplied) as info:
        kaggle_backend.push_kernel(kernel_folder(tmp_path))
    assert info.value.message == (
        f"the push of {REF} failed on the way back: it may have been pushed as a new version; "
        f"check https://www.kaggle.com/code/{REF} before pushing again"
    )
    assert len(kaggle_server.calls("SaveKernel")) == 1


def test_push_with_kaggle_unreachable_says_so_not_that_it_may_have_landed(
    kaggle_server, kaggle_backend, tmp_path, monkeypatch
):
    """No connection could be made (no network, a dead proxy): nothing was sent, so nothing may have been
    pushed; the error says Kaggle could not be reached, as reads do."""
    import socket

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    for name in ("HTTP_PROXY", "http_proxy"):
        monkeypatch.setenv(name, f"http://127.0.0.1:{port}")
    with pytest.raises(BackendError) as info:
        kaggle_backend.push_kernel(kernel_folder(tmp_path))
    assert not isinstance(info.value, MaybeApplied), info.value.message
    assert info.value.message.startswith(f"could not reach Kaggle for the push of {REF}"), info.value.message
    assert "may have" not in info.value.message and kaggle_server.calls("SaveKernel") == []


def test_push_whose_answer_is_lost_while_the_check_fails_is_not_sent_again(
    kaggle_server, kaggle_backend, tmp_path
):
    """Kaggle saved version 2 but the answer was lost, and every GetKernel after it fails: the push must
    not be sent again (that made a second version and a second run, and exit 0)."""
    kaggle_backend.push_kernel(kernel_folder(tmp_path / "first"))
    kaggle_server.drop("SaveKernel", after=True)
    kaggle_server.fail("GetKernel", 503, times=10, skip=1)  # the check before the push answers; those after fail
    with pytest.raises(MaybeApplied) as info:
        kaggle_backend.push_kernel(kernel_folder(tmp_path / "second"))
    assert info.value.message == (
        f"the push of {REF} failed on the way back: it may have been pushed as version 2; "
        f"check https://www.kaggle.com/code/{REF} before pushing again"
    )
    assert info.value.exit_code == 1
    assert len(kaggle_server.calls("SaveKernel")) == 2  # the first push and this one, once
    assert [v.number for v in kaggle_server.kernel(REF).versions] == [1, 2]
    assert [c.fault for c in kaggle_server.calls("GetKernel")] == [None, None, *["503"] * 4]


# -- status, log, output -------------------------------------------------------------------------------------
def test_status_follows_the_run_and_reports_failure(kaggle_server, kaggle_backend, tmp_path):
    kaggle_backend.push_kernel(kernel_folder(tmp_path))
    ref = KernelRef.parse(REF)
    assert kaggle_backend.kernel_status(ref).status == "QUEUED"  # the enum default: absent on the wire
    kaggle_server.set_status(
        REF, "RUNNING", "ERROR", failure_message="ModuleNotFoundError: No module named 'x'"
    )
    assert kaggle_backend.kernel_status(ref).status == "RUNNING"
    failed = kaggle_backend.kernel_status(ref)
    assert (failed.status, failed.done, failed.ok) == ("ERROR", True, False)
    assert failed.failure_message == "ModuleNotFoundError: No module named 'x'"

    kaggle_backend.push_kernel(kernel_folder(tmp_path / "again"))
    kaggle_server.set_status(REF, "COMPLETE")
    assert kaggle_backend.kernel_status(ref).status == "COMPLETE"
    if client_reads_versions():
        assert kaggle_backend.kernel_status(ref.with_version(1)).status == "ERROR"
        assert kaggle_server.bodies("GetKernelSessionStatus")[-1]["versionLabel"] == "1"
    else:  # kagglesdk 0.1.18 (Kaggle's image) asks about the latest version only: any other is refused
        assert kaggle_backend.kernel_status(ref.with_version(2)).status == "COMPLETE"
        with pytest.raises(BackendError, match="can only read the latest version") as info:
            kaggle_backend.kernel_status(ref.with_version(1))
        assert "kaggle>=2.2" in (info.value.hint or "")


def test_log_is_parsed(kaggle_server, kaggle_backend, tmp_path):
    kaggle_backend.push_kernel(kernel_folder(tmp_path))
    kaggle_server.set_output(REF, log=[("stdout", 0.52, "loading\n"), ("stderr", 61.5, "warning: slow\n")])
    assert kaggle_backend.kernel_log(KernelRef.parse(REF)) == [
        LogEntry("stdout", 0.52, "loading\n"),
        LogEntry("stderr", 61.5, "warning: slow\n"),
    ]


def test_parse_log_keeps_what_a_cut_off_log_holds():
    cut = (
        '[{"stream_name":"stdout","time":1.5,"data":"a\\n"}\n'
        ',{"stream_name":"stderr","time":2,"data":"b\\n"},'
    )
    assert parse_log(cut) == [LogEntry("stdout", 1.5, "a\n"), LogEntry("stderr", 2.0, "b\n")]
    assert parse_log("") == []
    assert parse_log("plain text\nmore") == [
        LogEntry("stdout", 0.0, "plain text\n"),
        LogEntry("stdout", 0.0, "more\n"),
    ]


def test_output_listing_follows_every_page_past_500_files(kaggle_server, kaggle_backend, tmp_path):
    kaggle_backend.push_kernel(kernel_folder(tmp_path))
    files = {f"preds/fold-{i:04d}.csv": f"{i}\n" for i in range(510)}
    kaggle_server.set_output(REF, files)

    listed = kaggle_backend.list_output(KernelRef.parse(REF))

    assert sorted(f.name for f in listed) == sorted(files)
    calls = kaggle_server.bodies("ListKernelSessionOutput")
    assert len(calls) == 26  # 20 a page
    assert calls[0].get("pageToken") is None and all(c["pageSize"] == 20 for c in calls)


def test_download_streams_an_output_file_and_survives_a_dropped_connection(
    kaggle_server, kaggle_backend, tmp_path
):
    kaggle_backend.push_kernel(kernel_folder(tmp_path))
    payload = bytes(range(256)) * 4000
    kaggle_server.set_output(REF, {"model/weights.bin": payload, "submission.csv": "id,y\n"})
    ref = KernelRef.parse(REF)
    item = next(f for f in kaggle_backend.list_output(ref) if f.name == "model/weights.bin")
    kaggle_server.drop("Download")

    target = tmp_path / "weights.part"
    kaggle_backend.download_output_file(ref, item, target)

    assert target.read_bytes() == payload
    assert len(kaggle_server.calls("Download")) == 2


# -- faults on reads -----------------------------------------------------------------------------------------
def test_429_waits_what_retry_after_asks(kaggle_server, kaggle_backend, tmp_path):
    kaggle_backend.push_kernel(kernel_folder(tmp_path))
    kaggle_server.fail("GetKernelSessionStatus", 429, retry_after=1)
    started = time.monotonic()
    status = kaggle_backend.kernel_status(KernelRef.parse(REF))
    waited = time.monotonic() - started
    assert status.status == "QUEUED"
    calls = kaggle_server.calls("GetKernelSessionStatus")
    assert [c.status for c in calls] == [429, 200]
    assert 0.95 <= calls[1].at - calls[0].at < 3 and waited < 4  # the 1 s asked for, not the 0.05 s backoff


def test_429_that_persists_is_rate_limited(kaggle_server, kaggle_backend, tmp_path):
    kaggle_backend.push_kernel(kernel_folder(tmp_path))
    kaggle_server.fail("GetKernelSessionStatus", 429, retry_after=0.05, times=10)
    with pytest.raises(RateLimited, match="4 tries"):
        kaggle_backend.kernel_status(KernelRef.parse(REF))
    assert len(kaggle_server.calls("GetKernelSessionStatus")) == 4


def test_429_asking_for_too_long_a_wait_fails_at_once(kaggle_server, kaggle_backend, tmp_path):
    kaggle_backend.push_kernel(kernel_folder(tmp_path))
    kaggle_server.fail("GetKernelSessionStatus", 429, retry_after=3600)
    with pytest.raises(RateLimited, match="3600"):
        kaggle_backend.kernel_status(KernelRef.parse(REF))
    assert len(kaggle_server.calls("GetKernelSessionStatus")) == 1


def test_503_then_success_on_a_read(kaggle_server, kaggle_backend, tmp_path):
    kaggle_backend.push_kernel(kernel_folder(tmp_path))
    kaggle_server.set_output(REF, {"a.txt": "a"})
    kaggle_server.fail("ListKernelSessionOutput", 503, times=2)
    assert [f.name for f in kaggle_backend.list_output(KernelRef.parse(REF))] == ["a.txt"]
    assert [c.status for c in kaggle_server.calls("ListKernelSessionOutput")] == [503, 503, 200]


def test_5xx_that_persists_is_a_backend_error(kaggle_server, kaggle_backend, tmp_path):
    kaggle_backend.push_kernel(kernel_folder(tmp_path))
    kaggle_server.fail("GetKernelSessionStatus", 500, times=10)
    with pytest.raises(BackendError, match="HTTP 500"):
        kaggle_backend.kernel_status(KernelRef.parse(REF))
    assert len(kaggle_server.calls("GetKernelSessionStatus")) == 4


def test_dropped_connection_on_a_read_then_success(kaggle_server, kaggle_backend, tmp_path):
    kaggle_backend.push_kernel(kernel_folder(tmp_path))
    kaggle_server.drop("GetKernelSessionStatus")
    assert kaggle_backend.kernel_status(KernelRef.parse(REF)).status == "QUEUED"
    assert [c.status for c in kaggle_server.calls("GetKernelSessionStatus")] == [None, 200]


# -- errors that name the resource ---------------------------------------------------------------------------
def test_missing_kernel_is_not_found_with_its_url(kaggle_server, kaggle_backend):
    with pytest.raises(NotFound) as info:
        kaggle_backend.kernel_status(KernelRef.parse("kmtester/no-such-kernel"))
    assert "https://www.kaggle.com/code/kmtester/no-such-kernel" in str(info.value)


def test_someone_elses_private_kernel_is_permission_denied(kaggle_server, kaggle_backend):
    kaggle_server.add_kernel("someone/private-work", private=True)
    with pytest.raises(PermissionDenied) as info:
        kaggle_backend.list_output(KernelRef.parse("someone/private-work"))
    assert "someone/private-work" in str(info.value) and "HTTP 403" in str(info.value)
    assert info.value.hint


def test_rejected_credentials_are_permission_denied_without_the_key(kaggle_server, monkeypatch):
    monkeypatch.setenv("KAGGLE_KEY", FAKE_KEY[::-1])
    backend = KaggleBackend(retry=fast_retry_policy())
    with pytest.raises(PermissionDenied) as info:
        backend.kernel_status(KernelRef.parse(REF))
    assert "HTTP 401" in str(info.value) and "$KAGGLE_USERNAME + $KAGGLE_KEY" in str(info.value)
    assert FAKE_KEY[::-1] not in info.value.render()


def test_secrets_never_reach_error_messages(kaggle_server, kaggle_backend, tmp_path):
    kaggle_backend.push_kernel(kernel_folder(tmp_path))
    errors = []
    kaggle_server.fail("GetKernelSessionStatus", 400, message=f"bad request from {FAKE_USER}:{FAKE_KEY}")
    for call in (
        lambda: kaggle_backend.kernel_status(KernelRef.parse(REF)),
        lambda: kaggle_backend.kernel_status(KernelRef.parse("kmtester/missing-one")),
        lambda: kaggle_backend.submissions_left(CompetitionRef.parse("no-such-competition")),
    ):
        with pytest.raises(BackendError) as info:
            call()
        errors.append(info.value)
    assert "***" in str(errors[0])  # the server echoed the key: it is masked
    for error in errors:
        assert FAKE_KEY not in error.render() and FAKE_KEY not in repr(error.args)


# -- credentials ---------------------------------------------------------------------------------------------
def test_no_credentials_is_a_clear_error_with_no_client_noise(kaggle_server_anonymous, capfd):
    backend = KaggleBackend(retry=fast_retry_policy())
    with pytest.raises(CredentialsError) as info:
        backend.kernel_status(KernelRef.parse(REF))
    assert info.value.hint == config.NO_CREDENTIALS_HINT
    assert capfd.readouterr() == ("", "")
    assert kaggle_server_anonymous.calls() == []


def test_credentials_the_client_cannot_use_give_credentials_error_not_system_exit(
    kaggle_server_anonymous, monkeypatch, capfd
):
    monkeypatch.setenv("KAGGLE_API_TOKEN", "KGAT_not-a-valid-token")
    backend = KaggleBackend(retry=fast_retry_policy())
    with pytest.raises(CredentialsError, match=r"\$KAGGLE_API_TOKEN"):
        backend.kernel_status(KernelRef.parse(REF))
    assert capfd.readouterr() == ("", "")  # the client's help text was not printed
    assert [c.name for c in kaggle_server_anonymous.calls()] == ["IntrospectToken"]


def test_first_import_without_credentials_prints_nothing(kaggle_server_anonymous, tmp_path):
    code = (
        "from kaggle_magics.backends.kaggle import KaggleBackend\n"
        "from kaggle_magics.handles import KernelRef\n"
        "from kaggle_magics.errors import CredentialsError\n"
        "try:\n"
        "    KaggleBackend().kernel_status(KernelRef.parse('kmtester/some-kernel'))\n"
        "except CredentialsError as exc:\n"
        "    raise SystemExit(7)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert (done.returncode, done.stdout, done.stderr) == (7, "", "")


def test_access_token_is_sent_as_bearer(kaggle_server, monkeypatch, tmp_path):
    for name in ("KAGGLE_USERNAME", "KAGGLE_KEY"):
        monkeypatch.delenv(name)
    monkeypatch.setenv("KAGGLE_API_TOKEN", FAKE_TOKEN)
    backend = KaggleBackend(retry=fast_retry_policy())
    backend.push_kernel(kernel_folder(tmp_path))
    assert [c.user for c in kaggle_server.calls("SaveKernel")] == [FAKE_USER]
    assert all("Authorization" not in c.headers for c in kaggle_server.calls())
    assert backend.describe() == "kaggle (credentials from $KAGGLE_API_TOKEN; endpoint LOCALHOST)"


def test_describe_names_the_credentials_source_not_the_secret(kaggle_server, kaggle_backend):
    text = kaggle_backend.describe()
    assert text == "kaggle (credentials from $KAGGLE_USERNAME + $KAGGLE_KEY; endpoint LOCALHOST)"
    assert FAKE_KEY not in repr(kaggle_backend)


# -- competitions --------------------------------------------------------------------------------------------
COMPETITION = "km-playground"


def test_code_submission_status_and_limits(kaggle_server, kaggle_backend, tmp_path):
    kaggle_server.add_competition(COMPETITION, daily_limit=5)
    kaggle_backend.push_kernel(kernel_folder(tmp_path))
    competition = CompetitionRef.parse(COMPETITION)

    result = kaggle_backend.submit_code(
        competition, KernelRef.parse(f"{REF}/1"), file_name="submission.csv", message="exp 1"
    )

    body = kaggle_server.bodies("CreateCodeSubmission")[0]
    assert body == {
        "competitionName": COMPETITION,
        "kernelOwner": FAKE_USER,
        "kernelSlug": SLUG,
        "kernelVersion": 1,
        "fileName": "submission.csv",
        "submissionDescription": "exp 1",
    }
    assert (result.competition, result.status, result.submissions_left, result.kernel) == (
        COMPETITION,
        "PENDING",
        left(kaggle_backend, 4),
        f"{REF}/1",
    )
    (made,) = kaggle_server.competition(COMPETITION).submissions
    assert result.ref == str(made.ref) and made.kernel == f"{REF}/1"

    assert kaggle_backend.submission_status(competition, result.ref).status == "PENDING"
    done = kaggle_backend.submission_status(competition, result.ref)
    assert (done.status, done.public_score, done.message) == ("COMPLETE", "0.750", "exp 1")
    assert kaggle_backend.submissions_left(competition) == left(kaggle_backend, 4)


def test_file_submission_uploads_the_file(kaggle_server, kaggle_backend, tmp_path):
    kaggle_server.add_competition(COMPETITION)
    csv = tmp_path / "submission.csv"
    csv.write_text("id,target\n1,0.5\n")
    result = kaggle_backend.submit_file(CompetitionRef.parse(COMPETITION), csv, message="file sub")
    (made,) = kaggle_server.competition(COMPETITION).submissions
    assert result.ref == str(made.ref)
    assert (made.data, made.file_name, made.description) == (csv.read_bytes(), "submission.csv", "file sub")
    kaggle_server.set_submission(made.ref, "ERROR", error="Submission has 1 row, expected 2")
    failed = kaggle_backend.submission_status(CompetitionRef.parse(COMPETITION), result.ref)
    assert (failed.status, failed.error) == ("ERROR", "Submission has 1 row, expected 2")


def test_dropped_submission_is_not_sent_twice(kaggle_server, kaggle_backend, tmp_path):
    kaggle_server.add_competition(COMPETITION)
    kaggle_backend.push_kernel(kernel_folder(tmp_path))
    kaggle_server.drop("CreateCodeSubmission", after=True)

    result = kaggle_backend.submit_code(CompetitionRef.parse(COMPETITION), KernelRef.parse(REF))

    assert len(kaggle_server.calls("CreateCodeSubmission")) == 1
    (made,) = kaggle_server.competition(COMPETITION).submissions
    assert result.ref == str(made.ref)
    assert any("connection failed" in note for note in result.notes)


def test_submission_dropped_before_it_landed_is_sent_again_once(kaggle_server, kaggle_backend, tmp_path):
    kaggle_server.add_competition(COMPETITION)
    csv = tmp_path / "submission.csv"
    csv.write_text("id,target\n")
    kaggle_server.drop("CreateSubmission")
    result = kaggle_backend.submit_file(CompetitionRef.parse(COMPETITION), csv)
    assert len(kaggle_server.calls("CreateSubmission")) == 2
    (made,) = kaggle_server.competition(COMPETITION).submissions
    assert result.ref == str(made.ref)


def test_rules_not_accepted_points_to_the_rules_page(kaggle_server, kaggle_backend, tmp_path):
    kaggle_server.add_competition(COMPETITION, rules_accepted=False)
    kaggle_backend.push_kernel(kernel_folder(tmp_path))
    with pytest.raises(PermissionDenied) as info:
        kaggle_backend.submit_code(CompetitionRef.parse(COMPETITION), KernelRef.parse(REF))
    assert f"https://www.kaggle.com/competitions/{COMPETITION}/rules" in info.value.hint
    assert kaggle_server.calls("CreateCodeSubmission") == []


def test_unknown_competition_is_not_found_with_its_url(kaggle_server, kaggle_backend, tmp_path):
    csv = tmp_path / "submission.csv"
    csv.write_text("id\n")
    with pytest.raises(NotFound, match=r"https://www\.kaggle\.com/competitions/no-such-comp"):
        kaggle_backend.submit_file(CompetitionRef.parse("no-such-comp"), csv)


def test_submission_of_a_missing_kernel_version_names_the_kernel(kaggle_server, kaggle_backend, tmp_path):
    kaggle_server.add_competition(COMPETITION)
    kaggle_backend.push_kernel(kernel_folder(tmp_path))
    with pytest.raises(NotFound, match=f"kernel {REF}/9"):
        kaggle_backend.submit_code(CompetitionRef.parse(COMPETITION), KernelRef.parse(f"{REF}/9"))


# -- datasets ------------------------------------------------------------------------------------------------
def test_dataset_created_then_versioned_with_subfolders_zipped(
    kaggle_server, kaggle_backend, tmp_path, capfd
):
    folder = tmp_path / "codes"
    (folder / "src" / "pkg").mkdir(parents=True)
    (folder / "train.py").write_text("print('train')\n")
    (folder / "src" / "pkg" / "model.py").write_text("X = 1\n")
    ref = DatasetRef.parse("kmtester/km-codes")
    assert not kaggle_backend.dataset_exists(ref)

    created = kaggle_backend.dataset_upload(folder, ref, title="KM codes dataset")

    assert (created.ref, created.version, created.files) == ("kmtester/km-codes", 1, ["src.zip", "train.py"])
    dataset = kaggle_server.dataset("kmtester/km-codes")
    assert dataset.title == "KM codes dataset" and dataset.license == "CC0-1.0" and dataset.private
    files = dataset.latest.files
    assert files["train.py"] == b"print('train')\n"
    assert zipfile.ZipFile(io.BytesIO(files["src.zip"])).read("pkg/model.py") == b"X = 1\n"
    assert sorted(p.name for p in folder.iterdir()) == ["src", "train.py"]  # no metadata written into it
    assert kaggle_backend.dataset_exists(ref)

    (folder / "train.py").write_text("print('train v2')\n")
    versioned = kaggle_backend.dataset_upload(folder, ref, message="second")
    assert versioned.version == 2
    assert dataset.latest.notes == "second" and dataset.latest.files["train.py"] == b"print('train v2')\n"
    assert len(kaggle_server.calls("CreateDataset")) == len(kaggle_server.calls("CreateDatasetVersion")) == 1
    assert capfd.readouterr() == ("", "")  # the client's progress and messages stayed quiet


def test_interrupted_dataset_upload_resumes(kaggle_server, kaggle_backend, tmp_path):
    folder = tmp_path / "blob"
    folder.mkdir()
    data = bytes(range(256)) * 512
    (folder / "weights.bin").write_bytes(data)
    kaggle_server.truncate_upload(keep=10_000)

    kaggle_backend.dataset_upload(folder, DatasetRef.parse("kmtester/km-weights"))

    assert kaggle_server.dataset("kmtester/km-weights").latest.files == {"weights.bin": data}
    uploads = kaggle_server.calls("Upload")
    ranges = [c.body["contentRange"] for c in uploads]
    if not client_resumes_uploads():  # kaggle 2.0.1 (Kaggle's image) sends the whole file again
        assert ranges == [None, None] and [c.body["bytes"] for c in uploads] == [len(data), len(data)]
        return
    assert f"bytes */{len(data)}" in ranges  # asked how far it got
    assert f"bytes 10000-{len(data) - 1}/{len(data)}" in ranges  # and sent only the rest


def test_dataset_version_survives_a_503_on_the_upload_start(kaggle_server, kaggle_backend, tmp_path):
    folder = tmp_path / "small"
    folder.mkdir()
    (folder / "a.txt").write_text("a")
    ref = DatasetRef.parse("kmtester/km-small")
    kaggle_backend.dataset_upload(folder, ref)
    kaggle_server.fail("StartBlobUpload", 503)
    assert kaggle_backend.dataset_upload(folder, ref, message="v2").version == 2
    assert len(kaggle_server.calls("CreateDatasetVersion")) == 1


def test_dataset_creation_repeated_by_the_client_is_recognised_as_ours(
    kaggle_server, kaggle_backend, tmp_path
):
    folder = tmp_path / "small"
    folder.mkdir()
    (folder / "a.txt").write_text("a")
    kaggle_server.drop("CreateDataset", after=True)  # the official client repeats the creation by itself
    result = kaggle_backend.dataset_upload(folder, DatasetRef.parse("kmtester/km-small"))
    assert result.version == 1
    assert kaggle_server.dataset("kmtester/km-small").latest.files == {"a.txt": b"a"}


def test_short_dataset_slug_is_a_metadata_error(kaggle_server, kaggle_backend, tmp_path):
    folder = tmp_path / "x"
    folder.mkdir()
    (folder / "a.txt").write_text("a")
    with pytest.raises(MetadataError, match="kmtester/abc"):
        kaggle_backend.dataset_upload(folder, DatasetRef.parse("kmtester/abc"))


# -- models --------------------------------------------------------------------------------------------------
def test_model_upload_creates_then_adds_a_version(kaggle_server, kaggle_backend, tmp_path, capfd):
    folder = tmp_path / "weights"
    (folder / "fold0").mkdir(parents=True)
    (folder / "fold0" / "model.pt").write_bytes(b"\x00weights-0")
    (folder / "config.json").write_text("{}")
    ref = ModelRef.parse("kmtester/km-model/pyTorch/exp-001")

    first = kaggle_backend.model_upload(ref, folder, notes="first")

    assert (first.handle, first.version) == ("kmtester/km-model/pyTorch/exp-001", 1)
    assert first.model_source == "kmtester/km-model/pyTorch/exp-001/1"
    assert first.input_path == "/kaggle/input/models/kmtester/km-model/pytorch/exp-001/1"
    instance = kaggle_server.model("kmtester/km-model").instances[("MODEL_FRAMEWORK_PY_TORCH", "exp-001")]
    assert instance.versions[0].files == {"fold0/model.pt": b"\x00weights-0", "config.json": b"{}"}

    (folder / "fold0" / "model.pt").write_bytes(b"\x00weights-1")
    second = kaggle_backend.model_upload(ref, folder, notes="second")

    assert (second.version, second.model_source) == (2, "kmtester/km-model/pyTorch/exp-001/2")
    assert (
        instance.versions[1].notes == "second"
        and instance.versions[1].files["fold0/model.pt"] == b"\x00weights-1"
    )
    assert len(kaggle_server.calls("CreateModel")) == 1
    assert len(kaggle_server.calls("CreateModelInstance")) == 2  # the second answered 409: a version instead
    assert len(kaggle_server.calls("CreateModelInstanceVersion")) == 1
    assert capfd.readouterr() == ("", "")  # kagglehub's progress logs and bars stayed quiet


def test_model_version_dropped_after_it_was_made_is_not_made_twice(kaggle_server, kaggle_backend, tmp_path):
    folder = tmp_path / "weights"
    folder.mkdir()
    (folder / "model.pt").write_bytes(b"w")
    ref = ModelRef.parse("kmtester/km-model/pyTorch/exp-002")
    kaggle_backend.model_upload(ref, folder)
    kaggle_server.drop("CreateModelInstanceVersion", after=True)
    result = kaggle_backend.model_upload(ref, folder, notes="again")
    assert result.version == 2 and result.notes
    assert len(kaggle_server.calls("CreateModelInstanceVersion")) == 1


# -- the official CLI ----------------------------------------------------------------------------------------
def test_official_cli_pushes_a_kernel_folder_to_the_server(kaggle_server, tmp_path):
    folder = kernel_folder(tmp_path, dataset_sources=["kmtester/km-codes"])
    done = run_kaggle_cli(kaggle_server, "kernels", "push", "-p", str(folder))
    assert done.returncode == 0, done.stdout + done.stderr
    assert "Kernel version 1 successfully pushed" in done.stdout
    body = pushed(kaggle_server)
    assert body["enableInternet"] is False and body["datasetDataSources"] == ["kmtester/km-codes"]
    assert FAKE_KEY not in done.stdout + done.stderr
