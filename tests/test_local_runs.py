"""The local Kaggle end to end, with real Jupyter kernels in the real sandbox.

One module-scoped "world" pushes every kernel at once (kernels start in ~1 s each, and run in parallel):
a first kernel that reads a dataset, a competition and a model at their literal /kaggle/input paths (today's
nested layout), writes
/kaggle/working/submission.csv, finds the network cut and /kaggle/input read-only, and pip-installs a wheel;
a second kernel (internet on) that attaches the first one's output; and kernels that time out, raise, get
killed, or lose their runner.
"""

from __future__ import annotations

import _thread
import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from kaggle_magics.errors import BackendError
from kaggle_magics.handles import CompetitionRef, DatasetRef, KernelRef, ModelRef
from kaggle_magics.local import runs
from kaggle_magics.local.admin import add_competition
from kaggle_magics.local.backend import LocalBackend
from kaggle_magics.local.rehearse import rehearse
from kaggle_magics.local.runs import CellTiming
from kaggle_magics.results import KernelStatus, PushResult
from tests.fixtures_local import (
    SECRET,
    LoopbackServer,
    isolated_environ,
    make_kernel,
    make_notebook,
    make_wheel,
    processes_mentioning,
)
from tests.requires import require

pytestmark = pytest.mark.requires("bwrap")

FIRST = KernelRef.parse("me/first-kernel")
SECOND = KernelRef.parse("me/second-kernel")
TIMEOUT = KernelRef.parse("me/timeout-kernel")
RAISES = KernelRef.parse("me/raising-kernel")
KILLED = KernelRef.parse("me/killed-kernel")
ORPHAN = KernelRef.parse("me/orphaned-kernel")
CANCELLED = KernelRef.parse("me/cancelled-kernel")
COMP = CompetitionRef("toy-comp")
SESSION_TIMEOUT = 15


def first_kernel_cells(port: int) -> list[str | tuple[str, str]]:
    return [
        "import os, socket, sys\n"
        "assert os.environ['KAGGLE_KERNEL_RUN_TYPE'] == 'Batch'\n"
        f"assert 'KAGGLE_KEY' not in os.environ and {SECRET!r} not in repr(dict(os.environ))\n"
        "print('cwd', os.getcwd())",
        ("markdown", "## inputs at their literal paths"),
        "numbers = [int(x) for x in open('/kaggle/input/datasets/me/toy-data/numbers.txt').read().split()]\n"
        "train = open('/kaggle/input/competitions/toy-comp/train.csv').read().splitlines()\n"
        "weight = float(open('/kaggle/input/models/me/toy-model/pytorch/v1/1/weights.txt').read())\n"
        "print('inputs', sorted(os.listdir('/kaggle/input')), sum(numbers), len(train), weight)",
        "with open('/kaggle/working/submission.csv', 'w') as f:\n"
        "    f.write('id,target\\n1,%d\\n2,%d\\n' % (sum(numbers), weight * 2))",
        "results = {}\n"
        f"for target in [('127.0.0.1', {port}), ('1.1.1.1', 53)]:\n"
        "    try:\n"
        "        socket.create_connection(target, timeout=3).close()\n"
        "        results[target[0]] = 'connected'\n"
        "    except OSError as exc:\n"
        "        results[target[0]] = type(exc).__name__\n"
        "print('network', results)\n"
        "assert 'connected' not in results.values(), results",
        "try:\n"
        "    open('/kaggle/input/datasets/me/toy-data/new.txt', 'w')\n"
        "except OSError as exc:\n"
        "    print('read-only', type(exc).__name__)\n"
        "else:\n"
        "    raise AssertionError('/kaggle/input is writable')",
        "%pip install --no-index --no-deps --quiet /kaggle/input/datasets/me/toy-data/tinypkg-0.1-py3-none-any.whl",
        "import tinypkg\n"
        "assert tinypkg.VALUE == 42, tinypkg.VALUE\n"
        "assert tinypkg.__file__.startswith(sys.prefix), (tinypkg.__file__, sys.prefix)\n"
        "print('installed', tinypkg.__file__)",
    ]


