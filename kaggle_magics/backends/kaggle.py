"""The Kaggle backend: kaggle.com through the official clients.

Calls go through ``kaggle``'s return-value API (``KaggleApi`` methods without ``_cli``), through the kagglesdk
client that ``KaggleApi.build_kaggle_client()`` builds where the ``KaggleApi`` methods lack an option (a
version label on status/output, a quick save, one submission's state), and through ``kagglehub.model_upload``
for models. Nothing here speaks HTTP to the Kaggle API itself; only output files are fetched from the URLs the
API hands out, as ``kaggle kernels output`` does.

The clients are imported on first use: ``import kaggle`` authenticates at import time and prints help text
without credentials. Their prints are captured (and logged at debug level, secrets removed), their
exceptions become :mod:`kaggle_magics.errors` types, and calls are retried as :mod:`.retry` describes.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

from .. import config
from ..errors import (
    BackendError,
    CredentialsError,
    KaggleMagicsError,
    MaybeApplied,
    MetadataError,
    NotFound,
    PermissionDenied,
    RateLimited,
)
from ..handles import CompetitionRef, DatasetRef, KernelRef, ModelRef
from ..results import DatasetResult, KernelStatus, LogEntry, ModelResult, OutputFile, PushResult, Submission
from . import retry as retries
from .base import Backend

__all__ = ["KaggleBackend", "parse_log"]

log = logging.getLogger(__name__)
T = TypeVar("T")

OUTPUT_PAGE_SIZE = 20  # what Kaggle serves per page of a kernel's output
DEFAULT_LICENSE = "CC0-1.0"
_CLIENT_SKIPS = ("dataset-metadata.json", "datapackage.json")  # files the client reads, never uploads
_IGNORED_DIRS = (".git", ".cache", ".huggingface")  # the client's DEFAULT_IGNORE_PATTERNS
_URL_QUERY = re.compile(r"(https?://[^\s?#]+)\?[^\s)\]]*")


@dataclass(frozen=True)
class _Target:
    """What a call is about, so an error can name it, link to it and say what to do about a 403."""

    kind: str
    name: str
    url: str
    denied_hint: str | None = None


class _MaybeApplied(Exception):
    """A write failed in a way that may have taken effect, and there is no way to check it."""


@contextlib.contextmanager
def _quiet() -> Iterator[io.StringIO]:
    """Capture what the clients print (help text, progress bars, 'Request failed...') while they run."""
    buffer = io.StringIO()
    hub = logging.getLogger("kagglehub")
    level = hub.level
    hub.setLevel(logging.WARNING)  # kagglehub logs progress at INFO to stdout through its own handler
    try:
        with contextlib.redirect_stdout(buffer), contextlib.redirect_stderr(buffer):
            yield buffer
    finally:
        hub.setLevel(level)


def _one_line(text: str, limit: int = 300) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 3] + "..."


LIMITS_UNKNOWN = (
    "submissions left today: unknown (this kaggle client, older than 2.2, cannot read the limits; "
    "pip install -U 'kaggle>=2.2' shows them)"
)


class KaggleBackend(Backend):
    """kaggle.com, through the official ``kaggle`` and ``kagglehub`` clients.

    ``retry`` sets how reads and uploads are retried (see :class:`.retry.RetryPolicy`; tests pass short
    delays). The client is built and authenticated on the first call that needs it.
    """

    name = "kaggle"

    def __init__(self, *, retry: retries.RetryPolicy | None = None) -> None:
        self.retry = retry or retries.RetryPolicy()
        self._api: Any = None

    # -- the client ----------------------------------------------------------------------------------------
    def _client(self) -> Any:
        """The authenticated ``KaggleApi``. Without credentials: CredentialsError, no SystemExit, no help."""
        if self._api is not None:
            return self._api
        source = config.credentials_source()
        if not source:
            raise CredentialsError("no Kaggle credentials found", hint=config.NO_CREDENTIALS_HINT)
        with _quiet() as printed:
            try:
                from kaggle.api.kaggle_api_extended import KaggleApi
            except ImportError as exc:
                raise BackendError(
                    f"the official kaggle client cannot be imported ({exc})", hint="pip install 'kaggle>=2.0.1'"
                ) from None
            api = KaggleApi()
            _follow_environment(api)
            try:  # with an access token this asks Kaggle (IntrospectToken): a read, retried as reads are
                retries.read(api.authenticate, self.retry, "authentication")
            except SystemExit:
                raise CredentialsError(
                    f"the Kaggle client could not use the credentials from {source}",
                    hint=config.NO_CREDENTIALS_HINT,
                ) from None
            except Exception as exc:
                raise self._error(exc, "authentication", None, retried=False) from None
        self._log_printed(printed)
        self._api = api
        return api

    def _secrets(self) -> list[str]:
        values = [os.environ.get(name, "") for name in config.SECRET_ENV_VARS]
        if self._api is not None:
            values += [str(self._api.config_values.get(k) or "") for k in ("key", "token", "password")]
        return [v for v in values if len(v) >= 4]

    def _scrub(self, text: str) -> str:
        """Remove every secret we know of from a text that is about to be shown or logged, and the query of
        every URL (Kaggle's download URLs are signed: their query grants access)."""
        for secret in self._secrets():
            text = text.replace(secret, "***")
        return _URL_QUERY.sub(r"\1", text)

    def _log_printed(self, printed: io.StringIO) -> None:
        text = printed.getvalue().strip()
        if text:
            log.debug("client output: %s", self._scrub(text))

    def _call(self, fn: Callable[[Any], T]) -> T:
        """Run ``fn(api)`` with the client's prints captured."""
        api = self._client()
        with _quiet() as printed:
            try:
                return fn(api)
            finally:
                self._log_printed(printed)

    def _sdk(self, fn: Callable[[Any], T]) -> T:
        """Run ``fn(client)`` on the kagglesdk client the KaggleApi builds (same auth and endpoint)."""

        def run(api: Any) -> T:
            with api.build_kaggle_client() as client:
                return fn(client)

        return self._call(run)

    def _read(self, fn: Callable[[], T], what: str, target: _Target | None) -> T:
        try:
            return retries.read(fn, self.retry, what)
        except KaggleMagicsError:
            raise
        except Exception as exc:
            raise self._error(exc, what, target) from None

    def _lookup(self, fn: Callable[[], T], what: str, target: _Target | None) -> T | None:
        """A read for which 404 (or 403: not visible to us) means "there is none": None then."""
        try:
            return retries.read(fn, self.retry, what)
        except KaggleMagicsError:
            raise
        except Exception as exc:
            if retries.http_status(exc) in (403, 404):
                return None
            raise self._error(exc, what, target) from None

    # -- errors ----------------------------------------------------------------------------------------------
    def _error(
        self, exc: BaseException, what: str, target: _Target | None, *, retried: bool = True
    ) -> KaggleMagicsError:
        """One clear error for a failed client call: who, what, and the next step. Never a secret."""
        if isinstance(exc, KaggleMagicsError):
            return exc
        status = retries.http_status(exc)
        said = self._scrub(_one_line(retries.server_message(exc)))
        source = config.credentials_source() or "nowhere"
        about = f"{target.kind} {target.name}" if target else "Kaggle"
        tries = f", {self.retry.attempts} tries" if retried else ""
        if status == 401:
            return PermissionDenied(
                f"Kaggle rejected the credentials from {source} (HTTP 401) on {what}",
                hint=f"create a new API token at https://www.kaggle.com/settings and update {source}",
            )
        if status == 403:
            return PermissionDenied(
                f"Kaggle refused access to {about} (HTTP 403: {said})",
                hint=(target.denied_hint if target and target.denied_hint else None)
                or f"check that the account in {source} may access it",
            )
        if status == 404:
            detail = "" if "not found" in said.lower() else f" ({said})"
            return NotFound(
                f"{about} not found: {target.url}{detail}" if target else f"not found: {what} ({said})",
                hint=f"check the reference, and that the account in {source} can see it",
            )
        if status == 429:
            wait = retries.retry_after(exc)
            if wait is not None and wait > self.retry.max_retry_after:
                detail = f"it asks to wait {wait:.0f} s"
            else:
                detail = f"still after {self.retry.attempts} tries" if retried else "no retry"
            return RateLimited(
                f"Kaggle is rate limiting {what} (HTTP 429, {detail})", hint="wait a few minutes, then retry"
            )
        if status is not None and status >= 500:
            return BackendError(
                f"Kaggle failed on {what} (HTTP {status}{tries}): {said}",
                hint="Kaggle may be having trouble: retry in a while",
            )
        if status is not None:
            return BackendError(f"Kaggle refused {what} (HTTP {status}): {said}")
        if retries.is_connection_error(exc):
            return BackendError(
                f"could not reach Kaggle for {what}: the connection failed"
                + (f" {self.retry.attempts} times" if retried else ""),
                hint="check the network (and any proxy settings), then retry",
            )
        if type(exc).__name__ == "BackendError":  # kagglehub's: an error in a 200 answer
            return BackendError(f"Kaggle refused {what}: {said}")
        return BackendError(f"{what} failed: {type(exc).__name__}: {said}")

    # -- targets ---------------------------------------------------------------------------------------------
    @staticmethod
    def _kernel_target(ref: KernelRef) -> _Target:
        return _Target(
            "kernel",
            str(ref),
            ref.url,
            denied_hint=f"{ref.url} is private to another account: check the owner and slug, or ask to be "
            "added as a collaborator",
        )

    @staticmethod
    def _competition_target(competition: CompetitionRef) -> _Target:
        return _Target(
            "competition",
            competition.slug,
            competition.url,
            denied_hint=f"join the competition and accept its rules at {competition.url}/rules, then retry",
        )

    @staticmethod
    def _dataset_target(ref: DatasetRef) -> _Target:
        return _Target(
            "dataset",
            ref.id,
            ref.url,
            denied_hint="you can create or version only your own datasets (or ones shared with you as an "
            "editor): check the owner in the reference",
        )

    @staticmethod
    def _model_target(ref: ModelRef) -> _Target:
        return _Target(
            "model",
            ref.handle,
            ref.url,
            denied_hint="you can upload only to your own models: check the owner in the handle",
        )

    # -- kernels ---------------------------------------------------------------------------------------------
    def push_kernel(
        self,
        folder: Path,
        *,
        timeout: int | None = None,
        accelerator: str | None = None,
        no_run: bool = False,
        input_layout: str | None = None,  # where Kaggle mounts inputs is Kaggle's choice
    ) -> PushResult:
        folder = Path(folder)
        meta_path = folder / "kernel-metadata.json"
        meta = _read_json(meta_path, "kernel-metadata.json", "write it with %%kaggle_sub --dry-run")
        ref = _kernel_ref(meta)
        user = config.kaggle_username() or "<your user name>"
        target = _Target(
            "kernel",
            str(ref or folder),
            ref.url if ref else "https://www.kaggle.com/code",
            denied_hint=f"you can push only to your own kernels: set id in {meta_path.name} to "
            f"{user}/{ref.slug if ref else 'SLUG'} (or ask the owner to make you a collaborator)",
        )
        what = f"the push of {target.name}"
        self._client()
        before = self._kernel_version(ref) if ref else None

        def push() -> tuple[int | None, str, Any]:
            if no_run:
                response = self._sdk(
                    lambda client: client.kernels.kernels_api_client.save_kernel(
                        _quick_save_request(self._api, folder, meta, timeout, accelerator)
                    )
                )
            else:
                response = self._call(
                    lambda api: api.kernels_push(str(folder), str(timeout) if timeout else None, accelerator)
                )
            return response.version_number or None, response.url, response

        def landed() -> tuple[int | None, str, Any] | None:
            if ref is None or before is None:
                raise _MaybeApplied()
            now = self._kernel_version(ref, strict=True)  # cannot tell: _MaybeApplied, never a second push
            return (now, ref.url, None) if now and now > before else None

        as_version = f"version {before + 1}" if before is not None else "a new version"
        (version, url, response), recovered = self._write(
            push,
            landed,
            what,
            target,
            bad_input=lambda exc: MetadataError(
                f"{meta_path}: {_one_line(str(exc))}", hint="fix it and push again"
            ),
            unsure=(
                f"{what} failed on the way back: it may have been pushed as {as_version}; "
                f"check {target.url} before pushing again",
                "it was not repeated: a second push would save (and run) a second version",
            ),
        )
        notes = []
        if recovered:
            notes.append(f"the connection failed after sending; Kaggle had saved version {version}")
        if response is not None:
            self._check_push(response, target, version)
        name = (
            str(ref)
            if ref
            else (response.ref.strip("/").removeprefix("code/") if response is not None else "?")
        )
        return PushResult(
            ref=name,
            version=version,
            url=url or (ref.url if ref else None),
            folder=folder,
            backend=self.name,
            notes=notes + (["quick save: a new version that does not run"] if no_run else []),
        )

    def _check_push(self, response: Any, target: _Target, version: int | None) -> None:
        """Kaggle's refusals come inside a 200 answer: ``error`` and the ``invalid*`` lists."""
        if response.error:
            raise BackendError(
                self._scrub(f"Kaggle rejected the push of {target.name}: {_one_line(response.error)}"),
                hint="fix kernel-metadata.json or the notebook, then push again",
            )
        rejected = [
            (label, list(items or []))
            for label, items in (
                ("dataset sources", response.invalid_dataset_sources),
                ("competition sources", response.invalid_competition_sources),
                ("kernel sources", response.invalid_kernel_sources),
                ("model sources", response.invalid_model_sources),
                ("tags", response.invalid_tags),
            )
            if items
        ]
        if rejected:
            listing = "; ".join(f"{label}: {', '.join(items)}" for label, items in rejected)
            saved = f" (version {version} was saved without them)" if version else ""
            raise BackendError(
                self._scrub(f"Kaggle did not accept these in the push of {target.name}{saved}: {listing}"),
                hint="check that each exists and is visible to your account (owner/slug[/version]; models "
                "owner/model/framework/variation/version), fix kernel-metadata.json, then push again",
            )

    def _kernel_version(self, ref: KernelRef, *, strict: bool = False) -> int | None:
        """The kernel's current version number; 0 when it does not exist yet; None when we cannot tell (with
        ``strict``, the error that says why instead)."""
        from kagglesdk.kernels.types.kernels_api_service import ApiGetKernelRequest

        request = ApiGetKernelRequest()
        request.user_name = ref.owner
        request.kernel_slug = ref.slug
        try:
            response = self._lookup(
                lambda: self._sdk(lambda c: c.kernels.kernels_api_client.get_kernel(request)),
                f"reading {ref}",
                self._kernel_target(ref),
            )
        except KaggleMagicsError:
            if strict:
                raise
            return None
        if response is None or response.metadata is None:
            return 0
        return int(response.metadata.current_version_number or 0)

    def kernel_status(self, ref: KernelRef) -> KernelStatus:
        from kagglesdk.kernels.types.kernels_api_service import ApiGetKernelSessionStatusRequest

        request = ApiGetKernelSessionStatusRequest()
        request.user_name = ref.owner
        request.kernel_slug = ref.slug
        self._ask_for_version(request, ref)
        response = self._read(
            lambda: self._sdk(lambda c: c.kernels.kernels_api_client.get_kernel_session_status(request)),
            f"the status of {ref}",
            self._kernel_target(ref),
        )
        status = response.status.name if response.status is not None else "QUEUED"
        return KernelStatus(
            ref=str(ref), status=status, failure_message=response.failure_message or None, version=ref.version
        )

    def _ask_for_version(self, request: Any, ref: KernelRef) -> None:
        """Ask ``request`` about ``ref``'s version. The kagglesdk of kaggle < 2.2 (0.1.18 in Kaggle's image)
        has no version field: it answers about the latest version only, which is right when that is the one
        asked for; any other is refused by name rather than answered about the wrong version."""
        if ref.version is None:
            return
        if hasattr(request, "version_label"):
            request.version_label = str(ref.version)
            return
        latest = self._kernel_version(ref)
        if latest != ref.version:
            raise BackendError(
                f"{ref}: this kaggle client (kagglesdk without per-version requests) can only read the latest "
                f"version{f' ({latest})' if latest else ''}",
                hint=f"ask for {ref.id} without a version, or pip install -U 'kaggle>=2.2' to read version "
                f"{ref.version}",
            )

    def _output_page(self, ref: KernelRef, token: str) -> Any:
        from kagglesdk.kernels.types.kernels_api_service import ApiListKernelSessionOutputRequest

        request = ApiListKernelSessionOutputRequest()
        request.user_name = ref.owner
        request.kernel_slug = ref.slug
        request.page_size = OUTPUT_PAGE_SIZE
        if token:
            request.page_token = token
        self._ask_for_version(request, ref)
        return self._read(
            lambda: self._sdk(lambda c: c.kernels.kernels_api_client.list_kernel_session_output(request)),
            f"the output of {ref}",
            self._kernel_target(ref),
        )

    def kernel_log(self, ref: KernelRef) -> list[LogEntry]:
        return parse_log(self._output_page(ref, "").log or "")

    def list_output(self, ref: KernelRef) -> list[OutputFile]:
        files: list[OutputFile] = []
        token = ""
        seen: set[str] = set()
        while True:
            page = self._output_page(ref, token)
            files += [
                OutputFile(name=f.file_name, url=f.url or None) for f in page.files or [] if f.file_name
            ]
            token = page.next_page_token or ""
            if not token:
                return files
            if token in seen:
                raise BackendError(f"Kaggle sent the same output page of {ref} twice (token {token!r})")
            seen.add(token)

    def download_output_file(self, ref: KernelRef, item: OutputFile, target: Path) -> None:
        url = item.url or next((f.url for f in self.list_output(ref) if f.name == item.name), None)
        what_target = _Target("output file", f"{item.name} of {ref}", ref.url)
        if not url:
            raise NotFound(f"{ref} has no output file {item.name!r}", hint=f"list its outputs: {ref.url}")
        target = Path(target)

        def fetch() -> None:
            import requests

            with requests.get(url, stream=True, timeout=(15, 300)) as response:
                response.raise_for_status()
                with open(target, "wb") as out:
                    for chunk in response.iter_content(1 << 20):
                        out.write(chunk)

        self._client()
        self._read(fetch, f"the download of {item.name} from {ref}", what_target)

    # -- competitions ----------------------------------------------------------------------------------------
    def _submissions(self, competition: CompetitionRef) -> list[Any]:
        """Our latest submissions (first page, newest first)."""
        return self._read(
            lambda: self._call(lambda api: api.competition_submissions(competition.slug) or []),
            f"the submissions to {competition}",
            self._competition_target(competition),
        )

    def _new_submission(self, competition: CompetitionRef, before: set[int]) -> Any | None:
        return next((s for s in self._submissions(competition) if s.ref and s.ref not in before), None)

    def _submit(
        self,
        competition: CompetitionRef,
        what: str,
        send: Callable[[Any], Any],
        error_target: _Target,
        description: str = "",
    ) -> Submission:
        """Submit once, checking the submission list before any repeat (a submission is never sent twice)."""
        before = {s.ref for s in self._submissions(competition)}

        def submit() -> tuple[int, str]:
            response = self._call(send)
            return int(response.ref or 0), response.message or ""

        def landed() -> tuple[int, str] | None:
            found = self._new_submission(competition, before)
            return (int(found.ref), found.description or "") if found is not None else None

        (ref, message), recovered = self._write(submit, landed, what, error_target)
        if not ref:  # answered without a ref: look for the submission it made
            found = self._new_submission(competition, before)
            if found is None:
                raise BackendError(
                    self._scrub(
                        f"Kaggle did not take {what}: {_one_line(message) or 'no submission was made'}"
                    ),
                    hint=f"see {competition.url}/submissions",
                )
            ref = int(found.ref)
        notes = ["the connection failed after sending; the submission had been made"] if recovered else []
        left = self._left_or_none(competition)
        if left is None and not self.reads_limits():
            notes.append(LIMITS_UNKNOWN)
        return Submission(
            competition=competition.slug,
            ref=str(ref),
            status="PENDING",
            message=description or None,  # what the user wrote, as the status calls report it (not the reply)
            submissions_left=left,
            url=f"{competition.url}/submissions",
            notes=notes,
        )

    def submit_code(
        self,
        competition: CompetitionRef,
        kernel: KernelRef,
        *,
        file_name: str = "submission.csv",
        message: str = "",
    ) -> Submission:
        self._client()
        version = f" version {kernel.version}" if kernel.version else ""
        # The competition answered the listing, so a 404 from the submission itself is about the kernel.
        target = self._kernel_target(kernel)
        target = _Target(
            target.kind, str(kernel), target.url, self._competition_target(competition).denied_hint
        )
        result = self._submit(
            competition,
            f"the submission of {kernel.id}{version} to {competition}",
            lambda api: api.competition_submit_code(
                file_name, message, competition.slug, kernel.id, kernel.version, quiet=True
            ),
            target,
            message,
        )
        result.kernel = str(kernel)
        return result

    def submit_file(self, competition: CompetitionRef, path: Path, *, message: str = "") -> Submission:
        path = Path(path)
        if not path.is_file():
            raise BackendError(f"{path}: no such file to submit", hint="give the path of the submission file")
        self._client()

        def send(api: Any) -> Any:
            response = api.competition_submit(str(path), message, competition.slug, quiet=True)
            # kaggle 2.0.1 (Kaggle's image) writes the message out instead of naming it
            failed = getattr(api, "COMPETITION_SUBMIT_UPLOAD_FAILED_MESSAGE", "Could not submit to competition")
            if response.message == failed:
                # The client gave up on the upload before submitting: safe to try again.
                raise ConnectionError(f"the upload of {path.name} did not complete")
            return response

        return self._submit(
            competition,
            f"the submission of {path.name} to {competition}",
            send,
            self._competition_target(competition),
            message,
        )

    def submission_status(self, competition: CompetitionRef, ref: str) -> Submission:
        from kagglesdk.competitions.types.competition_api_service import ApiGetSubmissionRequest

        try:
            number = int(ref)
        except ValueError:
            raise BackendError(
                f"{ref!r} is not a submission ref", hint="a submission ref is a number"
            ) from None
        request = ApiGetSubmissionRequest()
        request.ref = number
        s = self._read(
            lambda: self._sdk(lambda c: c.competitions.competition_api_client.get_submission(request)),
            f"the state of submission {ref}",
            _Target("submission", f"{ref} to {competition}", f"{competition.url}/submissions"),
        )
        return Submission(
            competition=competition.slug,
            ref=str(s.ref or number),
            status=s.status.name if s.status is not None else "PENDING",
            public_score=s.public_score or None,
            message=s.description or None,
            error=s.error_description or None,
            url=f"{competition.url}/submissions",
        )

    def reads_limits(self) -> bool:
        """Whether this kaggle client can read a competition's submission limits (kaggle >= 2.2)."""
        return hasattr(self._client(), "competition_get_submission_limits")

    def submissions_left(self, competition: CompetitionRef) -> int | None:
        if not self.reads_limits():
            # kaggle < 2.2 (2.0.1 in Kaggle's image) cannot read the limits: unknown, but the listing of our
            # submissions is still the check that the competition exists and that we may enter it.
            self._submissions(competition)
            return None
        limits = self._read(
            lambda: self._call(lambda api: api.competition_get_submission_limits(competition.slug)),
            f"the submission limits of {competition}",
            self._competition_target(competition),
        )
        return int(limits.num_allowed_now)

    def _left_or_none(self, competition: CompetitionRef) -> int | None:
        try:
            return self.submissions_left(competition)
        except KaggleMagicsError:
            return None

    # -- datasets --------------------------------------------------------------------------------------------
    def _dataset_version(self, ref: DatasetRef) -> int | None:
        """The dataset's current version, or None when it does not exist (or is not visible)."""
        from kagglesdk.datasets.types.dataset_api_service import ApiGetDatasetRequest

        request = ApiGetDatasetRequest()
        request.owner_slug = ref.owner
        request.dataset_slug = ref.slug
        dataset = self._lookup(
            lambda: self._sdk(lambda c: c.datasets.dataset_api_client.get_dataset(request)),
            f"reading dataset {ref.id}",
            self._dataset_target(ref),
        )
        return None if dataset is None else int(dataset.current_version_number or 1)

    def dataset_exists(self, ref: DatasetRef) -> bool:
        return self._dataset_version(ref) is not None

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
            raise BackendError(f"{folder}: not a folder", hint="give the folder whose files make the dataset")
        self._client()
        target = self._dataset_target(ref)
        before = self._dataset_version(ref)
        what = f"a new version of dataset {ref.id}" if before else f"the creation of dataset {ref.id}"
        stage = _stage_dataset(folder, ref, title)

        def upload() -> tuple[Any, int | None]:
            def send(api: Any) -> Any:
                if before is None:
                    return api.dataset_create_new(str(stage), public=public, quiet=True, dir_mode="zip")
                with _one_try(api, _VERSION_WRITES):
                    return api.dataset_create_version(str(stage), message, quiet=True, dir_mode="zip")

            try:
                response = self._call(send)
            except ValueError as exc:
                if str(exc).startswith("Upload unsuccessful"):  # the client gave up on a file's bytes
                    raise _UploadInterrupted(f"the upload of the files of {ref.id} stopped: {exc}") from None
                raise
            if response.error:
                # The client repeats a creation itself after a dropped connection: what exists may be ours.
                mine = landed()
                if mine is not None:
                    return mine
                raise BackendError(
                    self._scrub(f"Kaggle refused {what}: {_one_line(response.error)}"),
                    hint=f"see {ref.url}",
                )
            return response, None

        def landed() -> tuple[Any, int | None] | None:
            now = self._dataset_version(ref)
            return (None, now) if now is not None and now != before else None

        (response, version), recovered = self._write(
            upload,
            landed,
            what,
            target,
            bad_input=lambda exc: MetadataError(  # the client's checks: title and slug lengths, licenses...
                f"dataset {ref.id}: {_one_line(str(exc))}",
                hint="slugs and titles take 6 to 50 characters; pass a title, or put a dataset-metadata.json "
                "in the folder",
            ),
        )
        shutil.rmtree(stage, ignore_errors=True)
        if version is None:
            version = self._dataset_version(ref)
        return DatasetResult(
            ref=ref.id,
            url=(response.url if response is not None and response.url else None) or ref.url,
            version=version,
            status=(response.status if response is not None and response.status else None) or "ok",
            changed=True,
            files=_upload_names(folder),
            notes=["the connection failed after sending; Kaggle had made the version"] if recovered else [],
        )

    # -- models ----------------------------------------------------------------------------------------------
    def _model_version(self, ref: ModelRef) -> int | None:
        """The instance's latest version number, or None when model or instance does not exist yet."""
        instance = self._lookup(  # as kagglehub does, a model we cannot see is one we will create
            lambda: self._call(lambda api: api.model_instance_get(ref.handle)),
            f"reading model {ref.handle}",
            self._model_target(ref),
        )
        return None if instance is None else (int(instance.version_number or 0) or None)

    def model_upload(self, ref: ModelRef, folder: Path, *, notes: str = "") -> ModelResult:
        folder = Path(folder)
        if not folder.exists():
            raise BackendError(f"{folder}: no such folder to upload", hint="give the folder with the weights")
        ref = ref.with_version(None)
        self._client()
        target = self._model_target(ref)
        before = self._model_version(ref)
        what = f"the upload of model {ref.handle}"

        def upload() -> bool:
            try:
                import kagglehub
            except ImportError as exc:
                raise BackendError(
                    f"kagglehub cannot be imported ({exc})", hint="pip install kagglehub"
                ) from None
            try:
                self._call(lambda api: kagglehub.model_upload(ref.handle, str(folder), version_notes=notes))
            except Exception as exc:
                failed = _HUB_UPLOAD_FAILED.match(str(exc))
                if failed and (int(failed[1]) == 429 or int(failed[1]) >= 500):  # a file's bytes did not all go
                    raise _UploadInterrupted(f"the upload of the files of {ref.handle} stopped: {exc}") from None
                raise
            return False

        def landed() -> bool | None:
            now = self._model_version(ref)
            return True if now is not None and now != before else None

        _, recovered = self._write(upload, landed, what, target)
        version = self._model_version(ref)
        if version is None:
            raise BackendError(f"{what} finished but Kaggle shows no version of it", hint=f"see {ref.url}")
        versioned = ref.with_version(version)
        files = (
            sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())
            if folder.is_dir()
            else [folder.name]
        )
        return ModelResult(
            handle=ref.handle,
            version=version,
            model_source=str(versioned),
            input_path=versioned.input_path,
            url=f"{ref.url}/{ref.framework.lower()}/{ref.variation}/{version}",
            files=files,
            notes=["the connection failed after sending; Kaggle had made the version"] if recovered else [],
        )

    # -- writes ----------------------------------------------------------------------------------------------
    def _write(
        self,
        fn: Callable[[], T],
        landed: Callable[[], T | None],
        what: str,
        target: _Target | None,
        bad_input: Callable[[ValueError], KaggleMagicsError] | None = None,
        unsure: tuple[str, str] | None = None,
    ) -> tuple[T, bool]:
        """Run a write; after a failure that may have taken effect, ``landed()`` decides (see retry.write).
        When it cannot tell (it fails, or raises :class:`_MaybeApplied`), the write is not repeated: the error
        is :class:`MaybeApplied`, with ``unsure`` (message, hint) when given.

        ``bad_input`` turns the client's own ValueErrors (checks of the folder it reads) into our error.
        """

        def check() -> T | None:
            try:
                return landed()
            except _MaybeApplied:
                raise
            except KaggleMagicsError:
                raise _MaybeApplied() from None

        try:
            return retries.write(fn, check, self.retry, what)
        except KaggleMagicsError:
            raise
        except ValueError as exc:
            if bad_input is None:
                raise self._error(exc, what, target) from None
            raise bad_input(exc) from None
        except _MaybeApplied:
            raise self._maybe_applied(what, target, unsure) from None
        except Exception as exc:
            raise self._error(exc, what, target) from None

    def _maybe_applied(
        self, what: str, target: _Target | None, unsure: tuple[str, str] | None = None
    ) -> MaybeApplied:
        if unsure is not None:
            return MaybeApplied(*unsure)
        return MaybeApplied(
            f"{what} failed on the way back and may have reached Kaggle; it was not repeated",
            hint=f"check {target.url if target else 'kaggle.com'} before trying again",
        )

    # -- helpers ---------------------------------------------------------------------------------------------
    def describe(self) -> str:
        source = config.credentials_source() or "nowhere: none found"
        environment = os.environ.get("KAGGLE_API_ENVIRONMENT")
        where = f"; endpoint {environment}" if environment and environment != "PROD" else ""
        return f"kaggle (credentials from {source}{where})"


