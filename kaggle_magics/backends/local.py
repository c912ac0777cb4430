"""The embedded local Kaggle: kernels, datasets, models, competitions and submissions in a folder on this
machine, and kernels run like Kaggle runs them (see :mod:`kaggle_magics.runner` and
:mod:`kaggle_magics.sandbox`).

Nothing here needs an account or the network. The store is plain files (layout in :mod:`kaggle_magics.store`).
"""

from __future__ import annotations

import csv
import json
import shutil
import tarfile
import time
import zipfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from .. import runner, sandbox, store
from ..errors import BackendError, MetadataError, NotebookError, NotFound
from ..handles import CompetitionRef, DatasetRef, KernelRef, ModelRef
from ..metadata import KERNEL_METADATA, KernelMetadata, check_accelerator
from ..results import DatasetResult, KernelStatus, LogEntry, ModelResult, OutputFile, PushResult, Submission
from ..store import Store
from .base import Backend

DAILY_SUBMISSIONS = 5
PRECISION = "exact: measured by the local runner"
INTERNET_REFUSED = (
    "Your Notebook cannot use internet access in this competition. Please disable internet in the Notebook "
    "editor and save a new version."
)
# Archives Kaggle unpacks when they are uploaded in a dataset (what it unpacks loses its exec bits).
_UNPACKED = (".tar.gz", ".tar.bz2", ".tar.xz", ".tgz", ".tar", ".zip")


def _uri(path: Path) -> str:
    return path.resolve().as_uri()


def _now() -> float:
    return time.time()


