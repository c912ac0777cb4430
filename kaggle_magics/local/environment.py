"""The environment a local run's kernel gets: its Python packages, its kernelspec, and the variables it may see
(Kaggle's markers, the box's paths, locale, proxies and installer settings; never a credential).

Two environments (``--env``, ``[tool.kaggle_magics] env``, ``%config KaggleMagics.env``):

``twin`` (the default)
    Kaggle's image as it would be for this notebook (:mod:`.image`): decided and built before the run by
    :func:`prepare` (which writes the run folder's ``environment.json``), then a throwaway venv layered over
    it for each run, which takes whatever the notebook installs. Nothing of the user's environment.
``user``
    a throwaway venv layered over this interpreter's packages (the user's venv and user site): what the user
    has installed is importable, which Kaggle's image may not have. The run's notes say so.
"""

from __future__ import annotations

import os
import re
import site
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .. import config
from . import sandbox
from .runs import KERNEL_NAME, RunSpec
from .store import read_json_object, write_json

if TYPE_CHECKING:
    from . import image as image_module

_SYSTEM_PATH = ("/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin")
ENVS = config.LOCAL_ENVS
DEFAULT_ENV = ENVS[0]
ENV_FILE = "environment.json"
IMAGE_PACKAGES_FILE = "image-packages.txt"  # in the run's scratch folder (see write_image_packages)
USER_NOTE = (
    "this run uses your own environment (--env user), not Kaggle's image: what it imports may be missing on "
    "Kaggle (the default, --env twin, runs with the image's packages only)"
)

# Variables a run inherits from the machine: locale, proxies and (with internet on) package-installer
# settings. Nothing else (no credentials of any kind) reaches the notebook.
_PASS_ENV = (
    "LANG",
    "LANGUAGE",
    "TZ",
    "LD_LIBRARY_PATH",
    "CUDA_VISIBLE_DEVICES",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
)
_PASS_PREFIXES = ("LC_",)
_INSTALLER_PREFIXES = ("PIP_", "UV_")  # an index or find-links of this machine: Kaggle's offline rerun has none


_SECRET_NAME = re.compile(r"TOKEN|KEY|PASSWORD|SECRET|AUTH|CREDENTIAL", re.IGNORECASE)
_URL_CREDENTIALS = re.compile(r"://[^/@\s]+@")


def carries_secret(name: str, value: str) -> bool:
    """A variable a run must not see: a secret by its name, or a URL with credentials in it
    (``PIP_INDEX_URL=https://user:token@host/...``, a proxy with a password)."""
    return bool(_SECRET_NAME.search(name) or _URL_CREDENTIALS.search(value))


def package_parent() -> str:
    """The folder kaggle_magics is imported from, when the interpreter would not find it by itself (a source
    checkout); empty when it is installed."""
    import kaggle_magics

    parent = Path(kaggle_magics.__file__).resolve().parent.parent
    installed = {Path(p).resolve() for p in site.getsitepackages()}
    return "" if parent in installed else str(parent)


def check_env(value: str | None, where: str = "--env") -> str:
    return config.check_env(value, where)


@dataclass
class Choice:
    """Which environment a run gets: ``twin`` made of ``base`` (a snapshot file; None: the shipped image
    list), or ``user``."""

    env: str = DEFAULT_ENV
    base: str | None = None


def prepare(run_dir: Path, choice: Choice, *, say: Callable[[str], None] | None = None) -> list[str]:
    """Before a run (in the process that pushes or rehearses it): decide its environment, build the twin if
    the cache lacks it, and write ``environment.json``; returns the notes about it."""
    env = check_env(choice.env)
    if env == "user":
        write_json(run_dir / ENV_FILE, {"env": "user", "notes": [USER_NOTE]})
        return [USER_NOTE]
    from . import image

    spec = RunSpec.load(run_dir)
    base = image.choose_base(choice.base)
    plan = image.plan(
        (run_dir / "source.ipynb").read_text(encoding="utf-8"), {k: Path(v) for k, v in spec.inputs.items()}, base,
        competitions=spec.competitions,
    )  # fmt: skip
    twin = image.ensure(plan, say=say)
    notes = [*plan.notes, *twin.notes]
    write_json(run_dir / ENV_FILE, {"env": "twin", "plan": plan.to_json(), "image": str(twin.path), "notes": notes})
    return notes


