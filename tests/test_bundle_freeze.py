"""freeze: the closure resolved for the target, every file a wheel that fits it, the base left out, and errors
that name the culprit and leave nothing behind. No PyPI: the packages come from the session's find-links."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from kaggle_magics.bundle import (
    ARCHIVE_SUFFIX,
    MANIFEST_NAME,
    capture_base,
    freeze,
    read_base,
    read_manifest,
)
from kaggle_magics.bundle._util import sha256_file
from kaggle_magics.bundle.archive import unpacked_by_kaggle
from kaggle_magics.bundle.base import SHIPPED_DESCRIPTION
from kaggle_magics.bundle.wheels import WheelName
from kaggle_magics.cli import main
from kaggle_magics.errors import BundleError

from .fixtures_bundle import PackageIndex
from .requires import require


def leftovers(parent: Path) -> list[str]:
    """Temp or partial folders a failed freeze might have left next to its destination."""
    return sorted(p.name for p in parent.iterdir() if p.name.startswith("."))


def test_kaggle_target_from_this_machine_without_network(alpha_bundle: Path) -> None:
    """The session bundle: kmt-alpha for CPython 3.12 manylinux, frozen on 3.11 from find-links only."""
    manifest = read_manifest(alpha_bundle)
    assert manifest.target["python_version"] == "3.12"
    assert manifest.target["platform"] == "manylinux_2_35_x86_64"
    assert manifest.requirements == ["kmt-alpha"]
    assert manifest.install_requirements == ["kmt-alpha"]
    wheels = {f.project: f for f in manifest.of_kind("wheel")}
    assert set(wheels) == {"kmt-alpha", "kmt-beta"}
    # kmt-beta exists only as an sdist: it was built into a wheel at freeze time
    assert manifest.built_from_source == [
        {"project": "kmt-beta", "version": "1.0", "source": "sdist kmt_beta-1.0.tar.gz"}
    ]
    assert wheels["kmt-beta"].filename == "kmt_beta-1.0-py3-none-any.whl"
    assert {f.role for f in manifest.of_kind("tool")} == {"kaggle-magics", "packaging", "installer"}
    for item in manifest.files:
        path = alpha_bundle / item.filename
        assert (item.sha256, item.size) == sha256_file(path), item.filename
        assert not unpacked_by_kaggle(item.filename)
        if item.filename.endswith(".whl"):
            assert sorted(item.tags) == WheelName.parse(item.filename).tag_strings
    on_disk = {p.name for p in alpha_bundle.iterdir()}
    assert on_disk == {f.filename for f in manifest.files} | {MANIFEST_NAME, "README.txt"}
    assert not any(p.is_dir() for p in alpha_bundle.iterdir()), "a bundle is flat"
    assert oct(alpha_bundle.stat().st_mode & 0o777) == "0o755"
    # no base given: Kaggle's image list shipped in the package is the base (it has no kmt-*)
    assert manifest.base == {"source": SHIPPED_DESCRIPTION, "packages": 873} and manifest.left_out == []
    assert any(f"left out what {SHIPPED_DESCRIPTION} has" in note for note in manifest.notes)


def test_summary_reads_in_a_terminal_and_a_notebook(bundle_env: PackageIndex, tmp_path: Path) -> None:
    result = freeze(["kmt-alpha"], dest=tmp_path / "deps", **bundle_env.freeze_kwargs())
    text = str(result)
    assert text == repr(result)
    assert "kmt-alpha==1.0, kmt-beta==1.0" in text
    assert "built from source  kmt-beta==1.0" in text
    assert "left out           nothing" in text
    assert "--capture-base FILE" in text and "--base FILE" in text  # how to use a snapshot of one's image
    assert f"{result.files} files" in text and "MB" in text
    html = result._repr_html_()
    assert "<table>" in html and "kmt-beta==1.0" in html
    assert result.installer.startswith("uv ")


@pytest.mark.requires("image-wheelhouse")
def test_without_a_base_what_the_shipped_image_list_has_is_left_out(
    bundle_env: PackageIndex, tmp_path: Path
) -> None:
    from tests import wheelhouse

    kwargs = {**bundle_env.freeze_kwargs(), "find_links": [bundle_env.links, wheelhouse.folder()]}
    result = freeze(["kmt-alpha", "six"], dest=tmp_path / "deps", **kwargs)
    assert result.wheels == ["kmt-alpha==1.0", "kmt-beta==1.0"]
    assert result.left_out == ["six==1.17.0"]  # Kaggle's image has six 1.17.0
    assert f"left out what {SHIPPED_DESCRIPTION} has" in result.notes[0]
    bare = freeze(["kmt-alpha", "six"], dest=tmp_path / "all", no_base=True, **kwargs)
    assert bare.left_out == [] and "six==1.17.0" in bare.wheels
    assert any("no base: nothing was left out" in note for note in bare.notes)
    other = freeze(["six"], dest=tmp_path / "py311", python_version="3.11", **kwargs)
    assert other.left_out == [], "the shipped list is Python 3.12's image: not a base for another Python"


def test_progress_callback_sees_download_and_build(bundle_env: PackageIndex, tmp_path: Path) -> None:
    events: list[tuple[str, int, int | None]] = []
    kwargs = bundle_env.freeze_kwargs() | {"progress": lambda *e: events.append(e)}
    freeze(["kmt-alpha"], dest=tmp_path / "deps", **kwargs)
    stages = {e[0] for e in events}
    assert {"resolve", "download", "build"} <= stages
    build = [e for e in events if e[0] == "build"]
    assert build[-1][1:] == (1, 1)


def test_terminal_progress_is_one_bar_at_a_time_and_clears(
    bundle_env: PackageIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import io

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    terminal = Terminal()
    monkeypatch.setattr("sys.stderr", terminal)
    freeze(["kmt-alpha"], dest=tmp_path / "deps", **bundle_env.freeze_kwargs() | {"progress": None})
    shown = terminal.getvalue()
    assert "download" in shown and "build from source" in shown
    # the installer wheels are fetched beside the download: a second bar there could close last, leaving
    # the cursor mid-line and the summary indented
    assert "installer wheels" not in shown and "pack dirs" not in shown
    assert shown.endswith("\r"), repr(shown[-80:])


def test_base_snapshot_leaves_out_what_the_image_has(bundle_env: PackageIndex, tmp_path: Path) -> None:
    base = tmp_path / "kaggle-base.txt"
    base.write_text("# captured in a Kaggle notebook\nkmt-gamma==1.0\nnumpy==2.1.0+cu124\n")
    with_base = freeze(
        ["kmt-gamma", "kmt-alpha"], dest=tmp_path / "a", base=base, **bundle_env.freeze_kwargs()
    )
    manifest = with_base.manifest
    assert manifest is not None
    shipped = {f.project for f in manifest.of_kind("wheel")}
    assert shipped == {"kmt-alpha", "kmt-beta"}, "gamma is in the base, delta is needed only by gamma"
    assert manifest.left_out == [
        {"project": "kmt-delta", "version": "1.0", "reason": "needed only by packages the base has"},
        {"project": "kmt-gamma", "version": "1.0", "reason": "the base has 1.0"},
    ]
    assert manifest.base == {"source": str(base), "packages": 2}
    assert "left out           2: kmt-delta==1.0, kmt-gamma==1.0" in str(with_base)
    assert not any("no base" in note for note in manifest.notes)
    # without the base the newest gamma is chosen and shipped with its dependency
    without = freeze(["kmt-gamma"], dest=tmp_path / "b", **bundle_env.freeze_kwargs())
    assert without.wheels == ["kmt-delta==1.0", "kmt-gamma==2.0"]
    assert without.left_out == []


def test_base_versions_are_preferred_not_forced(bundle_env: PackageIndex, tmp_path: Path) -> None:
    base = tmp_path / "base.txt"
    base.write_text("kmt-gamma==1.0\nkmt-delta==1.0\n")
    result = freeze(["kmt-gamma>=2"], dest=tmp_path / "deps", base=base, **bundle_env.freeze_kwargs())
    assert result.wheels == ["kmt-gamma==2.0"], "the requirement needs 2.0: it ships, delta stays out"
    assert result.left_out == ["kmt-delta==1.0"]
    assert "replaces the base's versions" in str(result) and "kmt-gamma 1.0 -> 2.0" in str(result)
    assert "kmt-delta" not in " ".join(result.notes)


def test_capture_base_writes_pip_freeze_format(tmp_path: Path) -> None:
    import importlib.metadata as md

    snapshot = capture_base(tmp_path / "base.txt")
    text = (tmp_path / "base.txt").read_text()
    assert text.startswith("# kaggle-magics base snapshot")
    assert f"packaging=={md.version('packaging')}\n" in text
    assert f"pytest=={md.version('pytest')}\n" in text
    again = read_base(tmp_path / "base.txt")
    assert again.packages == snapshot.packages and len(again.packages) > 20
    assert again.python == snapshot.python
    (tmp_path / "bad.txt").write_text("numpy\n")
    with pytest.raises(BundleError, match=r"bad.txt, line 1: 'numpy' is not name==version"):
        read_base(tmp_path / "bad.txt")
    with pytest.raises(BundleError, match="cannot read it"):
        read_base(tmp_path / "missing.txt")


def test_inside_kaggle_the_running_interpreter_is_target_and_base(
    bundle_env: PackageIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import importlib.metadata as md

    working = tmp_path / "kaggle" / "working"
    working.mkdir(parents=True)
    monkeypatch.setenv("KAGGLE_KERNEL_RUN_TYPE", "Batch")
    monkeypatch.setenv("KAGGLE_MAGICS_WORKING_DIR", str(working))
    result = freeze(["kmt-alpha", "kmt-cext", "packaging"], **bundle_env.freeze_kwargs())
    assert result.dest == working / "kaggle_deps"
    manifest = read_manifest(result.dest)
    assert manifest.target["interpreter"] == sys.executable
    assert manifest.target["python_version"] == f"{sys.version_info[0]}.{sys.version_info[1]}"
    # the compiled sdist builds for the running interpreter, which is the target
    cext = next(f for f in manifest.of_kind("wheel") if f.project == "kmt-cext")
    assert cext.filename.startswith("kmt_cext-1.0-cp311-cp311-linux_x86_64") or "cp3" in cext.filename
    assert {
        "project": "packaging",
        "version": md.version("packaging"),
        "reason": f"the base has {md.version('packaging')}",
    } in manifest.left_out
    assert "the running interpreter" in manifest.base["source"]
    assert "packaging" not in {f.project for f in manifest.of_kind("wheel")}


def test_compiled_sdist_for_a_foreign_target_says_freeze_inside_kaggle(
    bundle_env: PackageIndex, tmp_path: Path
) -> None:
    with pytest.raises(BundleError) as info:
        freeze(["kmt-cext"], dest=tmp_path / "deps", **bundle_env.freeze_kwargs())
    message = info.value.render()
    assert "kmt-cext 1.0 has no wheel for CPython 3.12, manylinux_2_35_x86_64" in message
    assert "cp311-cp311-linux_x86_64" in message
    assert "freeze inside a Kaggle notebook" in message
    assert not (tmp_path / "deps").exists()
    assert leftovers(tmp_path) == []


def test_direct_references_are_built_and_the_source_is_untouched(
    bundle_env: PackageIndex, vcs_repo: Path, tmp_path: Path
) -> None:
    before = sorted(p.name for p in bundle_env.local.rglob("*"))
    vcs = f"kmt-vcs @ git+file://{vcs_repo}"
    sdist = bundle_env.links / "kmt_beta-1.0.tar.gz"
    archive = f"kmt-beta @ {sdist.as_uri()}"
    result = freeze(
        [str(bundle_env.local), vcs, archive], dest=tmp_path / "deps", **bundle_env.freeze_kwargs()
    )
    manifest = result.manifest
    assert manifest is not None
    assert {f.project for f in manifest.of_kind("wheel")} == {"kmt-local", "kmt-vcs", "kmt-delta", "kmt-beta"}
    assert all(f.filename.endswith(".whl") for f in manifest.of_kind("wheel"))
    built = {b["project"]: b["source"] for b in manifest.built_from_source}
    assert built["kmt-local"] == f"directory {bundle_env.local}"
    assert built["kmt-vcs"].startswith(f"git+file://{vcs_repo}@")
    assert built["kmt-beta"] == f"archive {sdist}"
    assert sorted(manifest.install_requirements) == ["kmt-beta==1.0", "kmt-local==0.3", "kmt-vcs==0.7"]
    assert sorted(p.name for p in bundle_env.local.rglob("*")) == before, (
        "no build/ or egg-info in the user's folder"
    )


def test_relative_path_in_a_requirements_file_means_what_pip_says(
    bundle_env: PackageIndex, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``pip install -r reqs/requirements.txt`` reads ``./libs/local`` from the current folder: so does freeze."""
    import shutil

    shutil.copytree(bundle_env.local, tmp_path / "libs" / "local")
    (tmp_path / "reqs").mkdir()
    (tmp_path / "reqs" / "requirements.txt").write_text("./libs/local\n")
    monkeypatch.chdir(tmp_path)
    result = freeze(requirement_files=["reqs/requirements.txt"], dest="deps", **bundle_env.freeze_kwargs())
    assert "kmt-local==0.3" in result.wheels
    assert result.built_from_source[0] == "kmt-local==0.3"