# -- module helpers ------------------------------------------------------------------------------------------
class _UploadInterrupted(ConnectionError):
    """A client gave up sending a file's bytes, before anything was made from them: the write may be tried
    again once :meth:`KaggleBackend._write` has checked that nothing landed."""


# kagglehub's error when a PUT of a file's bytes is answered with an error status (it retries only dropped
# connections itself)
_HUB_UPLOAD_FAILED = re.compile(r"Upload failed with status code (\d+)")

_VERSION_WRITES = frozenset({"create_dataset_version", "create_dataset_version_by_id"})


@contextlib.contextmanager
def _one_try(api: Any, names: frozenset[str]) -> Iterator[None]:
    """The client's own retry (``KaggleApi.with_retry``) left off for the calls named: repeating a version
    creation after a dropped answer makes a second version. We check what landed before trying again instead
    (:meth:`KaggleBackend._write`); the uploads it wraps keep their retries."""
    retrying = api.with_retry

    def with_retry(func: Callable[..., T], *args: Any, **kwargs: Any) -> Callable[..., T]:
        return func if getattr(func, "__name__", "") in names else retrying(func, *args, **kwargs)

    api.with_retry = with_retry
    try:
        yield
    finally:
        del api.with_retry  # the class's method again


def _follow_environment(api: Any) -> None:
    """Make the client honour the environment as it is now.

    ``KaggleApi`` reads ``KAGGLE_API_ENVIRONMENT`` and ``KAGGLE_CONFIG_DIR`` once, when its module is first
    imported; a process that sets them later (a notebook, a test) would otherwise talk to the wrong place.
    """
    args = [a for a in type(api).args if a != "--local"]
    if os.environ.get("KAGGLE_API_ENVIRONMENT") == "LOCALHOST":
        args.append("--local")
    api.args = args
    config_dir = os.environ.get(config.ENV_CONFIG_DIR)
    if config_dir:
        api.config_dir = config_dir
        api.config = os.path.join(config_dir, api.config_file)


