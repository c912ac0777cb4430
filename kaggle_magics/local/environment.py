"""The environment a local run's kernel gets: a throwaway venv over this interpreter, its kernelspec, and
the variables it may see (Kaggle's markers, the box's paths, locale, proxies and installer settings; never a
credential)."""

from __future__ import annotations

import os
import re
import site
import subprocess
import sys
from pathlib import Path

from .. import config
from . import sandbox
from .runs import KERNEL_NAME
from .store import write_json

# Variables a run inherits from the machine: locale, proxies and package-installer settings. Nothing else
# (no credentials of any kind) reaches the notebook.
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
_PASS_PREFIXES = ("LC_", "PIP_", "UV_")


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
    # `!pip install` must find this venv's pip first, not the user's: a launcher over the pip it can import.
    python = path / "bin" / "python"
    launcher = f"#!{python}\nimport sys\nfrom pip._internal.cli.main import main\nsys.exit(main())\n"
    major, minor = sys.version_info[:2]
    for name in ("pip", "pip3", f"pip{major}.{minor}"):
        script = path / "bin" / name
        script.write_text(launcher, encoding="utf-8")
        script.chmod(0o755)
    return path


def write_kernelspec(folder: Path, venv: Path) -> None:
    spec = {
        "argv": [str(venv / "bin" / "python"), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3",
        "language": "python",
    }
    write_json(folder / KERNEL_NAME / "kernel.json", spec)


def kernel_env(box: sandbox.Sandbox, venv: Path) -> dict[str, str]:
    """The kernel's whole environment: Kaggle's markers, the box's paths, locale/proxy/installer settings
    from the machine, and nothing else."""
    env = {
        k: v
        for k, v in os.environ.items()
        if (k in _PASS_ENV or k.startswith(_PASS_PREFIXES)) and not carries_secret(k, v)
    }
    home = f"{box.tmp_dir}/home"
    env.update(
        PATH=os.pathsep.join(
            [str(venv / "bin"), "/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"]
        ),
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
    env.update(box.env)
    return env