def test_requirement_files_and_dirs(bundle_env: PackageIndex, tmp_path: Path) -> None:
    reqs = tmp_path / "requirements.txt"
    (tmp_path / "more.txt").write_text("kmt-delta  # the dependency\n")
    reqs.write_text(
        f"--find-links {bundle_env.links}\n-r more.txt\nkmt-gamma==1.0 ; python_version >= '3'\n\n"
    )
    tool = tmp_path / "julia-depot"
    (tool / "bin").mkdir(parents=True)
    (tool / "bin" / "julia").write_text("#!/bin/sh\n")
    (tool / "bin" / "julia").chmod(0o755)
    result = freeze(
        requirement_files=[reqs], dirs=[tool], dest=tmp_path / "deps", **bundle_env.freeze_kwargs()
    )
    manifest = read_manifest(tmp_path / "deps")
    assert manifest.requirements == ["kmt-delta", "kmt-gamma==1.0 ; python_version >= '3'"]
    assert result.wheels == ["kmt-delta==1.0", "kmt-gamma==1.0"]
    assert result.dirs == ["julia-depot" + ARCHIVE_SUFFIX]
    [packed] = manifest.of_kind("dir")
    assert packed.origin == str(tool)
    # only dirs: no requirement is needed
    only = freeze(dirs=[tool], dest=tmp_path / "dirs-only", **bundle_env.freeze_kwargs())
    assert only.wheels == [] and only.dirs == ["julia-depot" + ARCHIVE_SUFFIX]