@dataclass
class KernelEnv:
    """What the supervisor gives a run's kernel: its venv, more folders for PATH, folders the sandbox must
    show read-only, and the notes to tell."""

    venv: Path
    path: list[Path] = field(default_factory=list)
    read_only: list[Path] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    variables: dict[str, str] = field(default_factory=dict)  # more of the kernel's environment


def kernel_environment(run_dir: Path, scratch: Path) -> KernelEnv:
    """In the supervisor: the run's own venv, over the twin that :func:`prepare` chose (or over this
    interpreter for ``--env user``, and for run folders written before there was a choice)."""
    path = run_dir / ENV_FILE
    data: dict[str, Any] = (
        read_json_object(path, "run environment") if path.is_file() else {"env": "user", "notes": [USER_NOTE]}
    )
    if data.get("env") != "twin":
        return KernelEnv(make_venv(scratch / "venv"), notes=list(data.get("notes", [])))
    from . import image

    plan = image.Plan.from_json(data["plan"])
    twin = image.ensure(plan)  # from the cache; built again if it was damaged
    venv = make_run_venv(scratch / "venv", twin)
    listing = write_image_packages(scratch / IMAGE_PACKAGES_FILE, plan)
    return KernelEnv(
        venv, [twin.bin], twin.read_only_paths(), list(dict.fromkeys([*data.get("notes", []), *twin.notes])),
        {config.ENV_IMAGE_PACKAGES: str(listing)},
    )  # fmt: skip


