"""A corpus of kernels whose fate on Kaggle is known, run on the local Kaggle under both sandboxes: bubblewrap,
and util-linux ``unshare`` with bubblewrap hidden from PATH (as on a machine without the package). Every
verdict must be Kaggle's.

Per sandbox, one module-scoped world pushes the corpus at once (the runs go on in parallel) to a local
competition with a sample submission; the cases that need rehearsal options (a memory limit, a smaller
/kaggle/working, one CPU, a hidden test) are rehearsed one by one.
"""

from __future__ import annotations

import os
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from kaggle_magics.cli import main
from kaggle_magics.handles import CompetitionRef, DatasetRef, KernelRef
from kaggle_magics.local import sandbox
from kaggle_magics.local.admin import add_competition
from kaggle_magics.local.backend import LocalBackend
from kaggle_magics.local.rehearse import rehearse
from kaggle_magics.local.spec import HiddenTestError
from kaggle_magics.results import KernelStatus
from tests.fixtures_local import isolated_environ, make_kernel, make_notebook
from tests.requires import require

COMP = CompetitionRef("corpus-comp")
DATA = f"/kaggle/input/competitions/{COMP.slug}"
OK = "submission.csv: 3 rows, columns id, y, id as in the sample (as sample_submission.csv)"


def _predict(rows: str = "rows", columns: str = "id,y", where: str = "/kaggle/working/submission.csv") -> str:
    return textwrap.dedent(f"""\
        import csv
        rows = list(csv.DictReader(open('{DATA}/test.csv')))
        with open('{where}', 'w') as out:
            out.write('{columns}\\n' + ''.join(f"{{r['id']}},{{2 * int(r['x']) + 1}}\\n" for r in {rows}))
        print('wrote', len({rows}), 'rows')""")


GOOD_CELLS = [
    "import os, socket\n"
    "print('cpus', os.cpu_count(), len(os.sched_getaffinity(0)))\n"
    "print('inputs', sorted(os.listdir('/kaggle/input')), os.getcwd())",
    "try:\n"
    f"    open('{DATA}/new.csv', 'w')\n"
    "except OSError as exc:\n"
    "    print('read-only', type(exc).__name__)\n"
    "try:\n"
    "    socket.create_connection(('1.1.1.1', 53), timeout=3)\n"
    "except OSError as exc:\n"
    "    print('offline', type(exc).__name__)",
    _predict(),
]


@dataclass
class Case:
    """A kernel and what Kaggle does with it: the run's status, words of its failure, the scorer's verdict."""

    slug: str
    cells: list[str]
    status: str = "COMPLETE"
    failure: str | None = None
    submission: str | None = OK

    @property
    def ref(self) -> KernelRef:
        return KernelRef.parse(f"me/{self.slug}")


CORPUS = [
    Case("good-kernel", GOOD_CELLS),
    Case("relative-path", [_predict(where="submission.csv")]),  # the working folder is /kaggle/working
    Case("no-csv", [_predict(where="/kaggle/working/predictions.csv")], submission="Submission CSV Not Found"),
    Case(
        "csv-in-a-subfolder",  # only /kaggle/working/submission.csv counts
        ["import os\nos.makedirs('/kaggle/working/outputs')", _predict(where="/kaggle/working/outputs/submission.csv")],
        submission="Submission CSV Not Found",
    ),
    Case("short-rows", [_predict(rows="rows[:1]")], submission="Submission Scoring Error: 1 rows, expected 3"),
    Case(
        "wrong-columns",
        [_predict(columns="id,target")],
        submission="Submission Scoring Error: columns id, target, expected id, y (missing y)",
    ),
    Case(
        "wrong-ids",
        ["open('/kaggle/working/submission.csv', 'w').write('id,y\\n2,0\\n3,0\\n4,0\\n')"],
        submission="Submission Scoring Error: 1 id values not in the sample submission ('4'); 1 missing ('1')",
    ),
    # Written for the old flat layout: on today's Kaggle the competition is not at /kaggle/input/<slug>.
    Case(
        "flat-path",
        [f"open('/kaggle/input/{COMP.slug}/test.csv').read()"],
        status="ERROR",
        failure=f"FileNotFoundError: [Errno 2] No such file or directory: '/kaggle/input/{COMP.slug}/test.csv'",
        submission=None,
    ),
    Case(
        "raises",
        ["x = 1", "raise ValueError('bad feature')"],
        status="ERROR",
        failure="Exception encountered at \"In [2]\" (notebook cell 2): ValueError: bad feature",
        submission=None,
    ),
]


