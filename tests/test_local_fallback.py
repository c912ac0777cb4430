"""Runs where no /kaggle can be laid out: ``unshare`` on a machine where its view cannot be built still cuts
the network for real, ``none`` (no namespaces at all) cannot and says so; in both, inputs and output are found
through $KAGGLE_MAGICS_INPUT_ROOT and $KAGGLE_MAGICS_WORKING_DIR, in the same layout."""

from __future__ import annotations

from pathlib import Path

import pytest

from kaggle_magics.handles import DatasetRef
from kaggle_magics.local import sandbox
from kaggle_magics.local.backend import LocalBackend
from kaggle_magics.local.rehearse import rehearse
from tests.fixtures_local import LoopbackServer, make_notebook


def _notebook(tmp_path: Path, port: int) -> Path:
    path = tmp_path / "fallback.ipynb"
    path.write_text(
        make_notebook(
            [
                "import os, socket\n"
                "root = os.environ['KAGGLE_MAGICS_INPUT_ROOT']\n"
                "work = os.environ['KAGGLE_MAGICS_WORKING_DIR']\n"
                "print('kaggle exists', os.path.exists('/kaggle/input'), os.getcwd() == work)\n"
                "print('numbers', open(f'{root}/datasets/me/toy-data/numbers.txt').read().split())\n"
                "open('result.txt', 'w').write('ok')",
                "try:\n"
                f"    socket.create_connection(('127.0.0.1', {port}), timeout=3).close()\n"
                "    print('network reached the host')\n"
                "except OSError as exc:\n"
                "    print('network', type(exc).__name__)",
            ]
        )
    )
    return path


@pytest.fixture
def server() -> LoopbackServer:
    server = LoopbackServer()
    yield server
    server.close()


@pytest.fixture
def store(tmp_path: Path, isolated_env: Path) -> Path:
    data = tmp_path / "data"
    data.mkdir()
    (data / "numbers.txt").write_text("3\n4\n")
    backend = LocalBackend()
    backend.dataset_upload(data, DatasetRef.parse("me/toy-data"))
    return backend.store.root


@pytest.mark.requires("unshare")
def test_unshare_without_its_view_still_cuts_the_network(
    tmp_path: Path, store: Path, server: LoopbackServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Where the namespaces work but the view cannot be built (a pivot_root refused, say), the run goes on
    with the variables and the network cut, and says why."""
    monkeypatch.setattr(sandbox, "unshare_view_problem", lambda: "pivot_root to /: Operation not permitted")
    result = rehearse(
        _notebook(tmp_path, server.port), store=store, dataset_sources=["me/toy-data"], sandbox_mode="unshare"
    )
    assert result.ok, result.failure_message
    log = result.log.read_text()
    assert "kaggle exists False True" in log and "numbers ['3', '4']" in log
    assert "network ConnectionRefusedError" in log and server.received == []
    assert (result.output_dir / "result.txt").read_text() == "ok"
    assert result.sandbox == "unshare"
    assert "the unshare sandbox could not build /kaggle here (pivot_root to /: Operation not permitted)" in result.notes
    assert any("no /kaggle paths in this run" in note for note in result.notes)


def test_without_namespaces_the_run_warns_that_the_network_is_on(
    tmp_path: Path, store: Path, server: LoopbackServer
) -> None:
    result = rehearse(
        _notebook(tmp_path, server.port), store=store, dataset_sources=["me/toy-data"], sandbox_mode="none"
    )
    assert result.ok, result.failure_message
    log = result.log.read_text()
    assert "network reached the host" in log and server.received, "a run without namespaces reaches the host"
    warning = next(note for note in result.notes if note.startswith("WARNING"))
    assert "the network is NOT cut" in warning and "[kaggle-magics] WARNING" in log
    assert "numbers ['3', '4']" in log


def test_a_machine_without_namespaces_gets_the_variables_in_one_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With neither bwrap nor unshare (macOS, a locked-down container), auto picks ``none`` and the run's
    notes say in one line what it lacks."""
    empty = tmp_path / "bin"
    empty.mkdir()
    monkeypatch.setenv("PATH", str(empty))
    sandbox.probe.cache_clear()
    try:
        assert sandbox.choose_mode() == "none"
        layout = sandbox.Layout(inputs={}, working=tmp_path / "out", scratch=tmp_path / "scratch")
        box = sandbox.build(layout)
    finally:
        sandbox.probe.cache_clear()
    assert box.mode == "none" and not box.network_cut and not box.kaggle_paths
    (warning,) = [note for note in box.notes if note.startswith("WARNING")]
    assert "no network namespace is possible here (allow unprivileged user namespaces" in warning
    assert "\n" not in warning