class LocalBackend(Backend):
    """Kaggle on this machine. ``store`` defaults to ``$KAGGLE_MAGICS_STORE`` or the user's cache dir."""

    name = "local"

    def __init__(self, store: Path | None = None):
        self.store = Store(store)

    def describe(self) -> str:
        return f"local Kaggle in {self.store.root}"

    def kernel_hint(self, ref: KernelRef) -> str:
        return (
            "push it to the local Kaggle first (--backend local), or check the owner and slug; "
            f"the store is {self.store.root}"
        )

    def competition_hint(self, competition: CompetitionRef) -> str:
        return f"register its data first: kaggle-magics local competition add {competition.slug} DIR"

    # -- kernels: push ------------------------------------------------------------------------------------
    def push_kernel(
        self,
        folder: Path,
        *,
        timeout: int | None = None,
        accelerator: str | None = None,
        no_run: bool = False,
    ) -> PushResult:
        pushed = read_kernel_folder(Path(folder))
        meta, notes = pushed.meta, list(pushed.notes)
        if accelerator:
            meta.machine_shape = check_accelerator(accelerator)
        if meta.machine_shape or meta.enable_gpu or meta.enable_tpu:
            notes.append(
                f"accelerator {meta.machine_shape or 'GPU/TPU'} is not emulated: the local run uses the CPU"
            )
        if timeout is not None and (not isinstance(timeout, int) or timeout <= 0):
            raise MetadataError(f"session timeout {timeout!r} is not a positive number of seconds")
        ref = meta.ref
        if not no_run:  # a bad $KAGGLE_MAGICS_SANDBOX is said now, not as the failure of a stored version
            sandbox.choose_mode()
        inputs, resolved = self.resolve_sources(
            kernels=meta.kernel_sources,
            datasets=meta.dataset_sources,
            competitions=meta.competition_sources,
            models=meta.model_sources,
            exclude=ref,
        )
        notes += self._older_outputs_notes(meta.kernel_sources, resolved["kernels"])
        self.store.ensure()
        versions = self.store.kernel_versions_dir(ref.owner, ref.slug)
        with store.new_version(versions) as new:
            (new.path / KERNEL_METADATA).write_text(json.dumps(pushed.raw, indent=2) + "\n", encoding="utf-8")
            (new.path / meta.code_file).parent.mkdir(parents=True, exist_ok=True)
            (new.path / meta.code_file).write_text(pushed.code, encoding="utf-8")
            store.write_json(
                new.path / "push.json",
                {
                    "ref": ref.id,
                    "title": meta.title,
                    "pushed_at": _now(),
                    "no_run": no_run,
                    "internet": pushed.internet,
                    "timeout": timeout,
                    "machine_shape": meta.machine_shape,
                    "kernel_type": meta.kernel_type,
                    "language": meta.language,
                    "code_file": meta.code_file,
                    "sources": resolved,
                    "notes": notes,
                },
            )
            if not no_run:
                spec = runner.RunSpec(
                    name=ref.id,
                    kernel_type=meta.kernel_type,
                    language=meta.language,
                    internet=pushed.internet,
                    timeout=timeout or runner.DEFAULT_TIMEOUT,
                    inputs={k: str(v) for k, v in inputs.items()},
                    code_file=meta.code_file,
                )
                runner.prepare_run(new.path / "run", spec, pushed.code)
        assert new.number is not None
        if not no_run:
            runner.spawn(new.path / "run")
        else:
            notes.append("quick save (--no-run): this version will not run")
        return PushResult(
            ref=ref.id,
            version=new.number,
            url=_uri(new.path),
            folder=Path(folder),
            backend=self.name,
            notes=notes,
        )

    def resolve_sources(
        self,
        *,
        kernels: list[str] | tuple[str, ...] = (),
        datasets: list[str] | tuple[str, ...] = (),
        competitions: list[str] | tuple[str, ...] = (),
        models: list[str] | tuple[str, ...] = (),
        exclude: KernelRef | None = None,
    ) -> tuple[dict[str, Path], dict[str, list[str]]]:
        """Where each source is in the store, as ``{path under /kaggle/input: folder}``, and the sources
        pinned to versions. Every missing source is named in one NotFound (as Kaggle's invalid*Sources)."""
        inputs: dict[str, Path] = {}
        resolved: dict[str, list[str]] = {"kernels": [], "datasets": [], "competitions": [], "models": []}
        missing: list[str] = []
        waiting: list[str] = []

        def mount(name: str, path: Path, source: str) -> None:
            clash = [n for n in inputs if n == name or name.startswith(n + "/") or n.startswith(name + "/")]
            if clash:
                raise MetadataError(
                    f"{source} would be mounted over another source at /kaggle/input/{clash[0]}",
                    hint="Kaggle mounts each source at /kaggle/input/<slug>: attach only one source per slug",
                )
            inputs[name] = path

        for text in kernels:
            ref = KernelRef.parse(text)
            if exclude is not None and ref.id == exclude.id:
                raise MetadataError(f"kernel {ref.id} attaches itself in kernel_sources", hint="remove it")
            version, why = self._completed_version(ref)
            if version is None:
                (waiting if why else missing).append(why or f"kernel {text}")
                continue
            mount(ref.slug, self._run_dir(ref, version) / "output", f"kernel {text}")
            resolved["kernels"].append(f"{ref.id}/{version}")
        for text in datasets:
            dref = DatasetRef.parse(text)
            numbers = store.version_numbers(self.store.dataset_dir(dref.owner, dref.slug) / "versions")
            version = (
                dref.version
                if dref.version in numbers
                else (numbers[-1] if numbers and dref.version is None else None)
            )
            if version is None:
                missing.append(f"dataset {text}")
                continue
            mount(
                dref.slug,
                self.store.dataset_dir(dref.owner, dref.slug) / "versions" / str(version) / "files",
                f"dataset {text}",
            )
            resolved["datasets"].append(f"{dref.id}/{version}")
        for text in competitions:
            comp = CompetitionRef.parse(text)
            try:
                data = self._competition_data(comp)
            except NotFound:
                missing.append(f"competition {text}")
                continue
            mount(comp.slug, data, f"competition {text}")
            resolved["competitions"].append(comp.slug)
        for text in models:
            mref = ModelRef.parse(text, require_version=True)
            folder = self._model_version_dir(mref)
            if not folder.is_dir():
                missing.append(f"model {text}")
                continue
            mount(
                f"{mref.model}/{mref.framework.lower()}/{mref.variation}/{mref.version}",
                folder / "files",
                f"model {text}",
            )
            resolved["models"].append(str(mref))
        if missing:
            raise NotFound(
                f"the local store ({self.store.root}) has no " + ", ".join(missing),
                hint="push those kernels, upload those datasets and models, and register competitions with "
                "`kaggle-magics local competition add SLUG DIR` first",
            )
        if waiting:
            raise BackendError(
                "; ".join(waiting),
                hint="wait for the attached kernel's run to complete (kaggle-magics status REF --wait), "
                "then push",
            )
        return inputs, resolved

    def _older_outputs_notes(self, sources: list[str], pinned: list[str]) -> list[str]:
        """Say so when an unpinned kernel source gets an older version's output than its latest version (whose
        run is still going, failed or was skipped): a new bundle pushed a moment ago is not used yet."""
        notes = []
        for text, used in zip(sources, pinned, strict=True):
            ref = KernelRef.parse(text)
            latest, version = self.kernel_versions(ref)[-1], int(used.rsplit("/", 1)[1])
            if ref.version is None and version != latest:
                notes.append(
                    f"kernel {ref.id}: attached the output of version {version}, its latest completed run "
                    f"(version {latest} has no completed run yet)"
                )
        return notes

    def _completed_version(self, ref: KernelRef) -> tuple[int | None, str | None]:
        """The version whose output a kernel source attaches: the pinned one, else the latest COMPLETE run.
        (None, None) when the kernel does not exist; (None, why) when it has no output yet."""
        numbers = store.version_numbers(self.store.kernel_versions_dir(ref.owner, ref.slug))
        if not numbers or (ref.version is not None and ref.version not in numbers):
            return None, None
        candidates = [ref.version] if ref.version is not None else list(reversed(numbers))
        states = []
        for number in candidates:
            run_dir = self._run_dir(ref, number)
            if not (run_dir / "status.json").exists():
                continue
            state = runner.read_status(run_dir)["status"]
            if state == "COMPLETE":
                return number, None
            states.append(f"version {number} is {state}")
        detail = ", ".join(states[:3]) or "it was only saved without running"
        return None, f"kernel {ref} has no completed run to attach ({detail})"

    # -- kernels: runs -------------------------------------------------------------------------------------
    def _run_dir(self, ref: KernelRef, version: int) -> Path:
        return self.store.kernel_versions_dir(ref.owner, ref.slug) / str(version) / "run"

    def kernel_versions(self, ref: KernelRef) -> list[int]:
        return store.version_numbers(self.store.kernel_versions_dir(ref.owner, ref.slug))

    def run_dir(self, ref: KernelRef) -> tuple[int, Path]:
        """The version a ref means (its own, else the latest that was run) and its run folder."""
        numbers = self.kernel_versions(ref)
        if not numbers:
            raise NotFound(
                f"kernel {ref.id} not found in the local store ({self.store.root})",
                hint="push it first (kaggle-magics push FOLDER --backend local)",
            )
        if ref.version is not None:
            if ref.version not in numbers:
                raise NotFound(
                    f"kernel {ref.id} has no version {ref.version} (versions: {numbers[0]}-{numbers[-1]})"
                )
            version = ref.version
        else:
            ran = [n for n in numbers if (self._run_dir(ref, n) / "status.json").exists()]
            version = ran[-1] if ran else numbers[-1]
        run_dir = self._run_dir(ref, version)
        if not run_dir.is_dir():
            push = self.store.kernel_versions_dir(ref.owner, ref.slug) / str(version) / "push.json"
            if store.read_json_object(push, "push record").get("no_run"):
                raise BackendError(
                    f"version {version} of {ref.id} was saved without running (--no-run): it has no run",
                    hint="push again without --no-run",
                )
            raise store.StoreError(
                f"local store: {run_dir} is missing",
                hint="the store was edited by hand: push the kernel again",
            )
        return version, run_dir

    def kernel_status(self, ref: KernelRef) -> KernelStatus:
        version, run_dir = self.run_dir(ref)
        state = runner.read_status(run_dir)
        done = state.get("status") in runner.DONE
        return KernelStatus(
            ref=ref.id,
            status=state["status"],
            failure_message=state.get("failure_message"),
            version=version,
            runtime_seconds=state.get("runtime_seconds") if done else None,
            runtime_precision=PRECISION if done and state.get("runtime_seconds") is not None else None,
            notes=list(state.get("notes") or []),
        )

    def kernel_log(self, ref: KernelRef) -> list[LogEntry]:
        _, run_dir = self.run_dir(ref)
        entries = []
        for item in runner.read_log(run_dir):
            try:
                entries.append(LogEntry(str(item["stream_name"]), float(item["time"]), str(item["data"])))
            except (KeyError, TypeError, ValueError):
                raise store.StoreError(
                    f"local store: {run_dir / 'log.json'} has an entry that is not "
                    "{stream_name, time, data}"
                ) from None
        return entries

    def list_output(self, ref: KernelRef) -> list[OutputFile]:
        _, run_dir = self.run_dir(ref)
        out = run_dir / "output"
        return [
            OutputFile(name=name, url=_uri(out / name), size=(out / name).stat().st_size)
            for name in runner.output_files(run_dir)
            if (out / name).is_file()
        ]

    def download_output_file(self, ref: KernelRef, item: OutputFile, target: Path) -> None:
        _, run_dir = self.run_dir(ref)
        out = (run_dir / "output").resolve()
        source = (out / item.name).resolve()
        if out not in source.parents or not source.is_file():
            raise NotFound(f"{item.name!r} is not an output file of {ref}")
        shutil.copyfile(source, target)

    def wait(self, ref: KernelRef, timeout: float | None = None, interval: float = 0.2) -> KernelStatus:
        """Poll until the run ends (or ``timeout`` seconds pass) and return its status."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            status = self.kernel_status(ref)
            if status.done or (deadline is not None and time.monotonic() > deadline):
                return status
            time.sleep(interval)

    # -- competitions --------------------------------------------------------------------------------------
    def _competition(self, comp: CompetitionRef) -> dict[str, Any]:
        folder = self.store.competition_dir(comp.slug)
        if not folder.is_dir():
            raise NotFound(
                f"competition {comp.slug!r} is not registered in the local store",
                hint=f"register its data: kaggle-magics local competition add {comp.slug} DIR",
            )
        return store.read_json_object(folder / "competition.json", "competition record")

    def _competition_data(self, comp: CompetitionRef) -> Path:
        info = self._competition(comp)
        data = Path(info["data"]) if info.get("data") else self.store.competition_dir(comp.slug) / "data"
        if not data.is_dir():
            raise store.StoreError(
                f"local store: the data of competition {comp.slug!r} ({data}) is missing",
                hint=f"register it again: kaggle-magics local competition add {comp.slug} DIR",
            )
        return data

    def _submissions_dir(self, comp: CompetitionRef) -> Path:
        return self.store.competition_dir(comp.slug) / "submissions"

    def _today_count(self, comp: CompetitionRef) -> int:
        today = datetime.now(timezone.utc).date()
        folder = self._submissions_dir(comp)
        count = 0
        for path in folder.glob("*.json") if folder.is_dir() else ():
            record = store.read_json_object(path, "submission")
            if datetime.fromtimestamp(float(record.get("created", 0)), timezone.utc).date() == today:
                count += 1
        return count

    def submissions_left(self, competition: CompetitionRef) -> int | None:
        limit = int(self._competition(competition).get("daily_limit", DAILY_SUBMISSIONS))
        return max(limit - self._today_count(competition), 0)

    def _record(self, comp: CompetitionRef, record: dict[str, Any]) -> dict[str, Any]:
        folder = self._submissions_dir(comp)
        with store.locked(folder):
            if self.submissions_left(comp) == 0:
                raise BackendError(
                    f"no submissions left today in {comp.slug!r} (local limit)",
                    hint="the daily limit resets at 00:00 UTC",
                )
            numbers = [int(p.stem) for p in folder.glob("*.json") if p.stem.isdigit()]
            record["ref"] = str(max(numbers, default=0) + 1)
            record["created"] = _now()
            store.write_json(folder / f"{record['ref']}.json", record)
        return record

    def submit_code(
        self,
        competition: CompetitionRef,
        kernel: KernelRef,
        *,
        file_name: str = "submission.csv",
        message: str = "",
    ) -> Submission:
        self._competition(competition)
        version, run_dir = self.run_dir(kernel)
        push = store.read_json_object(run_dir.parent / "push.json", "push record")
        if push.get("internet"):
            raise BackendError(
                f"{kernel.id}/{version}: {INTERNET_REFUSED}",
                hint='set "enable_internet": false in kernel-metadata.json and push again',
            )
        state = runner.read_status(run_dir)
        if state["status"] in runner.DONE and state["status"] != "COMPLETE":
            raise BackendError(
                f"{kernel.id}/{version} cannot be submitted: its run ended in {state['status']} "
                f"({state.get('failure_message')})",
                hint="fix the notebook and push it again",
            )
        if state["status"] == "COMPLETE" and not (run_dir / "output" / file_name).is_file():
            raise BackendError(
                f"{kernel.id}/{version} has no output file {file_name!r}",
                hint="outputs: " + (", ".join(runner.output_files(run_dir)[:10]) or "none"),
            )
        record = self._record(
            competition,
            {
                "kind": "code",
                "competition": competition.slug,
                "kernel": kernel.id,
                "version": version,
                "file_name": file_name,
                "message": message,
                "status": "PENDING",
            },
        )
        return self._evaluate(competition, record)

    def submit_file(self, competition: CompetitionRef, path: Path, *, message: str = "") -> Submission:
        self._competition(competition)
        path = Path(path)
        if not path.is_file():
            raise NotFound(f"submission file {str(path)!r} not found")
        record = self._record(
            competition,
            {
                "kind": "file",
                "competition": competition.slug,
                "file_name": path.name,
                "message": message,
                "status": "PENDING",
            },
        )
        kept = self._submissions_dir(competition) / f"{record['ref']}.{path.name}"
        shutil.copyfile(path, kept)
        record["file"] = str(kept)
        store.write_json(self._submissions_dir(competition) / f"{record['ref']}.json", record)
        return self._evaluate(competition, record)

    def submission_status(self, competition: CompetitionRef, ref: str) -> Submission:
        path = self._submissions_dir(competition) / f"{ref}.json"
        if not path.exists():
            raise NotFound(f"submission {ref} to {competition.slug!r} not found in the local store")
        return self._evaluate(competition, store.read_json_object(path, "submission"))

    def _evaluate(self, comp: CompetitionRef, record: dict[str, Any]) -> Submission:
        """A submission's state, computed from the kernel run it points at; a final state is saved."""
        if record.get("status") == "PENDING":
            status, error, file = "PENDING", None, None
            if record["kind"] == "code":
                run_dir = self._run_dir(KernelRef.parse(record["kernel"]), int(record["version"]))
                state = runner.read_status(run_dir)
                if state["status"] == "COMPLETE":
                    file = run_dir / "output" / record["file_name"]
                    if not file.is_file():
                        status, error = (
                            "ERROR",
                            f"Submission file {record['file_name']!r} not found in the output",
                        )
                elif state["status"] in runner.DONE:
                    status, error = "ERROR", f"the notebook's run failed: {state.get('failure_message')}"
            else:
                file = Path(record["file"])
            if file is not None and error is None:
                error = _check_format(file, self._competition_data(comp))
                status = "ERROR" if error else "COMPLETE"
            if status != "PENDING":
                record.update(status=status, error=error, evaluated=_now())
                store.write_json(self._submissions_dir(comp) / f"{record['ref']}.json", record)
        scored = record.get("status") == "COMPLETE"
        return Submission(
            competition=comp.slug,
            ref=record["ref"],
            status=record["status"],
            error=record.get("error"),
            message=(
                "checked locally against sample_submission.csv; no score (the local Kaggle has no answers)"
                if scored
                else record.get("message") or None
            ),
            kernel=f"{record['kernel']}/{record['version']}" if record.get("kernel") else None,
        )

    # -- datasets and models ---------------------------------------------------------------------------------
    def dataset_exists(self, ref: DatasetRef) -> bool:
        return bool(store.version_numbers(self.store.dataset_dir(ref.owner, ref.slug) / "versions"))

    def dataset_upload(
        self,
        folder: Path,
        ref: DatasetRef,
        *,
        message: str = "",
        title: str | None = None,
        public: bool = False,
    ) -> DatasetResult:
        folder = Path(folder)
        if not folder.is_dir():
            raise NotFound(f"dataset folder {str(folder)!r} not found")
        self.store.ensure()
        home = self.store.dataset_dir(ref.owner, ref.slug)
        info_path = home / "dataset.json"
        if info_path.exists():  # a damaged record stops the upload before a version is made
            store.read_json_object(info_path, "dataset record")
        notes: list[str] = []
        with store.new_version(home / "versions") as new:
            files = new.path / "files"
            shutil.copytree(
                folder, files, symlinks=True, ignore=shutil.ignore_patterns("dataset-metadata.json")
            )
            notes += _unpack_like_kaggle(files)
            store.write_json(new.path / "version.json", {"message": message, "created": _now()})
        with store.locked(home):
            info: dict[str, Any] = (
                store.read_json_object(info_path, "dataset record")
                if info_path.exists()
                else {"created": _now()}
            )
            info.update(id=ref.id, title=title or info.get("title") or ref.slug, is_private=not public)
            store.write_json(info_path, info)
        listed = sorted(
            str(p.relative_to(new.path / "files")) for p in (new.path / "files").rglob("*") if p.is_file()
        )
        return DatasetResult(
            ref=ref.id, url=_uri(new.path), version=new.number, status="ready", files=listed, notes=notes
        )

    def _model_version_dir(self, ref: ModelRef) -> Path:
        return (
            self.store.model_instance_dir(ref.owner, ref.model, ref.framework, ref.variation)
            / "versions"
            / str(ref.version)
        )

    def model_upload(self, ref: ModelRef, folder: Path, *, notes: str = "") -> ModelResult:
        folder = Path(folder)
        if not folder.is_dir():
            raise NotFound(f"model folder {str(folder)!r} not found")
        self.store.ensure()
        instance = self.store.model_instance_dir(ref.owner, ref.model, ref.framework, ref.variation)
        with store.new_version(instance / "versions") as new:
            listed = store.copy_tree(folder, new.path / "files")
            store.write_json(
                new.path / "version.json", {"notes": notes, "created": _now(), "handle": ref.handle}
            )
        versioned = ref.with_version(new.number)
        return ModelResult(
            handle=ref.handle,
            version=new.number,
            model_source=str(versioned),
            input_path=versioned.input_path,
            url=_uri(new.path),
            files=listed,
        )