def test_refreezing_replaces_the_bundle_in_one_step(bundle_env: PackageIndex, tmp_path: Path) -> None:
    dest = tmp_path / "deps"
    freeze(["kmt-gamma==1.0"], dest=dest, **bundle_env.freeze_kwargs())
    freeze(["kmt-gamma==2.0"], dest=dest, **bundle_env.freeze_kwargs())
    names = {p.name for p in dest.iterdir()}
    assert "kmt_gamma-2.0-py3-none-any.whl" in names and "kmt_gamma-1.0-py3-none-any.whl" not in names
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize(
    ("requirements", "expected"),
    [
        (["kmt-nosuch"], r"kmt-nosuch was not found"),
        (["kmt-gamma==1.0", "kmt-gamma>=2"], r"kmt-gamma"),
        (["kmt-mac"], r"kmt-mac"),
        (["not a requirement!"], r"'not a requirement!' is not a requirement"),
    ],
    ids=["unknown", "conflict", "no-wheel-for-target", "malformed"],
)
def test_bad_requirements_fail_cleanly(
    bundle_env: PackageIndex, tmp_path: Path, requirements: list[str], expected: str
) -> None:
    with pytest.raises(BundleError, match=expected) as info:
        freeze(requirements, dest=tmp_path / "deps", **bundle_env.freeze_kwargs())
    assert "\n" not in info.value.message, "one line"
    assert info.value.hint
    assert not (tmp_path / "deps").exists() and leftovers(tmp_path) == []