@dataclass
class World:
    mode: str
    backend: LocalBackend
    store: Path
    root: Path
    status: dict[str, KernelStatus] = field(default_factory=dict)


def _path_without_bwrap(folder: Path) -> str:
    """A PATH like this one, but with no bwrap on it (a folder of links to every other program)."""
    folder.mkdir(parents=True, exist_ok=True)
    for directory in os.environ.get("PATH", os.defpath).split(os.pathsep):
        for entry in Path(directory).iterdir() if Path(directory).is_dir() else ():
            link = folder / entry.name
            if entry.name != "bwrap" and not link.exists() and not link.is_symlink():
                link.symlink_to(entry)
    return str(folder)


def _competition(root: Path, rows: int = 3) -> Path:
    data = root / f"comp-{rows}"
    data.mkdir()
    (data / "train.csv").write_text("id,x,y\n" + "".join(f"{i},{i},{2 * i + 1}\n" for i in range(10, 20)))
    (data / "test.csv").write_text("id,x\n" + "".join(f"{i},{i}\n" for i in range(1, rows + 1)))
    (data / "sample_submission.csv").write_text("id,y\n" + "".join(f"{i},0\n" for i in range(1, rows + 1)))
    return data


@pytest.fixture(scope="module", params=["bwrap", "unshare"])
def world(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, image_caches: Path) -> World:
    mode = request.param
    require("bwrap" if mode == "bwrap" else "unshare-view")
    root = tmp_path_factory.mktemp(f"corpus-{mode}")
    store = root / "store"
    with isolated_environ(store, root / "tmp", image_caches), pytest.MonkeyPatch.context() as patch:
        if mode == "unshare":
            patch.setenv("PATH", _path_without_bwrap(root / "bin"))
        sandbox.probe.cache_clear()
        try:
            assert sandbox.choose_mode() == mode, "auto picks bwrap where it is, unshare where it is not"
            backend = LocalBackend(store)
            add_competition(COMP.slug, _competition(root), store)
            backend.dataset_upload(_competition(root, rows=2), DatasetRef.parse("me/corpus-data"))
            world = World(mode, backend, store, root)
            for case in CORPUS:
                folder = make_kernel(root / case.slug, case.ref.id, case.cells, competition_sources=[COMP.slug])
                backend.push_kernel(folder)
            for case in CORPUS:
                world.status[case.slug] = backend.wait(case.ref, timeout=240)
            yield world
        finally:
            sandbox.probe.cache_clear()


def _log(world: World, slug: str) -> str:
    return "".join(entry.data for entry in world.backend.kernel_log(KernelRef.parse(f"me/{slug}")))


@pytest.mark.parametrize("case", CORPUS, ids=[case.slug for case in CORPUS])
def test_each_kernel_meets_its_fate_on_kaggle(world: World, case: Case) -> None:
    status = world.status[case.slug]
    assert status.status == case.status, (status.failure_message, _log(world, case.slug)[-3000:])
    if case.failure:
        assert case.failure in (status.failure_message or "")
    assert status.submission == case.submission
    assert f"network cut ({world.mode} network namespace): nothing outside the run answers" in status.notes
    assert status.cells and status.peak_memory and status.output_size, status
    if case.submission and case.submission != OK:
        assert f"[kaggle-magics] submission check: {case.submission}" in _log(world, case.slug)