# -- kernel folders ------------------------------------------------------------------------------------------
class PushedKernel:
    """A kernel folder read and checked as ``kaggle kernels push`` checks it."""

    def __init__(
        self, meta: KernelMetadata, raw: dict[str, Any], code: str, internet: bool, notes: list[str]
    ):
        self.meta, self.raw, self.code, self.internet, self.notes = meta, raw, code, internet, notes


def read_kernel_folder(folder: Path) -> PushedKernel:
    """kernel-metadata.json and the code file, validated with the official client's rules; a notebook gets
    its code-cell outputs cleared and its cell sources joined, as the client does before sending it."""
    if not folder.is_dir():
        raise MetadataError(f"{folder}: not a folder", hint="push a folder that holds kernel-metadata.json")
    path = folder / KERNEL_METADATA
    meta = KernelMetadata.read(folder)
    raw = json.loads(path.read_text(encoding="utf-8"))
    notes = meta.validate(str(path), folder=folder)
    if not meta.id:
        raise MetadataError(
            f"{path}: the local Kaggle needs an id (owner/slug); id_no alone names a kernel "
            "on kaggle.com only",
            hint='set "id": "owner/kernel-slug"',
        )
    internet = meta.enable_internet
    if "enable_internet" not in raw:
        internet = True
        notes.append("enable_internet is not set: Kaggle's client then turns internet ON (set it explicitly)")
    code_path = folder / meta.code_file
    try:
        code = code_path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise MetadataError(f"{code_path}: cannot read it ({exc})") from None
    if meta.kernel_type == "notebook":
        try:
            body = json.loads(code)
        except json.JSONDecodeError as exc:
            raise NotebookError(
                f"{code_path}: not a notebook (JSON line {exc.lineno}: {exc.msg})",
                hint='a "script" kernel_type takes a .py file',
            ) from None
        for cell in body.get("cells", []) if isinstance(body, dict) else []:
            if "outputs" in cell and cell.get("cell_type") == "code":
                cell["outputs"] = []
            if isinstance(cell.get("source"), list):
                cell["source"] = "".join(cell["source"])
        code = json.dumps(body)
    return PushedKernel(meta, raw, code, internet, notes)


