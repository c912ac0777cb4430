"""Running the local Kaggle: register a competition's data (``kaggle-magics local competition add SLUG
DIR``) and list what the store holds; build the image twins local runs execute in (``kaggle-magics local image
build [PATH...]``, see :mod:`.image`).

A registered competition is mounted at ``/kaggle/input/competitions/<slug>`` (``/kaggle/input/<slug>`` in the
flat layout) in every local run that lists it in ``competition_sources``, and takes submissions (checked
against its ``sample_submission.csv`` if it has one, as Kaggle's scorer does: :mod:`.scorer`).
"""

from __future__ import annotations

import json
import shutil
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import inputs
from ..errors import InputError, KaggleMagicsError
from ..handles import CompetitionRef
from ..results import Result
from . import store as storage

DAILY_LIMIT = 5


@dataclass
class LocalCompetition(Result):
    """A competition registered in the local storage."""

    slug: str
    title: str | None = None
    data: Path | None = None
    files: list[str] = field(default_factory=list)
    copied: bool = True
    daily_limit: int = DAILY_LIMIT
    input_path: str | None = None
    notes: list[str] = field(default_factory=list)

    _title = "local competition"

    def __repr__(self) -> str:
        return str(self)


def add_competition(
    slug: str,
    data_dir: Path | str,
    store: Path | None = None,
    *,
    title: str | None = None,
    copy: bool = True,
    daily_limit: int = DAILY_LIMIT,
    layout: str | None = None,
) -> LocalCompetition:
    """Register ``data_dir`` as the data of competition ``slug``. With ``copy`` (the default) the files are
    copied into the store, so later changes to ``data_dir`` do not change past runs; ``copy=False`` keeps a
    reference (for big data). Registering again replaces the data, atomically. ``layout`` is the input layout
    whose path the result shows (today's nested one by default)."""
    comp = CompetitionRef.parse(slug)
    layout = inputs.check_layout(layout, "input_layout")
    source = Path(data_dir).expanduser().resolve()
    if not source.is_dir():
        raise InputError(
            f"competition data folder {str(data_dir)!r} "
            + ("is a file, not a folder" if source.exists() else "not found"),
            hint="give the folder that holds the competition's files (train.csv, test.csv, ...)",
        )
    if daily_limit < 1:
        raise KaggleMagicsError(f"daily limit {daily_limit} must be at least 1")
    where = storage.Store(store).ensure()
    folder = where.competition_dir(comp.slug)
    folder.mkdir(parents=True, exist_ok=True)
    notes: list[str] = []
    with storage.locked(folder):
        record: dict[str, Any] = {
            "slug": comp.slug,
            "title": title or comp.slug,
            "source": str(source),
            "copied": copy,
            "daily_limit": daily_limit,
            "added": time.time(),
        }
        if copy:
            staging = Path(tempfile.mkdtemp(prefix=".data-", dir=folder))
            try:
                files = storage.copy_tree(source, staging / "data")
                old = folder / "data"
                if old.exists():
                    trash = Path(tempfile.mkdtemp(prefix=".old-", dir=folder))
                    old.rename(trash / "data")
                (staging / "data").rename(old)
            finally:
                shutil.rmtree(staging, ignore_errors=True)
            data = folder / "data"
            # A running kernel has the replaced data mounted (by folder, not by name): it keeps reading it
            # until it ends, and the copy is removed by a later registration once no run reads it.
            if _read_by_a_run(where, data):
                notes.append("the previous data is kept until the runs that read it end")
            else:
                for trash in folder.glob(".old-*"):
                    shutil.rmtree(trash, ignore_errors=True)
        else:
            data = source
            record["data"] = str(source)
            files = sorted(str(p.relative_to(source)) for p in source.rglob("*") if p.is_file())
        storage.write_json(folder / "competition.json", record)
    return LocalCompetition(
        slug=comp.slug,
        title=record["title"],
        data=data,
        files=files,
        copied=copy,
        daily_limit=daily_limit,
        input_path=input_path(comp.slug, layout),
        notes=notes,
    )


def _read_by_a_run(where: storage.Store, data: Path) -> bool:
    """Whether a QUEUED or RUNNING run of the store (pushed or rehearsed) has ``data`` among its inputs."""
    runs = [*where.root.glob("kernels/*/*/versions/*/run"), *where.rehearsals_dir().glob("*/*/run")]
    data = data.resolve()
    for run in runs:
        try:
            state = json.loads((run / "status.json").read_text(encoding="utf-8"))
            inputs = json.loads((run / "spec.json").read_text(encoding="utf-8")).get("inputs") or {}
        except (OSError, ValueError, AttributeError):
            continue  # a damaged or half-made run folder is not reading anything
        if state.get("status") in ("QUEUED", "RUNNING") and any(Path(p).resolve() == data for p in inputs.values()):
            return True
    return False


