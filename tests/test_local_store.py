"""The local Kaggle's store and bookkeeping, without running kernels: versions under concurrency, damaged
files, missing sources, validation, datasets, models, competitions and submissions."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import tarfile
import time
from pathlib import Path

import pytest

from kaggle_magics.backends import get_backend
from kaggle_magics.cli import main
from kaggle_magics.errors import BackendError, ConfigError, InputError, MetadataError, NotebookError, NotFound
from kaggle_magics.handles import CompetitionRef, DatasetRef, KernelRef, ModelRef
from kaggle_magics.local import runs, sandbox
from kaggle_magics.local.admin import add_competition, list_competitions
from kaggle_magics.local.backend import LocalBackend
from kaggle_magics.local.store import StoreError
from tests.fixtures_local import make_kernel

REF = KernelRef.parse("me/some-kernel")


@pytest.fixture
def backend(isolated_env: Path) -> LocalBackend:
    return LocalBackend()


def test_default_store_comes_from_the_environment(isolated_env: Path) -> None:
    backend = get_backend("local")
    assert isinstance(backend, LocalBackend)
    assert backend.store.root == Path(os.environ["KAGGLE_MAGICS_STORE"])
    assert "local Kaggle in" in backend.describe()


def test_concurrent_pushes_get_distinct_complete_versions(tmp_path: Path) -> None:
    store = tmp_path / "store"
    folders = []
    for marker in ("alpha", "beta"):
        cells = [f"marker = {marker!r}", "# padding\n" + "x = 1\n" * 20000]
        folders.append(make_kernel(tmp_path / marker, REF.id, cells))
    script = (
        "import sys; from pathlib import Path; from kaggle_magics.local.backend import LocalBackend; "
        "b = LocalBackend(Path(sys.argv[1])); "
        "print(*[b.push_kernel(Path(sys.argv[2]), no_run=True).version for _ in range(5)])"
    )
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(store), str(folder)], stdout=subprocess.PIPE, text=True
        )
        for folder in folders
    ]
    got = {}
    for folder, proc in zip(folders, procs, strict=True):
        out, _ = proc.communicate(timeout=60)
        assert proc.returncode == 0
        got[folder.name] = [int(v) for v in out.split()]
    assert sorted(got["alpha"] + got["beta"]) == list(range(1, 11))
    versions = store / "kernels" / "me" / "some-kernel" / "versions"
    assert sorted(p.name for p in versions.iterdir() if not p.name.startswith(".")) == sorted(
        str(n) for n in range(1, 11)
    )
    assert [p.name for p in versions.iterdir() if p.name.startswith(".new-")] == []
    for marker, numbers in got.items():
        for number in numbers:
            text = (versions / str(number) / "notebook.ipynb").read_text()
            assert f"marker = '{marker}'" in text and text.count("x = 1") == 20000
            assert json.loads((versions / str(number) / "push.json").read_text())["no_run"] is True


def test_missing_sources_are_all_named_and_nothing_is_stored(backend: LocalBackend, tmp_path: Path) -> None:
    folder = make_kernel(
        tmp_path / "k",
        REF.id,
        ["1"],
        dataset_sources=["me/no-data"],
        kernel_sources=["me/no-kernel"],
        competition_sources=["no-comp"],
        model_sources=["me/no-model/pyTorch/v1/1"],
    )
    with pytest.raises(NotFound) as info:
        backend.push_kernel(folder)
    message = info.value.message
    for name in (
        "kernel me/no-kernel",
        "dataset me/no-data",
        "competition no-comp",
        "model me/no-model/pyTorch/v1/1",
    ):
        assert name in message
    assert str(backend.store.root) in message, "which store was looked in (the default one or $KAGGLE_MAGICS_STORE)"
    assert "competition add" in (info.value.hint or "")
    assert backend.kernel_versions(REF) == []


def test_a_kernel_without_a_completed_run_cannot_be_attached(backend: LocalBackend, tmp_path: Path) -> None:
    backend.push_kernel(make_kernel(tmp_path / "deps", "me/deps-kernel", ["1"]), no_run=True)
    folder = make_kernel(tmp_path / "k", REF.id, ["1"], kernel_sources=["me/deps-kernel"])
    with pytest.raises(BackendError, match="kernel me/deps-kernel has no completed run to attach"):
        backend.push_kernel(folder)
    with pytest.raises(BackendError, match="saved without running"):
        backend.kernel_status(KernelRef.parse("me/deps-kernel"))


def test_attaching_an_older_output_than_the_latest_version_is_said(backend: LocalBackend, tmp_path: Path) -> None:
    deps = make_kernel(tmp_path / "deps", "me/deps-kernel", ["1"])
    backend.push_kernel(deps, no_run=True)
    run = backend.store.kernel_versions_dir("me", "deps-kernel") / "1" / "run"
    (run / "output").mkdir(parents=True)
    (run / "status.json").write_text('{"status": "COMPLETE"}')  # version 1 ran; version 2 has not yet
    backend.push_kernel(deps, no_run=True)
    folder = make_kernel(tmp_path / "k", REF.id, ["1"], kernel_sources=["me/deps-kernel"])
    pushed = backend.push_kernel(folder, no_run=True)
    assert (
        "kernel me/deps-kernel: attached the output of version 1, its latest completed run (version 2 has no "
        "completed run yet)"
    ) in pushed.notes
    pinned = make_kernel(tmp_path / "k2", REF.id, ["1"], kernel_sources=["me/deps-kernel/1"])
    assert not any("attached the output" in note for note in backend.push_kernel(pinned, no_run=True).notes)


def test_two_sources_on_one_mount_point_are_refused(backend: LocalBackend, tmp_path: Path) -> None:
    """In the flat layout a dataset and a competition of the same slug meet at one path; nested, they do not."""
    data = tmp_path / "data"
    data.mkdir()
    (data / "a.txt").write_text("a")
    backend.dataset_upload(data, DatasetRef.parse("me/shared-name"))
    add_competition("shared-name", data)
    folder = make_kernel(
        tmp_path / "k", REF.id, ["1"], dataset_sources=["me/shared-name"], competition_sources=["shared-name"]
    )
    with pytest.raises(MetadataError, match="mounted over another source at /kaggle/input/shared-name") as info:
        backend.push_kernel(folder, no_run=True, input_layout="flat")
    assert "--input-layout nested" in (info.value.hint or "")
    mounted, _ = backend.resolve_sources(datasets=["me/shared-name"], competitions=["shared-name"])
    assert sorted(mounted) == ["competitions/shared-name", "datasets/me/shared-name"]


@pytest.mark.parametrize(
    ("change", "error", "text"),
    [
        ({"title": "Tiny"}, MetadataError, "shorter than 5 characters"),
        ({"code_file": "missing.ipynb"}, MetadataError, "code_file 'missing.ipynb' not found"),
        ({"language": "julia"}, MetadataError, "language 'julia'"),
        ({"kernel_type": "app"}, MetadataError, "kernel_type 'app'"),
        ({"enable_internet": "maybe"}, MetadataError, "enable_internet must be true or false"),
        ({"id": None, "id_no": 12}, MetadataError, "needs an id"),
        ({"dataset_sources": ["no-owner"]}, MetadataError, "dataset_sources"),
    ],
)
def test_kernel_folders_are_checked_like_the_official_client(
    backend: LocalBackend, tmp_path: Path, change: dict, error: type, text: str
) -> None:
    folder = make_kernel(tmp_path / "k", REF.id, ["1"])
    meta = json.loads((folder / "kernel-metadata.json").read_text())
    meta.update(change)
    meta = {k: v for k, v in meta.items() if v is not None}
    (folder / "kernel-metadata.json").write_text(json.dumps(meta))
    with pytest.raises(error, match=text):
        backend.push_kernel(folder)
    assert backend.kernel_versions(REF) == []


def test_unreadable_kernel_folders(backend: LocalBackend, tmp_path: Path) -> None:
    folder = make_kernel(tmp_path / "k", REF.id, ["1"])
    (folder / "notebook.ipynb").write_text("{not json")
    with pytest.raises(NotebookError, match=r"notebook\.ipynb: not a notebook"):
        backend.push_kernel(folder)
    (folder / "kernel-metadata.json").write_text("{")
    with pytest.raises(MetadataError, match=r"kernel-metadata\.json: not valid JSON"):
        backend.push_kernel(folder)
    with pytest.raises(MetadataError, match="not a folder"):
        backend.push_kernel(tmp_path / "nowhere")


def test_push_notes_and_the_stored_version(backend: LocalBackend, tmp_path: Path) -> None:
    folder = make_kernel(tmp_path / "k", REF.id, ["print(1)"], enable_gpu=True)
    meta = json.loads((folder / "kernel-metadata.json").read_text())
    del meta["enable_internet"]
    (folder / "kernel-metadata.json").write_text(json.dumps(meta))
    nb = json.loads((folder / "notebook.ipynb").read_text())
    nb["cells"][0]["outputs"] = [{"output_type": "stream", "name": "stdout", "text": "old"}]
    nb["cells"][0]["source"] = ["print(", "1)"]
    (folder / "notebook.ipynb").write_text(json.dumps(nb))
    before = sorted((p.name, p.read_bytes()) for p in folder.iterdir())
    result = backend.push_kernel(folder, no_run=True, accelerator="nvidiatesla t4".replace(" ", ""))
    assert sorted((p.name, p.read_bytes()) for p in folder.iterdir()) == before, (
        "the user's files are untouched"
    )
    assert any("Kaggle's client then turns internet ON" in note for note in result.notes)
    assert any("NvidiaTeslaT4 is not emulated" in note for note in result.notes)
    stored = Path(result.url.removeprefix("file://"))
    pushed = json.loads((stored / "push.json").read_text())
    assert (pushed["internet"], pushed["machine_shape"]) == (True, "NvidiaTeslaT4")
    cell = json.loads((stored / "notebook.ipynb").read_text())["cells"][0]
    assert (cell["outputs"], cell["source"]) == ([], "print(1)")


def test_damaged_store_files_are_named_and_left_alone(backend: LocalBackend, tmp_path: Path) -> None:
    folder = make_kernel(tmp_path / "k", REF.id, ["1"])
    backend.push_kernel(folder, no_run=True)
    version = backend.store.kernel_versions_dir("me", "some-kernel") / "1"
    (version / "run").mkdir()
    (version / "run" / "status.json").write_text('{"status": "COMPL')
    with pytest.raises(StoreError) as info:
        backend.kernel_status(REF)
    assert (
        str(version / "run" / "status.json") in info.value.message and "not valid JSON" in info.value.message
    )
    assert (version / "run" / "status.json").read_text() == '{"status": "COMPL'
    (version / "run" / "status.json").write_text("[1, 2]")
    with pytest.raises(StoreError, match="should hold a JSON object"):
        backend.kernel_status(REF)
    (version / "run" / "status.json").write_text('{"status": "COMPLETE"}')
    (version / "run" / "log.json").write_text('[{"stream_name": "stdout"')
    with pytest.raises(StoreError, match=r"run log .*log\.json is not valid JSON"):
        backend.kernel_log(REF)

    marker = backend.store.root / "store.json"
    marker.write_text("garbage")
    with pytest.raises(StoreError, match=f"{marker}.*not valid JSON") as info:
        backend.push_kernel(folder, no_run=True)
    assert "delete" not in (info.value.hint or "") and '{"format": 1}' in (info.value.hint or "")
    marker.write_text('{"format": 1}')
    assert backend.push_kernel(folder, no_run=True).version == 2

    data = tmp_path / "data"
    data.mkdir()
    (data / "a.txt").write_text("a")
    ds = DatasetRef.parse("me/some-data")
    backend.dataset_upload(data, ds)
    record = backend.store.dataset_dir("me", "some-data") / "dataset.json"
    record.write_text("{")
    with pytest.raises(StoreError, match=r"dataset record .*dataset\.json is not valid JSON"):
        backend.dataset_upload(data, ds)
    assert [p.name for p in (record.parent / "versions").iterdir() if not p.name.startswith(".")] == ["1"]


def test_a_run_whose_runner_is_gone_is_reported(tmp_path: Path) -> None:
    run_dir = tmp_path / "run"
    spec = runs.RunSpec(
        name="x", kernel_type="script", language="python", internet=False, timeout=60, inputs={}
    )
    runs.prepare_run(run_dir, spec, "print(1)")
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    status = json.loads((run_dir / "status.json").read_text())
    status.update(status="RUNNING", runner_pid=gone.pid, started_at=time.time() - 5)
    (run_dir / "status.json").write_text(json.dumps(status))
    state = runs.read_status(run_dir)
    assert state["status"] == "ERROR" and f"pid {gone.pid}" in state["failure_message"]
    assert state["runtime_seconds"] >= 5
    assert json.loads((run_dir / "status.json").read_text())["status"] == "ERROR", "saved, not recomputed"

    fresh = tmp_path / "fresh"
    runs.prepare_run(fresh, spec, "print(1)")
    assert runs.read_status(fresh)["status"] == "QUEUED", "a run that was just queued is not failed"


def test_unknown_kernels_and_versions(backend: LocalBackend, tmp_path: Path) -> None:
    with pytest.raises(NotFound, match="kernel me/some-kernel not found"):
        backend.kernel_status(REF)
    backend.push_kernel(make_kernel(tmp_path / "k", REF.id, ["1"]), no_run=True)
    with pytest.raises(NotFound, match=r"version 7 of kernel me/some-kernel not found in the local store \(it has"):
        backend.list_output(REF.with_version(7))


def test_datasets_version_and_unpack_archives_like_kaggle(backend: LocalBackend, tmp_path: Path) -> None:
    data = tmp_path / "data"
    (data / "tool" / "bin").mkdir(parents=True)
    (data / "tool" / "bin" / "run").write_text("#!/bin/sh\necho hi\n")
    (data / "tool" / "bin" / "run").chmod(0o755)
    with tarfile.open(data / "tool.tar.gz", "w:gz") as archive:
        archive.add(data / "tool", arcname=".")
    (data / "tool.bin").write_bytes(b"kept")
    (data / "dataset-metadata.json").write_text("{}")
    ref = DatasetRef.parse("me/some-data")
    assert not backend.dataset_exists(ref)
    first = backend.dataset_upload(data, ref, title="Some data", message="v1")
    assert (first.version, backend.dataset_exists(ref)) == (1, True)
    assert "dataset-metadata.json" not in first.files and "tool.tar.gz" not in first.files
    unpacked = Path(first.url.removeprefix("file://")) / "files" / "tool" / "bin" / "run"
    assert unpacked.read_text().startswith("#!/bin/sh")
    assert not unpacked.stat().st_mode & (stat.S_IXUSR | stat.S_IXGRP | stat.S_IXOTH)
    assert any("tool.tar.gz was unpacked" in note for note in first.notes)
    assert backend.dataset_upload(data, ref).version == 2


def test_models_are_versioned_and_mounted_where_kaggle_puts_them(
    backend: LocalBackend, tmp_path: Path
) -> None:
    weights = tmp_path / "w"
    weights.mkdir()
    (weights / "model.bin").write_bytes(b"\0" * 10)
    ref = ModelRef.parse("me/my-model/pyTorch/exp-1")
    first = backend.model_upload(ref, weights, notes="first")
    second = backend.model_upload(ref, weights)
    assert (first.version, second.version) == (1, 2)
    assert second.model_source == "me/my-model/pyTorch/exp-1/2"
    assert second.input_path == "/kaggle/input/models/me/my-model/pytorch/exp-1/2"
    assert second.files == ["model.bin"]
    inputs, resolved = backend.resolve_sources(models=["me/my-model/PyTorch/exp-1/1"])
    assert list(inputs) == ["models/me/my-model/pytorch/exp-1/1"] and resolved["models"] == [
        "me/my-model/PyTorch/exp-1/1"
    ]
    flat, _ = backend.resolve_sources(models=["me/my-model/PyTorch/exp-1/1"], layout="flat")
    assert list(flat) == ["my-model/pytorch/exp-1/1"]


def test_competitions_register_and_replace_their_data(tmp_path: Path, isolated_env: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "train.csv").write_text("id\n1\n")
    comp = add_competition("toy-comp", data, title="Toy")
    assert comp.files == ["train.csv"] and comp.input_path == "/kaggle/input/competitions/toy-comp"
    assert add_competition("toy-comp", data, layout="flat").input_path == "/kaggle/input/toy-comp"
    (data / "test.csv").write_text("id\n2\n")
    again = add_competition("toy-comp", data)
    assert again.files == ["test.csv", "train.csv"]
    assert [c.slug for c in list_competitions()] == ["toy-comp"]
    linked = add_competition("big-comp", data, copy=False)
    assert linked.data == data.resolve()
    # A run that reads the data keeps it while it goes on (its mount follows the folder, not the name).
    run = Path(os.environ["KAGGLE_MAGICS_STORE"], "kernels", "me", "reader-kernel", "versions", "1", "run")
    run.mkdir(parents=True)
    (run / "spec.json").write_text(json.dumps({"inputs": {"toy-comp": str(comp.data)}}))
    (run / "status.json").write_text('{"status": "RUNNING"}')
    kept = add_competition("toy-comp", data)
    assert kept.notes == ["the previous data is kept until the runs that read it end"]
    (old,) = comp.data.parent.glob(".old-*/data")
    assert sorted(p.name for p in old.iterdir()) == ["test.csv", "train.csv"]
    (run / "status.json").write_text('{"status": "COMPLETE"}')
    assert add_competition("toy-comp", data).notes == []
    assert list(comp.data.parent.glob(".old-*")) == [], "removed once no run reads it"
    with pytest.raises(InputError, match="not found"):
        add_competition("other", tmp_path / "nope")
    with pytest.raises(InputError, match=r"train\.csv' is a file, not a folder"):
        add_competition("other", data / "train.csv")


def test_file_submissions_are_checked_and_limited(backend: LocalBackend, tmp_path: Path, capsys) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "sample_submission.csv").write_text("id,target\n1,0\n2,0\n")
    comp = CompetitionRef("toy-comp")
    with pytest.raises(NotFound, match="not registered"):
        backend.submissions_left(comp)
    add_competition(comp.slug, data, daily_limit=4)
    good, short, wrong = tmp_path / "good.csv", tmp_path / "short.csv", tmp_path / "wrong.csv"
    good.write_text("id,target\n1,5\n2,6\n")
    short.write_text("id,target\n1,5\n")
    wrong.write_text("id,label\n1,5\n2,6\n")
    first = backend.submit_file(comp, good)
    assert first.status == "COMPLETE"
    assert first.url == (backend.store.competition_dir(comp.slug) / "submissions" / "1.json").resolve().as_uri()
    assert main(["submit", "--competition", comp.slug, "--file", str(good), "--backend", "local"]) == 0
    shown = capsys.readouterr().out
    assert "kaggle.com" not in shown and "url               file://" in shown, "the local record, not a web page"
    sub = backend.submit_file(comp, short)
    assert (sub.status, sub.error) == ("ERROR", "Submission Scoring Error: 1 rows, expected 2")
    assert backend.submit_file(comp, wrong).error == (
        "Submission Scoring Error: columns id, label, expected id, target (missing target)"
    )
    assert backend.submissions_left(comp) == 0
    with pytest.raises(BackendError, match="no submissions left today"):
        backend.submit_file(comp, good)
    assert backend.submission_status(comp, "3").status == "ERROR"
    with pytest.raises(NotFound):
        backend.submission_status(comp, "9")


def test_sandbox_mode_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAGGLE_MAGICS_SANDBOX", "docker")
    with pytest.raises(ConfigError, match="not a sandbox mode"):
        sandbox.choose_mode()
    monkeypatch.setenv("KAGGLE_MAGICS_SANDBOX", "none")
    assert sandbox.choose_mode() == "none"
    monkeypatch.delenv("KAGGLE_MAGICS_SANDBOX")
    assert sandbox.choose_mode() in sandbox.MODES


def test_a_bad_sandbox_mode_stops_the_push_before_a_version_is_stored(
    backend: LocalBackend, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAGGLE_MAGICS_SANDBOX", "docker")
    with pytest.raises(ConfigError, match="KAGGLE_MAGICS_SANDBOX='docker' is not a sandbox mode"):
        backend.push_kernel(make_kernel(tmp_path / "k", REF.id, ["1"]))
    assert backend.kernel_versions(REF) == []


@pytest.mark.requires("unshare")
def test_sandbox_none_asked_for_says_so_not_that_nothing_else_works(tmp_path: Path) -> None:
    layout = sandbox.Layout(inputs={}, working=tmp_path / "out", scratch=tmp_path / "scratch")
    warning = sandbox.build(layout, "none").notes[0]
    assert warning.startswith("WARNING: internet is off") and "NOT cut" in warning
    assert "KAGGLE_MAGICS_SANDBOX=none was asked for" in warning and "not possible" not in warning


def test_output_links_that_lead_outside_are_not_outputs(tmp_path: Path) -> None:
    out = tmp_path / "run" / "output"
    (out / "sub").mkdir(parents=True)
    (out / "sub" / "kept.csv").write_text("a")
    (out / "inside").symlink_to(out / "sub" / "kept.csv")
    (out / "outside").symlink_to("/etc/hostname")
    assert runs.output_files(tmp_path / "run") == ["inside", "sub/kept.csv"]


def test_runs_never_see_secrets_in_passed_variables() -> None:
    from kaggle_magics.local.environment import carries_secret

    assert carries_secret("PIP_INDEX_URL", "https://me:s3cret-token@pypi.example/simple")
    assert carries_secret("HTTPS_PROXY", "http://user:pw@proxy:3128")
    assert carries_secret("UV_INDEX_TOKEN", "abc")
    assert carries_secret("PIP_PASSWORD", "abc")
    assert not carries_secret("PIP_INDEX_URL", "https://pypi.example/simple")
    assert not carries_secret("LANG", "C.UTF-8")
