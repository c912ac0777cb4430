"""The local Kaggle's competitions: submissions, the daily limit, and the scorer's check of a submission file
against the competition's ``sample_submission.csv`` (:mod:`.scorer`; a part of
:class:`~kaggle_magics.local.backend.LocalBackend`)."""

from __future__ import annotations

import shutil
import time
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import BackendError, NotFound
from ..handles import CompetitionRef, KernelRef
from ..results import Submission
from . import runs, scorer, store
from .store import Store

DAILY_SUBMISSIONS = 5
INTERNET_REFUSED = (
    "Your Notebook cannot use internet access in this competition. Please disable internet in the Notebook "
    "editor and save a new version."
)


def _now() -> float:
    return time.time()


class Competitions:
    """Competitions and submissions of the local store (mixed into the local backend)."""

    store: Store
    if TYPE_CHECKING:

        def run_dir(self, ref: KernelRef) -> tuple[int, Path]: ...

        def _run_dir(self, ref: KernelRef, version: int) -> Path: ...

    # -- competitions --------------------------------------------------------------------------------------
    def _competition(self, comp: CompetitionRef) -> dict[str, Any]:
        folder = self.store.competition_dir(comp.slug)
        if not folder.is_dir():
            raise NotFound(
                f"competition {comp.slug!r} not found in the local store (it is not registered)",
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
        state = runs.read_status(run_dir)
        if state["status"] in runs.DONE and state["status"] != "COMPLETE":
            raise BackendError(
                f"{kernel.id}/{version} cannot be submitted: its run ended in {state['status']} "
                f"({state.get('failure_message')})",
                hint="fix the notebook and push it again",
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
                state = runs.read_status(run_dir)
                if state["status"] == "COMPLETE":
                    file = run_dir / "output" / record["file_name"]
                elif state["status"] in runs.DONE:
                    kind = "Timeout" if state.get("timed_out") else "Notebook Threw Exception"
                    status, error = "ERROR", f"{kind}: {state.get('failure_message')}"
            else:
                file = Path(record["file"])
            if file is not None and error is None:
                verdict = scorer.check(file, scorer.sample_submission(self._competition_data(comp)))
                status, error = ("COMPLETE", None) if verdict.ok else ("ERROR", verdict.text)
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
            url=(self._submissions_dir(comp) / f"{record['ref']}.json").resolve().as_uri(),  # not kaggle.com's
        )