def _read_json(path: Path, name: str, hint: str) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise MetadataError(f"{path.parent}: no {name} in this folder", hint=hint) from None
    except (OSError, UnicodeDecodeError, ValueError) as exc:
        raise MetadataError(
            f"{path}: not valid JSON ({_one_line(str(exc), 120)})", hint="fix the file"
        ) from None
    if not isinstance(data, dict):
        raise MetadataError(f"{path}: must hold a JSON object", hint="fix the file")
    return data


def _kernel_ref(meta: dict[str, Any]) -> KernelRef | None:
    text = meta.get("id")
    if not isinstance(text, str) or text.count("/") != 1:
        return None
    owner, slug = text.split("/")
    return KernelRef(owner, slug)


def _quick_save_request(
    api: Any, folder: Path, meta: dict[str, Any], timeout: int | None, accelerator: str | None
):
    """The SaveKernel request ``kernels_push`` would send, as a quick save (a version that does not run).

    kaggle 2.2's ``kernels_push`` has no option for the execution type, so this mirrors how it reads the
    metadata (same defaults, same notebook clean-up) and adds ``kernelExecutionType: QUICK_SAVE``.
    """
    from kagglesdk.kernels.types.kernels_api_service import ApiSaveKernelRequest
    from kagglesdk.kernels.types.kernels_enums import KernelExecutionType

    code_path = api.get_or_default(meta, "code_file", "")
    if not code_path:
        raise ValueError("A source file must be specified in the metadata")
    code_file = folder / code_path
    if not code_file.is_file():
        raise ValueError(f"Source file not found: {code_file}")
    language = api.get_or_default(meta, "language", "")
    kernel_type = api.get_or_default(meta, "kernel_type", "")
    if language not in api.valid_push_language_types:
        raise ValueError(
            f"A valid language must be specified in the metadata: one of {api.valid_push_language_types}"
        )
    if kernel_type not in api.valid_push_kernel_types:
        raise ValueError(
            f"A valid kernel type must be specified in the metadata: one of {api.valid_push_kernel_types}"
        )
    if kernel_type == "notebook" and language == "rmarkdown":
        language = "r"
    text = code_file.read_text(encoding="utf-8")
    if kernel_type == "notebook":
        notebook = json.loads(text)
        for cell in notebook.get("cells", []):
            if cell.get("cell_type") == "code" and "outputs" in cell:
                cell["outputs"] = []
            if isinstance(cell.get("source"), list):
                cell["source"] = "".join(cell["source"])
        text = json.dumps(notebook)
    request = ApiSaveKernelRequest()
    request.id = int(meta["id_no"]) if meta.get("id_no") else None
    request.slug = meta.get("id")
    request.new_title = api.get_or_default(meta, "title", None)
    request.text = text
    request.language = language
    request.kernel_type = kernel_type
    request.is_private = api.get_bool(meta, "is_private", True)
    request.enable_gpu = api.get_bool(meta, "enable_gpu", False)
    request.enable_tpu = api.get_bool(meta, "enable_tpu", False)
    request.enable_internet = api.get_bool(meta, "enable_internet", True)
    request.dataset_data_sources = list(api.get_or_default(meta, "dataset_sources", []))
    request.competition_data_sources = list(api.get_or_default(meta, "competition_sources", []))
    request.kernel_data_sources = list(api.get_or_default(meta, "kernel_sources", []))
    request.model_data_sources = list(api.get_or_default(meta, "model_sources", []))
    request.category_ids = list(api.get_or_default(meta, "keywords", []))
    request.docker_image_pinning_type = api.get_or_default(meta, "docker_image_pinning_type", None)
    request.docker_image = api.get_or_default(meta, "docker_image", None)
    if timeout:
        request.session_timeout_seconds = int(timeout)
    request.machine_shape = accelerator or api.get_or_default(meta, "machine_shape", None)
    request.kernel_execution_type = KernelExecutionType.QUICK_SAVE
    return request


