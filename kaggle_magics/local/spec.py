"""What a local run gets, worked out once for a pushed kernel and for a rehearsal: its inputs where the input
layout puts them, its limits from the machine shape, and what the scorer checks its submission against
(with ``--hidden-test``, the competition's public test files replaced by the user's, as Kaggle does when it
scores a submission)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from .. import inputs
from ..errors import KaggleMagicsError
from ..handles import CompetitionRef, KernelRef
from . import scorer
from .limits import Limits, machine
from .runs import DEFAULT_TIMEOUT, RunSpec

if TYPE_CHECKING:
    from .backend import LocalBackend


class HiddenTestError(KaggleMagicsError):
    """A ``--hidden-test`` folder that does not fit the competition (bad input: nothing is run)."""

    exit_code = 2


@dataclass
class Sources:
    """A kernel's sources, as the lists of kernel-metadata.json."""

    kernels: Sequence[str] = ()
    datasets: Sequence[str] = ()
    competitions: Sequence[str] = ()
    models: Sequence[str] = ()


@dataclass
class Prepared:
    spec: RunSpec
    resolved: dict[str, list[str]]  # the sources pinned to versions
    notes: list[str] = field(default_factory=list)


def prepare(
    backend: LocalBackend,
    *,
    name: str,
    kernel_type: str,
    language: str,
    code_file: str,
    internet: bool,
    sources: Sources,
    exclude: KernelRef | None = None,
    layout: str | None = None,
    shape: str | None = None,
    timeout: int | None = None,
    memory_gb: float | None = None,
    hidden_test: str | Path | None = None,
    cpus: int | None = None,
    working_gb: float | None = None,
) -> Prepared:
    """The spec of a run of these sources in ``layout`` on the machine ``shape`` (None: the CPU machine)."""
    layout = inputs.check_layout(layout)
    notes = []
    _, guess = machine(shape)
    if guess:
        notes.append(guess)
    mounted, resolved = backend.resolve_sources(
        kernels=list(sources.kernels),
        datasets=list(sources.datasets),
        competitions=list(sources.competitions),
        models=list(sources.models),
        exclude=exclude,
        layout=layout,
    )
    scoring = None
    if sources.competitions:
        comp = CompetitionRef.parse(sources.competitions[0])
        data = backend._competition_data(comp)
        if hidden_test is not None:
            overrides, scoring = hidden_test_inputs(comp, data, Path(hidden_test).expanduser(), layout)
            mounted.update(overrides)
        else:
            sample = scorer.sample_submission(data)
            note = None if sample else f"competition {comp.slug} has no {scorer.SAMPLE}: only the file is checked"
            scoring = scorer.Scoring(comp.slug, str(sample) if sample else None, note)
        if scoring.note:
            notes.append(scoring.note)
    elif hidden_test is not None:
        raise HiddenTestError(
            "--hidden-test replaces a competition's test files, but no competition is attached",
            hint="attach it with --competition SLUG (or competition_sources in kernel-metadata.json)",
        )
    limits = Limits.for_shape(
        shape, memory_gb=memory_gb, timeout=timeout, cpus=cpus, working_gb=working_gb,
        competition=bool(sources.competitions),
    )  # fmt: skip
    spec = RunSpec(
        name=name,
        kernel_type=kernel_type,
        language=language,
        internet=internet,
        timeout=timeout or limits.timeout or DEFAULT_TIMEOUT,
        inputs={key: str(value) for key, value in mounted.items()},
        code_file=code_file,
        input_layout=layout,
        limits=limits.to_json(),
        scoring=scoring.to_json() if scoring else {},
        competitions=[inputs.competition_path(CompetitionRef.parse(c).slug, layout) for c in sources.competitions],
    )
    return Prepared(spec, resolved, notes)


def is_test_file(name: str) -> bool:
    """A competition file that Kaggle replaces when it scores: the test data and the sample submission."""
    lowered = name.lower()
    return "test" in lowered or lowered.startswith("sample_submission")


def hidden_test_inputs(
    comp: CompetitionRef, data: Path, hidden: Path, layout: str
) -> tuple[dict[str, Path], scorer.Scoring]:
    """The mounts that put ``hidden``'s files over the competition's test files, and what the scorer checks
    against (the hidden sample submission, when the folder has one). Every name must be one of the
    competition's test files: a HiddenTestError names the first that is not."""
    if not hidden.is_dir():
        raise HiddenTestError(
            f"--hidden-test {hidden}: " + ("is a file, not a folder" if hidden.exists() else "no such folder"),
            hint="give a folder holding files named like the competition's test files",
        )
    public = {entry.name: entry for entry in data.iterdir()}
    tests = sorted(name for name in public if is_test_file(name))
    entries = sorted(hidden.iterdir())
    if not entries:
        raise HiddenTestError(f"--hidden-test {hidden} is empty", hint="put the hidden test files in it")
    where = inputs.competition_path(comp, layout)
    mounts: dict[str, Path] = {}
    for entry in entries:
        known = public.get(entry.name)
        if known is None or not is_test_file(entry.name) or known.is_dir() != entry.is_dir():
            why = (
                "is not a file of the competition" if known is None
                else "is not one of its test files" if not is_test_file(entry.name)
                else "is a folder where the competition has a file" if entry.is_dir()
                else "is a file where the competition has a folder"
            )  # fmt: skip
            raise HiddenTestError(
                f"--hidden-test: {entry.name} {why} (competition {comp.slug}'s test files: "
                f"{', '.join(tests) or 'none'})",
                hint="name each file like the public test file it replaces",
            )
        mounts[f"{where}/{entry.name}"] = entry.resolve()
    sample = next((p for p in entries if p.name.lower() == scorer.SAMPLE and p.is_file()), None)
    note = None
    if sample is None:
        note = (
            f"--hidden-test has no {scorer.SAMPLE}: the submission's rows and ids are not checked, only that it "
            "exists and its columns"
        )
    used = sample or scorer.sample_submission(data)
    return mounts, scorer.Scoring(comp.slug, str(used) if used else None, note, columns_only=sample is None)