# -- datasets: what Kaggle does to archives, submissions: the format check -----------------------------------
def _unpack_like_kaggle(files: Path) -> list[str]:
    """Kaggle unpacks the archives uploaded in a dataset, and what it unpacks loses its exec bits: do the
    same, so that a local run meets the trap a Kaggle run would."""
    notes = []
    for path in sorted(files.rglob("*")):
        suffix = next((s for s in _UNPACKED if path.name.lower().endswith(s)), None)
        if suffix is None or not path.is_file():
            continue
        target = path.with_name(path.name[: -len(suffix)] or "archive")
        try:
            if suffix == ".zip":
                with zipfile.ZipFile(path) as archive:
                    _safe_names(archive.namelist(), path)
                    archive.extractall(target)
            else:
                with tarfile.open(path) as archive:
                    _safe_names(archive.getnames(), path)
                    if hasattr(tarfile, "data_filter"):
                        archive.extractall(target, filter="data")
                    else:  # pragma: no cover - Python before 3.10.12
                        archive.extractall(target)
        except (zipfile.BadZipFile, tarfile.TarError) as exc:
            notes.append(f"{path.name}: not a readable archive ({exc}); kept as it is")
            continue
        path.unlink()
        for item in target.rglob("*"):
            if item.is_file() and not item.is_symlink():
                item.chmod(item.stat().st_mode & ~0o111)
        notes.append(
            f"{path.relative_to(files)} was unpacked into {target.relative_to(files)}/ and lost its exec "
            "bits, as Kaggle does with archives in datasets"
        )
    return notes


def _safe_names(names: list[str], archive: Path) -> None:
    for name in names:
        if name.startswith("/") or ".." in Path(name).parts:
            raise BackendError(f"{archive.name}: member {name!r} would land outside its folder")


def _check_format(file: Path, data: Path) -> str | None:
    """Compare a submission with the competition's sample_submission.csv (columns, row count)."""
    sample = next((p for p in sorted(data.iterdir()) if p.name.lower() == "sample_submission.csv"), None)
    if sample is None:
        return None
    try:
        with open(file, newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
        with open(sample, newline="", encoding="utf-8") as handle:
            expected = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        return f"cannot read the submission as CSV ({exc})"
    if not rows or rows[0] != expected[0]:
        return f"columns {rows[0] if rows else []} differ from sample_submission.csv's {expected[0]}"
    if len(rows) != len(expected):
        return f"{len(rows) - 1} rows, sample_submission.csv has {len(expected) - 1}"
    return None
