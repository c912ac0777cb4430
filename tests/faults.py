"""The fault suite's cases: every operation of the Kaggle backend, the RPCs it calls through the official
clients, and what each fault did; rendered as the table in ``docs/faults.md`` (see tests/test_faults.py).

Each operation runs as a user runs it (the workflow function behind the verb, over the real clients and real
HTTP against tests/kaggle_server.py) and says what it makes on the server, so a case can assert that nothing
was made twice.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.kaggle_server import FAKE_USER, KaggleServer

KERNEL = f"{FAKE_USER}/km-faults"
COMPETITION = "km-faults-playground"
DATASET = f"{FAKE_USER}/km-faults-data"
MODEL = f"{FAKE_USER}/km-faults-model/pyTorch/v1"

# fault kind -> (column title, how it is injected on the first call of an RPC)
FAULTS: dict[str, tuple[str, Callable[[KaggleServer, str], None]]] = {
    "429": ("429 + Retry-After", lambda s, rpc: s.fail(rpc, 429, retry_after="0.05")),
    "500": ("500", lambda s, rpc: s.fail(rpc, 500)),
    "503": ("503", lambda s, rpc: s.fail(rpc, 503)),
    "drop": ("dropped connection", lambda s, rpc: s.drop(rpc)),
    "lost": ("answer lost after acting", lambda s, rpc: s.drop(rpc, after=True)),
}
FAULT_LABELS = {"429": "429", "500": "500", "503": "503", "drop": "dropped", "lost": "dropped after acting"}


@dataclass
class Operation:
    """One thing a user does. ``prepare`` shapes the server and returns the call; ``made`` counts what the
    operation creates on the server (None for reads)."""

    name: str
    title: str
    rpcs: tuple[str, ...]  # every RPC it calls, in the order of their first call
    prepare: Callable[[KaggleServer, Any, Path], Callable[[], Any]]
    made: Callable[[KaggleServer], int] | None = None
    what: str = ""  # what ``made`` counts
    token: bool = False  # signs in with an access token (KAGGLE_API_TOKEN) instead of user name and key
    faulted: tuple[str, ...] | None = None  # the RPCs faults are injected into (default: all of ``rpcs``)
    right: Callable[[Any, KaggleServer], bool] = lambda result, server: True  # the result tells the truth

    @property
    def targets(self) -> tuple[str, ...]:
        return self.faulted if self.faulted is not None else self.rpcs


def kernel_folder(root: Path) -> Path:
    folder = root / "km-faults"
    folder.mkdir(parents=True)
    notebook = {
        "cells": [{"cell_type": "code", "metadata": {}, "source": "print(1)", "outputs": [], "execution_count": None}],
        "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3", "language": "python"}},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    (folder / "notebook.ipynb").write_text(json.dumps(notebook))
    meta = {"id": KERNEL, "title": "km faults", "code_file": "notebook.ipynb", "language": "python",
            "kernel_type": "notebook", "is_private": True, "enable_internet": False}  # fmt: skip
    (folder / "kernel-metadata.json").write_text(json.dumps(meta))
    return folder


def _versions(server: KaggleServer) -> int:
    kernel = server.state.kernels.get(tuple(KERNEL.split("/")))  # type: ignore[arg-type]
    return len(kernel.versions) if kernel else 0


def _submissions(server: KaggleServer) -> int:
    return len(server.competition(COMPETITION).submissions)


def _dataset_versions(server: KaggleServer) -> int:
    dataset = server.state.datasets.get(tuple(DATASET.split("/")))  # type: ignore[arg-type]
    return len(dataset.versions) if dataset else 0


def _model_versions(server: KaggleServer) -> int:
    model = server.state.models.get(tuple(MODEL.split("/")[:2]))  # type: ignore[arg-type]
    return sum(len(i.versions) for i in model.instances.values()) if model else 0


def _ran_kernel(server: KaggleServer) -> None:
    server.add_kernel(KERNEL)
    server.set_output(KERNEL, {"submission.csv": "id,y\n1,0\n"}, log=[("stdout", 0.5, "done\n")])


def _push(server: KaggleServer, backend: Any, tmp: Path) -> Callable[[], Any]:
    server.add_kernel(KERNEL)
    folder = kernel_folder(tmp)
    return lambda: backend.push_kernel(folder)


def _status(server: KaggleServer, backend: Any, tmp: Path) -> Callable[[], Any]:
    from kaggle_magics.status import status

    _ran_kernel(server)
    return lambda: status(backend, KERNEL, logs=True)


def _output(server: KaggleServer, backend: Any, tmp: Path) -> Callable[[], Any]:
    from kaggle_magics.outputs import download_output

    _ran_kernel(server)
    return lambda: download_output(backend, KERNEL, dest=tmp / "out", display=False)


def _submit_code(server: KaggleServer, backend: Any, tmp: Path) -> Callable[[], Any]:
    from kaggle_magics.submit import submit

    _ran_kernel(server)
    server.add_competition(COMPETITION)
    return lambda: submit(backend, COMPETITION, kernel=KERNEL, version=1)


def _submit_file(server: KaggleServer, backend: Any, tmp: Path) -> Callable[[], Any]:
    from kaggle_magics.submit import submit

    server.add_competition(COMPETITION)
    csv = tmp / "submission.csv"
    csv.write_text("id,y\n1,0\n")
    return lambda: submit(backend, COMPETITION, file=csv)


def _score(server: KaggleServer, backend: Any, tmp: Path) -> Callable[[], Any]:
    from kaggle_magics.handles import CompetitionRef

    server.add_competition(COMPETITION)
    csv = tmp / "submission.csv"
    csv.write_text("id,y\n1,0\n")
    ref = backend.submit_file(CompetitionRef.parse(COMPETITION), csv).ref
    return lambda: backend.submission_status(CompetitionRef.parse(COMPETITION), ref)


def _dataset(version: bool) -> Callable[[KaggleServer, Any, Path], Callable[[], Any]]:
    def prepare(server: KaggleServer, backend: Any, tmp: Path) -> Callable[[], Any]:
        from kaggle_magics.datasets import upload_dataset

        if version:
            server.add_dataset(DATASET, {"a.txt": b"old"})
        folder = tmp / "data"
        (folder / "sub").mkdir(parents=True)
        (folder / "a.txt").write_text("a")
        (folder / "sub" / "b.txt").write_text("b")
        return lambda: upload_dataset(backend, folder, DATASET, message="v", state_dir=tmp / "state")

    return prepare


def _model(version: bool) -> Callable[[KaggleServer, Any, Path], Callable[[], Any]]:
    def prepare(server: KaggleServer, backend: Any, tmp: Path) -> Callable[[], Any]:
        from kaggle_magics.models import upload_model

        folder = tmp / "weights"
        folder.mkdir()
        (folder / "model.pt").write_bytes(b"\x80weights")
        if version:
            upload_model(backend, folder, MODEL)
        return lambda: upload_model(backend, folder, MODEL, notes="v")

    return prepare


def _sign_in(server: KaggleServer, backend: Any, tmp: Path) -> Callable[[], Any]:
    from kaggle_magics.handles import KernelRef

    _ran_kernel(server)
    return lambda: backend.kernel_status(KernelRef.parse(KERNEL))


def _pushed_right(result: Any, server: KaggleServer) -> bool:
    return result.version == server.kernel(KERNEL).latest.number


def _submitted_right(result: Any, server: KaggleServer) -> bool:
    return result.ref == str(server.competition(COMPETITION).submissions[-1].ref)


def _dataset_right(result: Any, server: KaggleServer) -> bool:
    latest = server.dataset(DATASET).latest
    return result.version == latest.number and latest.files.get("a.txt") == b"a" and "sub.zip" in latest.files


def _model_right(result: Any, server: KaggleServer) -> bool:
    (instance,) = server.model("/".join(MODEL.split("/")[:2])).instances.values()
    latest = instance.versions[-1]
    return result.version == latest.number and latest.files == {"model.pt": b"\x80weights"}


def _status_right(result: Any, server: KaggleServer) -> bool:
    return result.status == "COMPLETE"


def _output_right(result: Any, server: KaggleServer) -> bool:
    return result.files == ["submission.csv"] and (result.dest / "submission.csv").read_text() == "id,y\n1,0\n"


OPERATIONS: list[Operation] = [
    Operation(
        "push", "push a kernel", ("GetKernel", "SaveKernel"), _push, _versions, "kernel versions", right=_pushed_right
    ),
    Operation(
        "status", "status and log", ("GetKernelSessionStatus", "ListKernelSessionOutput"), _status,
        right=lambda result, server: _status_right(result, server) and "done" in "".join(result.log_tail),
    ),
    Operation("output", "download the output", ("ListKernelSessionOutput", "Download"), _output, right=_output_right),
    Operation(
        "submit-code", "submit a kernel version",
        ("GetSubmissionLimits", "ListSubmissions", "CreateCodeSubmission"), _submit_code, _submissions,
        "submissions", right=_submitted_right,
    ),
    Operation(
        "submit-file", "submit a file",
        ("GetSubmissionLimits", "ListSubmissions", "StartSubmissionUpload", "Upload", "CreateSubmission"),
        _submit_file, _submissions, "submissions", right=_submitted_right,
    ),
    Operation(
        "score", "a submission's score", ("GetSubmission",), _score,
        right=lambda result, server: result.ref == str(server.competition(COMPETITION).submissions[-1].ref),
    ),
    Operation(
        "dataset-create", "create a dataset",
        ("GetDataset", "GetDatasetStatus", "StartBlobUpload", "Upload", "CreateDataset"), _dataset(False),
        _dataset_versions, "dataset versions", right=_dataset_right,
    ),
    Operation(
        "dataset-version", "version a dataset", ("GetDataset", "StartBlobUpload", "Upload", "CreateDatasetVersion"),
        _dataset(True), _dataset_versions, "dataset versions", right=_dataset_right,
    ),
    Operation(
        "model-create", "create a model",
        ("GetModelInstance", "GetModel", "CreateModel", "StartBlobUpload", "Upload", "CreateModelInstance"),
        _model(False), _model_versions, "model versions", right=_model_right,
    ),
    Operation(
        "model-version", "version a model",
        ("GetModelInstance", "GetModel", "StartBlobUpload", "Upload", "CreateModelInstance",
         "CreateModelInstanceVersion"),
        _model(True), _model_versions, "model versions", right=_model_right,
        # the others are the same calls as in "create a model" (each kagglehub call costs a walk of the stack)
        faulted=("GetModelInstance", "CreateModelInstance", "CreateModelInstanceVersion"),
    ),
    Operation(
        "sign-in", "sign in with an access token", ("IntrospectToken", "GetKernelSessionStatus"), _sign_in,
        token=True, faulted=("IntrospectToken",), right=_status_right,
    ),
]
BY_NAME = {op.name: op for op in OPERATIONS}
CASES = [(op.name, rpc, kind) for op in OPERATIONS for rpc in op.targets for kind in FAULTS]


@dataclass
class Observed:
    """What one case did: the outcome as the table shows it, and the facts behind it."""

    op: str
    rpc: str
    kind: str
    ok: bool
    calls: int  # calls of the RPC the server recorded
    made: int | None  # things the operation made (None for reads)
    message: str = ""
    notes: list[str] = field(default_factory=list)

    @property
    def cell(self) -> str:
        calls = f"{self.calls} call{'s' if self.calls != 1 else ''}"
        if not self.ok:
            return f"refused: {self.message}"
        recovered = any("connection failed after sending" in n for n in self.notes)
        return f"ok, {calls}" + (", found it had landed" if recovered else "")


def render(observed: list[Observed], extra: list[tuple[str, str, str]]) -> str:
    """docs/faults.md: one row per (operation, RPC), one column per fault; then the combined faults."""
    by_case = {(o.op, o.rpc, o.kind): o for o in observed}
    oks = sum(o.ok for o in observed)
    lines = [
        "# Faults the Kaggle backend survives",
        "",
        "Written by the fault suite (`tests/test_faults.py`, run in every CI run; `FAULTS_TABLE=write python -m"
        " pytest tests/test_faults.py` rewrites it, and the suite fails while this page differs from what it"
        " ran). Each case runs one operation as a user does (the workflow behind the verb, through the official"
        " `kaggle`/`kagglehub` clients over real HTTP against the loopback server `tests/kaggle_server.py`)"
        " with one fault injected into the first call of one RPC, then checks what the server recorded (never a"
        " second version, submission, dataset or model) and the message.",
        "",
        f"**{len(observed)} single faults** ({len(OPERATIONS)} operations, {len({(o.op, o.rpc) for o in observed})}"
        f" operation-RPC pairs covering {len({o.rpc for o in observed})} RPCs, {len(FAULTS)} faults each): {oks}"
        f" ended as if nothing had happened, {len(observed) - oks} stopped with a one-line message; none made"
        " anything twice. A test also runs each operation without faults and checks that it calls exactly the"
        " RPCs listed for it, so a new call cannot go untried. (Versioning a model makes the calls of creating"
        " one, then CreateModelInstanceVersion: only the calls whose answer differs are faulted there.)",
        "",
        "| operation | RPC | " + " | ".join(title for title, _ in FAULTS.values()) + " |",
        "| --- | --- | " + " | ".join("---" for _ in FAULTS) + " |",
    ]
    for op in OPERATIONS:
        for rpc in op.targets:
            cells = [by_case[(op.name, rpc, kind)].cell if (op.name, rpc, kind) in by_case else "?" for kind in FAULTS]
            lines.append(f"| {op.title} | {rpc} | " + " | ".join(cells) + " |")
    lines += [
        "",
        "\"n calls\" counts the calls of that RPC the server saw (a retry, or a write sent again after the check"
        " found it had not landed); \"found it had landed\": the answer was lost, the check found the write made,"
        " and it was not repeated.",
        "",
        f"## Combined faults ({len(extra)} cases)",
        "",
        "A write whose answer is lost while the check that follows fails too: it is never repeated, and the"
        " message says what may have happened.",
        "",
        "| case | what the server recorded | what the user is told |",
        "| --- | --- | --- |",
        *(f"| {case} | {recorded} | {said} |" for case, recorded, said in extra),
        "",
    ]
    return "\n".join(lines)