def test_a_pin_with_no_wheel_for_the_target_says_so(bundle_env: PackageIndex, tmp_path: Path, capsys) -> None:
    """kmt-old==0.1 has a wheel for CPython 3.6 only and an sdist uv cannot read (as pandas==0.23.3 for
    Python 3.12): the cause is named, not the resolver's words about the sdist's metadata, and exit 2."""
    reqs = tmp_path / "requirements.txt"
    reqs.write_text("kmt-delta\nkmt-old==0.1  # an old pin\n")
    with pytest.raises(BundleError) as info:
        freeze(requirement_files=[reqs], dest=tmp_path / "deps", **bundle_env.freeze_kwargs())
    assert info.value.message == "kmt-old==0.1 has no wheel for CPython 3.12, manylinux_2_35_x86_64"
    assert info.value.hint == (
        "kmt-old 1.0 is the first version with a wheel for CPython 3.12, manylinux_2_35_x86_64: require that or later"
    )
    assert info.value.exit_code == 2
    assert not (tmp_path / "deps").exists() and leftovers(tmp_path) == []
    argv = ["freeze", "-r", str(reqs), "--dest", str(tmp_path / "deps"), "--no-index", "--find-links",
            str(bundle_env.links)]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err.splitlines()
    assert err == [f"error: {info.value.message}", f"hint: {info.value.hint}"]


