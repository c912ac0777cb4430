"""The image twin: the Python environment a local run's kernel gets, as Kaggle's image would give it to this
notebook, and nothing of the user's.

What it holds (:func:`plan`): the kernel machinery at the image's versions (ipykernel and its closure:
IPython, jupyter_client, traitlets, tornado, pyzmq, ...; pip, so that ``!pip install`` cells work), and the
packages of the base snapshot that the notebook and the code of its attached inputs import, at the base's
versions. Imports are read without running anything (:mod:`kaggle_magics.scan`) and mapped to distributions
(:mod:`kaggle_magics.modules`); a module that no package of the base provides is named in the run's notes.
The base is a snapshot (``--base FILE``, ``[tool.kaggle_magics] base``) or, by default, Kaggle's CPU image
list shipped in the package; its transitive pins come with it (the base is the constraint set).

The Python is the image's (3.12) when this machine has one, else the running one, said in a note
(:mod:`.interpreters`).

Each environment is built once per (Python, package set) with uv (:mod:`.image_build`), before the run
(which stays offline), into the user's cache folder (``$KAGGLE_MAGICS_IMAGE_CACHE`` moves it): in a temp
folder renamed into place when complete, its folders then made read-only. A cached entry is checked before
each use (its interpreter, every distribution it recorded); a damaged one is built again, or reported when
that cannot be done. A run layers a throwaway venv over it (:mod:`.environment`), which takes what the
notebook installs.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from collections.abc import Callable, Collection, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from packaging.utils import canonicalize_name

from .. import config, modules, scan
from ..bundle.base import BaseSnapshot, load_base
from ..errors import ImageError
from .interpreters import KAGGLE_PYTHON, Python, choose_python

FORMAT = 1
KERNEL_MACHINERY = ("ipykernel", "pip")  # their closure comes at the base's versions through the constraints
MARKER = "image.json"
_ATTACHED_FILES_LIMIT = 2000  # .py files read from attached inputs, in all


@dataclass
class Plan:
    """What a run's image twin holds, and where it is cached."""

    python: Python
    requirements: dict[str, str]  # distribution -> version (the base's, local label kept), the direct ones
    constraints: dict[str, str]  # the base (and, for what it lacks, the shipped image): every pin
    base: str  # where the base came from, to say it
    notes: list[str] = field(default_factory=list)
    imported: dict[str, str] = field(default_factory=dict)  # distribution -> the first module that needs it

    @property
    def key(self) -> str:
        data = {
            "format": FORMAT,
            "python": [self.python.executable, self.python.version],
            "requirements": sorted(self.requirements.items()),
            "constraints": sorted(self.constraints.items()),
        }
        return hashlib.sha256(json.dumps(data).encode()).hexdigest()[:20]

    @property
    def path(self) -> Path:
        return cache_root() / f"py{self.python.minor}-{self.key}"

    def describe(self) -> str:
        shown = ", ".join(f"{n}=={v}" for n, v in sorted(self.requirements.items()) if n not in KERNEL_MACHINERY)
        return f"Python {self.python.version}; {shown or 'the kernel machinery only'}"

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Plan:
        return cls(
            python=Python(**data["python"]),
            requirements=dict(data["requirements"]),
            constraints=dict(data["constraints"]),
            base=data["base"],
            notes=list(data.get("notes", [])),
            imported=dict(data.get("imported", {})),
        )


@dataclass
class ImageEnv:
    """A built image twin: a venv (relocatable, read-only) in the cache."""

    path: Path
    python: Python
    installed: dict[str, str]  # distribution -> version
    site_packages: Path
    built: bool = False  # built by this call (not found in the cache)
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def bin(self) -> Path:
        return self.path / "bin"

    def read_only_paths(self) -> list[Path]:
        """What a sandbox must show (read-only) for the twin to run: itself and its interpreter's prefix."""
        base = Path(os.path.realpath(self.path / "bin" / "python")).parent.parent
        return [self.path, base]


def cache_root() -> Path:
    if os.environ.get(config.ENV_IMAGE_CACHE):
        return Path(os.environ[config.ENV_IMAGE_CACHE]).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("kaggle-magics")) / "image-envs"


# -- which packages ---------------------------------------------------------------------------------------
def choose_base(base: str | os.PathLike[str] | None) -> BaseSnapshot:
    """The base snapshot a twin is made of: the file given, else Kaggle's image list shipped in the package."""
    return load_base(base)


