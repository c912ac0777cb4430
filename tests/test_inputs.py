"""Where Kaggle mounts each kind of source, in today's nested layout and the old flat one."""

from __future__ import annotations

import pytest

from kaggle_magics import inputs
from kaggle_magics.config import ProjectDefaults
from kaggle_magics.errors import ConfigError
from kaggle_magics.handles import CompetitionRef, DatasetRef, KernelRef, ModelRef


def test_nested_layout_is_todays_kaggle() -> None:
    assert inputs.competition_path(CompetitionRef("arc-prize-2026-arc-agi-2")) == (
        "competitions/arc-prize-2026-arc-agi-2"
    )
    assert inputs.dataset_path(DatasetRef.parse("me/cmi-codes/3")) == "datasets/me/cmi-codes"
    assert inputs.kernel_path(KernelRef.parse("me/cmi-deps")) == "notebooks/me/cmi-deps"
    model = ModelRef.parse("google/gemma/Transformers/2b-it/2")
    assert inputs.mount_path(inputs.model_path(model)) == "/kaggle/input/models/google/gemma/transformers/2b-it/2"


def test_flat_layout_is_the_old_one() -> None:
    assert inputs.competition_path("titanic", inputs.FLAT) == "titanic"
    assert inputs.dataset_path(DatasetRef.parse("me/cmi-codes"), inputs.FLAT) == "cmi-codes"
    assert inputs.kernel_path(KernelRef.parse("me/cmi-deps"), inputs.FLAT) == "cmi-deps"
    model = ModelRef.parse("me/cmi-models/pyTorch/exp-001/1")
    assert inputs.model_path(model, inputs.FLAT) == "cmi-models/pytorch/exp-001/1"


def test_mounts_of_metadata_sources_give_both_paths() -> None:
    found = inputs.mounts(
        {"competitions": ["titanic"], "datasets": ["me/codes"], "kernels": ["me/cmi-deps"], "models": []}
    )
    assert [(m.kind, m.path(), m.path(inputs.FLAT)) for m in found] == [
        ("competition", "competitions/titanic", "titanic"),
        ("dataset", "datasets/me/codes", "codes"),
        ("kernel", "notebooks/me/cmi-deps", "cmi-deps"),
    ]


def test_layout_names_are_checked_where_they_are_set() -> None:
    assert inputs.check_layout(None) == inputs.NESTED
    assert inputs.check_layout(" Flat ") == inputs.FLAT
    with pytest.raises(ConfigError, match="--input-layout: unknown input layout 'tree'"):
        inputs.check_layout("tree")
    with pytest.raises(ConfigError, match=r"\[tool.kaggle_magics\]: input_layout: unknown input layout"):
        ProjectDefaults.from_mapping({"input_layout": "tree"})
    assert ProjectDefaults.from_mapping({"input-layout": "FLAT"}).input_layout == "flat"
