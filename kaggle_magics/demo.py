"""``kaggle-magics demo``: the whole chain of a code competition on the embedded local Kaggle, no account
needed.

1. register a small competition (generated train/test/sample_submission files) in the local store;
2. push a *deps* kernel (internet on) whose notebook installs kaggle-magics (its wheel, attached as a
   dataset: on Kaggle, ``!pip install kaggle-magics``) into the image, then freezes a few real packages with
   ``%kaggle_freeze``; its output is the offline bundle;
3. push a *submission* kernel with ``%%kaggle_sub``'s workflow (internet off, the deps kernel attached): its
   first cell installs the bundle offline, the rest imports the packages (from the run's own environment, not
   the user's) and writes ``submission.csv``;
4. submit it to the local competition, which checks it against ``sample_submission.csv``.

Both kernels run in the image twin (:mod:`.local.image`): Kaggle's image packages, not the user's. The
kernel folders are left in ``<store>/demo/`` to read and reuse. Every run is timed by the local runner.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from . import config, inputs
from .config import ProjectDefaults
from .handles import CompetitionRef, DatasetRef, KernelRef
from .local.admin import add_competition
from .local.backend import LocalBackend
from .results import Completes, KernelStatus, Result

DEMO_REQUIREMENTS = ("humanfriendly", "cowsay")  # small, pure Python, and not in Kaggle's image
COMPETITION = CompetitionRef("kaggle-magics-demo")
DEPS = KernelRef.parse("demo/kaggle-magics-demo-deps")
TOOL = DatasetRef.parse("demo/kaggle-magics-wheel")  # this kaggle-magics, as Kaggle's deps notebook installs it
SUBMISSION = KernelRef.parse("demo/kaggle-magics-demo-submission")
RUN_TIMEOUT = 15 * 60  # seconds to wait for each run (the first freeze downloads from the index)
_TAIL = 8


@dataclass
class DemoStep:
    """One link of the chain."""

    name: str
    ref: str
    status: str
    seconds: float | None = None
    detail: str | None = None

    def __str__(self) -> str:
        took = f"{self.seconds:6.1f} s" if self.seconds is not None else "      -"
        text = f"{self.name:<22} {self.ref:<42} {self.status:<9} {took}"
        return text + (f"  {self.detail}" if self.detail else "")


@dataclass
class DemoResult(Completes, Result):
    """What the demo did: each step with its time, and where submission.csv is."""

    status: str
    steps: list[DemoStep] = field(default_factory=list)
    submission_csv: Path | None = None
    total_seconds: float | None = None
    workspace: Path | None = None
    failure_message: str | None = None
    log_tail: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    steps_shown: bool = False  # each step's line was printed as it ended: the text does not repeat them

    _title = "kaggle-magics demo (embedded local Kaggle)"
    _hidden = ("steps", "log_tail", "steps_shown")

    def __str__(self) -> str:
        text = super().__str__()
        if self.steps and not self.steps_shown:
            text += "\n  chain\n" + "\n".join(f"    {step}" for step in self.steps)
        if self.log_tail:
            text += "\n  log of the failed run (last lines)\n" + "\n".join(
                f"    {line}" for line in self.log_tail
            )
        return text

    def __repr__(self) -> str:
        return str(self)

    def _repr_html_(self) -> str:
        import html

        text = super()._repr_html_()
        lines = [str(step) for step in self.steps] + self.log_tail
        return text + ("<pre>" + html.escape("\n".join(lines)) + "</pre>" if lines else "")


def demo(
    *,
    store: Path | None = None,
    echo: Callable[[str], None] | None = None,
    requirements: Sequence[str] = DEMO_REQUIREMENTS,
    find_links: Sequence[str] = (),
    no_index: bool = False,
    datasets: Sequence[str] = (),
    timeout: float = RUN_TIMEOUT,
    layout: str | None = None,
) -> DemoResult:
    """Run the chain and return what happened. ``requirements`` are frozen in the deps kernel (module names
    must equal the distribution names, with ``-`` as ``_``); ``find_links``/``no_index`` (paths as the deps
    kernel sees them, e.g. an attached wheelhouse under ``datasets``) freeze without the index. ``layout`` is
    the runs' input layout (today's nested one by default)."""
    layout = inputs.check_layout(layout, "input_layout")
    say = echo or (lambda _text: None)
    started = time.monotonic()
    backend = LocalBackend(store)
    backend.store.ensure()
    workspace = backend.store.root / "demo"
    result = DemoResult(status="RUNNING", workspace=workspace, steps_shown=echo is not None)

    data = _competition_files(workspace / "competition-data")
    comp = add_competition(
        COMPETITION.slug, data, backend.store.root, title="kaggle-magics demo", daily_limit=100, layout=layout
    )
    result.steps.append(
        DemoStep(
            "competition registered",
            COMPETITION.slug,
            "READY",
            detail=f"{len(comp.files)} files at {comp.input_path}",
        )
    )
    say(f"[1/4] local competition {COMPETITION.slug}: {', '.join(comp.files)}")

    # 2. the deps kernel: internet on, installs kaggle-magics, freezes the requirements into its output.
    _upload_tool(backend, workspace / "tool")
    deps_folder = _deps_kernel(workspace / "deps", requirements, find_links, no_index, [*datasets, TOOL.id])
    say(
        f"[2/4] deps kernel {DEPS.id}: pip install kaggle-magics, then freeze {' '.join(requirements)} "
        "(internet on) ..."
    )
    push = backend.push_kernel(deps_folder, input_layout=layout)
    status = backend.wait(DEPS.with_version(push.version), timeout=timeout)
    result.steps.append(_step("deps kernel run", DEPS, push.version, status))
    say(f"      {result.steps[-1]}")
    if not status.ok:
        return _failed(result, backend, DEPS.with_version(push.version), status, started)

    # 3. the submission kernel, built by the %%kaggle_sub workflow: internet off, the bundle attached.
    from .submission import KernelOptions, submit_cell

    options = KernelOptions(
        id=SUBMISSION.id, title=SUBMISSION.slug, competition=[COMPETITION.slug], deps=[DEPS.id],
        internet=False, dir=str(workspace / "submission"), input_layout=layout,
    )  # fmt: skip
    say(
        f"[3/4] submission kernel {SUBMISSION.id}: offline install from {DEPS.id}, then predict "
        "(internet off) ..."
    )
    pushed = submit_cell(
        _submission_code(requirements, layout),
        options,
        defaults=ProjectDefaults(),
        backend_factory=lambda _name: backend,
    )
    sub_ref = SUBMISSION.with_version(pushed.version)
    status = backend.wait(sub_ref, timeout=timeout)
    result.steps.append(_step("submission kernel run", SUBMISSION, pushed.version, status))
    say(f"      {result.steps[-1]}")
    if not status.ok:
        return _failed(result, backend, sub_ref, status, started)
    result.notes += status.notes  # how this run differs from Kaggle's, if it does (its Python, its limits)
    _, run_dir = backend.run_dir(sub_ref)
    result.submission_csv = run_dir / "output" / "submission.csv"

    # 4. the local competition checks the file the kernel wrote.
    submission = backend.submit_code(
        COMPETITION, sub_ref, file_name="submission.csv", message="kaggle-magics demo"
    )
    result.steps.append(
        DemoStep(
            "code submission",
            f"{COMPETITION.slug} #{submission.ref}",
            submission.status or "?",
            detail=submission.error or "format checked against sample_submission.csv",
        )
    )
    say(f"[4/4] {result.steps[-1]}")
    result.status = "COMPLETE" if submission.status == "COMPLETE" else "ERROR"
    result.failure_message = submission.error
    result.total_seconds = time.monotonic() - started
    result.notes.append(f"kernel folders: {workspace / 'deps'} and {workspace / 'submission'}")
    return result


def _step(name: str, ref: KernelRef, version: int | None, status: KernelStatus) -> DemoStep:
    internet = "internet off"
    if any(note.startswith("WARNING") and "NOT cut" in note for note in status.notes):
        internet = "internet off in the metadata but NOT cut (no network namespace: see the run's notes)"
    detail = status.failure_message or (
        "internet on" if ref == DEPS else f"{internet}, bundle installed offline"
    )
    return DemoStep(name, f"{ref.id}/{version}", status.status, status.runtime_seconds, detail)


def _failed(
    result: DemoResult, backend: LocalBackend, ref: KernelRef, status: KernelStatus, started: float
) -> DemoResult:
    result.status = "ERROR"
    result.failure_message = f"{ref}: {status.status}: {status.failure_message or 'see its log'}"
    text = "".join(entry.data for entry in backend.kernel_log(ref))
    result.log_tail = text.splitlines()[-_TAIL:]
    result.total_seconds = time.monotonic() - started
    return result


def _competition_files(folder: Path) -> Path:
    """A tiny regression competition: predict y from x."""
    folder.mkdir(parents=True, exist_ok=True)
    train = ["id,x,y", *(f"{i},{i},{2 * i + 1}" for i in range(1, 21))]
    test = ["id,x", *(f"{i},{i}" for i in range(21, 31))]
    sample = ["id,y", *(f"{i},0" for i in range(21, 31))]
    for name, lines in (("train.csv", train), ("test.csv", test), ("sample_submission.csv", sample)):
        (folder / name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    return folder


def _upload_tool(backend: LocalBackend, folder: Path) -> None:
    """This kaggle-magics as a wheel, in a local dataset the deps kernel attaches."""
    import shutil

    from .bundle.wheels import own_wheel

    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    own_wheel(folder)
    backend.dataset_upload(folder, TOOL, title="kaggle-magics wheel", message="the demo's kaggle-magics")


def _deps_kernel(
    folder: Path,
    requirements: Sequence[str],
    find_links: Sequence[str],
    no_index: bool,
    datasets: Sequence[str],
) -> Path:
    from .kernel_folders import write_kernel_folder
    from .metadata import KernelMetadata
    from .notebook import build_notebook

    args = [
        *requirements,
        *(f"--find-links {link}" for link in find_links),
        *(["--no-index"] if no_index else []),
    ]
    pip_args = " ".join([*(["--no-index"] if no_index else []), *(f"--find-links {link}" for link in find_links)])
    nb = build_notebook([
        "# The deps notebook (internet on). On kaggle.com: !pip install kaggle-magics\n"
        "# Here, from the wheel of the kaggle-magics that runs the demo, attached as a dataset.\n"
        "import glob, os\n"
        f"_root = os.environ.get({config.ENV_INPUT_ROOT!r}, '/kaggle/input')\n"
        "_tool = os.path.dirname(sorted(glob.glob(f'{_root}/**/kaggle_magics-*.whl', recursive=True))[-1])\n"
        f"!pip install -q --disable-pip-version-check {pip_args + ' ' if pip_args else ''}--find-links {{_tool}} "
        "kaggle-magics",
        "%load_ext kaggle_magics",
        "# Freeze into /kaggle/working/kaggle_deps: this kernel's output is the offline bundle.\n"
        f"%kaggle_freeze {' '.join(args)}",
    ])  # fmt: skip
    meta = KernelMetadata(
        id=DEPS.id, title=DEPS.slug, code_file=f"{DEPS.slug}.ipynb", enable_internet=True,
        dataset_sources=list(datasets),
    )  # fmt: skip
    return write_kernel_folder(nb, meta, folder)


def _submission_code(requirements: Sequence[str], layout: str = inputs.DEFAULT_LAYOUT) -> str:
    names = [r.split("==")[0].split(">")[0].split("<")[0].split("[")[0].strip() for r in requirements]
    data = inputs.competition_path(COMPETITION, layout)
    return f"""\