def _wheel_projects(inputs: Mapping[str, Path]) -> set[str]:
    """Projects that attached inputs carry as wheels (a bundle installed by the notebook provides them)."""
    from ..bundle.wheels import WheelName
    from ..errors import BundleError

    found: set[str] = set()
    for folder in inputs.values():
        for count, wheel in enumerate(scan.files_under(Path(folder), ".whl")):
            if count > 500:
                break
            try:
                found.add(WheelName.parse(wheel.name).project)
            except BundleError:
                continue
    return found


def _competition(name: str, competitions: Collection[str]) -> bool:
    """Whether the input mounted at ``name`` is (or is under) a competition's data, in either layout."""
    return any(name == c or name.startswith(f"{c}/") for c in competitions)


def _left_out_by_bundles(inputs: Mapping[str, Path], competitions: Collection[str]) -> dict[str, str]:
    """What the bundles among the attached inputs left out because the image has it (their wheels need it):
    distribution -> where that bundle is attached. A manifest that does not read is the install's to report."""
    from ..bundle.manifest import find_manifests, read_manifest
    from ..errors import KaggleMagicsError

    found: dict[str, str] = {}
    for name, folder in sorted(inputs.items()):
        if _competition(name, competitions):
            continue
        for where in find_manifests(Path(folder), max_depth=3):
            try:
                manifest = read_manifest(where)
            except KaggleMagicsError:
                continue
            for item in manifest.left_out:
                if item.get("project"):
                    found.setdefault(str(canonicalize_name(item["project"])), name)
    return found


def plan(
    notebook: Any, inputs: Mapping[str, Path], base: BaseSnapshot, *, competitions: Collection[str] = ()
) -> Plan:
    """The twin of ``notebook`` (nbformat node, JSON text or dict) with ``inputs`` attached (path under the
    input root -> host folder), made of ``base``; ``competitions`` are the competitions' mount paths among
    ``inputs`` (their data is not code the notebook imports)."""
    shipped = load_base(None)
    python, notes = choose_python(_minor(base.python) or KAGGLE_PYTHON)
    constraints = {**shipped.packages, **base.packages}
    requirements = {name: constraints[name] for name in KERNEL_MACHINERY if name in constraints}
    found = scan.scan_notebook(notebook)
    local_modules = found.provided_modules()
    for folder in inputs.values():
        local_modules |= scan.modules_in(Path(folder))
    attached: list[scan.Import] = []
    budget = _ATTACHED_FILES_LIMIT
    for name, folder in sorted(inputs.items()):
        if _competition(name, competitions) or budget <= 0:
            continue
        files = scan.scan_python_files(Path(folder), limit=budget)
        budget -= len({i.path for i in files})
        attached += files
    carried = _wheel_projects(inputs)
    imported: dict[str, str] = {}
    unknown: list[str] = []
    unknown_attached: set[str] = set()
    for imp in [*found.imports, *attached]:
        top = imp.top
        if top in local_modules or modules.is_stdlib(top, python.minor) or modules.runtime_only(top):
            continue
        removed = modules.removed_from_stdlib(top, python.minor)
        dist = modules.provider(imp.module, set(base.packages))
        if dist is not None:
            imported.setdefault(dist, imp.module)
            requirements.setdefault(dist, base.packages[dist])
            continue
        if imp.guarded or modules.provider(imp.module, carried) is not None:
            continue  # the code copes without it, or an attached bundle brings it
        if removed and imp.path is None:
            unknown.append(f"{top} (cell {(imp.cell or 0) + 1}: gone from the standard library in Python {removed})")
        elif imp.path is None:
            where = f"cell {(imp.cell or 0) + 1}, line {imp.line}"
            if not any(u.startswith(f"{top} (") for u in unknown):
                unknown.append(f"{top} ({where})")
        else:
            unknown_attached.add(top)
    for dist, where in _left_out_by_bundles(inputs, competitions).items():
        if dist in base.packages:  # the image has it, so the bundle does not: the twin must, as the image does
            requirements.setdefault(dist, base.packages[dist])
            imported.setdefault(dist, f"a requirement of the bundle attached at {where}")
    source = base.source
    if unknown:
        notes.append(
            f"no package of the base ({source}) provides {', '.join(unknown)}: unless a cell installs it, "
            "the run fails with ModuleNotFoundError there, as on Kaggle"
        )
    if unknown_attached:
        notes.append(
            f"the code of attached inputs imports modules no package of the base provides: "
            f"{', '.join(sorted(unknown_attached))}"
        )
    return Plan(python, requirements, constraints, source, notes, imported)


