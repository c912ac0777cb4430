"""Fixtures for the workflow tests (status, outputs, submit, datasets, models) on the local backend: one real
kernel run shared by the whole session, started once and followed by the tests that need it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from kaggle_magics.handles import CompetitionRef, KernelRef
from tests.fixtures_local import isolated_environ, make_kernel
from tests.requires import require

WORKFLOW_RUN = KernelRef.parse("me/workflow-run")
TOY_COMP = CompetitionRef("workflow-comp")
OUTPUT_COUNT = 25  # files under out/, beside submission.csv
SLEEP = 1.5  # seconds the run sleeps, so its runtime has a floor to check

RUN_CELLS: list[str | tuple[str, str]] = [
    "print('starting', flush=True)",
    f"import time\ntime.sleep({SLEEP})",
    "import os\nos.makedirs('out', exist_ok=True)\n"
    f"for i in range({OUTPUT_COUNT}):\n"
    "    open(f'out/part-{i:02d}.txt', 'w').write(str(i * i))\n"
    "open('submission.csv', 'w').write('id,target\\n1,0.5\\n2,0.25\\n')\n"
    "print('done', flush=True)",
]


@pytest.fixture(autouse=True)
def upload_state_dir(isolated_env: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Uploads remember what they sent under the user's cache dir: each test keeps its own memory."""
    folder = isolated_env / "upload-state"
    monkeypatch.setenv("KAGGLE_MAGICS_STATE_DIR", str(folder))
    return folder


@dataclass
class LocalWorld:
    """A LocalBackend with a competition registered and one kernel pushed (running in the background)."""

    backend: object  # LocalBackend, imported lazily
    store: Path
    root: Path


@pytest.fixture(scope="session")
def local_world(tmp_path_factory: pytest.TempPathFactory, image_caches: Path) -> Iterator[LocalWorld]:

    require("bwrap")
    from kaggle_magics.local.admin import add_competition
    from kaggle_magics.local.backend import LocalBackend

    root = tmp_path_factory.mktemp("workflow-world")
    store = root / "store"
    with isolated_environ(store, root / "tmp", image_caches):
        backend = LocalBackend(store)
        data = root / "comp-data"
        data.mkdir()
        (data / "train.csv").write_text("id,x\n1,10\n2,20\n")
        (data / "sample_submission.csv").write_text("id,target\n1,0\n2,0\n")
        add_competition(TOY_COMP.slug, data, store, daily_limit=3)
        backend.push_kernel(make_kernel(root / "kernel", WORKFLOW_RUN.id, RUN_CELLS))
        yield LocalWorld(backend, store, root)
