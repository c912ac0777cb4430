"""%kaggle_output: names that stay inside DEST, the pattern, and (further down) whole downloads through the
official client against the loopback server and from the local backend."""

from __future__ import annotations

from pathlib import PurePosixPath

import pytest

from kaggle_magics.outputs import UnsafeOutputName, safe_relative, select
from kaggle_magics.results import OutputFile


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("submission.csv", "submission.csv"),
        ("sub/dir/model.bin", "sub/dir/model.bin"),
        ("./a//b/./c.txt", "a/b/c.txt"),
        ("..data", "..data"),  # a name that starts with dots is not a parent reference
        ("a..b/c", "a..b/c"),
    ],
)
def test_safe_names_are_normalised(name: str, expected: str) -> None:
    assert safe_relative(name) == PurePosixPath(expected)


@pytest.mark.parametrize(
    ("name", "why"),
    [
        ("../escape.txt", r"climbs out"),
        ("a/../../escape.txt", r"climbs out"),
        ("a/b/..", r"climbs out"),
        ("..\\..\\escape.txt", r"climbs out"),
        ("/etc/passwd", r"absolute"),
        ("\\\\server\\share", r"absolute"),
        ("C:/Windows/x", r"absolute"),
        ("c:\\x", r"absolute"),
        ("", r"empty"),
        ("a\x00b", r"NUL"),
        (".", r"names no file"),
        ("./", r"names no file"),
    ],
)
def test_unsafe_names_are_refused_with_the_name(name: str, why: str) -> None:
    with pytest.raises(UnsafeOutputName, match=why) as info:
        safe_relative(name)
    assert repr(name) in info.value.message
    assert info.value.hint and "nothing was downloaded" in info.value.hint


def files(*names: str) -> list[OutputFile]:
    return [OutputFile(name=n, url=f"http://x/{n}") for n in names]


def test_pattern_is_a_glob_on_the_relative_name() -> None:
    chosen, skipped = select(files("submission.csv", "logs/train.log", "sub/a.csv", "model.bin"), "*.csv")
    assert [str(rel) for rel, _ in chosen] == ["submission.csv", "sub/a.csv"]
    assert skipped == 2
    chosen, skipped = select(files("submission.csv", "sub/a.csv"), "sub/*")
    assert [str(rel) for rel, _ in chosen] == ["sub/a.csv"] and skipped == 1
    chosen, _ = select(files("A.CSV"), "*.csv")
    assert chosen == []  # case matters, as it does on Kaggle's Linux


def test_pattern_skips_names_it_does_not_select_but_checks_the_ones_it_does() -> None:
    chosen, skipped = select(files("ok.csv", "../evil.csv"), "ok.*")
    assert [str(rel) for rel, _ in chosen] == ["ok.csv"] and skipped == 1
    with pytest.raises(UnsafeOutputName):
        select(files("ok.csv", "../evil.csv"), "*.csv")


def test_clashing_names_are_refused() -> None:
    with pytest.raises(UnsafeOutputName, match="same file"):
        select(files("a/b.txt", "a//b.txt"), None)
    with pytest.raises(UnsafeOutputName, match="needs it to be a folder"):
        select(files("a", "a/b.txt"), None)