def _stage_dataset(folder: Path, ref: DatasetRef, title: str | None) -> Path:
    """A folder the client can upload: links to the user's files plus a dataset-metadata.json.

    The client needs the metadata file inside the folder it uploads; the user's folder is never written to.
    The path is the same for every upload of ``ref``, so the client can resume an interrupted upload.
    """
    stage = Path(tempfile.gettempdir()) / "kaggle-magics" / "dataset-upload" / f"{ref.owner}__{ref.slug}"
    shutil.rmtree(stage, ignore_errors=True)
    stage.mkdir(parents=True)
    own = folder / "dataset-metadata.json"
    meta = _read_json(own, "dataset-metadata.json", "") if own.is_file() else {}
    meta["id"] = ref.id
    if title or not meta.get("title"):
        meta["title"] = title or ref.slug.replace("-", " ").replace("_", " ").title()
    meta.setdefault("licenses", [{"name": DEFAULT_LICENSE}])
    (stage / "dataset-metadata.json").write_text(json.dumps(meta, indent=1), encoding="utf-8")
    for entry in sorted(folder.iterdir()):
        if entry.name in _CLIENT_SKIPS:
            continue
        link = stage / entry.name
        try:
            link.symlink_to(entry.resolve(), target_is_directory=entry.is_dir())
        except OSError:  # no symlinks here (Windows without the privilege): copy
            if entry.is_dir():
                shutil.copytree(entry, link, symlinks=True)
            else:
                shutil.copy2(entry, link)
    return stage