def _minor(version: str | None) -> str | None:
    match = re.match(r"(\d+)\.(\d+)", version or "")
    return f"{match.group(1)}.{match.group(2)}" if match else None


# -- the cache --------------------------------------------------------------------------------------------
def _damage(path: Path, python: Python, deep: bool = False) -> str | None:
    """Why the cached twin at ``path`` cannot be used, or None when it is whole. ``deep`` checks every file
    each distribution's RECORD lists (``local image build``); otherwise its metadata folder only."""
    try:
        marker = json.loads((path / MARKER).read_text(encoding="utf-8"))
    except FileNotFoundError:
        return f"{MARKER} is missing"
    except (OSError, ValueError) as exc:
        return f"{MARKER} is unreadable ({exc})"
    if not isinstance(marker, dict) or marker.get("format") != FORMAT:
        return f"{MARKER} is not of this version of kaggle-magics"
    if not os.path.exists(path / "bin" / "python"):
        return f"its interpreter is gone ({os.path.realpath(path / 'bin' / 'python')})"
    if not (path / "pyvenv.cfg").is_file():
        return "pyvenv.cfg is missing"
    site = path / marker.get("site_packages", "")
    for info in marker.get("dist_info", []):
        if not (site / info).is_dir():
            return f"{info} is missing"
    if marker.get("python", {}).get("version") != python.version:
        return f"it was built for Python {marker.get('python', {}).get('version')}, not {python.version}"
    for info in marker.get("dist_info", []) if deep else []:
        for line in (site / info / "RECORD").read_text(encoding="utf-8", errors="replace").splitlines():
            name = line.rsplit(",", 2)[0]
            if name and not name.startswith("..") and not os.path.lexists(site / name):
                return f"{name} (of {info}) is missing"
    return None


def _load(path: Path) -> ImageEnv:
    marker = json.loads((path / MARKER).read_text(encoding="utf-8"))
    return ImageEnv(
        path=path,
        python=Python(**marker["python"]),
        installed=dict(marker["installed"]),
        site_packages=path / marker["site_packages"],
        notes=list(marker.get("notes", [])),
    )


def cached(plan: Plan) -> ImageEnv | None:
    """The twin of ``plan`` from the cache when it is there and whole."""
    path = plan.path
    if not path.is_dir() or _damage(path, plan.python) is not None:
        return None
    return _load(path)


def ensure(
    plan: Plan,
    *,
    say: Callable[[str], None] | None = None,
    index: Any = None,
    rebuild: bool = False,
    deep: bool = False,
) -> ImageEnv:
    """The twin of ``plan``: from the cache (checked, every file when ``deep``), else built now (``say`` tells
    that it is being built)."""
    from . import image_build
    from .store import locked

    path = plan.path
    notes: list[str] = []
    root = cache_root()
    root.mkdir(parents=True, exist_ok=True)
    with locked(root / f".{path.name}"):  # one build of an entry at a time; the others wait and reuse it
        damage = None
        if path.is_dir():
            damage = None if rebuild else _damage(path, plan.python, deep)
            if damage is None and not rebuild:
                return _load(path)
            if damage is not None:
                notes.append(f"the cached image twin {path} was damaged ({damage}) and was built again")
            _discard(path)
        if say:
            say(f"kaggle-magics: building Kaggle's image twin once ({plan.describe()}) in {path}")
        try:
            env = image_build.build(plan, index=index)
        except ImageError as exc:
            if damage is None:
                raise
            raise ImageError(
                f"the cached image twin {path} was damaged ({damage}) and cannot be built again: {exc.message}",
                hint=exc.hint,
            ) from None
    env.notes = notes + env.notes
    return env


def _discard(path: Path) -> None:
    """Remove a cache entry (its folders were made read-only)."""
    set_writable(path, True)
    trash = path.with_name(f".trash-{path.name}-{os.getpid()}")
    os.replace(path, trash)
    shutil.rmtree(trash, ignore_errors=True)


def set_writable(path: Path, writable: bool) -> None:
    """Folders (not files: they are hard links into uv's cache) made writable or read-only."""
    for folder, _dirs, _files in os.walk(path):
        mode = os.stat(folder).st_mode
        os.chmod(folder, (mode | 0o200) if writable else (mode & ~0o222))