def second_kernel_cells(port: int) -> list[str | tuple[str, str]]:
    return [
        "import socket\n"
        "rows = open('/kaggle/input/notebooks/me/first-kernel/submission.csv').read().splitlines()\n"
        "print('attached', rows)\n"
        f"with socket.create_connection(('127.0.0.1', {port}), timeout=5) as s:\n"
        "    s.sendall(b'second-kernel')\n"
        "    print('server said', s.recv(10).decode().strip())\n"
        "open('copied.csv', 'w').write('\\n'.join(rows) + '\\n')",
    ]


@dataclass
class World:
    backend: LocalBackend
    store: Path
    root: Path
    server: LoopbackServer
    pushes: dict[str, PushResult] = field(default_factory=dict)
    status: dict[str, KernelStatus] = field(default_factory=dict)
    push_seconds: float = 0.0
    first_round_trip: float = 0.0


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory, image_caches: Path) -> World:
    root = tmp_path_factory.mktemp("local-world")
    store = root / "store"
    server = LoopbackServer()
    with isolated_environ(store, root / "tmp", image_caches):
        backend = LocalBackend(store)
        comp = root / "comp"
        comp.mkdir()
        (comp / "train.csv").write_text("id,x\n1,10\n2,20\n")
        (comp / "sample_submission.csv").write_text("id,target\n1,0\n2,0\n")
        add_competition(COMP.slug, comp, store)
        data = root / "ds"
        data.mkdir()
        (data / "numbers.txt").write_text("3\n4\n")
        make_wheel(data)
        backend.dataset_upload(data, DatasetRef.parse("me/toy-data"), title="Toy data")
        model = root / "model"
        model.mkdir()
        (model / "weights.txt").write_text("0.5\n")
        backend.model_upload(ModelRef.parse("me/toy-model/pyTorch/v1"), model)

        world = World(backend, store, root, server)
        folders = {
            FIRST: make_kernel(
                root / "k1",
                FIRST.id,
                first_kernel_cells(server.port),
                dataset_sources=["me/toy-data"],
                competition_sources=[COMP.slug],
                model_sources=["me/toy-model/pyTorch/v1/1"],
            ),
            TIMEOUT: make_kernel(
                root / "k2", TIMEOUT.id, ["print('start', flush=True)", "import time\ntime.sleep(120)"]
            ),
            RAISES: make_kernel(
                root / "k3",
                RAISES.id,
                ["x = 1", ("markdown", "# then"), "raise ValueError('boom in cell three')", "print('never')"],
            ),
            KILLED: make_kernel(
                root / "k4", KILLED.id, ["import os, signal\nos.kill(os.getpid(), signal.SIGKILL)"]
            ),
            ORPHAN: make_kernel(root / "k5", ORPHAN.id, ["import time\ntime.sleep(120)"]),
            CANCELLED: make_kernel(root / "k7", CANCELLED.id, ["import time\ntime.sleep(120)"]),
        }
        # The timeout leaves room for a slow kernel start on a busy 2-core machine: the run must reach its
        # second cell before the timeout, so that the message can name it.
        world.pushes[TIMEOUT.id] = backend.push_kernel(folders[TIMEOUT], timeout=SESSION_TIMEOUT)
        started = time.monotonic()
        world.pushes[FIRST.id] = backend.push_kernel(folders[FIRST])
        world.push_seconds = time.monotonic() - started
        for ref in (RAISES, KILLED, ORPHAN, CANCELLED):
            world.pushes[ref.id] = backend.push_kernel(folders[ref])

        # Once their cell runs, the orphan's runner is killed (the next status read must notice) and the
        # cancelled one's is asked to stop (it must stop the run and say so).
        for ref, signum in ((ORPHAN, signal.SIGKILL), (CANCELLED, signal.SIGTERM)):
            _, run_dir = backend.run_dir(ref)
            deadline = time.monotonic() + 90
            while b"cell_start" not in _read(run_dir / "events.jsonl") and time.monotonic() < deadline:
                time.sleep(0.1)
            os.kill(json.loads((run_dir / "status.json").read_text())["runner_pid"], signum)

        world.status[FIRST.id] = backend.wait(FIRST, timeout=120)
        world.first_round_trip = time.monotonic() - started
        folders[SECOND] = make_kernel(
            root / "k6",
            SECOND.id,
            second_kernel_cells(server.port),
            kernel_sources=[FIRST.id],
            enable_internet=True,
        )
        world.pushes[SECOND.id] = backend.push_kernel(folders[SECOND])
        for ref in (SECOND, TIMEOUT, RAISES, KILLED, ORPHAN, CANCELLED):
            world.status[ref.id] = backend.wait(ref, timeout=120)
        yield world
    server.close()


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        return b""


