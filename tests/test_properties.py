"""Properties that must hold for every input, checked with hypothesis: references parse to what they print,
kernel metadata survives a write and a read, and a packed folder never unpacks anything outside its folder."""

from __future__ import annotations

import io
import json
import os
import tarfile
import tempfile
from pathlib import Path

from hypothesis import example, given, settings
from hypothesis import strategies as st

from kaggle_magics.bundle.archive import ARCHIVE_SUFFIX, archive_name, unpack_archive
from kaggle_magics.bundle.manifest import BundleFile
from kaggle_magics.errors import BundleError, InvalidRef, MetadataError
from kaggle_magics.handles import MODEL_FRAMEWORKS, CompetitionRef, DatasetRef, KernelRef, ModelRef
from kaggle_magics.metadata import ACCELERATORS, KernelMetadata

# No deadline on a loaded 2-core machine, no example database left in the work tree; in CI the same examples
# every run, so a red run can be run again and seen again.
settings.register_profile("dev", deadline=None, database=None)
settings.register_profile("ci", deadline=None, database=None, derandomize=True, print_blob=True)
settings.load_profile("ci" if os.environ.get("CI", "").lower() in ("1", "true", "yes") else "dev")

# -- references ----------------------------------------------------------------------------------------------
ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
part = st.builds(
    lambda first, middle, last: first + middle + last,
    st.sampled_from(ALNUM),
    st.text(ALNUM + "._-", max_size=8),
    st.sampled_from(ALNUM),
) | st.sampled_from(ALNUM)
slug = st.builds(lambda first, middle, last: first + middle + last, st.sampled_from(ALNUM),
                 st.text(ALNUM + "._-", min_size=3, max_size=8), st.sampled_from(ALNUM))  # fmt: skip
version = st.none() | st.integers(1, 10**6)
# what a user might type: valid pieces, separators, and anything else
ODD = ["", " ", "0", "\u00b2", "\u0661", "a\n", "..", "-a"]  # superscript two, Arabic-Indic one
typed = st.lists(part | st.text(max_size=6) | st.sampled_from(ODD), max_size=6).map("/".join)


@given(owner=part, slug=slug, version=version)
def test_a_kernel_ref_parses_to_what_it_prints(owner: str, slug: str, version: int | None) -> None:
    ref = KernelRef(owner, slug, version)
    assert KernelRef.parse(str(ref)) == ref
    if version is None:
        assert KernelRef.parse(slug, default_owner=owner) == ref


@given(owner=part, slug=part, version=version)
def test_a_dataset_ref_parses_to_what_it_prints(owner: str, slug: str, version: int | None) -> None:
    ref = DatasetRef(owner, slug, version)
    assert DatasetRef.parse(str(ref)) == ref


@given(owner=part, model=part, framework=st.sampled_from(MODEL_FRAMEWORKS), variation=part, version=version)
def test_a_model_ref_parses_to_what_it_prints(owner, model, framework, variation, version) -> None:
    ref = ModelRef(owner, model, framework, variation, version)
    assert ModelRef.parse(str(ref)) == ref
    assert ModelRef.parse(str(ref.with_version(version or 1)), require_version=True).handle == ref.handle


@given(text=typed)
@example(text="me/cmi-sub/\u00b2")  # a digit to str.isdigit, not to int()
@example(text="me\n/cmi-sub")  # `$` matches before a final newline
def test_any_text_is_a_ref_that_prints_back_or_a_clear_error(text: str) -> None:
    """Whatever is typed: a ref made only of the allowed characters that parses back to itself, or
    InvalidRef (never another exception, never a part holding a newline or a space)."""
    for parse in (
        KernelRef.parse,
        DatasetRef.parse,
        ModelRef.parse,
        CompetitionRef.parse,
        lambda t: KernelRef.parse(t, default_owner="me"),
    ):
        try:
            ref = parse(text)
        except InvalidRef as exc:
            assert exc.message and "\n" not in (exc.hint or "")
            continue
        printed = str(ref)
        assert set(printed) <= set(ALNUM + "._-/"), printed
        assert type(ref).parse(printed) == ref


# -- kernel metadata -----------------------------------------------------------------------------------------
sources = st.lists(st.builds(lambda o, s, v: str(DatasetRef(o, s, v)), part, part, version), max_size=3)
# A kernel is named by its id or, alone, by its id_no (beside an id, a pulled id_no is left out on reading).
_fields = dict(
    title=st.none() | st.text(min_size=5, max_size=40),
    code_file=st.text(ALNUM + "._-", min_size=1, max_size=20),
    language=st.sampled_from(["python", "r", "rmarkdown"]),
    kernel_type=st.sampled_from(["script", "notebook"]),
    is_private=st.booleans(),
    enable_gpu=st.booleans(),
    enable_tpu=st.booleans(),
    enable_internet=st.booleans(),
    dataset_sources=sources,
    competition_sources=st.lists(part, max_size=2),
    kernel_sources=st.lists(st.builds(lambda o, s, v: str(KernelRef(o, s, v)), part, slug, version), max_size=2),
    model_sources=st.lists(
        st.builds(lambda o, m, f, v, n: f"{o}/{m}/{f}/{v}/{n}", part, part, st.sampled_from(MODEL_FRAMEWORKS),
                  part, st.integers(1, 99)),
        max_size=2,
    ),
    keywords=st.lists(st.text(max_size=12), max_size=3),
    docker_image_pinning_type=st.sampled_from([None, "original", "latest"]),
    docker_image=st.none() | st.text(min_size=1, max_size=30),
    machine_shape=st.none() | st.sampled_from(ACCELERATORS),
)
metadata = st.builds(
    KernelMetadata, id=st.builds(lambda o, s: f"{o}/{s}", part, slug), id_no=st.none(), **_fields
) | st.builds(KernelMetadata, id=st.none(), id_no=st.integers(1, 2**40), **_fields)


