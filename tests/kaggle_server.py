"""A loopback Kaggle API server for tests: the real wire protocol, in memory, on 127.0.0.1.

The official clients (``kaggle``, ``kagglesdk``, ``kagglehub``) reach it with no patching: set
``KAGGLE_API_ENVIRONMENT=LOCALHOST`` and ``HTTP_PROXY``/``http_proxy=http://127.0.0.1:PORT`` (see
:meth:`KaggleServer.client_env`). They then send proxy-form requests such as
``POST http://localhost/api/v1/kernels.KernelsApiService/SaveKernel`` with a camelCase JSON body in which a
field equal to its default is left out. Answers follow the same rules: errors are an HTTP status >= 400 with a
JSON ``{code, message}``, enums travel as names, default values are omitted.

Upload and download URLs handed out by the server point back at it (``/upload/<token>``, ``/download/...``),
with Google-Cloud-Storage-style resumable uploads (``Content-Range: bytes */N`` asks for progress; 308 means
incomplete). Every request is recorded (without secrets, with the fault it met) and faults can be injected per RPC: an
HTTP status (429 with Retry-After, 500, 503) before or after the call took effect, a dropped connection before
or after it took effect (an answer lost), a canned answer, a truncated upload; each after letting a number of
calls through, so that a later call (the check after a write) can be the one that fails.

It is a test double of a remote service, built on the standard library's ``ThreadingHTTPServer``.
"""

from __future__ import annotations

import base64
import itertools
import json
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import quote, unquote, urlsplit

FAKE_USER = "kmtester"
FAKE_KEY = "kmkey-7f3e9a1c5d2b4e60"  # a fake secret: tests assert it never appears in messages
FAKE_TOKEN = "KGAT_kmtoken-3c1d9e8f7a6b"  # a fake access token (KAGGLE_API_TOKEN)
SIGNATURE = "5ec7e75169a7u7e"  # the fake signature of download URLs: tests assert it is never shown

WEB = "https://www.kaggle.com"
_SECRET_HEADERS = {"authorization", "proxy-authorization", "cookie", "x-kaggle-authorization"}
KERNEL_STATES = ("QUEUED", "RUNNING", "COMPLETE", "ERROR", "CANCEL_REQUESTED", "CANCEL_ACKNOWLEDGED")
DEFAULT_RUN = ("QUEUED", "RUNNING", "COMPLETE")  # one step per status poll, then it stays COMPLETE
_ANONYMOUS_RPCS = {"IntrospectToken"}  # checks the token in its body


