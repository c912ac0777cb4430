"""The parts of the local Kaggle's session twin that need no kernel: the machines' limits, the scorer's
checks, the memory and disk measures, the sandbox's view (what it shows, what it hides) and the folder of
links of a run without namespaces."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kaggle_magics.local import credentials, monitor, sandbox, scorer
from kaggle_magics.local.limits import GB, Limits, machine, size


def test_each_machine_shape_has_kaggles_limits() -> None:
    cpu = Limits.for_shape(None)
    assert (cpu.machine, cpu.memory, cpu.cpus, cpu.working, cpu.timeout) == (
        "the CPU machine", 30 * GB, 4, 20 * GB, 12 * 3600
    )
    assert str(cpu) == "the CPU machine: 30 GB of memory, 4 CPUs, /kaggle/working 20 GB, session 12 h"
    for shape in ("NvidiaTeslaP100", "NvidiaTeslaT4"):
        gpu = Limits.for_shape(shape)
        assert (gpu.memory, gpu.cpus, gpu.timeout) == (29 * GB, 4, 12 * 3600) and machine(shape)[1] is None
    tpu = Limits.for_shape("Tpu1VmV38")
    assert (tpu.memory, tpu.cpus, tpu.timeout) == (330 * GB, 96, 9 * 3600)
    l4, guess = machine("NvidiaL4")
    assert l4.memory_gb == 29 and "Kaggle publishes no limits for NvidiaL4" in (guess or "")
    asked = Limits.for_shape(None, memory_gb=1.5, timeout=60)
    assert asked.memory == int(1.5 * GB) and asked.memory_source() == "--memory" and asked.timeout == 60
    assert Limits.from_json(asked.to_json()) == asked


def test_a_competition_kernel_gets_the_scoring_reruns_session() -> None:
    """Kaggle scores a code competition by rerunning the notebook within the competition's limit (typically
    9 h), not the 12 h of an interactive session: a 10 h notebook must fail its rehearsal."""
    scored = Limits.for_shape(None, competition=True)
    assert scored.timeout == 9 * 3600 and str(scored).endswith("session 9 h (a competition's scoring rerun)")
    assert Limits.for_shape("Tpu1VmV38", competition=True).timeout == 9 * 3600
    given = Limits.for_shape(None, competition=True, timeout=600)
    assert given.timeout == 600 and "rerun" not in str(given)
    assert Limits.from_json(scored.to_json()) == scored


@pytest.mark.parametrize(
    ("count", "text"),
    [(0, "0 bytes"), (2048, "2 KB"), (int(1.6 * GB), "1.6 GB"), (20 * GB, "20 GB"), (340 * 2**20, "340 MB")],
)
def test_sizes_read_as_kaggle_writes_them(count: int, text: str) -> None:
    assert size(count) == text


SAMPLE = "id,y\n1,0\n2,0\n3,0\n"


@pytest.mark.parametrize(
    ("written", "verdict"),
    [
        (None, "Submission CSV Not Found"),
        ("", "Submission Scoring Error: cannot read submission.csv as CSV (the file is empty)"),
        ("\ufeffid,y\n3,1\n1,1\n2,1\n", "submission.csv: 3 rows, columns id, y, id as in the sample (as sample.csv)"),
        ("id,y\n1,1\n", "Submission Scoring Error: 1 rows, expected 3"),
        ("id,y\n1,1\n2,1\n3,1\n4,1\n", "Submission Scoring Error: 4 rows, expected 3"),
        ("y,id\n0,1\n0,2\n0,3\n", "Submission Scoring Error: columns y, id, expected id, y (in another order)"),
        ("id,y,extra\n1,0,0\n", "Submission Scoring Error: columns id, y, extra, expected id, y (unexpected extra)"),
        ("id,y\n1,1\n1,1\n2,1\n", "Submission Scoring Error: id '1' appear more than once"),
        ("id,y\n1,1\n2,1\n9,1\n", "Submission Scoring Error: 1 id values not in the sample submission ('9'); 1 "
         "missing ('3')"),
    ],
)  # fmt: skip
def test_the_scorer_names_what_kaggle_would(tmp_path: Path, written: str | None, verdict: str) -> None:
    sample = tmp_path / "sample.csv"
    sample.write_text(SAMPLE)
    file = tmp_path / "submission.csv"
    if written is not None:
        file.write_text(written, encoding="utf-8")
    result = scorer.check(file, sample)
    assert result.text == verdict and result.ok == (not verdict.startswith("Submission "))


def test_ids_are_checked_only_when_the_first_column_is_one(tmp_path: Path) -> None:
    assert [scorer.is_id_column(n) for n in ("id", "row_id", "PassengerId", "ID_code", "valid", "image")] == [
        True, True, True, True, False, False
    ]  # fmt: skip
    sample = tmp_path / "sample.csv"
    sample.write_text("image,label\na.png,0\nb.png,0\n")
    (tmp_path / "submission.csv").write_text("image,label\nx.png,1\ny.png,1\n")
    assert scorer.check(tmp_path / "submission.csv", sample).ok
    assert scorer.check(tmp_path / "submission.csv", None).text.endswith("(no sample submission)")


def test_memory_and_disk_are_measured_as_the_kernel_counts_them(tmp_path: Path) -> None:
    """A parent that holds 60 MB and forks a child: the resident sizes count the shared pages twice, the
    exact (proportional) measure once."""
    code = (
        "import os, time\nx = bytearray(60 * 2**20)\nfor i in range(0, len(x), 4096): x[i] = 1\n"
        "if os.fork() == 0: time.sleep(30)\nprint('ready', flush=True); time.sleep(30)"
    )
    parent = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None and parent.stdout.readline() == "ready\n"
        tree = monitor.process_tree(parent.pid)
        assert len(tree) == 2 and tree[0] == parent.pid
        fast, exact = monitor.tree_memory(parent.pid), monitor.tree_memory(parent.pid, exact=True)
        assert fast > 120 * 2**20 and 60 * 2**20 < exact < 100 * 2**20, (fast, exact)
        watch = monitor.Monitor(Limits.for_shape(None, memory_gb=0.1), tmp_path)  # 102 MB: under it, exactly
        watch.pid = parent.pid
        assert watch.sample() < 100 * 2**20 and watch.breach is None, "not stopped on the double count"
    finally:
        for pid in monitor.process_tree(parent.pid)[::-1]:
            os.kill(pid, 9)
        parent.communicate()
    (tmp_path / "a.bin").write_bytes(os.urandom(300_000))
    os.link(tmp_path / "a.bin", tmp_path / "b.bin")  # one file, two names: counted once
    with open(tmp_path / "sparse.bin", "wb") as handle:
        handle.truncate(10 * GB)  # holds nothing: takes no disk
    assert 300_000 <= monitor.folder_size(tmp_path) < 400_000


def test_the_view_hides_credentials_only_where_it_shows_their_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    (home / ".kaggle").mkdir(parents=True)
    (home / ".kaggle" / "kaggle.json").write_text("{}")
    token = tmp_path / "token"
    token.write_text("secret")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("KAGGLE_API_TOKEN", str(token))
    monkeypatch.delenv("KAGGLE_CONFIG_DIR")
    assert credentials.host_paths() == [token.resolve(), (home / ".kaggle").resolve()]
    layout = sandbox.Layout(inputs={}, working=tmp_path / "out", scratch=tmp_path / "scratch")
    (tmp_path / "scratch").mkdir()
    assert not [op for op in sandbox.view(layout, tmp_path / "tmp") if str(home) in " ".join(op)]
    layout.rw_paths = [tmp_path]  # shows the home folder and the token
    ops = sandbox.view(layout, tmp_path / "tmp")
    assert ("tmpfs", str((home / ".kaggle").resolve())) in ops
    assert ("ro-bind", str(tmp_path / "scratch" / "empty"), str(token.resolve())) in ops
    assert ops.index(("bind", str(tmp_path), str(tmp_path))) < ops.index(("tmpfs", str((home / ".kaggle").resolve())))


def test_the_view_puts_each_input_where_the_layout_says_and_the_cpus_in_sys(tmp_path: Path) -> None:
    data, hidden = tmp_path / "data", tmp_path / "hidden.csv"
    data.mkdir()
    layout = sandbox.Layout(
        inputs={"competitions/c/test.csv": hidden, "competitions/c": data, "datasets/me/d": data},
        working=tmp_path / "out",
        scratch=tmp_path / "scratch",
        cpus=(0, 1, 2, 5),
    )
    layout.scratch.mkdir()
    ops = sandbox.view(layout, tmp_path / "tmp")
    binds = [op for op in ops if op[0] == "ro-bind" and op[2].startswith("/kaggle/input/")]
    assert binds == [
        ("ro-bind", str(data), "/kaggle/input/competitions/c"),
        ("ro-bind", str(hidden), "/kaggle/input/competitions/c/test.csv"),  # after its parent
        ("ro-bind", str(data), "/kaggle/input/datasets/me/d"),
    ]
    if Path(sandbox.CPU_ONLINE).exists():
        assert ("ro-bind", str(layout.scratch / "cpu-online"), sandbox.CPU_ONLINE) in ops
        assert (layout.scratch / "cpu-online").read_text() == "0-2,5\n"


def test_without_namespaces_inputs_are_a_folder_of_links_even_inside_one_another(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir()
    for name in ("train.csv", "test.csv"):
        (data / name).write_text(f"public {name}")
    hidden = tmp_path / "hidden-test.csv"
    hidden.write_text("hidden")
    root = tmp_path / "input"
    sandbox.link_inputs({"competitions/c": data, "competitions/c/test.csv": hidden, "datasets/me/d": data}, root)
    assert (root / "competitions" / "c" / "test.csv").read_text() == "hidden"
    assert (root / "competitions" / "c" / "train.csv").read_text() == "public train.csv"
    assert (root / "datasets" / "me" / "d" / "test.csv").read_text() == "public test.csv"
    assert (data / "test.csv").read_text() == "public test.csv", "the competition's own file is untouched"