def _log_text(backend: LocalBackend, ref: KernelRef) -> str:
    return "".join(entry.data for entry in backend.kernel_log(ref))


def test_push_runs_in_the_background_to_complete(world: World) -> None:
    push = world.pushes[FIRST.id]
    assert (push.ref, push.version, push.backend) == (FIRST.id, 1, "local")
    assert world.push_seconds < 5, "the push returns at once; the run goes on in the background"
    status = world.status[FIRST.id]
    assert status.status == "COMPLETE", (status.failure_message, _log_text(world.backend, FIRST))
    assert status.version == 1 and status.runtime_seconds and 0 < status.runtime_seconds < 60
    print(f"push to COMPLETE: {world.first_round_trip:.1f} s, run {status.runtime_seconds:.1f} s")


def test_inputs_at_kaggle_paths_and_submission_written(world: World, tmp_path: Path) -> None:
    log = _log_text(world.backend, FIRST)
    assert "cwd /kaggle/working" in log
    assert "inputs ['competitions', 'datasets', 'models'] 7 3 0.5" in log
    assert "read-only OSError" in log
    outputs = {item.name: item for item in world.backend.list_output(FIRST)}
    assert set(outputs) == {"submission.csv"}
    world.backend.download_output_file(FIRST, outputs["submission.csv"], tmp_path / "sub.csv")
    assert (tmp_path / "sub.csv").read_text() == "id,target\n1,7\n2,1\n"


def test_log_is_kaggles_format_with_cell_times(world: World) -> None:
    _, run_dir = world.backend.run_dir(FIRST)
    raw = json.loads((run_dir / "log.json").read_text())
    assert raw and all(set(item) == {"stream_name", "time", "data"} for item in raw)
    times = [item["time"] for item in raw]
    assert times == sorted(times) and times[-1] <= world.status[FIRST.id].runtime_seconds
    result = runs.load_result(run_dir, FIRST.id)
    assert [cell.number for cell in result.cells] == [1, 2, 3, 4, 5, 6, 7]
    assert [cell.index for cell in result.cells] == [0, 2, 3, 4, 5, 6, 7]  # the markdown cell is skipped
    assert all(cell.status == "ok" and cell.seconds >= 0 for cell in result.cells)
    assert result.kernel_start_seconds and result.kernel_start_seconds < 30
    assert sum(c.seconds for c in result.cells) < result.total_seconds
    assert "In [7] ran" in _log_text(world.backend, FIRST)


def test_internet_off_cuts_the_network_even_to_the_hosts_loopback(world: World) -> None:
    log = _log_text(world.backend, FIRST)
    assert "network {'127.0.0.1': 'ConnectionRefusedError', '1.1.1.1': 'OSError'}" in log
    # The host's server heard only the second kernel (internet on): the first never reached it.
    assert world.server.received == ["second-kernel"]
    assert world.status[FIRST.id].notes[0] == "network cut (bwrap network namespace): nothing outside the run answers"
    assert not any("NOT cut" in note for note in world.status[FIRST.id].notes)


def test_pip_install_in_a_run_stays_in_the_run(world: World) -> None:
    log = _log_text(world.backend, FIRST)
    _, run_dir = world.backend.run_dir(FIRST)
    assert f"installed {run_dir}/scratch/venv/" in log
    assert not (run_dir / "scratch").exists(), "the throwaway venv is removed after the run"
    assert importlib.util.find_spec("tinypkg") is None
    check = subprocess.run([sys.executable, "-c", "import tinypkg"], capture_output=True, check=False)
    assert check.returncode != 0, "the wheel reached the user's environment"


