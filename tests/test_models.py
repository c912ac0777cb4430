"""%kaggle_model: weights uploaded through kagglehub.model_upload against the loopback Kaggle (and into the
local store), each upload a new version, with the exact model_sources entry and /kaggle/input path
reported."""

from __future__ import annotations

from pathlib import Path

import pytest

from kaggle_magics.errors import InvalidRef, KaggleMagicsError, PermissionDenied
from kaggle_magics.handles import ModelRef
from kaggle_magics.models import upload_model

HANDLE = "kmtester/cmi-models/pyTorch/exp-001"


@pytest.fixture
def weights(tmp_path: Path) -> Path:
    folder = tmp_path / "weights"
    (folder / "fold0").mkdir(parents=True)
    (folder / "fold0" / "model.pt").write_bytes(b"\x80\x02weights-0")
    (folder / "config.yaml").write_text("layers: 3\n")
    return folder


def test_two_uploads_make_versions_1_and_2(kaggle_server, kaggle_backend, weights: Path) -> None:
    first = upload_model(kaggle_backend, weights, HANDLE, notes="baseline")
    assert first.version == 1
    assert first.model_source == f"{HANDLE}/1"
    assert first.input_path == "/kaggle/input/models/kmtester/cmi-models/pytorch/exp-001/1"
    assert sorted(first.files) == ["config.yaml", "fold0/model.pt"]

    (weights / "fold0" / "model.pt").write_bytes(b"\x80\x02weights-1")
    second = upload_model(kaggle_backend, weights, HANDLE, notes="more epochs")
    assert second.version == 2 and second.model_source == f"{HANDLE}/2"
    assert second.input_path == "/kaggle/input/models/kmtester/cmi-models/pytorch/exp-001/2"
    # the entry parses as what --model and kernel-metadata.json's model_sources take
    assert ModelRef.parse(second.model_source, require_version=True).version == 2
    assert any(f"--model {HANDLE}/2" in n for n in second.notes)

    (instance,) = kaggle_server.model("kmtester/cmi-models").instances.values()
    assert [v.number for v in instance.versions] == [1, 2]
    assert instance.versions[1].files["fold0/model.pt"] == b"\x80\x02weights-1"
    assert instance.versions[1].notes == "more epochs"
    assert "model_source" in str(second).replace(" ", "_")


def test_bad_input(kaggle_server, kaggle_backend, weights: Path, tmp_path: Path) -> None:
    with pytest.raises(InvalidRef, match="takes none"):
        upload_model(kaggle_backend, weights, f"{HANDLE}/3")
    with pytest.raises(InvalidRef, match="framework"):
        upload_model(kaggle_backend, weights, "kmtester/m/not-a-framework/v1")
    with pytest.raises(KaggleMagicsError, match="not found"):
        upload_model(kaggle_backend, tmp_path / "missing", HANDLE)
    (tmp_path / "empty").mkdir()
    with pytest.raises(KaggleMagicsError, match="is empty"):
        upload_model(kaggle_backend, tmp_path / "empty", HANDLE)
    assert kaggle_server.calls() == []  # refused before anything was sent


def test_someone_elses_model_is_refused_by_name(kaggle_server, kaggle_backend, weights: Path) -> None:
    with pytest.raises(PermissionDenied) as info:
        upload_model(kaggle_backend, weights, "someone-else/their-model/pyTorch/v1")
    assert "someone-else/their-model/pyTorch/v1" in info.value.message


def test_local_uploads_are_versioned_too(tmp_path: Path, weights: Path) -> None:
    from kaggle_magics.local.backend import LocalBackend

    backend = LocalBackend(tmp_path / "store")
    first = upload_model(backend, weights, "me/toy-model/jax/v1")
    second = upload_model(backend, weights, "me/toy-model/jax/v1")
    assert (first.model_source, second.model_source) == ("me/toy-model/jax/v1/1", "me/toy-model/jax/v1/2")
    assert second.input_path == "/kaggle/input/models/me/toy-model/jax/v1/2"
    flat = upload_model(backend, weights, "me/toy-model/jax/v1", layout="flat")
    assert flat.input_path == "/kaggle/input/toy-model/jax/v1/3"
    assert any(note.endswith("in the run it is at /kaggle/input/toy-model/jax/v1/3") for note in flat.notes)


@pytest.mark.parametrize("where", ["top", "nested"])
def test_a_symlink_out_of_the_folder_is_refused_at_any_depth(
    kaggle_server, kaggle_backend, weights: Path, tmp_path: Path, where: str
) -> None:
    (tmp_path / "passwd").write_text("root:x:0:0\n")
    (weights / "pw" if where == "top" else weights / "fold0" / "pw").symlink_to(tmp_path / "passwd")
    with pytest.raises(KaggleMagicsError, match=r"pw is a symlink to .*passwd, outside the model folder") as info:
        upload_model(kaggle_backend, weights, HANDLE)
    assert info.value.exit_code == 2
    assert kaggle_server.calls() == [], "refused before anything was sent"


def test_the_local_kaggle_refuses_a_symlink_out_of_a_model_folder(tmp_path: Path, weights: Path) -> None:
    from kaggle_magics.local.backend import LocalBackend

    (weights / "fold0" / "pw").symlink_to("/etc/passwd")
    backend = LocalBackend(tmp_path / "store")
    with pytest.raises(KaggleMagicsError, match="outside the model folder"):
        backend.model_upload(ModelRef.parse("me/toy-model/jax/v1"), weights)  # the backend itself
    assert not list((tmp_path / "store").rglob("pw"))