def test_missing_find_links_folder_is_named(tmp_path: Path) -> None:
    with pytest.raises(BundleError, match=r"--find-links wheelhouse: no such folder"):
        freeze(["six"], dest=tmp_path / "deps", find_links=["wheelhouse"], no_index=True, progress=False)
    assert not (tmp_path / "deps").exists()


def test_conflict_hint_says_relax(bundle_env: PackageIndex, tmp_path: Path) -> None:
    with pytest.raises(BundleError) as info:
        freeze(["kmt-gamma==1.0", "kmt-gamma>=2"], dest=tmp_path / "deps", **bundle_env.freeze_kwargs())
    assert "unsatisfiable" in info.value.message
    assert "relax" in (info.value.hint or "")


def test_foreign_platform_target_takes_only_its_wheels(bundle_env: PackageIndex, tmp_path: Path) -> None:
    result = freeze(
        ["kmt-mac"], platform="macosx_14_0_arm64", dest=tmp_path / "deps", **bundle_env.freeze_kwargs()
    )
    assert result.wheels == ["kmt-mac==1.0"]
    assert "macosx_14_0_arm64" in result.target
    assert "no uv wheel" in result.installer or result.installer.startswith("pip")


def test_wheel_by_url_that_does_not_fit_the_target_is_named(bundle_env: PackageIndex, tmp_path: Path) -> None:
    wheel = next(bundle_env.links.glob("kmt_mac-*.whl"))
    with pytest.raises(BundleError) as info:
        freeze([f"kmt-mac @ {wheel.as_uri()}"], dest=tmp_path / "deps", **bundle_env.freeze_kwargs())
    assert "kmt_mac-1.0-cp312-cp312-macosx_11_0_arm64.whl" in info.value.message
    assert not (tmp_path / "deps").exists() and leftovers(tmp_path) == []