@given(meta=metadata)
def test_metadata_survives_a_write_and_a_read(meta: KernelMetadata) -> None:
    assert KernelMetadata.from_dict(json.loads(json.dumps(meta.to_dict()))) == meta
    with tempfile.TemporaryDirectory() as folder:
        meta.write(Path(folder))
        data = json.loads((Path(folder) / "kernel-metadata.json").read_text(encoding="utf-8"))
        assert "enable_internet" in data, "always written: the client's default is true"
        assert KernelMetadata.read(Path(folder)) == meta


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8), lambda inner: st.lists(inner, max_size=3),
    max_leaves=6,
)


@given(data=st.dictionaries(st.sampled_from([f.name for f in KernelMetadata.__dataclass_fields__.values()]
                                            + ["unknown"]), json_values, max_size=8))  # fmt: skip
def test_any_json_object_is_metadata_or_a_metadata_error(data: dict) -> None:
    try:
        meta = KernelMetadata.from_dict(data)
    except MetadataError as exc:
        assert exc.message
        return
    assert KernelMetadata.from_dict(json.loads(json.dumps(meta.to_dict()))) == meta


# -- bundle names and archive members ------------------------------------------------------------------------
@given(stem=st.text(max_size=6) | st.sampled_from(["", ".", "..", "...", "a..", ".a", "a/b"]))
@example(stem="..")  # `...tar.gz.kmx`: it unpacked to the folder above every unpacked folder
@example(stem=".")
def test_a_packed_folder_the_manifest_accepts_unpacks_to_a_folder_of_its_own(stem: str) -> None:
    entry = {"filename": stem + ARCHIVE_SUFFIX, "kind": "dir", "sha256": "0" * 64, "size": 1}
    try:
        item = BundleFile.from_dict(entry, "manifest")
    except BundleError:
        return
    root = Path("/dirs-root")
    dest = root / archive_name(item.filename)
    assert dest.parent == root and dest.name not in ("", ".", "..") and os.path.normpath(dest) == str(dest)


NAMES = ["a", "b", "d", "d/s", "d/e", "a/b", "..", "../x", ".", "d/..", ".kaggle-magics-archive"]
TARGETS = ["a", "b", "d", "d/s", "..", "../..", "d/s/..", "d/s/../..", "s/..", ".", "/etc", "x/..", "d/e/../.."]


@st.composite
def members(draw) -> list[tuple[str, str, str]]:
    """(kind, name, link target) triples: files, folders, symlinks and hard links, in any order."""
    count = draw(st.integers(1, 6))
    out = []
    for _ in range(count):
        kind = draw(st.sampled_from(["file", "dir", "sym", "hard"]))
        out.append((kind, draw(st.sampled_from(NAMES)), draw(st.sampled_from(TARGETS + NAMES))))
    return out


def _tar(path: Path, items: list[tuple[str, str, str]]) -> None:
    with tarfile.open(path, "w:gz") as tar:
        for kind, name, target in items:
            info = tarfile.TarInfo(name)
            data = None
            if kind == "file":
                data = b"data"
                info.size = len(data)
            elif kind == "dir":
                info.type, info.mode = tarfile.DIRTYPE, 0o755
            else:
                info.type = tarfile.SYMTYPE if kind == "sym" else tarfile.LNKTYPE
                info.linkname = target
            tar.addfile(info, io.BytesIO(data) if data else None)


def _escapes(root: Path) -> list[str]:
    real = os.path.realpath(root)
    bad = []
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            resolved = os.path.realpath(path)
            if resolved != real and not resolved.startswith(real + os.sep):
                bad.append(f"{os.path.relpath(path, root)} -> {resolved}")
    return bad


@given(items=members())
@example(items=[("sym", "l", "d/s/.."), ("dir", "d", ""), ("sym", "d/s", "..")])  # out through a later link
@example(items=[("sym", "s", "."), ("file", "s/x", "")])  # a file written through a link
def test_a_packed_folder_never_unpacks_anything_outside_it(items: list[tuple[str, str, str]]) -> None:
    """Whatever the members and their order: refused whole, or unpacked with every path (links followed)
    inside the folder and nothing written beside it."""
    with tempfile.TemporaryDirectory() as box_name:
        box = Path(box_name)
        archive = box / f"packed{ARCHIVE_SUFFIX}"
        _tar(archive, items)
        dest = box / "out" / "folder"
        try:
            unpack_archive(archive, dest, stamp="s")
        except BundleError:
            assert not (box / "out").exists() or list((box / "out").iterdir()) == [], "refused, yet written"
            return
        assert sorted(p.name for p in box.iterdir()) == ["out", archive.name]
        assert [p.name for p in (box / "out").iterdir()] == ["folder"], "a temp folder was left"
        assert _escapes(dest) == []
