"""The one interface every backend implements.

``kaggle`` talks to kaggle.com through the official clients; ``local`` is the embedded Kaggle that stores and
runs kernels on this machine. Workflow functions only ever see this interface.
"""

from __future__ import annotations

import abc
from pathlib import Path

from ..handles import CompetitionRef, DatasetRef, KernelRef, ModelRef
from ..results import (
    DatasetResult,
    KernelStatus,
    LogEntry,
    ModelResult,
    OutputFile,
    PushResult,
    Submission,
)


class Backend(abc.ABC):
    """Kaggle as the workflows see it. Methods raise :mod:`kaggle_magics.errors` types, never raw HTTP errors."""

    name: str = "?"

    # -- kernels -----------------------------------------------------------------------------------------
    @abc.abstractmethod
    def push_kernel(
        self,
        folder: Path,
        *,
        timeout: int | None = None,
        accelerator: str | None = None,
        no_run: bool = False,
        input_layout: str | None = None,
    ) -> PushResult:
        """Push the kernel folder (kernel-metadata.json + its code file), as ``kaggle kernels push -p`` does.

        ``timeout`` is the session timeout in seconds; ``accelerator`` overrides machine_shape; ``no_run`` is a
        quick save (a new version that does not run); ``input_layout`` is where a local run mounts the inputs
        (``nested`` or ``flat``; kaggle.com mounts them its own way and ignores it).
        """

    @abc.abstractmethod
    def kernel_status(self, ref: KernelRef) -> KernelStatus:
        """The latest (or ``ref.version``'s) run state and failure message. Fields beyond those may be empty."""

    @abc.abstractmethod
    def kernel_log(self, ref: KernelRef) -> list[LogEntry]:
        """The run's log, parsed (Kaggle's log is JSON text of ``[{stream_name, time, data}]``)."""

    @abc.abstractmethod
    def list_output(self, ref: KernelRef) -> list[OutputFile]:
        """Every output file of the run, across all pages."""

    @abc.abstractmethod
    def download_output_file(self, ref: KernelRef, item: OutputFile, target: Path) -> None:
        """Write one output file's bytes to ``target`` (the caller owns temp paths and renames)."""

    # -- competitions ------------------------------------------------------------------------------------
    @abc.abstractmethod
    def submit_code(
        self,
        competition: CompetitionRef,
        kernel: KernelRef,
        *,
        file_name: str = "submission.csv",
        message: str = "",
    ) -> Submission:
        """A code-competition submission of ``kernel`` (at ``kernel.version`` or the latest)."""

    @abc.abstractmethod
    def submit_file(self, competition: CompetitionRef, path: Path, *, message: str = "") -> Submission:
        """A file-competition submission."""

    @abc.abstractmethod
    def submission_status(self, competition: CompetitionRef, ref: str) -> Submission:
        """A submission's state and score."""

    @abc.abstractmethod
    def submissions_left(self, competition: CompetitionRef) -> int | None:
        """How many submissions are allowed now (None when unknown)."""

    # -- datasets and models -----------------------------------------------------------------------------
    @abc.abstractmethod
    def dataset_exists(self, ref: DatasetRef) -> bool:
        """Whether the dataset exists and is visible to us."""

    @abc.abstractmethod
    def dataset_upload(
        self, folder: Path, ref: DatasetRef, *, message: str = "", title: str | None = None, public: bool = False
    ) -> DatasetResult:
        """Create the dataset from ``folder`` or add a version to it. ``folder`` is already prepared (no names
        Kaggle unpacks); subfolders are zipped as ``datasets version -r zip`` does."""

    @abc.abstractmethod
    def model_upload(self, ref: ModelRef, folder: Path, *, notes: str = "") -> ModelResult:
        """Upload ``folder`` as a new version of the model instance ``ref`` (creating model/instance if needed)."""

    # -- helpers -----------------------------------------------------------------------------------------
    def kernel_hint(self, ref: KernelRef) -> str:
        """What to check when ``ref`` is not found here."""
        return (
            f"check the owner and slug (the notebook's URL: {ref.url}); "
            "a private kernel needs its owner's credentials"
        )

    def competition_hint(self, competition: CompetitionRef) -> str:
        """What to check when ``competition`` is not found here."""
        return f"check the slug in the competition's URL ({competition.url}); join it on Kaggle if you have not"

    def describe(self) -> str:
        """One line saying which backend this is and where it points."""
        return self.name

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.describe()}>"
