"""``kaggle-magics demo`` end to end on the local Kaggle: a deps kernel freezes locally built wheels (no PyPI)
from an attached wheelhouse, a submission kernel with internet off installs them offline from its output and
writes submission.csv, and the local competition accepts it. The same with PyPI is a ``network`` test."""

from __future__ import annotations

import importlib.util
import json
import shutil
from pathlib import Path

import pytest

from kaggle_magics.demo import COMPETITION, DEPS, SUBMISSION, _competition_files, _step, _submission_code, demo
from kaggle_magics.handles import DatasetRef
from kaggle_magics.local.admin import add_competition
from kaggle_magics.local.backend import LocalBackend
from kaggle_magics.local.rehearse import rehearse
from kaggle_magics.results import KernelStatus
from tests import wheelhouse
from tests.fixtures_local import make_wheel

needs_bwrap = pytest.mark.requires("bwrap")

EXPECTED = "id,y\n" + "".join(f"{i},{2 * i + 1:.1f}\n" for i in range(21, 31))  # y = 2x + 1, learnt


def _wheelhouse_dataset(tmp_path: Path) -> Path:
    """An attached wheelhouse: the test packages, and kaggle-magics's requirements at the image's versions
    (what `pip install kaggle-magics` in the deps kernel needs, with no index)."""
    wheels = tmp_path / "wheelhouse"
    for path in wheelhouse.folder().glob("*.whl"):
        (wheels / path.name).parent.mkdir(exist_ok=True)
        shutil.copyfile(path, wheels / path.name)
    make_wheel(wheels, "tinydep", "1.0")
    make_wheel(wheels, "tinyapp", "2.0", requires=("tinydep>=1",))
    LocalBackend().dataset_upload(wheels, DatasetRef.parse("me/wheelhouse"))
    return wheels


@needs_bwrap
@pytest.mark.requires("image-wheelhouse")
def test_demo_with_local_wheels(tmp_path: Path, isolated_env: Path) -> None:
    _wheelhouse_dataset(tmp_path)
    backend = LocalBackend()
    lines: list[str] = []
    result = demo(requirements=["tinyapp"], find_links=["/kaggle/input/datasets/me/wheelhouse"], no_index=True,
                  datasets=["me/wheelhouse"], echo=lines.append, timeout=300)  # fmt: skip
    assert result.ok and result.exit_code == 0, (result.failure_message, result.log_tail)
    assert [step.status for step in result.steps] == ["READY", "COMPLETE", "COMPLETE", "COMPLETE"]
    assert all(step.seconds and step.seconds > 0 for step in result.steps[1:3])
    assert result.total_seconds and result.total_seconds < 180
    assert result.submission_csv is not None and result.submission_csv.read_text() == EXPECTED
    assert any(line.startswith("[4/4] code submission") for line in lines)
    text = str(result)
    assert str(result.submission_csv) in text
    assert "deps kernel run" not in text, "the steps were echoed as they ended: the text does not repeat them"
    assert "limits of the CPU machine: 30 GB of memory" in text, "the run's notes say how it differs from Kaggle"
    assert sum("deps kernel run" in line for line in lines) == 1 and "deps kernel run" in result._repr_html_()

    # The deps kernel's output is the bundle, with the whole closure.
    _, deps_run = backend.run_dir(DEPS)
    bundle = deps_run / "output" / "kaggle_deps"
    assert {p.name for p in bundle.glob("tiny*.whl")} == {
        "tinyapp-2.0-py3-none-any.whl",
        "tinydep-1.0-py3-none-any.whl",
    }

    # The submission ran with internet off, attached the deps kernel, and installed into its own environment.
    _, sub_run = backend.run_dir(SUBMISSION)
    push = json.loads((sub_run.parent / "push.json").read_text())
    assert push["internet"] is False
    sources = {"kernels": [f"{DEPS.id}/1"], "datasets": [], "competitions": [COMPETITION.slug], "models": []}
    assert push["sources"] == sources
    status = backend.kernel_status(SUBMISSION)
    assert status.notes[0] == "network cut (bwrap network namespace): nothing outside the run answers"
    assert status.submission == "submission.csv: 10 rows, columns id, y, id as in the sample (as sample_submission.csv)"
    log = "".join(entry.data for entry in backend.kernel_log(SUBMISSION))
    assert f"tinyapp 2.0 installed offline at {sub_run}/scratch/venv/" in log
    assert importlib.util.find_spec("tinyapp") is None and importlib.util.find_spec("tinydep") is None

    again = demo(requirements=["tinyapp"], find_links=["/kaggle/input/datasets/me/wheelhouse"], no_index=True,
                 datasets=["me/wheelhouse"], timeout=300)  # fmt: skip
    assert again.ok and [s.ref for s in again.steps[1:3]] == [f"{DEPS.id}/2", f"{SUBMISSION.id}/2"]


