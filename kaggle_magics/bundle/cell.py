"""The first cell of a submission notebook whose attachments carry bundles: an offline install.

Why it looks the way it does:

- It must run on a stock Kaggle image, where kaggle-magics is not installed and there is no internet. Every
  bundle carries kaggle-magics's own wheel and packaging's (both pure Python, importable as zip files), so the
  cell finds a bundle under the input root and runs ``kaggle_magics.bundle.install_main`` in a new process
  whose ``sys.path[0]`` (normally the working folder) is replaced by those two wheels, so no other copy of
  kaggle-magics can be picked up by accident.
- The installer runs in a subprocess, not in the kernel: the kernel's ``sys.path`` stays as the image made it
  (the bundle's packaging does not shadow the image's), and a crash there cannot take the kernel down. The
  subprocess installs into the kernel's own interpreter (``sys.executable``); the cell then invalidates the
  import caches so the new packages import at once.
- It uses no IPython magic, so it works the same under papermill, in a plain ``python`` and in Jupyter.
- Output is captured and printed, so it lands in the notebook (and in Kaggle's log); a failure raises, which
  stops a batch run at the first cell with the installer's one-line reason.
- It finds bundles under either input layout: today's nested one (``notebooks/<owner>/<slug>/``,
  ``datasets/<owner>/<slug>/``, ``models/<owner>/<model>/<framework>/<variation>/<version>/``) and the old
  flat one (``<slug>/``).
- ``KAGGLE_MAGICS_INPUT_ROOT`` moves the input root for local runs without a mount namespace (default
  ``/kaggle/input``).
"""

from __future__ import annotations

from .manifest import MANIFEST_NAME

SEARCH_DEPTH = 8  # folders below the input root a bundle may be in: models/<o>/<m>/<f>/<v>/<n>/kaggle_deps is 7

INSTALL_MARK = "# Install the attached dependency bundles offline"  # how convert --check knows the cell

_TEMPLATE = INSTALL_MARK + """ (kaggle-magics bundle installer; needs no internet).
import glob, importlib, os, re, subprocess, sys

_root = os.environ.get("KAGGLE_MAGICS_INPUT_ROOT", "/kaggle/input")
_sources = {sources!r}
# bundles under either layout: notebooks/<owner>/<slug>/..., datasets/..., models/<owner>/<model>/<fw>/<var>/<v>/...
# or the old <slug>/...; competitions hold none
_found = []
for _dir, _subdirs, _files in os.walk(_root, followlinks=True):
    if {manifest!r} in _files:
        _found.append(_dir)
        _subdirs[:] = []
    elif _dir == _root:
        _subdirs[:] = sorted(d for d in _subdirs if d != "competitions" and not d.startswith("."))
    else:
        _deep = os.path.relpath(_dir, _root).count(os.sep) >= {depth}
        _subdirs[:] = [] if _deep else sorted(d for d in _subdirs if not d.startswith("."))
_found.sort()
# the newest kaggle-magics that any attached bundle carries, with the packaging wheel beside it
_km = sorted(
    (w for d in _found for w in glob.glob(os.path.join(d, "kaggle_magics-*.whl"))),
    key=lambda w: [int(n) for n in re.findall(r"\\d+", os.path.basename(w).split("-")[1])],
)
_tools = []
if _km:
    _tools = _km[-1:] + sorted(glob.glob(os.path.join(os.path.dirname(_km[-1]), "packaging-*.whl")))[-1:]
if not _tools:
    _held = sorted(os.listdir(_root)) if os.path.isdir(_root) else "nothing (it does not exist)"
    raise RuntimeError(
        f"no kaggle-magics bundle under {{_root}} (it holds {{_held}}): attach the deps notebook or dataset"
    )
# sys.path[0] (the working folder) is replaced by the two wheels: nothing else named kaggle_magics can win
_boot = (
    f"import sys; sys.path[:1] = {{_tools!r}}; "
    "from kaggle_magics.bundle.install_main import main; sys.exit(main())"
)
_cmd = [sys.executable, "-c", _boot, "--input-root", _root]
for _source in _sources:
    _cmd += ["--from", _source]
_proc = subprocess.run(_cmd, capture_output=True, text=True)
print(_proc.stdout, end="")
print(_proc.stderr, end="", file=sys.stderr)
if _proc.returncode:
    _why = (_proc.stderr.strip().splitlines() or ["?"])[0]
    raise RuntimeError("offline install of the dependency bundles failed: " + _why)
importlib.invalidate_caches()
"""


def install_cell_source(sources: list[str] | None = None) -> str:
    """The code of a notebook cell that installs the attached bundles offline on a stock Kaggle image.

    ``sources`` are bundle folders or ``owner/slug`` inputs (the notebook's attached kernels or datasets);
    None or empty installs every bundle found under the input root.
    """
    return _TEMPLATE.format(sources=list(sources or []), manifest=MANIFEST_NAME, depth=SEARCH_DEPTH - 1)