import csv, importlib, importlib.metadata, os, sys

# The packages come from the bundle, installed offline into this run's own environment.
for name in {names!r}:
    module = importlib.import_module(name.replace("-", "_"))
    assert module.__file__.startswith(sys.prefix), (name, module.__file__, sys.prefix)
    print(f"{{name}} {{importlib.metadata.version(name)}} installed offline at {{module.__file__}}")

# /kaggle/... on Kaggle and in a local run; a local run on a machine without namespaces says where they are.
INPUT = os.environ.get("{config.ENV_INPUT_ROOT}", "/kaggle/input")
WORKING = os.environ.get("{config.ENV_WORKING_DIR}", "/kaggle/working")
train = list(csv.DictReader(open(f"{{INPUT}}/{data}/train.csv")))
test = list(csv.DictReader(open(f"{{INPUT}}/{data}/test.csv")))
n = len(train)
mx = sum(float(r["x"]) for r in train) / n
my = sum(float(r["y"]) for r in train) / n
sxy = sum((float(r["x"]) - mx) * (float(r["y"]) - my) for r in train)
slope = sxy / sum((float(r["x"]) - mx) ** 2 for r in train)
with open(f"{{WORKING}}/submission.csv", "w", newline="") as out:
    writer = csv.writer(out)
    writer.writerow(["id", "y"])
    for row in test:
        writer.writerow([row["id"], round(my + slope * (float(row["x"]) - mx), 3)])
print(f"wrote {{WORKING}}/submission.csv with", len(test), "rows")
"""