@needs_bwrap
@pytest.mark.requires("image-wheelhouse")
def test_demo_stops_at_a_failed_deps_run(tmp_path: Path, isolated_env: Path) -> None:
    _wheelhouse_dataset(tmp_path)
    result = demo(
        requirements=["no-such-package-anywhere"],
        find_links=["/kaggle/input/datasets/me/wheelhouse"],
        no_index=True,
        datasets=["me/wheelhouse"],
        timeout=300,
    )
    assert not result.ok and result.exit_code == 1
    assert [step.status for step in result.steps] == ["READY", "ERROR"]
    assert result.failure_message and result.failure_message.startswith(f"{DEPS.id}/1: ERROR: ")
    assert "no-such-package-anywhere" in result.failure_message  # the freeze failed, not the install before it
    assert result.log_tail and result.submission_csv is None


@pytest.mark.requires("unshare-view")
def test_demo_submission_works_without_bubblewrap(tmp_path: Path, isolated_env: Path) -> None:
    """Without bwrap, util-linux unshare lays out /kaggle the same way."""
    add_competition(COMPETITION.slug, _competition_files(tmp_path / "data"))
    script = tmp_path / "predict.py"
    script.write_text(_submission_code([]))
    result = rehearse(script, competition_sources=[COMPETITION.slug], sandbox_mode="unshare", timeout=120)
    assert result.ok, (result.failure_message, result.log and result.log.read_text()[-2000:])
    assert result.sandbox == "unshare" and result.output_files == ["submission.csv"]
    assert result.submission_ok, result.submission
    assert (result.output_dir / "submission.csv").read_text() == EXPECTED


def test_demo_never_claims_a_cut_network_it_did_not_have() -> None:
    warned = KernelStatus(
        ref=SUBMISSION.id, status="COMPLETE", runtime_seconds=1.0,
        notes=["WARNING: internet is off in the metadata but the network is NOT cut in this run: ..."],
    )  # fmt: skip
    assert "NOT cut" in (_step("submission kernel run", SUBMISSION, 1, warned).detail or "")
    cut = KernelStatus(ref=SUBMISSION.id, status="COMPLETE", runtime_seconds=1.0, notes=["network cut (bwrap)"])
    assert _step("submission kernel run", SUBMISSION, 1, cut).detail == "internet off, bundle installed offline"


def test_the_demos_packages_are_not_in_kaggles_image() -> None:
    """What Kaggle's image has, a freeze leaves out and the image twin provides: the demo's bundle would hold
    nothing, and its submission would import them from the image, not from the bundle it installed offline."""
    from kaggle_magics.bundle import shipped_base
    from kaggle_magics.demo import DEMO_REQUIREMENTS

    image = shipped_base()
    assert len(image.packages) > 500
    assert [name for name in DEMO_REQUIREMENTS if image.version_of(name) is not None] == []


@pytest.mark.network
def test_demo_from_pypi(isolated_env: Path) -> None:
    result = demo(timeout=600)
    assert result.ok, (result.failure_message, result.log_tail)
    assert result.submission_csv is not None and result.submission_csv.read_text() == EXPECTED
