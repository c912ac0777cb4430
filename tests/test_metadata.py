from __future__ import annotations

import json
from pathlib import Path

import pytest

from kaggle_magics.errors import MetadataError
from kaggle_magics.metadata import ACCELERATORS, KernelMetadata, check_accelerator


def _write(folder: Path, data: object) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "kernel-metadata.json").write_text(json.dumps(data))
    return folder


def test_round_trip_writes_every_key_and_internet_explicitly(tmp_path: Path) -> None:
    meta = KernelMetadata(id="me/cmi-sub", title="cmi-sub", code_file="a.ipynb", competition_sources=["comp"])
    meta.write(tmp_path)
    data = json.loads((tmp_path / "kernel-metadata.json").read_text())
    assert data["enable_internet"] is False
    assert data["competition_sources"] == ["comp"]
    assert KernelMetadata.read(tmp_path) == meta
    assert not list(tmp_path.glob(".*tmp")), "no temp file left behind"


def test_string_booleans_are_accepted(tmp_path: Path) -> None:
    _write(tmp_path, {"id": "me/cmi-sub", "code_file": "a.ipynb", "enable_internet": "true", "is_private": "False"})
    meta = KernelMetadata.read(tmp_path)
    assert meta.enable_internet is True and meta.is_private is False


@pytest.mark.parametrize(
    ("data", "culprit"),
    [
        ({"id": "me/cmi-sub", "code_file": "a.ipynb", "enable_internt": False}, "unknown key 'enable_internt'"),
        ({"id": "me/cmi-sub", "code_file": "a.ipynb", "title": "abc"}, "shorter than 5"),
        ({"id": "me/cmi-sub", "code_file": "a.ipynb", "machine_shape": "GPU"}, "unknown accelerator 'GPU'"),
        ({"id": "me/cmi-sub", "code_file": "a.ipynb", "enable_gpu": "yes"}, "enable_gpu must be true or false"),
        ({"id": "me/cmi-sub", "code_file": "a.ipynb", "kernel_sources": "me/x"}, "kernel_sources must be a list"),
        ({"id": "me/cmi-sub", "code_file": "a.ipynb", "model_sources": ["me/m/pytorch/v"]}, "model_sources"),
        ({"id": "me/cmi-sub", "code_file": "a.ipynb", "language": "julia"}, "language 'julia'"),
        ({"code_file": "a.ipynb"}, "no id"),
        ({"id": "me/cmi-sub"}, "no code_file"),
        ([1, 2], "expected a JSON object"),
    ],
)
def test_invalid_metadata_names_file_and_field(tmp_path: Path, data: object, culprit: str) -> None:
    _write(tmp_path, data)
    with pytest.raises(MetadataError) as info:
        KernelMetadata.read(tmp_path)
    assert culprit in str(info.value)
    assert str(tmp_path / "kernel-metadata.json") in str(info.value)


def test_malformed_json_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "kernel-metadata.json").write_text('{\n "id": "me/cmi-sub",\n}')
    with pytest.raises(MetadataError, match=r"not valid JSON \(line 3"):
        KernelMetadata.read(tmp_path)


def test_missing_code_file_is_named(tmp_path: Path) -> None:
    _write(tmp_path, {"id": "me/cmi-sub", "code_file": "gone.ipynb"})
    meta = KernelMetadata.read(tmp_path)
    with pytest.raises(MetadataError, match=r"code_file 'gone\.ipynb' not found"):
        meta.validate(folder=tmp_path)


def test_accelerator_names_are_case_insensitive_and_listed() -> None:
    assert check_accelerator("nvidiateslat4") == "NvidiaTeslaT4"
    with pytest.raises(MetadataError) as info:
        check_accelerator("A100")
    assert all(name in (info.value.hint or "") for name in ACCELERATORS)


def test_competition_kernel_with_internet_gets_a_note() -> None:
    meta = KernelMetadata(id="me/cmi-sub", code_file="a.ipynb", competition_sources=["c"], enable_internet=True)
    assert any("internet is on" in note for note in meta.validate())


def test_invalid_write_leaves_nothing(tmp_path: Path) -> None:
    with pytest.raises(MetadataError):
        KernelMetadata(id="me/cmi-sub", code_file="a.ipynb", title="ab").write(tmp_path)
    assert list(tmp_path.iterdir()) == []