def test_this_machines_pip_index_does_not_reach_an_offline_run(
    world: World, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A find-links folder (or a local index) configured on this machine would let ``!pip install`` succeed
    offline, where Kaggle's rerun, which has none, fails at the import; with internet on it stands in for PyPI."""
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", "/kaggle/input/datasets/me/toy-data")  # holds tinypkg's wheel
    notebook = tmp_path / "pip.ipynb"
    notebook.write_text(make_notebook(["!pip install --no-deps tinypkg", "import tinypkg"]))
    offline = rehearse(notebook, store=world.store, dataset_sources=["me/toy-data"], timeout=120)
    assert not offline.ok, "pip installed from this machine's find-links in an offline run"
    assert "ModuleNotFoundError: No module named 'tinypkg'" in (offline.failure_message or ""), offline.failure_message
    online = rehearse(notebook, store=world.store, dataset_sources=["me/toy-data"], internet=True, timeout=120)
    assert online.ok, online.failure_message


def test_a_later_kernel_sees_the_earlier_ones_output(world: World) -> None:
    status = world.status[SECOND.id]
    assert status.status == "COMPLETE", (status.failure_message, _log_text(world.backend, SECOND))
    log = _log_text(world.backend, SECOND)
    assert "attached ['id,target', '1,7', '2,1']" in log and "server said hello" in log
    _, run_dir = world.backend.run_dir(SECOND)
    assert (run_dir / "output" / "copied.csv").read_text() == "id,target\n1,7\n2,1\n"
    push = json.loads((run_dir.parent / "push.json").read_text())
    assert push["sources"]["kernels"] == ["me/first-kernel/1"]


def test_timeout_stops_the_run_and_says_why(world: World) -> None:
    status = world.status[TIMEOUT.id]
    assert status.status == "ERROR"
    assert (
        f"session timeout of {SESSION_TIMEOUT} s and was stopped while running In [2] (notebook cell 2)"
        in (status.failure_message or "")
    )
    assert SESSION_TIMEOUT <= (status.runtime_seconds or 0) < SESSION_TIMEOUT + 10
    _, run_dir = world.backend.run_dir(TIMEOUT)
    assert processes_mentioning(str(run_dir)) == []
    assert "start" in _log_text(world.backend, TIMEOUT)


def test_a_raising_cell_names_the_cell_and_the_error(world: World) -> None:
    status = world.status[RAISES.id]
    assert status.status == "ERROR"
    assert status.failure_message == (
        'Exception encountered at "In [2]" (notebook cell 3): ValueError: boom in cell three'
    )
    log = _log_text(world.backend, RAISES)
    assert "Traceback" in log and "boom in cell three" in log and "never" not in log


def test_a_killed_kernel_ends_in_error(world: World) -> None:
    status = world.status[KILLED.id]
    assert status.status == "ERROR"
    assert "the kernel died while running In [1] (notebook cell 1)" in (status.failure_message or "")


def test_a_dead_runner_is_noticed_on_the_next_status_read(world: World) -> None:
    status = world.status[ORPHAN.id]
    assert status.status == "ERROR"
    assert "stopped before the run finished" in (status.failure_message or "")
    _, run_dir = world.backend.run_dir(ORPHAN)
    deadline = time.monotonic() + 10  # the sandbox dies with its runner (bwrap --die-with-parent)
    while processes_mentioning(str(run_dir)) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert processes_mentioning(str(run_dir)) == []


def test_a_runner_asked_to_stop_cancels_the_run(world: World) -> None:
    status = world.status[CANCELLED.id]
    assert (status.status, status.failure_message) == (
        "CANCEL_ACKNOWLEDGED",
        "the run was stopped (SIGTERM) while running In [1] (notebook cell 1)",
    )
    _, run_dir = world.backend.run_dir(CANCELLED)
    assert processes_mentioning(str(run_dir)) == []


def test_code_submission_points_at_the_output(world: World) -> None:
    backend = world.backend
    assert backend.submissions_left(COMP) == 5
    sub = backend.submit_code(COMP, FIRST, file_name="submission.csv", message="first try")
    assert (sub.status, sub.ref, sub.kernel) == ("COMPLETE", "1", "me/first-kernel/1")
    assert backend.submission_status(COMP, "1").status == "COMPLETE"
    assert backend.submissions_left(COMP) == 4
    missing = backend.submit_code(COMP, FIRST, file_name="preds.csv")  # as on Kaggle: made, then failed
    assert (missing.status, missing.error) == ("ERROR", "Submission CSV Not Found")
    with pytest.raises(BackendError, match="cannot use internet access"):
        backend.submit_code(COMP, SECOND)
    with pytest.raises(BackendError, match="cannot be submitted: its run ended in ERROR"):
        backend.submit_code(COMP, RAISES)
    assert backend.submissions_left(COMP) == 3


def test_rehearse_a_bare_notebook_reports_each_cell(world: World, tmp_path: Path) -> None:
    notebook = tmp_path / "sub.ipynb"
    notebook.write_text(
        make_notebook(
            [
                "import time\n"
                "rows = open('/kaggle/input/notebooks/me/first-kernel/submission.csv').read().splitlines()",
                ("markdown", "sleep a little"),
                "time.sleep(0.3)\nopen('/kaggle/working/again.csv', 'w').write('\\n'.join(rows))",
            ]
        )
    )
    seen = []
    result = rehearse(notebook, store=world.store, kernel_sources=[FIRST.id], on_cell=seen.append)
    assert result.ok and result.exit_code == 0, (result.failure_message, result.log)
    assert [c.number for c in seen] == [1, 2] and seen == result.cells
    assert result.cells[1].seconds >= 0.3 and result.total_seconds > result.cells[1].seconds
    assert result.output_files == ["again.csv"]
    assert (result.output_dir / "again.csv").read_text() == "id,target\n1,7\n2,1"
    assert result.internet is False and result.sandbox == "bwrap"
    assert "internet off (as for a competition submission)" in result.notes[0]
    text = str(result)
    assert "again.csv" in text and str(result.output_dir) in text
    assert "In [2]" not in text, "the cells were shown as they ended (on_cell): the text does not repeat them"
    assert "In [2]" in result._repr_html_(), "a notebook's result keeps the table"
    result.cells_shown = False
    assert "In [2]" in str(result)


def test_rehearse_a_failing_kernel_folder_and_a_script(world: World, tmp_path: Path) -> None:
    failing = rehearse(world.root / "k3", store=world.store)
    assert not failing.ok and failing.exit_code == 1
    assert 'In [2]" (notebook cell 3): ValueError' in (failing.failure_message or "")
    assert [c.status for c in failing.cells] == ["ok", "error"]
    script = tmp_path / "job.py"
    script.write_text(
        "import os\nprint('files', sorted(os.listdir('/kaggle/input')))\nopen('out.txt', 'w').write('done')\n"
    )
    done = rehearse(script, store=world.store, dataset_sources=["me/toy-data"], timeout=120)
    assert done.ok, done.failure_message
    assert done.output_files == ["out.txt"] and len(done.cells) == 1
    assert "files ['datasets']" in done.log.read_text()


def test_ctrl_c_of_a_rehearsal_names_the_cell_and_exits_130(world: World, tmp_path: Path) -> None:
    notebook = tmp_path / "long.ipynb"
    notebook.write_text(make_notebook(["x = 1", "import time\ntime.sleep(60)"]))

    def interrupt(cell: CellTiming) -> None:  # Ctrl-C, a moment into the second cell
        threading.Timer(1.5, _thread.interrupt_main).start()

    result = rehearse(notebook, store=world.store, on_cell=interrupt, timeout=120)
    assert result.status == "CANCEL_ACKNOWLEDGED" and result.exit_code == 130, result.failure_message
    assert result.failure_message == "the run was stopped (Ctrl-C) while running In [2] (notebook cell 2)"
    assert processes_mentioning(str(result.run_dir)) == [], "nothing of the run is left running"


def test_internet_off_cuts_the_hosts_unix_sockets_in_run_too(world: World, tmp_path: Path) -> None:
    """Daemons (docker, databases, the session bus) listen on sockets under /run, which no network namespace
    cuts: an offline run gets an empty /run; a run with internet sees the host's."""
    require("writable-run")
    path = Path("/run") / f"kaggle-magics-test-{os.getpid()}.sock"
    server = socket.socket(socket.AF_UNIX)
    server.bind(str(path))
    server.listen()
    try:
        script = tmp_path / "reach.py"
        script.write_text(
            "import os, socket\n"
            "s = socket.socket(socket.AF_UNIX)\n"
            f"try:\n    s.connect({str(path)!r}); print('REACHED')\n"
            "except OSError as exc:\n    print('unreachable', type(exc).__name__)\n"
        )
        offline = rehearse(script, store=world.store, timeout=120)
        assert offline.ok and "unreachable FileNotFoundError" in offline.log.read_text(), offline.failure_message
        online = rehearse(script, store=world.store, internet=True, timeout=120)
        assert online.ok and "REACHED" in online.log.read_text(), online.failure_message
    finally:
        server.close()
        path.unlink(missing_ok=True)