def write_image_packages(path: Path, plan: image_module.Plan) -> Path:
    """The image's whole package list (its base, and the shipped list for what that lacks), in ``pip freeze``
    format, for code in the run that asks what the image has: the twin holds only what the notebook imports,
    and a freeze in a deps kernel must still leave out everything Kaggle's image has, as it does on Kaggle."""
    lines = [
        f"# the packages of Kaggle's image this run's twin stands for (base: {plan.base})",
        f"# python {plan.python.version}",
        *(f"{name}=={version}" for name, version in sorted(plan.constraints.items())),
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def missing_module_hints(run_dir: Path, failure: str | None) -> list[str]:
    """After a run in the twin that failed on a ModuleNotFoundError: where that module would come from."""
    # a plain import, or a library's optional one (pandas: "Missing optional dependency 'pyarrow'")
    found = re.search(r"(?:No module named|Missing optional dependency) '([\w]+)", failure or "")
    path = run_dir / ENV_FILE
    if found is None or not path.is_file():
        return []
    data = read_json_object(path, "run environment")
    if data.get("env") != "twin":
        return []
    import importlib.util

    from .. import modules
    from . import image

    module = found.group(1)
    plan = image.Plan.from_json(data["plan"])
    dist = modules.provider(module, set(plan.constraints))
    if dist is not None:
        return [
            f"{module}: {dist} {plan.constraints[dist]} is in the image (base: {plan.base}), but the notebook "
            "does not import it (a library's optional import, or one by a computed name): the twin holds the "
            f"base packages a notebook imports, so add `import {module}` to a cell"
        ]
    if importlib.util.find_spec(module) is not None:
        return [
            f"{module} is installed in your environment, not in Kaggle's image (base: {plan.base}): freeze it "
            f"into a bundle (%kaggle_freeze {module}), attach it and install it offline in the first cell "
            "(--deps); --env user runs with your environment"
        ]
    return []


def make_run_venv(path: Path, twin: image_module.ImageEnv) -> Path:
    """A throwaway venv over the image twin: the twin's packages visible, what the notebook installs kept
    here (and thrown away with the run)."""
    from ..bundle.resolve import require_uv

    subprocess.run(
        [require_uv(), "venv", "--quiet", "--no-config", "--python", str(twin.path / "bin" / "python"), str(path)],
        check=True, capture_output=True, env={**os.environ, "UV_PYTHON_DOWNLOADS": "never", "VIRTUAL_ENV": ""},
    )  # fmt: skip
    purelib = path / "lib" / f"python{twin.python.minor}" / "site-packages"
    (purelib / "_kaggle_image.pth").write_text(f"import site; site.addsitedir({str(twin.site_packages)!r})\n")
    _pip_launchers(path, twin.python.minor)
    return path


def _pip_launchers(path: Path, minor: str) -> None:
    """`!pip install` must find this venv's pip first, not another: a launcher over the pip it can import."""
    python = path / "bin" / "python"
    launcher = f"#!{python}\nimport sys\nfrom pip._internal.cli.main import main\nsys.exit(main())\n"
    for name in ("pip", "pip3", f"pip{minor}"):
        script = path / "bin" / name
        script.write_text(launcher, encoding="utf-8")
        script.chmod(0o755)


def make_venv(path: Path) -> Path:
    """A throwaway venv that sees the current interpreter's packages (the stand-in for Kaggle's image) and
    takes whatever the notebook installs, so the user's own environment is never written to."""
    import venv

    venv.EnvBuilder(with_pip=False, symlinks=True, clear=True).create(path)
    purelib = Path(
        subprocess.run(
            [str(path / "bin" / "python"), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    )
    dirs = [*site.getsitepackages()]
    if site.ENABLE_USER_SITE and site.getusersitepackages() and Path(site.getusersitepackages()).is_dir():
        dirs.append(site.getusersitepackages())
    # addsitedir (not a bare path) so the .pth files in those folders (editable installs...) work too.
    lines = [f"import site; site.addsitedir({d!r})" for d in dirs if Path(d).is_dir()]
    (purelib / "_kaggle_image.pth").write_text("\n".join(lines) + "\n", encoding="utf-8")
    _pip_launchers(path, "{}.{}".format(*sys.version_info[:2]))
    return path


def write_kernelspec(folder: Path, venv: Path) -> None:
    spec = {
        "argv": [str(venv / "bin" / "python"), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3",
        "language": "python",
    }
    write_json(folder / KERNEL_NAME / "kernel.json", spec)


def kernel_env(
    box: sandbox.Sandbox,
    venv: Path,
    path: list[Path] | None = None,
    variables: dict[str, str] | None = None,
    *,
    internet: bool = False,
) -> dict[str, str]:
    """The kernel's whole environment: Kaggle's markers, the box's paths, locale/proxy settings from the
    machine, and nothing else. ``path``: more folders for PATH, after the venv's; ``variables``: what the run's
    environment adds (:attr:`KernelEnv.variables`). With ``internet`` the machine's pip and uv settings (its
    index, a mirror) pass too; without it they do not, and pip reads no configuration file: an index or
    find-links folder of this machine would let ``!pip install`` succeed offline where Kaggle's rerun fails."""
    passed = _PASS_PREFIXES + (_INSTALLER_PREFIXES if internet else ())
    env = {
        k: v
        for k, v in os.environ.items()
        if (k in _PASS_ENV or k.startswith(passed)) and not carries_secret(k, v)
    }
    if not internet:
        env["PIP_CONFIG_FILE"] = os.devnull  # the machine's /etc/pip.conf is visible in the box
    home = f"{box.tmp_dir}/home"
    env.update(
        PATH=os.pathsep.join([str(venv / "bin"), *(str(p) for p in path or []), *_SYSTEM_PATH]),
        HOME=home,
        TMPDIR=box.tmp_dir,
        VIRTUAL_ENV=str(venv),
        PYTHONNOUSERSITE="1",
        JUPYTER_RUNTIME_DIR=f"{box.tmp_dir}/jupyter-runtime",
        IPYTHONDIR=f"{home}/.ipython",
        MPLBACKEND="agg",
    )
    env.setdefault("LANG", "C.UTF-8")
    env[config.ENV_RUN_TYPE] = "Batch"
    env.update(variables or {})
    env.update(box.env)
    return env