def test_a_submission_in_a_subfolder_is_named_with_where_kaggle_reads_it(world: World) -> None:
    hint = "outputs/submission.csv was written, but Kaggle reads only /kaggle/working/submission.csv: write it there"
    assert hint in world.status["csv-in-a-subfolder"].notes
    assert f"[kaggle-magics] {hint}" in _log(world, "csv-in-a-subfolder")
    assert not any("was written, but" in note for note in world.status["no-csv"].notes)


def test_the_good_kernel_sees_todays_kaggle(world: World) -> None:
    log = _log(world, "good-kernel")
    assert "inputs ['competitions'] /kaggle/working" in log
    assert "read-only OSError" in log and "offline OSError" in log
    cpus = min(4, len(os.sched_getaffinity(0)))
    assert f"cpus {cpus} {cpus}" in log, "os.cpu_count() and the affinity agree, and never exceed Kaggle's 4"
    notes = world.status["good-kernel"].notes
    assert ("fewer than the 4 of the CPU machine" in " ".join(notes)) == (cpus < 4)
    assert any(note.startswith("limits of the CPU machine: 30 GB of memory, 4 CPUs") for note in notes)


def test_status_and_submit_show_the_scorers_verdict(
    world: World, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KAGGLE_MAGICS_STORE", str(world.store))
    assert main(["status", "me/short-rows", "--backend", "local"]) == 0
    out = capsys.readouterr().out
    assert "Submission Scoring Error: 1 rows, expected 3" in out
    assert "peak memory" in out and "In [1]" in out, "each cell's time and peak memory"
    for slug, error in (("no-csv", "Submission CSV Not Found"), ("short-rows", "Submission Scoring Error: 1 rows")):
        sub = world.backend.submit_code(COMP, KernelRef.parse(f"me/{slug}"))
        assert sub.status == "ERROR" and (sub.error or "").startswith(error)
    assert world.backend.submit_code(COMP, KernelRef.parse("me/good-kernel")).status == "COMPLETE"


def test_a_flat_layout_kernel_passes_with_input_layout_flat(world: World, tmp_path: Path) -> None:
    notebook = tmp_path / "old.ipynb"
    notebook.write_text(make_notebook([
        f"rows = open('/kaggle/input/{COMP.slug}/test.csv').read().splitlines()\n"
        "ids = [r.split(',')[0] for r in rows[1:]]\n"
        "open('/kaggle/working/submission.csv', 'w').write('id,y\\n' + ''.join(i + ',0\\n' for i in ids))"
    ]))  # fmt: skip
    result = rehearse(notebook, store=world.store, competition_sources=[COMP.slug], input_layout="flat")
    assert result.ok and result.sandbox == world.mode, (result.failure_message, result.submission)


def test_past_the_memory_limit_the_kernel_is_stopped_naming_the_cell(world: World, tmp_path: Path) -> None:
    """The kernel is killed while it writes its output: the run fails with the limit and the cell; what it
    wrote stays in its own output, and the store serves the next run."""
    notebook = tmp_path / "hungry.ipynb"
    notebook.write_text(make_notebook([
        "import time\nsmall = bytearray(10 * 2**20)",
        "out = open('/kaggle/working/submission.csv', 'w')\nout.write('id,y\\n1,0\\n'); out.flush()\n"
        "chunks = []\nfor _ in range(40):\n    chunks.append(bytearray(25 * 2**20)); time.sleep(0.05)",
        "print('never')",
    ]))  # fmt: skip
    result = rehearse(notebook, store=world.store, competition_sources=[COMP.slug], memory_gb=0.25)
    assert result.status == "ERROR" and result.exit_code == 1
    message = result.failure_message or ""
    assert message.startswith("out of memory in In [2] (notebook cell 2): "), message
    assert message.endswith("used, this machine allows 256 MB (--memory)"), message
    assert [cell.status for cell in result.cells] == ["ok", "error"]
    assert result.cells[0].peak_memory and result.cells[0].peak_memory < 256 * 2**20
    assert result.cells[1].peak_memory and result.cells[1].peak_memory > 256 * 2**20
    assert result.peak_memory == result.cells[1].peak_memory
    assert (result.output_dir / "submission.csv").read_text() == "id,y\n1,0\n"
    assert result.submission is None, "a failed run is not scored"
    assert "never" not in result.log.read_text()
    again = tmp_path / "again.py"
    again.write_text(f"print(open('{DATA}/test.csv').read().count(chr(10)))\n")
    after = rehearse(again, store=world.store, competition_sources=[COMP.slug])
    assert after.status == "COMPLETE" and "4" in after.log.read_text(), "the store serves the next run"


def test_past_the_output_limit_the_kernel_is_stopped(world: World, tmp_path: Path) -> None:
    notebook = tmp_path / "writer.ipynb"
    notebook.write_text(make_notebook([
        "import os, time\nwith open('/kaggle/working/big.bin', 'wb') as out:\n"
        "    for _ in range(60):\n        out.write(os.urandom(2**20)); out.flush(); time.sleep(0.05)",
    ]))  # fmt: skip
    result = rehearse(notebook, store=world.store, working_gb=0.01)
    message = result.failure_message or ""
    assert result.status == "ERROR" and message.startswith("/kaggle/working is full in In [1] (notebook cell 1): ")
    assert message.endswith("written, this machine allows 10.2 MB"), message
    assert result.output_size and result.output_size > 0.01 * 2**30


def test_cpus_as_the_code_sees_them(world: World, tmp_path: Path) -> None:
    notebook = tmp_path / "cpus.ipynb"
    notebook.write_text(make_notebook([
        "import os, joblib\nprint('seen', os.cpu_count(), len(os.sched_getaffinity(0)), joblib.cpu_count())"
    ]))  # fmt: skip
    result = rehearse(notebook, store=world.store, cpus=1)
    assert result.ok, result.failure_message
    assert "seen 1 1 1" in result.log.read_text()
    assert not any("CPUs" in note and "fewer" in note for note in result.notes)


def test_the_hidden_test_replaces_the_public_one(world: World, tmp_path: Path, capsys) -> None:
    hidden = _competition(tmp_path, rows=5)
    (hidden / "train.csv").unlink()
    generic = tmp_path / "generic.ipynb"
    generic.write_text(make_notebook([_predict()]))
    result = rehearse(generic, store=world.store, competition_sources=[COMP.slug], hidden_test=hidden)
    assert result.ok, (result.failure_message, result.submission)
    assert result.submission == OK.replace("3 rows", "5 rows") and "wrote 5 rows" in result.log.read_text()
    assert result.cells and all(cell.peak_memory for cell in result.cells)
    assert (world.root / "comp-3" / "test.csv").read_text().count("\n") == 4, "the public files are untouched"

    fixed = tmp_path / "fixed.py"  # sized for the public test: fails the rerun, as on Kaggle
    fixed.write_text(_predict(rows="rows[:3]") + "\n")
    argv = ["rehearse", str(fixed), "--competition", COMP.slug, "--hidden-test", str(hidden)]
    argv += ["--store", str(world.store)]
    assert main(argv) == 1
    out = capsys.readouterr().out
    assert "submission" in out and "Submission Scoring Error: 3 rows, expected 5" in out
    assert "In [1]" in out and " MB " in out, "each cell's time and peak memory"


def test_a_hidden_test_must_match_the_competitions_test_files(world: World, tmp_path: Path, capsys) -> None:
    (tmp_path / "x.py").write_text("print(1)\n")
    for name in ("train.csv", "test_v2.csv"):
        folder = tmp_path / name
        folder.mkdir()
        (folder / name).write_text("id,x\n1,1\n")
        with pytest.raises(HiddenTestError, match=f"--hidden-test: {name} is not"):
            rehearse(tmp_path / "x.py", store=world.store, competition_sources=[COMP.slug], hidden_test=folder)
    assert main(["rehearse", str(tmp_path / "x.py"), "--hidden-test", str(tmp_path), "--store", str(world.store)]) == 2
    err = capsys.readouterr().err
    assert "no competition is attached" in err and len(err.strip().splitlines()) == 2  # error + hint