def _upload_names(folder: Path) -> list[str]:
    """The names the dataset gets: files as they are, subfolders as ``NAME.zip`` (``-r zip``)."""
    names = []
    for entry in sorted(folder.iterdir()):
        if entry.name in _CLIENT_SKIPS or entry.name in _IGNORED_DIRS:
            continue
        names.append(f"{entry.name}.zip" if entry.is_dir() else entry.name)
    return names


def parse_log(text: str) -> list[LogEntry]:
    """Kaggle's log, ``[{"stream_name", "time", "data"}, ...]`` as JSON text, parsed.

    A log read while the run is going on can be cut off mid-array; what parses is kept, and text that is not
    JSON at all becomes one entry per line.
    """
    text = (text or "").strip()
    if not text:
        return []
    try:
        items = json.loads(text)
    except ValueError:
        items = _salvage_log(text)
    if isinstance(items, dict):
        items = [items]
    entries = []
    for item in items if isinstance(items, list) else []:
        if isinstance(item, dict):
            entries.append(
                LogEntry(
                    stream=str(item.get("stream_name") or "stdout"),
                    time=_seconds(item.get("time")),
                    data=str(item.get("data") or ""),
                )
            )
        elif isinstance(item, str):
            entries.append(LogEntry("stdout", 0.0, item))
    return entries


def _salvage_log(text: str) -> list[Any]:
    body = text.rstrip().rstrip(",")
    try:
        return list(json.loads(body + "]"))
    except ValueError:
        pass
    items: list[Any] = []
    for line in text.splitlines():
        piece = line.strip().lstrip("[").rstrip("]").strip().strip(",").strip()
        if not piece:
            continue
        try:
            items.append(json.loads(piece))
        except ValueError:
            items.append(line + "\n")
    return items


def _seconds(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0
