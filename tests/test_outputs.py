"""%kaggle_output: names that stay inside DEST, the pattern, and (further down) whole downloads through the
official client against the loopback server and from the local backend."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

import pytest

from kaggle_magics.backends.kaggle import KaggleBackend
from kaggle_magics.errors import BackendError, NotFound
from kaggle_magics.outputs import UnsafeOutputName, download_output, safe_relative, select
from kaggle_magics.results import OutputFile
from tests.fixtures_kaggle import fast_retry_policy
from tests.fixtures_workflow import OUTPUT_COUNT, WORKFLOW_RUN


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


# -- through the official client against the loopback Kaggle -------------------------------------------------


RUN = "kmtester/many-outputs"


def snapshot(folder: Path) -> dict[str, bytes]:
    return {
        p.relative_to(folder).as_posix(): (p.read_bytes() if p.is_file() else b"<dir>")
        for p in sorted(folder.rglob("*"))
    }


def leftovers(parent: Path) -> list[str]:
    return [p.name for p in parent.iterdir() if ".partial-" in p.name]


def test_every_page_past_500_files_is_downloaded(kaggle_server, kaggle_backend, tmp_path: Path) -> None:
    kaggle_server.add_kernel(RUN)
    files = {f"preds/fold-{i:03d}.csv": f"id,y\n{i},{i / 7:.5f}\n" for i in range(510)}
    kaggle_server.set_output(RUN, files)
    dest = tmp_path / "outputs"
    result = download_output(kaggle_backend, RUN, dest=dest, display=False)
    assert len(result.files) == 510
    assert snapshot(dest) == {"preds": b"<dir>", **{k: v.encode() for k, v in files.items()}}
    assert result.total_bytes == sum(len(v) for v in files.values())
    pages = kaggle_server.bodies("ListKernelSessionOutput")
    assert len(pages) == 26  # 25 full pages of 20 and one of 10: nothing stops at 500
    assert len(kaggle_server.calls("Download")) == 510
    assert oct(dest.stat().st_mode & 0o777) == oct(0o777 & ~_umask())  # not mkdtemp's private 0o700
    assert leftovers(tmp_path) == []


def test_a_traversal_name_is_refused_and_dest_is_untouched(
    kaggle_server, kaggle_backend, tmp_path: Path
) -> None:
    kaggle_server.add_kernel(RUN)
    kaggle_server.set_output(RUN, {"submission.csv": "id,y\n", "../../escaped.txt": "gotcha"})
    dest = tmp_path / "deep" / "dest"
    dest.mkdir(parents=True)
    (dest / "submission.csv").write_text("mine, from before\n")
    before = snapshot(tmp_path)
    with pytest.raises(UnsafeOutputName, match="climbs out") as info:
        download_output(kaggle_backend, RUN, dest=dest, display=False)
    assert "../../escaped.txt" in info.value.message
    assert snapshot(tmp_path) == before
    assert kaggle_server.calls("Download") == []  # refused before a single byte was fetched


def test_pattern_downloads_only_what_matches(kaggle_server, kaggle_backend, tmp_path: Path) -> None:
    kaggle_server.add_kernel(RUN)
    kaggle_server.set_output(
        RUN, {"submission.csv": "a", "model.bin": "b", "logs/train.log": "c", "sub/x.csv": "d"}
    )
    dest = tmp_path / "dest"
    result = download_output(kaggle_backend, RUN, dest=dest, pattern="*.csv", display=False)
    assert sorted(result.files) == ["sub/x.csv", "submission.csv"] and result.skipped == 2
    assert snapshot(dest) == {"sub": b"<dir>", "sub/x.csv": b"d", "submission.csv": b"a"}
    assert len(kaggle_server.calls("Download")) == 2
    none = download_output(kaggle_backend, RUN, dest=tmp_path / "none", pattern="*.parquet", display=False)
    assert none.files == [] and "no output file matches '*.parquet' (4 listed)" in none.notes
    assert not (tmp_path / "none").exists()


def test_into_an_existing_dest_files_are_replaced_and_others_kept(
    kaggle_server, kaggle_backend, tmp_path
) -> None:
    kaggle_server.add_kernel(RUN)
    kaggle_server.set_output(RUN, {"submission.csv": "new", "sub/a.txt": "A"})
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "submission.csv").write_text("old")
    (dest / "notes.md").write_text("keep me")
    download_output(kaggle_backend, RUN, dest=dest, display=False)
    assert snapshot(dest) == {
        "notes.md": b"keep me",
        "sub": b"<dir>",
        "sub/a.txt": b"A",
        "submission.csv": b"new",
    }
    assert leftovers(tmp_path) == []


def test_a_symlink_in_dest_cannot_carry_a_file_outside(kaggle_server, kaggle_backend, tmp_path: Path) -> None:
    kaggle_server.add_kernel(RUN)
    kaggle_server.set_output(RUN, {"sub/payload.txt": "x", "ok.txt": "y"})
    outside = tmp_path / "outside"
    outside.mkdir()
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "sub").symlink_to(outside)
    before = snapshot(tmp_path)
    with pytest.raises(UnsafeOutputName, match="symlink"):
        download_output(kaggle_backend, RUN, dest=dest, display=False)
    assert snapshot(tmp_path) == before and list(outside.iterdir()) == []
    assert leftovers(tmp_path) == []


class DiesOnTheFifthFile(KaggleBackend):
    """The real backend; the server loses the 5th file just before it is fetched (a real 404 over HTTP)."""

    def __init__(self, server, ref: str) -> None:
        super().__init__(retry=fast_retry_policy())
        self.server, self.ref, self.count = server, ref, 0

    def download_output_file(self, ref, item, target) -> None:
        self.count += 1
        if self.count == 5:
            del self.server.kernel(self.ref).latest.outputs[item.name]
        super().download_output_file(ref, item, target)


def test_a_failure_mid_way_leaves_nothing_half_downloaded(kaggle_server, tmp_path: Path) -> None:
    kaggle_server.add_kernel(RUN)
    kaggle_server.set_output(RUN, {f"f{i}.txt": str(i) for i in range(8)})
    dest = tmp_path / "dest"
    with pytest.raises(NotFound, match=r"f4\.txt"):
        download_output(DiesOnTheFifthFile(kaggle_server, RUN), RUN, dest=dest, display=False)
    assert not dest.exists() and leftovers(tmp_path) == []
    assert len(kaggle_server.calls("Download")) == 5


def test_a_server_error_on_a_download_leaves_an_existing_dest_as_it_was(
    kaggle_server, kaggle_backend, tmp_path
):
    kaggle_server.add_kernel(RUN)
    kaggle_server.set_output(RUN, {"a.txt": "a", "b.txt": "b"})
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "a.txt").write_text("old a")
    kaggle_server.fail("Download", 503, times=20)  # outlives the backend's retries
    with pytest.raises(BackendError):
        download_output(kaggle_backend, RUN, dest=dest, display=False)
    assert snapshot(dest) == {"a.txt": b"old a"} and leftovers(tmp_path) == []


def test_a_missing_kernel_is_named(kaggle_server, kaggle_backend, tmp_path: Path) -> None:
    with pytest.raises(NotFound) as info:
        download_output(kaggle_backend, "kmtester/not-there", dest=tmp_path / "d", display=False)
    assert "kmtester/not-there" in info.value.message
    assert not (tmp_path / "d").exists()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# -- on the local backend: the outputs of a real run ---------------------------------------------------------
def test_local_run_outputs_downloaded(local_world, tmp_path: Path) -> None:
    from kaggle_magics.status import status
    from kaggle_magics.waiting import Poll

    done = status(
        local_world.backend, WORKFLOW_RUN, wait=True, timeout=120, poll=Poll(first=0.2, most=1), display=False
    )
    assert done.status == "COMPLETE", done.log_tail
    dest = tmp_path / "outputs"
    result = download_output(local_world.backend, WORKFLOW_RUN, dest=dest, display=False)
    assert len(result.files) == OUTPUT_COUNT + 1
    assert (dest / "submission.csv").read_text() == "id,target\n1,0.5\n2,0.25\n"
    assert (dest / "out" / "part-07.txt").read_text() == "49"
    only = download_output(
        local_world.backend, WORKFLOW_RUN, dest=tmp_path / "csv", pattern="*.csv", display=False
    )
    assert only.files == ["submission.csv"] and only.skipped == OUTPUT_COUNT
