from __future__ import annotations

import pytest

from kaggle_magics.errors import InvalidRef
from kaggle_magics.handles import CompetitionRef, DatasetRef, KernelRef, ModelRef


def test_kernel_ref_round_trip_and_version() -> None:
    ref = KernelRef.parse("me/cmi-sub/3")
    assert (ref.owner, ref.slug, ref.version) == ("me", "cmi-sub", 3)
    assert str(ref) == "me/cmi-sub/3"
    assert ref.id == "me/cmi-sub"
    assert str(KernelRef.parse("cmi-sub", default_owner="you")) == "you/cmi-sub"


@pytest.mark.parametrize(
    ("text", "culprit"),
    [
        ("me", "names no owner"),
        ("me/abc", "shorter than 5"),
        ("me/cmi sub", "'cmi sub'"),
        ("me/cmi-sub/x", "version 'x'"),
        ("me/cmi-sub/0", "version '0'"),
        ("a/b/c/d", "4 part"),
        ("", "empty"),
    ],
)
def test_kernel_ref_errors_name_the_bad_part(text: str, culprit: str) -> None:
    with pytest.raises(InvalidRef) as info:
        KernelRef.parse(text)
    assert culprit in str(info.value)
    assert "owner/kernel-slug" in (info.value.hint or "")


def test_dataset_ref() -> None:
    assert str(DatasetRef.parse("me/cmi-codes")) == "me/cmi-codes"
    assert DatasetRef.parse("me/cmi-codes/2").version == 2
    with pytest.raises(InvalidRef, match="dataset slug"):
        DatasetRef.parse("me/co des")


def test_model_ref_needs_five_parts_for_sources() -> None:
    ref = ModelRef.parse("me/cmi-models/pytorch/exp-001/1", require_version=True)
    assert ref.handle == "me/cmi-models/pytorch/exp-001"
    assert ref.input_path == "/kaggle/input/models/me/cmi-models/pytorch/exp-001/1"
    with pytest.raises(InvalidRef, match="4 part"):
        ModelRef.parse("me/cmi-models/pytorch/exp-001", require_version=True)
    with pytest.raises(InvalidRef, match="unknown framework 'torchy'") as info:
        ModelRef.parse("me/m/torchy/v/1")
    assert "pyTorch" in (info.value.hint or "")


def test_competition_ref() -> None:
    assert CompetitionRef.parse("child-mind-institute-detect-sleep-states").url.endswith(
        "/competitions/child-mind-institute-detect-sleep-states"
    )
    with pytest.raises(InvalidRef):
        CompetitionRef.parse("owner/comp")