class ApiError(Exception):
    """An error answer: HTTP ``status`` with ``{code, message}``."""

    def __init__(self, status: int, message: str, headers: Mapping[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.headers = dict(headers or {})


# -- recorded requests and faults --------------------------------------------------------------------------
@dataclass
class Recorded:
    """One request as seen; ``name`` is the RPC method (``SaveKernel``), ``Upload`` or ``Download``."""

    method: str
    path: str
    name: str
    service: str | None
    body: Any
    headers: dict[str, str]
    user: str | None = None
    status: int | None = None  # the answer's status; None when the connection was dropped
    at: float = field(default_factory=time.monotonic)
    fault: str | None = None  # the fault injected into this request (Fault.label), if any


@dataclass
class Fault:
    kind: str  # status | drop | drop_after | respond | partial
    times: int
    status: int = 500
    retry_after: float | str | None = None
    message: str | None = None
    body: Any = None
    keep: int = 0
    skip: int = 0  # calls let through before the fault applies
    acted: bool = False  # status faults: the call takes effect first, then the error is the answer

    @property
    def label(self) -> str:
        if self.kind == "status":
            return f"{self.status}{' after acting' if self.acted else ''}"
        return {"drop": "dropped", "drop_after": "dropped after acting"}.get(self.kind, self.kind)


# -- state ---------------------------------------------------------------------------------------------------
@dataclass
class KernelVersion:
    number: int
    request: dict[str, Any]  # the SaveKernel body as it arrived
    script: list[str] = field(default_factory=lambda: list(DEFAULT_RUN))
    failure_message: str | None = None
    outputs: dict[str, bytes] = field(default_factory=dict)
    log: str = "[]"

    @property
    def text(self) -> str:
        return self.request.get("text", "")

    @property
    def notebook(self) -> dict[str, Any]:
        """The pushed notebook, parsed (for ``kernelType`` notebook)."""
        return json.loads(self.text)

    @property
    def status(self) -> str:
        return self.script[0]

    @property
    def quick_save(self) -> bool:
        return self.request.get("kernelExecutionType") == "QUICK_SAVE"


@dataclass
class Kernel:
    id: int
    owner: str
    slug: str
    title: str
    private: bool = True
    versions: list[KernelVersion] = field(default_factory=list)

    @property
    def ref(self) -> str:
        return f"{self.owner}/{self.slug}"

    @property
    def latest(self) -> KernelVersion:
        return self.versions[-1]

    def version(self, number: int | None = None) -> KernelVersion:
        if number is None:
            return self.latest
        for v in self.versions:
            if v.number == number:
                return v
        raise ApiError(404, f"Kernel version {self.ref}/{number} not found")


@dataclass
class Blob:
    token: str
    name: str
    type: str
    length: int
    data: bytearray = field(default_factory=bytearray)

    @property
    def complete(self) -> bool:
        return len(self.data) == self.length


@dataclass
class DatasetVersion:
    number: int
    files: dict[str, bytes]
    notes: str
    request: dict[str, Any]


@dataclass
class Dataset:
    id: int
    owner: str
    slug: str
    title: str
    license: str
    private: bool = True
    versions: list[DatasetVersion] = field(default_factory=list)

    @property
    def ref(self) -> str:
        return f"{self.owner}/{self.slug}"

    @property
    def latest(self) -> DatasetVersion:
        return self.versions[-1]


@dataclass
class ModelVersion:
    number: int
    files: dict[str, bytes]  # relative paths
    notes: str
    request: dict[str, Any]


@dataclass
class ModelInstance:
    id: int
    framework: str  # enum name, e.g. MODEL_FRAMEWORK_PY_TORCH
    slug: str
    license: str
    versions: list[ModelVersion] = field(default_factory=list)


@dataclass
class Model:
    id: int
    owner: str
    slug: str
    title: str
    private: bool = True
    instances: dict[tuple[str, str], ModelInstance] = field(default_factory=dict)

    @property
    def ref(self) -> str:
        return f"{self.owner}/{self.slug}"


@dataclass
class Submission:
    ref: int
    competition: str
    user: str
    date: datetime
    description: str
    file_name: str
    kernel: str | None = None  # owner/slug/version for code submissions
    data: bytes | None = None  # the file of a file submission
    script: list[str] = field(default_factory=lambda: ["PENDING", "COMPLETE"])
    public_score: str | None = "0.750"
    error: str | None = None

    @property
    def status(self) -> str:
        return self.script[0]


@dataclass
class Competition:
    slug: str
    title: str
    rules_accepted: bool = True
    daily_limit: int = 5
    submissions: list[Submission] = field(default_factory=list)


def _now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def _compact(value: Any) -> Any:
    """Drop fields equal to their default (None, "", 0, False, [], {}), as Kaggle's JSON does."""
    if isinstance(value, dict):
        out = {}
        for k, v in value.items():
            v = _compact(v)
            if (
                v is None
                or v == ""
                or v is False
                or v == []
                or v == {}
                or (v == 0 and not isinstance(v, float))
            ):
                continue
            out[k] = v
        return out
    if isinstance(value, list):
        return [_compact(v) for v in value]
    return value


def _split(ref: str, what: str) -> tuple[str, str]:
    parts = ref.split("/")
    if len(parts) != 2 or not all(parts):
        raise ApiError(400, f"Invalid {what} reference {ref!r}")
    return parts[0], parts[1]


def _int(value: Any, what: str) -> int | None:
    if value in (None, ""):
        return None
    try:
        return int(value)
    except (TypeError, ValueError):
        raise ApiError(400, f"Invalid {what} {value!r}") from None


def log_text(entries: Iterable[Any]) -> str:
    """Kaggle's log format (JSON text of ``[{stream_name, time, data}]``) from dicts or 3-tuples."""
    out = []
    for entry in entries:
        if isinstance(entry, Mapping):
            out.append(dict(entry))
        else:
            stream, at, data = entry
            out.append({"stream_name": stream, "time": at, "data": data})
    return json.dumps(out)


class KaggleState:
    """Everything the fake Kaggle knows, and one method per RPC (named as on the wire)."""

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.users: dict[str, str] = {FAKE_USER: FAKE_KEY}
        self.tokens: dict[str, str] = {FAKE_TOKEN: FAKE_USER}
        self.kernels: dict[tuple[str, str], Kernel] = {}
        self.datasets: dict[tuple[str, str], Dataset] = {}
        self.models: dict[tuple[str, str], Model] = {}
        self.competitions: dict[str, Competition] = {}
        self.blobs: dict[str, Blob] = {}
        self.invalid_sources: set[str] = set()
        self.invalid_tags: set[str] = set()
        self.default_run: tuple[str, ...] = DEFAULT_RUN
        self.submission_run: tuple[str, ...] = ("PENDING", "COMPLETE")  # what new submissions walk through
        self.submission_error: str | None = None
        self._ids = itertools.count(1000)
        self._submission_refs = itertools.count(40_000_001)

    # -- helpers ---------------------------------------------------------------------------------------------
    def _kernel(self, user: str, owner: str, slug: str) -> Kernel:
        kernel = self.kernels.get((owner, slug))
        if kernel is None or not kernel.versions:
            raise ApiError(404, f"Kernel {owner}/{slug} not found")
        if kernel.private and owner != user:
            raise ApiError(403, "Permission 'kernels.get' was denied")
        return kernel

    def _dataset(self, user: str, owner: str, slug: str) -> Dataset:
        dataset = self.datasets.get((owner, slug))
        if dataset is None:
            raise ApiError(404, f"Dataset {owner}/{slug} not found")
        if dataset.private and owner != user:
            raise ApiError(403, "Permission 'datasets.get' was denied")
        return dataset

    def _competition(self, name: str) -> Competition:
        competition = self.competitions.get(name)
        if competition is None:
            raise ApiError(404, f"Competition {name!r} not found")
        return competition

    def _model(self, user: str, owner: str, slug: str) -> Model:
        model = self.models.get((owner, slug))
        if model is None:
            raise ApiError(404, f"Model {owner}/{slug} not found")
        if model.private and owner != user:
            raise ApiError(403, "Permission 'models.get' was denied")
        return model

    def _take_blobs(self, tokens: Iterable[str]) -> dict[str, bytes]:
        files: dict[str, bytes] = {}
        for token in tokens:
            blob = self.blobs.get(token)
            if blob is None:
                raise ApiError(400, f"Unknown upload token {token!r}")
            if not blob.complete:
                raise ApiError(
                    400, f"Upload of {blob.name!r} is incomplete ({len(blob.data)}/{blob.length} bytes)"
                )
            files[blob.name] = bytes(blob.data)
        return files

    def _directory_files(self, directories: list[dict[str, Any]], prefix: str = "") -> dict[str, bytes]:
        files: dict[str, bytes] = {}
        for directory in directories or []:
            name = directory.get("name", "")
            here = f"{prefix}{name}/" if name and name != "root" else prefix
            tokens = [f.get("token", "") for f in directory.get("files", [])]
            files.update({here + k: v for k, v in self._take_blobs(tokens).items()})
            files.update(self._directory_files(directory.get("directories", []), here))
        return files

    def new_blob(self, name: str, kind: str, length: int) -> dict[str, str]:
        token = f"blob-{next(self._ids)}"
        self.blobs[token] = Blob(token, name, kind, length)
        return {"token": token, "createUrl": f"{self.base_url}/upload/{token}"}

    def output_url(self, kernel: Kernel, version: KernelVersion, name: str) -> str:
        # Signed like Kaggle's (Google Cloud Storage) URLs: the query grants access and is never to be shown.
        path = f"/download/kernels/{kernel.owner}/{kernel.slug}/{version.number}/{quote(name)}"
        return f"{self.base_url}{path}?X-Goog-Credential=km-sa&X-Goog-Signature={SIGNATURE}"

    # -- security --------------------------------------------------------------------------------------------
    def IntrospectToken(self, user: str, body: dict[str, Any]) -> dict[str, Any]:
        name = self.tokens.get(body.get("token", ""))
        return {"active": bool(name), "username": name or ""}

    # -- kernels ---------------------------------------------------------------------------------------------
    def SaveKernel(self, user: str, body: dict[str, Any]) -> dict[str, Any]:
        if body.get("language") not in ("python", "r", "rmarkdown"):
            return {"error": f"Unsupported language {body.get('language')!r}"}
        if body.get("kernelType") not in ("script", "notebook"):
            return {"error": f"Unsupported kernel type {body.get('kernelType')!r}"}
        if body.get("kernelType") == "notebook":
            try:
                json.loads(body.get("text", ""))
            except ValueError:
                return {"error": "The notebook is not valid JSON"}
        if body.get("id"):
            kernel = next((k for k in self.kernels.values() if k.id == body["id"]), None)
            if kernel is None:
                raise ApiError(404, f"Kernel id {body['id']} not found")
        else:
            owner, slug = _split(body.get("slug", ""), "kernel")
            if owner != user:
                raise ApiError(
                    403, f"Permission 'kernels.create' was denied: you cannot push to {owner}/{slug}"
                )
            kernel = self.kernels.get((owner, slug))
            if kernel is None:
                title = body.get("newTitle") or slug
                kernel = Kernel(next(self._ids), owner, slug, title, body.get("isPrivate", False))
                self.kernels[(owner, slug)] = kernel
        if body.get("newTitle"):
            kernel.title = body["newTitle"]
        kernel.private = body.get("isPrivate", False)
        invalid = {
            "invalidDatasetSources": [
                s for s in body.get("datasetDataSources", []) if s in self.invalid_sources
            ],
            "invalidCompetitionSources": [
                s for s in body.get("competitionDataSources", []) if s in self.invalid_sources
            ],
            "invalidKernelSources": [
                s for s in body.get("kernelDataSources", []) if s in self.invalid_sources
            ],
            "invalidModelSources": [s for s in body.get("modelDataSources", []) if s in self.invalid_sources],
            "invalidTags": [s for s in body.get("categoryIds", []) if s in self.invalid_tags],
        }
        version = KernelVersion(len(kernel.versions) + 1, body, script=list(self.default_run))
        if version.quick_save:
            version.script = ["COMPLETE"]
        kernel.versions.append(version)
        return {
            "ref": f"/code/{kernel.ref}",
            "url": f"{WEB}/code/{kernel.ref}",
            "versionNumber": version.number,
            "kernelId": kernel.id,
            **invalid,
        }

    def GetKernel(self, user: str, body: dict[str, Any]) -> dict[str, Any]:
        kernel = self._kernel(user, body.get("userName", ""), body.get("kernelSlug", ""))
        v = kernel.version(_int(body.get("versionLabel"), "version"))
        req = v.request
        return {
            "metadata": {
                "id": kernel.id,
                "ref": kernel.ref,
                "title": kernel.title,
                "author": kernel.owner,
                "slug": kernel.slug,
                "language": req.get("language"),
                "kernelType": req.get("kernelType"),
                "isPrivate": kernel.private,
                "enableGpu": req.get("enableGpu", False),
                "enableTpu": req.get("enableTpu", False),
                "enableInternet": req.get("enableInternet", False),
                "categoryIds": req.get("categoryIds", []),
                "datasetDataSources": req.get("datasetDataSources", []),
                "kernelDataSources": req.get("kernelDataSources", []),
                "competitionDataSources": req.get("competitionDataSources", []),
                "modelDataSources": req.get("modelDataSources", []),
                "currentVersionNumber": kernel.latest.number,
                "dockerImage": req.get("dockerImage"),
                "machineShape": req.get("machineShape"),
            },
            "blob": {
                "source": v.text,
                "language": req.get("language"),
                "kernelType": req.get("kernelType"),
                "slug": kernel.slug,
            },
        }

    def GetKernelSessionStatus(self, user: str, body: dict[str, Any]) -> dict[str, Any]:
        kernel = self._kernel(user, body.get("userName", ""), body.get("kernelSlug", ""))
        v = kernel.version(_int(body.get("versionLabel"), "version"))
        status = v.script[0]
        if len(v.script) > 1:
            v.script.pop(0)
        answer = {"status": status, "failureMessage": v.failure_message if status == "ERROR" else None}
        if status == "QUEUED":  # the enum's default value: left out, as Kaggle does
            del answer["status"]
        return answer

    def ListKernelSessionOutput(self, user: str, body: dict[str, Any]) -> dict[str, Any]:
        kernel = self._kernel(user, body.get("userName", ""), body.get("kernelSlug", ""))
        v = kernel.version(_int(body.get("versionLabel"), "version"))
        size = min(body.get("pageSize") or 20, 20)
        token = body.get("pageToken") or ""
        start = 0
        if token:
            if not token.startswith("page-"):
                raise ApiError(400, f"Invalid page token {token!r}")
            start = _int(token[5:], "page token") or 0
        names = sorted(v.outputs)
        page = names[start : start + size]
        more = start + size < len(names)
        return {
            "files": [{"url": self.output_url(kernel, v, n), "fileName": n} for n in page],
            "log": v.log,
            "nextPageToken": f"page-{start + size}" if more else "",
        }

    # -- blobs -----------------------------------------------------------------------------------------------
    def StartBlobUpload(self, user: str, body: dict[str, Any]) -> dict[str, Any]:
        if not body.get("name"):
            raise ApiError(400, "A blob needs a name")
        return self.new_blob(
            body["name"], body.get("type", "API_BLOB_TYPE_UNSPECIFIED"), body.get("contentLength", 0)
        )

    # -- datasets --------------------------------------------------------------------------------------------
    def CreateDataset(self, user: str, body: dict[str, Any]) -> dict[str, Any]:
        owner, slug = body.get("ownerSlug", ""), body.get("slug", "")
        if not owner or not slug:
            raise ApiError(400, "ownerSlug and slug are required")
        if owner != user:
            raise ApiError(403, f"Permission 'datasets.create' was denied for owner {owner}")
        if (owner, slug) in self.datasets:
            return {"status": "error", "error": f"The dataset {owner}/{slug} already exists"}
        files = self._take_blobs(f.get("token", "") for f in body.get("files", []))
        files.update(self._directory_files(body.get("directories", [])))
        dataset = Dataset(
            next(self._ids),
            owner,
            slug,
            body.get("title", slug),
            body.get("licenseName", ""),
            private=body.get("isPrivate", False),
        )
        dataset.versions.append(DatasetVersion(1, files, "", body))
        self.datasets[(owner, slug)] = dataset
        return {"ref": dataset.ref, "url": f"{WEB}/datasets/{dataset.ref}", "status": "ok"}

    def CreateDatasetVersion(self, user: str, body: dict[str, Any]) -> dict[str, Any]:
        owner, slug = body.get("ownerSlug", ""), body.get("datasetSlug", "")
        dataset = self._dataset(user, owner, slug)
        if owner != user:
            raise ApiError(403, "Permission 'datasets.update' was denied")
        inner = body.get("body") or {}
        files = self._take_blobs(f.get("token", "") for f in inner.get("files", []))
        files.update(self._directory_files(inner.get("directories", [])))
        dataset.versions.append(
            DatasetVersion(len(dataset.versions) + 1, files, inner.get("versionNotes", ""), body)
        )
        return {"ref": dataset.ref, "url": f"{WEB}/datasets/{dataset.ref}", "status": "ok"}

    def GetDatasetStatus(self, user: str, body: dict[str, Any]) -> dict[str, Any]:
        self._dataset(user, body.get("ownerSlug", ""), body.get("datasetSlug", ""))
        return {"status": "READY"}

    def GetDataset(self, user: str, body: dict[str, Any]) -> dict[str, Any]:
        d = self._dataset(user, body.get("ownerSlug", ""), body.get("datasetSlug", ""))
        return {
            "id": d.id,
            "ref": d.ref,
            "title": d.title,
            "url": f"{WEB}/datasets/{d.ref}",
            "isPrivate": d.private,
            "currentVersionNumber": d.latest.number,
            "licenseName": d.license,
        }

    # -- models ----------------------------------------------------------------------------------------------
    def _model_answer(self, m: Model) -> dict[str, Any]:
        return {
            "id": m.id,
            "ref": m.ref,
            "title": m.title,
            "author": m.owner,
            "slug": m.slug,
            "isPrivate": m.private,
            "url": f"{WEB}/models/{m.ref}",
            "instances": [self._instance_answer(m, i) for i in m.instances.values()],
        }

    def _instance_answer(self, m: Model, i: ModelInstance) -> dict[str, Any]:
        return {
            "id": i.id,
            "slug": i.slug,
            "framework": i.framework,
            "versionNumber": i.versions[-1].number if i.versions else 0,
            "url": f"{WEB}/models/{m.ref}/{i.framework}/{i.slug}",
            "licenseName": i.license,
        }

    def GetModel(self, user: str, body: dict[str, Any]) -> dict[str, Any]:
        return self._model_answer(self._model(user, body.get("ownerSlug", ""), body.get("modelSlug", "")))

    def CreateModel(self, user: str, body: dict[str, Any]) -> dict[str, Any]:
        owner, slug = body.get("ownerSlug", ""), body.get("slug", "")
        if owner != user:
            raise ApiError(403, f"Permission 'models.create' was denied for owner {owner}")
        if (owner, slug) in self.models:
            return {"error": f"Model {owner}/{slug} already exists", "errorCode": 409}
        model = Model(next(self._ids), owner, slug, body.get("title", slug), body.get("isPrivate", False))
        self.models[(owner, slug)] = model
        return {"id": model.id, "ref": model.ref, "url": f"{WEB}/models/{model.ref}"}

    def CreateModelInstance(self, user: str, body: dict[str, Any]) -> dict[str, Any]:
        model = self._model(user, body.get("ownerSlug", ""), body.get("modelSlug", ""))
        if model.owner != user:
            raise ApiError(403, "Permission 'models.update' was denied")
        inner = body.get("body") or {}
        key = (inner.get("framework", "MODEL_FRAMEWORK_UNSPECIFIED"), inner.get("instanceSlug", ""))
        if key in model.instances:
            return {"error": f"Model instance {key[1]} already exists", "errorCode": 409}
        files = self._take_blobs(f.get("token", "") for f in inner.get("files", []))
        files.update(self._directory_files(inner.get("directories", [])))
        instance = ModelInstance(next(self._ids), key[0], key[1], inner.get("licenseName", "Apache 2.0"))
        instance.versions.append(ModelVersion(1, files, "", body))
        model.instances[key] = instance
        return {
            "id": instance.id,
            "ref": f"{model.ref}/{key[0]}/{key[1]}",
            "url": f"{WEB}/models/{model.ref}",
        }

    def CreateModelInstanceVersion(self, user: str, body: dict[str, Any]) -> dict[str, Any]:
        model = self._model(user, body.get("ownerSlug", ""), body.get("modelSlug", ""))
        key = (body.get("framework", "MODEL_FRAMEWORK_UNSPECIFIED"), body.get("instanceSlug", ""))
        instance = model.instances.get(key)
        if instance is None:
            raise ApiError(404, f"Model instance {model.ref}/{key[0]}/{key[1]} not found")
        inner = body.get("body") or {}
        files = self._take_blobs(f.get("token", "") for f in inner.get("files", []))
        files.update(self._directory_files(inner.get("directories", [])))
        version = ModelVersion(len(instance.versions) + 1, files, inner.get("versionNotes", ""), body)
        instance.versions.append(version)
        return {
            "id": instance.id,
            "ref": f"{model.ref}/{key[0]}/{key[1]}/{version.number}",
            "url": f"{WEB}/models/{model.ref}",
        }

    def GetModelInstance(self, user: str, body: dict[str, Any]) -> dict[str, Any]:
        model = self._model(user, body.get("ownerSlug", ""), body.get("modelSlug", ""))
        key = (body.get("framework", "MODEL_FRAMEWORK_UNSPECIFIED"), body.get("instanceSlug", ""))
        instance = model.instances.get(key)
        if instance is None:
            raise ApiError(404, f"Model instance {model.ref}/{key[0]}/{key[1]} not found")
        return self._instance_answer(model, instance)

    # -- competitions ----------------------------------------------------------------------------------------
    def _check_submit(self, user: str, name: str) -> Competition:
        competition = self._competition(name)
        if not competition.rules_accepted:
            raise ApiError(403, "You must accept this competition's rules before you can submit")
        today = [s for s in competition.submissions if s.user == user and s.date.date() == _now().date()]
        if len(today) >= competition.daily_limit:
            raise ApiError(400, "Your team has used its daily Submission allowance")
        return competition

    def _submission_answer(self, s: Submission, poll: bool = False) -> dict[str, Any]:
        status = s.script[0]
        if poll and len(s.script) > 1:
            s.script.pop(0)
        return {
            "ref": s.ref,
            "date": s.date.isoformat(timespec="milliseconds") + "Z",
            "description": s.description,
            "errorDescription": s.error if status == "ERROR" else None,
            "fileName": s.file_name,
            "publicScore": s.public_score if status == "COMPLETE" else None,
            "status": None if status == "PENDING" else status,
            "submittedBy": s.user,
            "url": f"{WEB}/competitions/{s.competition}/submissions",
        }

    def CreateCodeSubmission(self, user: str, body: dict[str, Any]) -> dict[str, Any]:
        competition = self._check_submit(user, body.get("competitionName", ""))
        kernel = self._kernel(user, body.get("kernelOwner", ""), body.get("kernelSlug", ""))
        version = kernel.version(body.get("kernelVersion"))
        submission = Submission(
            next(self._submission_refs),
            competition.slug,
            user,
            _now(),
            body.get("submissionDescription", ""),
            body.get("fileName", "submission.csv"),
            kernel=f"{kernel.ref}/{version.number}",
            script=list(self.submission_run),
            error=self.submission_error,
        )
        competition.submissions.append(submission)
        return {"message": f"Successfully submitted to {competition.title}", "ref": submission.ref}

    def StartSubmissionUpload(self, user: str, body: dict[str, Any]) -> dict[str, Any]:
        self._competition(body.get("competitionName", ""))
        return self.new_blob(body.get("fileName", ""), "SUBMISSION", body.get("contentLength", 0))

    def CreateSubmission(self, user: str, body: dict[str, Any]) -> dict[str, Any]:
        competition = self._check_submit(user, body.get("competitionName", ""))
        files = self._take_blobs([body.get("blobFileTokens", "")])
        ((name, data),) = files.items()
        submission = Submission(
            next(self._submission_refs),
            competition.slug,
            user,
            _now(),
            body.get("submissionDescription", ""),
            name,
            data=data,
            script=list(self.submission_run),
            error=self.submission_error,
        )
        competition.submissions.append(submission)
        return {"message": f"Successfully submitted to {competition.title}", "ref": submission.ref}

    def GetSubmission(self, user: str, body: dict[str, Any]) -> dict[str, Any]:
        ref = _int(body.get("ref"), "submission ref")
        for competition in self.competitions.values():
            for s in competition.submissions:
                if s.ref == ref:
                    if s.user != user:
                        raise ApiError(403, "Permission 'submissions.get' was denied")
                    return self._submission_answer(s, poll=True)
        raise ApiError(404, f"Submission {ref} not found")

    def ListSubmissions(self, user: str, body: dict[str, Any]) -> dict[str, Any]:
        competition = self._competition(body.get("competitionName", ""))
        if not competition.rules_accepted:
            raise ApiError(403, "You must accept this competition's rules first")
        mine = sorted(
            (s for s in competition.submissions if s.user == user), key=lambda s: s.ref, reverse=True
        )
        size = body.get("pageSize") or 20
        token = body.get("pageToken") or ""
        start = (_int(token.removeprefix("page-"), "page token") or 0) if token else 0
        page = mine[start : start + size]
        return {
            "submissions": [self._submission_answer(s) for s in page],
            "nextPageToken": f"page-{start + size}" if start + size < len(mine) else "",
        }

    def GetSubmissionLimits(self, user: str, body: dict[str, Any]) -> dict[str, Any]:
        competition = self._competition(body.get("competitionName", ""))
        mine = [s for s in competition.submissions if s.user == user]
        today = [s for s in mine if s.date.date() == _now().date()]
        return {
            "numToday": len(today),
            "numTotal": len(mine),
            "numAllowedNow": max(0, competition.daily_limit - len(today)),
        }

    def GetCompetition(self, user: str, body: dict[str, Any]) -> dict[str, Any]:
        c = self._competition(body.get("competitionName", ""))
        return {"ref": c.slug, "title": c.title, "url": f"{WEB}/competitions/{c.slug}"}


# -- HTTP ----------------------------------------------------------------------------------------------------
class _Handler(BaseHTTPRequestHandler):
    server: _HTTPServer
    protocol_version = "HTTP/1.0"  # one request per connection: a dropped connection is unambiguous

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        pass

    def do_POST(self) -> None:
        self.server.owner.handle(self, "POST")

    def do_PUT(self) -> None:
        self.server.owner.handle(self, "PUT")

    def do_GET(self) -> None:
        self.server.owner.handle(self, "GET")

    def read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        return self.rfile.read(length) if length else b""

    def answer(self, status: int, payload: Any = None, headers: Mapping[str, str] | None = None) -> None:
        data = (
            b""
            if payload is None
            else (payload if isinstance(payload, bytes) else json.dumps(payload).encode())
        )
        self.send_response(status)
        content_type = "application/octet-stream" if isinstance(payload, bytes) else "application/json"
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for key, value in (headers or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if data:
            self.wfile.write(data)


class _HTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    owner: KaggleServer


class KaggleServer:
    """The loopback Kaggle. ``start()``, then point clients at it with :meth:`client_env`; ``reset()`` between
    tests; inspect :attr:`requests`; shape state with the ``add_*``/``set_*`` methods; inject faults with
    :meth:`fail`, :meth:`drop`, :meth:`respond`, :meth:`truncate_upload`."""

    def __init__(self) -> None:
        self._http: _HTTPServer | None = None
        self._thread: threading.Thread | None = None
        self.lock = threading.RLock()
        self.requests: list[Recorded] = []
        self.faults: dict[str, list[Fault]] = {}
        self.state = KaggleState("http://127.0.0.1:0")

    # -- lifecycle -------------------------------------------------------------------------------------------
    def start(self) -> KaggleServer:
        self._http = _HTTPServer(("127.0.0.1", 0), _Handler)
        self._http.owner = self
        self._thread = threading.Thread(target=self._http.serve_forever, name="kaggle-server", daemon=True)
        self._thread.start()
        self.reset()
        return self

    def stop(self) -> None:
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()
            self._http = None

    def __enter__(self) -> KaggleServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        assert self._http is not None, "start() the server first"
        return self._http.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def reset(self) -> None:
        """Forget everything: state, recorded requests, faults."""
        with self.lock:
            self.requests.clear()
            self.faults.clear()
            self.state = KaggleState(self.url)

    def client_env(self, *, credentials: bool = True, token: bool = False) -> dict[str, str]:
        """Environment variables that send the official clients here (with the fake credentials)."""
        env = {
            "KAGGLE_API_ENVIRONMENT": "LOCALHOST",
            "HTTP_PROXY": self.url,
            "http_proxy": self.url,
        }
        if credentials and token:
            env["KAGGLE_API_TOKEN"] = FAKE_TOKEN
        elif credentials:
            env["KAGGLE_USERNAME"] = FAKE_USER
            env["KAGGLE_KEY"] = FAKE_KEY
        return env

    # -- what arrived ----------------------------------------------------------------------------------------
    def calls(self, name: str | None = None) -> list[Recorded]:
        """Recorded requests, or those of one RPC (``"SaveKernel"``) or of ``"Upload"``/``"Download"``."""
        with self.lock:
            return [r for r in self.requests if name is None or r.name == name]

    def bodies(self, name: str) -> list[Any]:
        return [r.body for r in self.calls(name)]

    def kernel(self, ref: str) -> Kernel:
        return self.state.kernels[_split(ref, "kernel")]

    def dataset(self, ref: str) -> Dataset:
        return self.state.datasets[_split(ref, "dataset")]

    def model(self, ref: str) -> Model:
        return self.state.models[_split(ref, "model")]

    def competition(self, slug: str) -> Competition:
        return self.state.competitions[slug]

    def submission(self, ref: int | str) -> Submission:
        for c in self.state.competitions.values():
            for s in c.submissions:
                if s.ref == int(ref):
                    return s
        raise KeyError(ref)

    # -- shaping state ---------------------------------------------------------------------------------------
    def set_run(self, *statuses: str) -> None:
        """The status sequence every new (non quick-save) version walks through, one step per status poll."""
        self.state.default_run = tuple(self._check_states(statuses))

    def set_status(
        self, ref: str, *statuses: str, failure_message: str | None = None, version: int | None = None
    ) -> None:
        """Script the run states of ``ref`` (latest version, or ``version``): one step per status poll."""
        with self.lock:
            v = self.kernel(ref).version(version)
            v.script = self._check_states(statuses)
            v.failure_message = failure_message

    @staticmethod
    def _check_states(statuses: Iterable[str]) -> list[str]:
        states = [s.upper() for s in statuses]
        bad = [s for s in states if s not in KERNEL_STATES]
        if bad or not states:
            raise ValueError(f"statuses must be some of {KERNEL_STATES}, got {statuses!r}")
        return states

    def set_output(
        self,
        ref: str,
        files: Mapping[str, bytes | str] | None = None,
        *,
        log: str | Iterable[Any] | None = None,
        version: int | None = None,
    ) -> None:
        """Give a kernel version output files and/or a log (JSON text, or entries for :func:`log_text`)."""
        with self.lock:
            v = self.kernel(ref).version(version)
            if files is not None:
                v.outputs = {
                    k: val.encode() if isinstance(val, str) else bytes(val) for k, val in files.items()
                }
            if log is not None:
                v.log = log if isinstance(log, str) else log_text(log)

    def add_kernel(
        self, ref: str, *, private: bool = True, title: str | None = None, versions: int = 1
    ) -> Kernel:
        """A kernel that exists without a push from the test (e.g. someone else's)."""
        owner, slug = _split(ref, "kernel")
        with self.lock:
            kernel = Kernel(next(self.state._ids), owner, slug, title or slug, private)
            text = json.dumps({"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5})
            for n in range(1, versions + 1):
                request = {"slug": ref, "text": text, "language": "python", "kernelType": "notebook"}
                kernel.versions.append(KernelVersion(n, request, script=["COMPLETE"]))
            self.state.kernels[(owner, slug)] = kernel
            return kernel

    def add_dataset(
        self,
        ref: str,
        files: Mapping[str, bytes] | None = None,
        *,
        private: bool = True,
        title: str | None = None,
    ) -> Dataset:
        owner, slug = _split(ref, "dataset")
        with self.lock:
            dataset = Dataset(next(self.state._ids), owner, slug, title or slug, "CC0-1.0", private)
            dataset.versions.append(DatasetVersion(1, dict(files or {}), "", {}))
            self.state.datasets[(owner, slug)] = dataset
            return dataset

    def add_competition(
        self, slug: str, *, title: str | None = None, rules_accepted: bool = True, daily_limit: int = 5
    ) -> Competition:
        with self.lock:
            competition = Competition(slug, title or slug, rules_accepted, daily_limit)
            self.state.competitions[slug] = competition
            return competition

    def set_submission(
        self, ref: int | str, *statuses: str, public_score: str | None = None, error: str | None = None
    ) -> None:
        """Script a submission's states (PENDING, COMPLETE, ERROR), one step per GetSubmission."""
        with self.lock:
            s = self.submission(ref)
            if statuses:
                s.script = [x.upper() for x in statuses]
            if public_score is not None:
                s.public_score = public_score
            s.error = error

    def set_submission_run(self, *statuses: str, error: str | None = None) -> None:
        """The states every new submission walks through (one step per GetSubmission), and its error."""
        self.state.submission_run = tuple(x.upper() for x in statuses)
        self.state.submission_error = error

    def mark_invalid(self, *sources: str) -> None:
        """Sources (dataset/kernel/model refs, competition slugs) SaveKernel reports as invalid."""
        self.state.invalid_sources.update(sources)

    def add_user(self, name: str, key: str) -> None:
        self.state.users[name] = key

    # -- faults ----------------------------------------------------------------------------------------------
    def _add_fault(self, name: str, fault: Fault) -> None:
        with self.lock:
            self.faults.setdefault(name, []).append(fault)

    def fail(
        self,
        name: str,
        status: int = 500,
        *,
        times: int = 1,
        retry_after: float | str | None = None,
        message: str | None = None,
        skip: int = 0,
        acted: bool = False,
    ) -> None:
        """Answer the next ``times`` calls of ``name`` with HTTP ``status`` (and Retry-After when given), after
        letting ``skip`` calls through; with ``acted=True`` each call takes effect first (a gateway's error
        after the service did the work)."""
        self._add_fault(
            name,
            Fault(
                "status", times, status=status, retry_after=retry_after, message=message, skip=skip, acted=acted
            ),
        )

    def drop(self, name: str, *, times: int = 1, after: bool = False, skip: int = 0) -> None:
        """Close the connection without an answer (after letting ``skip`` calls through); with
        ``after=True`` the call takes effect first: its answer is lost."""
        self._add_fault(name, Fault("drop_after" if after else "drop", times, skip=skip))

    def respond(self, name: str, body: Any, *, status: int = 200, times: int = 1) -> None:
        """Answer the next ``times`` calls of ``name`` with this JSON instead of running them."""
        self._add_fault(name, Fault("respond", times, status=status, body=body))

    def truncate_upload(self, keep: int, *, status: int | None = 503, times: int = 1) -> None:
        """The next ``times`` upload PUTs keep only their first ``keep`` bytes, then answer ``status`` (503:
        the client resumes, asking how far it got) or, with ``status=None``, drop the connection."""
        self._add_fault("Upload", Fault("partial", times, keep=keep, status=status or 0))

    def clear_faults(self) -> None:
        with self.lock:
            self.faults.clear()

    def _take_fault(self, name: str) -> Fault | None:
        with self.lock:
            queue = self.faults.get(name) or []
            if not queue:
                return None
            fault = queue[0]
            if fault.skip > 0:
                fault.skip -= 1
                return None
            fault.times -= 1
            if fault.times <= 0:
                queue.pop(0)
            return fault

    # -- request handling ------------------------------------------------------------------------------------
    def _user(self, headers: Any) -> str | None:
        auth = headers.get("Authorization") or ""
        scheme, _, value = auth.partition(" ")
        if scheme.lower() == "basic":
            try:
                name, _, key = base64.b64decode(value).decode().partition(":")
            except (ValueError, UnicodeDecodeError):
                return None
            return name if self.state.users.get(name) == key and key else None
        if scheme.lower() == "bearer":
            return self.state.tokens.get(value)
        return None

    def handle(self, h: _Handler, method: str) -> None:
        url = urlsplit(h.path)  # proxy-form requests carry the whole URL
        path = unquote(url.path)
        raw = h.read_body()
        headers = {k: v for k, v in h.headers.items() if k.lower() not in _SECRET_HEADERS}
        parts = path.strip("/").split("/")
        service = None
        if method == "POST" and len(parts) == 4 and parts[:2] == ["api", "v1"]:
            service, name = parts[2], parts[3]
            try:
                body: Any = json.loads(raw or b"{}")
            except ValueError:
                body = {"_unparsed": raw.decode("utf-8", "replace")}
        elif method == "PUT" and parts[0] == "upload" and len(parts) == 2:
            name = "Upload"
            body = {"token": parts[1], "bytes": len(raw), "contentRange": h.headers.get("Content-Range")}
        elif method == "GET" and parts[0] == "download":
            name = "Download"
            body = {"path": "/".join(parts[1:])}
        else:
            name, body = f"{method} {path}", None
        record = Recorded(method, path, name, service, body, headers, user=self._user(h.headers))
        with self.lock:
            self.requests.append(record)

        fault = self._take_fault(name)
        record.fault = fault.label if fault is not None else None
        if fault is not None and fault.kind == "drop":
            h.close_connection = True
            return
        if fault is not None and fault.kind == "status" and not fault.acted:
            extra = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
            record.status = fault.status
            h.answer(
                fault.status,
                {"code": fault.status, "message": fault.message or f"Injected {fault.status}"},
                extra,
            )
            return
        if fault is not None and fault.kind == "respond":
            record.status = fault.status
            h.answer(fault.status, fault.body)
            return

        try:
            status, payload, extra = self._dispatch(method, name, service, path, body, raw, record, fault)
        except ApiError as e:
            status, payload, extra = e.status, {"code": e.status, "message": e.message}, e.headers
        if fault is not None and (
            fault.kind == "drop_after" or (fault.kind == "partial" and not fault.status)
        ):
            h.close_connection = True
            return
        if fault is not None and fault.kind == "partial":
            status, payload, extra = fault.status, {"code": fault.status, "message": "Upload interrupted"}, {}
        if fault is not None and fault.kind == "status":  # acted: the work is done, the answer an error
            status, payload = fault.status, {"code": fault.status, "message": fault.message or "Injected"}
            extra = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
        record.status = status
        h.answer(status, payload, extra)

    def _dispatch(
        self,
        method: str,
        name: str,
        service: str | None,
        path: str,
        body: Any,
        raw: bytes,
        record: Recorded,
        fault: Fault | None,
    ) -> tuple[int, Any, dict[str, str]]:
        if name == "Upload":
            return self._upload(body["token"], raw, body["contentRange"], fault)
        if name == "Download":
            return self._download(body["path"])
        if service is None:
            raise ApiError(404, f"No such endpoint: {method} {path}")
        if record.user is None and name not in _ANONYMOUS_RPCS:
            raise ApiError(401, "Unauthenticated: valid credentials are required")
        handler = getattr(self.state, name, None)
        if handler is None or name.startswith("_") or not name[0].isupper():
            raise ApiError(404, f"Unknown RPC {service}/{name}")
        with self.lock:
            answer = handler(record.user or "", body if isinstance(body, dict) else {})
        return 200, _compact(answer), {}

    def _upload(
        self, token: str, raw: bytes, content_range: str | None, fault: Fault | None
    ) -> tuple[int, Any, dict]:
        with self.lock:
            blob = self.state.blobs.get(token)
            if blob is None:
                raise ApiError(404, f"Upload {token} not found or expired")
            if fault is not None and fault.kind == "partial":
                raw = raw[: fault.keep]
            if content_range and content_range.startswith("bytes */"):  # a progress query
                pass
            elif content_range and content_range.startswith("bytes "):
                first = int(content_range[6:].split("-")[0])
                if first > len(blob.data):
                    raise ApiError(400, f"Upload of {blob.name} skips bytes {len(blob.data)}..{first}")
                del blob.data[first:]
                blob.data += raw
            else:
                blob.data[:] = raw
            if blob.complete:
                return 200, {}, {}
            headers = {"Range": f"bytes=0-{len(blob.data) - 1}"} if blob.data else {}
            return 308, None, headers

    def _download(self, path: str) -> tuple[int, Any, dict]:
        parts = path.split("/", 4)
        if len(parts) != 5 or parts[0] != "kernels":
            raise ApiError(404, f"No such file: {path}")
        _, owner, slug, number, name = parts
        with self.lock:
            kernel = self.state.kernels.get((owner, slug))
            if kernel is None:
                raise ApiError(404, f"No such file: {path}")
            data = kernel.version(int(number)).outputs.get(name)
        if data is None:
            raise ApiError(404, f"No such file: {path}")
        return 200, data, {}