def test_destination_that_is_not_a_bundle_is_not_touched(bundle_env: PackageIndex, tmp_path: Path) -> None:
    dest = tmp_path / "mine"
    dest.mkdir()
    (dest / "notes.txt").write_text("keep me")
    with pytest.raises(BundleError, match="exists and is not a bundle"):
        freeze(["kmt-delta"], dest=dest, **bundle_env.freeze_kwargs())
    assert (dest / "notes.txt").read_text() == "keep me"
    with pytest.raises(BundleError, match="nothing to freeze"):
        freeze([], dest=tmp_path / "x")
    with pytest.raises(BundleError, match="not a folder"):
        freeze(dirs=[tmp_path / "missing"], dest=tmp_path / "x")
    with pytest.raises(BundleError, match="is not a platform tag"):
        freeze(["kmt-delta"], platform="amiga", dest=tmp_path / "x", **bundle_env.freeze_kwargs())
    with pytest.raises(BundleError, match="not a Python version"):
        freeze(["kmt-delta"], python_version="three", dest=tmp_path / "x", **bundle_env.freeze_kwargs())


def test_full_disk_leaves_nothing_half_written(bundle_env: PackageIndex, tmp_path: Path) -> None:
    """A real full disk: a 1 MB tmpfs mounted in a private mount namespace (``unshare -rm``)."""
    require("unshare")
    small = tmp_path / "small"
    small.mkdir()
    script = textwrap.dedent(
        f"""
        import json, os, sys
        from kaggle_magics.bundle import freeze
        from kaggle_magics.errors import BundleError
        try:
            freeze(["kmt-alpha"], dest={str(small / "deps")!r}, find_links=[{str(bundle_env.links)!r}],
                   no_index=True, progress=False)
        except BundleError as exc:
            print(json.dumps({{"error": exc.message, "hint": exc.hint, "left": os.listdir({str(small)!r})}}))
        else:
            print(json.dumps({{"error": None}}))
        """
    )
    env = {k: v for k, v in os.environ.items()}
    proc = subprocess.run(
        ["unshare", "-rm", "sh", "-c",
         f"mount -t tmpfs -o size=1m tmpfs {small} && exec {sys.executable} -c \"$0\"", script],
        capture_output=True, text=True, env=env, timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    outcome = json.loads(proc.stdout.strip().splitlines()[-1])
    assert outcome["error"] is not None and "no space left on the device" in outcome["error"], outcome
    assert "nothing was left half-written" in outcome["hint"]
    assert outcome["left"] == [], "no temp folder, no partial bundle"


@pytest.mark.network
def test_hydra_from_pypi_installs_offline(tmp_path: Path, make_venv) -> None:
    """The seed recipe's failure case: antlr4-python3-runtime (through omegaconf) exists only as an sdist."""
    from kaggle_magics.bundle import install

    from .fixtures_bundle import installed_in, offline

    result = freeze(["hydra-core"], python_version="3.11", dest=tmp_path / "deps", progress=False)
    assert any(b.startswith("antlr4-python3-runtime==") for b in result.built_from_source)
    assert all(not unpacked_by_kaggle(p.name) for p in result.dest.iterdir())
    python = make_venv()
    args = ["--from", str(result.dest), "--python", str(python)]
    code = f"import sys; from kaggle_magics.bundle.install_main import main; sys.exit(main({args!r}))"
    proc = subprocess.run(offline([sys.executable, "-c", code]), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    ran = subprocess.run(
        [str(python), "-I", "-c", "import hydra, omegaconf; print(hydra.__version__)"],
        capture_output=True,
        text=True,
    )
    assert ran.returncode == 0, ran.stderr
    assert installed_in(python, "antlr4-python3-runtime") is not None
    assert install([result.dest], python=python, progress=False).already_satisfied