@dataclass
class LocalCompetitions(Result):
    """The competitions registered in the local storage, one line each."""

    store: Path
    competitions: list[LocalCompetition] = field(default_factory=list)

    _title = "local competitions"
    _hidden = ("competitions",)

    def __str__(self) -> str:
        lines = [f"  {c.slug:<40} {len(c.files):>4} files  at {c.input_path}" for c in self.competitions]
        return "\n".join([super().__str__(), *(lines or ["  none: kaggle-magics local competition add SLUG DIR"])])

    def __repr__(self) -> str:
        return str(self)


def input_path(slug: str, layout: str | None = None) -> str:
    """Where a run sees competition ``slug``'s data."""
    return inputs.mount_path(inputs.competition_path(slug, inputs.check_layout(layout, "input_layout")))


def list_competitions(store: Path | None = None, *, layout: str | None = None) -> list[LocalCompetition]:
    """Every competition registered in the storage (with its path in the input ``layout``)."""
    root = storage.Store(store).root / "competitions"
    found = []
    for folder in sorted(root.iterdir()) if root.is_dir() else ():
        if not (folder / "competition.json").exists():
            continue
        record = storage.read_json_object(folder / "competition.json", "competition record")
        data = Path(record["data"]) if record.get("data") else folder / "data"
        files = sorted(str(p.relative_to(data)) for p in data.rglob("*") if p.is_file()) if data.is_dir() else []
        found.append(
            LocalCompetition(
                slug=folder.name,
                title=record.get("title"),
                data=data,
                files=files,
                copied=bool(record.get("copied", True)),
                daily_limit=int(record.get("daily_limit", DAILY_LIMIT)),
                input_path=input_path(folder.name, layout),
            )
        )
    return found


# -- image twins ----------------------------------------------------------------------------------------------
@dataclass
class ImageTwin:
    """One image twin: what it was built for, what it holds, where it is."""

    target: str
    python: str
    packages: list[str]  # the base's packages the notebook imports, name==version
    path: Path
    built: bool
    seconds: float
    notes: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        how = f"built in {self.seconds:.1f} s" if self.built else "in the cache"
        held = ", ".join(self.packages) or "the kernel machinery only"
        return f"{self.target}: Python {self.python}; {held} ({how}) at {self.path}"


@dataclass
class ImageTwins(Result):
    """``kaggle-magics local image build``: the image twins local runs will execute in, ready offline."""

    base: str
    twins: list[ImageTwin] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    _title = "image twins"
    _hidden = ("twins",)

    def __str__(self) -> str:
        return "\n".join([super().__str__(), *(f"  {twin}" for twin in self.twins)])

    def __repr__(self) -> str:
        return str(self)


def build_images(
    paths: list[str] | tuple[str, ...] = (),
    *,
    base: str | None = None,
    store: Path | None = None,
    index_url: str | None = None,
    find_links: list[str] | tuple[str, ...] = (),
    no_index: bool = False,
    rebuild: bool = False,
    say: Callable[[str], None] | None = None,
) -> ImageTwins:
    """Build (while online) the image twins of ``paths`` (kernel folders, notebooks, .py files; their
    attached sources are read from the local store), so that their local runs need no index; without
    ``paths``, the twin of a notebook that imports nothing (the kernel machinery)."""
    from ..inputs import competition_path
    from .backend import LocalBackend
    from .image import choose_base, ensure, plan
    from .image_build import Index
    from .rehearse import read_runnable

    snapshot = choose_base(base)
    index = None
    if index_url or find_links or no_index:
        links = tuple(str(Path(f).expanduser().absolute()) if "://" not in f else f for f in find_links)
        index = Index(index_url=index_url, find_links=links, no_index=no_index)
    backend = LocalBackend(store)
    result = ImageTwins(base=snapshot.source)
    targets: list[tuple[str, Any, dict[str, Path], list[str]]] = []
    for text in paths or ():
        runnable = read_runnable(text)
        sources = runnable.sources
        inputs, _ = backend.resolve_sources(
            kernels=sources["kernels"], datasets=sources["datasets"], competitions=sources["competitions"],
            models=sources["models"], exclude=runnable.exclude,
        )  # fmt: skip
        code: Any = runnable.code
        if runnable.kernel_type == "script":
            code = {"cells": [{"cell_type": "code", "source": runnable.code}]}
        competitions = [competition_path(CompetitionRef.parse(c).slug) for c in sources["competitions"]]
        targets.append((str(text), code, inputs, competitions))
    if not targets:
        targets.append(("the kernel alone", {"cells": []}, {}, []))
    for name, code, inputs, competitions in targets:
        wanted = plan(code, inputs, snapshot, competitions=competitions)
        twin = ensure(wanted, say=say, index=index, rebuild=rebuild, deep=True)
        packages = [f"{n}=={v}" for n, v in sorted(wanted.requirements.items()) if n in wanted.imported]
        result.twins.append(
            ImageTwin(name, twin.python.version, packages, twin.path, twin.built, twin.seconds, twin.notes)
        )
        result.notes += [note for note in [*wanted.notes, *twin.notes] if note not in result.notes]
    return result
