"""The embedded local Kaggle: kernels, datasets, models, competitions and submissions in a folder on this
machine, and kernels run like Kaggle runs them (see :mod:`.runner` and :mod:`.sandbox`).

Nothing here needs an account or the network. The store is plain files (layout in :mod:`.store`); the
competitions part is in :mod:`.submissions`, datasets and models in :mod:`.uploads`.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
from pathlib import Path

from .. import inputs as layouts
from ..backends.base import Backend
from ..errors import BackendError, MetadataError, NotFound
from ..handles import CompetitionRef, DatasetRef, KernelRef, ModelRef
from ..metadata import KERNEL_METADATA, check_accelerator
from ..results import KernelStatus, LogEntry, OutputFile, PushResult
from . import environment, runner, runs, sandbox, store
from .kernel_folder import PushedKernel, read_kernel_folder
from .limits import size
from .store import Store
from .submissions import Competitions
from .uploads import Uploads

__all__ = ["LocalBackend", "PushedKernel", "read_kernel_folder"]

PRECISION = "exact: measured by the local runner"


def _uri(path: Path) -> str:
    return path.resolve().as_uri()


def _now() -> float:
    return time.time()


def _how_to_add(missing: str) -> str:
    """How to put a missing source (``"dataset me/x"``) into the local store."""
    kind, _, ref = missing.partition(" ")
    return {
        "kernel": f"push {ref} first: kaggle-magics push PATH --id {ref} --backend local",
        "dataset": f"upload {ref} first: kaggle-magics dataset DIR --id {ref} --backend local",
        "model": f"upload {ref} first: kaggle-magics model DIR --handle {ref.rsplit('/', 1)[0]} --backend local",
        "competition": f"register {ref} first: kaggle-magics local competition add {ref} DIR",
    }.get(kind, f"add {missing} to the local store first")


def machine_shape(shape: str | None, gpu: bool = False, tpu: bool = False) -> str | None:
    """The machine a kernel asks for: its machine_shape, else what enable_gpu / enable_tpu give."""
    from ..metadata import DEFAULT_GPU

    return shape or (DEFAULT_GPU if gpu else "TpuV38" if tpu else None)


def _say(text: str) -> None:
    """What takes a while before a run (building its image twin), on stderr as it starts."""
    print(text, file=sys.stderr, flush=True)


class LocalBackend(Competitions, Uploads, Backend):
    """Kaggle on this machine. ``store`` defaults to ``$KAGGLE_MAGICS_STORE`` or the user's cache dir."""

    name = "local"

    def __init__(self, store: Path | None = None, *, env: str | None = None, base: str | None = None):
        """``env``/``base``: the environment of the runs (see :mod:`.environment`): ``twin`` (default) made
        of the base snapshot ``base`` (default: Kaggle's image list shipped in the package), or ``user``."""
        self.store = Store(store)
        self.environment = environment.Choice(environment.check_env(env), base or None)

    def describe(self) -> str:
        return f"local Kaggle in {self.store.root}"

    def kernel_hint(self, ref: KernelRef) -> str:
        return (
            "push it to the local Kaggle first (kaggle-magics push PATH --backend local), or check the owner, "
            "slug and version"
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
        input_layout: str | None = None,
    ) -> PushResult:
        from .spec import Sources, prepare

        pushed = read_kernel_folder(Path(folder))
        meta, notes = pushed.meta, list(pushed.notes)
        if accelerator:
            meta.machine_shape = check_accelerator(accelerator)
        shape = machine_shape(meta.machine_shape, meta.enable_gpu, meta.enable_tpu)
        if shape:
            notes.append(f"accelerator {shape} is not emulated: the local run uses the CPU, with {shape}'s limits")
        if timeout is not None and (not isinstance(timeout, int) or timeout <= 0):
            raise MetadataError(f"session timeout {timeout!r} is not a positive number of seconds")
        ref = meta.ref
        if not no_run:  # a bad $KAGGLE_MAGICS_SANDBOX is said now, not as the failure of a stored version
            sandbox.choose_mode()
        prepared = prepare(
            self,
            name=ref.id,
            kernel_type=meta.kernel_type,
            language=meta.language,
            code_file=meta.code_file,
            internet=pushed.internet,
            sources=Sources(meta.kernel_sources, meta.dataset_sources, meta.competition_sources, meta.model_sources),
            exclude=ref,
            layout=input_layout,
            shape=shape,
            timeout=timeout,
        )
        resolved = prepared.resolved
        notes += prepared.notes + self._older_outputs_notes(meta.kernel_sources, resolved["kernels"])
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
                    "input_layout": prepared.spec.input_layout,
                    "notes": notes,
                },
            )
            if not no_run:
                runs.prepare_run(new.path / "run", prepared.spec, pushed.code)
                # before the run, which stays offline: the image twin built now if the cache lacks it
                notes += environment.prepare(new.path / "run", self.environment, say=_say)
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
        layout: str | None = None,
    ) -> tuple[dict[str, Path], dict[str, list[str]]]:
        """Where each source is in the store, as ``{path under /kaggle/input in layout: folder}``, and the
        sources pinned to versions. Every missing source is named in one NotFound (as Kaggle's
        invalid*Sources)."""
        layout = layouts.check_layout(layout)
        inputs: dict[str, Path] = {}
        resolved: dict[str, list[str]] = {"kernels": [], "datasets": [], "competitions": [], "models": []}
        missing: list[str] = []
        waiting: list[str] = []

        def mount(name: str, path: Path, source: str) -> None:
            clash = [n for n in inputs if n == name or name.startswith(n + "/") or n.startswith(name + "/")]
            if clash:
                raise MetadataError(
                    f"{source} would be mounted over another source at /kaggle/input/{clash[0]}",
                    hint="Kaggle mounts each source at /kaggle/input/<slug> in the flat layout: attach only one "
                    "source per slug, or use the nested layout (--input-layout nested)"
                    if layout == layouts.FLAT
                    else "attach each source once",
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
            mount(layouts.kernel_path(ref, layout), self._run_dir(ref, version) / "output", f"kernel {text}")
            resolved["kernels"].append(f"{ref.id}/{version}")
        for text in datasets:
            dref = DatasetRef.parse(text)
            numbers = store.version_numbers(self.store.dataset_dir(dref.owner, dref.slug) / "versions")
            version = (
                dref.version if dref.version in numbers else (numbers[-1] if numbers and dref.version is None else None)
            )
            if version is None:
                missing.append(f"dataset {text}")
                continue
            mount(
                layouts.dataset_path(dref, layout),
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
            mount(layouts.competition_path(comp, layout), data, f"competition {text}")
            resolved["competitions"].append(comp.slug)
        for text in models:
            mref = ModelRef.parse(text, require_version=True)
            folder = self._model_version_dir(mref)
            if not folder.is_dir():
                missing.append(f"model {text}")
                continue
            mount(layouts.model_path(mref, layout), folder / "files", f"model {text}")
            resolved["models"].append(str(mref))
        if missing:
            raise NotFound(
                f"the local store ({self.store.root}) has no " + ", ".join(missing),
                hint="; ".join(dict.fromkeys(_how_to_add(item) for item in missing)),
            )
        if waiting:
            raise BackendError(
                "; ".join(waiting),
                hint="wait for the attached kernel's run to complete (kaggle-magics status REF --wait), then push",
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
            state = runs.read_status(run_dir)["status"]
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
                    f"version {ref.version} of kernel {ref.id} not found in the local store (it has "
                    + (f"version {numbers[0]})" if len(numbers) == 1 else f"versions {numbers[0]}-{numbers[-1]})"),
                    hint=f"give one of those, or none for the latest: {ref.id}",
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
        state = runs.read_status(run_dir)
        done = state.get("status") in runs.DONE
        result = runs.load_result(run_dir, ref.id) if done else None
        return KernelStatus(
            ref=ref.id,
            status=state["status"],
            failure_message=state.get("failure_message"),
            version=version,
            runtime_seconds=state.get("runtime_seconds") if done else None,
            runtime_precision=PRECISION if done and state.get("runtime_seconds") is not None else None,
            notes=result.notes if result else list(state.get("notes") or []),
            peak_memory=size(result.peak_memory) if result and result.peak_memory else None,
            output_size=size(result.output_size) if result and result.output_size is not None else None,
            submission=result.submission if result else None,
            cells=[str(cell) for cell in result.cells] if result else [],
        )

    def kernel_log(self, ref: KernelRef) -> list[LogEntry]:
        _, run_dir = self.run_dir(ref)
        entries = []
        for item in runs.read_log(run_dir):
            try:
                entries.append(LogEntry(str(item["stream_name"]), float(item["time"]), str(item["data"])))
            except (KeyError, TypeError, ValueError):
                raise store.StoreError(
                    f"local store: {run_dir / 'log.json'} has an entry that is not {{stream_name, time, data}}"
                ) from None
        return entries

    def list_output(self, ref: KernelRef) -> list[OutputFile]:
        _, run_dir = self.run_dir(ref)
        out = run_dir / "output"
        return [
            OutputFile(name=name, url=_uri(out / name), size=(out / name).stat().st_size)
            for name in runs.output_files(run_dir)
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
