"""Every setting in one place: environment variables, credentials, and project defaults.

Order of precedence for an option: a flag on the magic or CLI, then ``%config KaggleMagics.<option>``, then
``[tool.kaggle_magics]`` in the nearest pyproject.toml, then the environment, then the built-in default.
Credentials are located here but never read into memory more than needed, and never printed.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

from .errors import ConfigError

# -- environment variables -------------------------------------------------------------------------------
ENV_BACKEND = "KAGGLE_MAGICS_BACKEND"  # kaggle | local
ENV_LOCAL_STORE = "KAGGLE_MAGICS_STORE"  # the local backend's folder
ENV_INPUT_ROOT = "KAGGLE_MAGICS_INPUT_ROOT"  # where attached inputs are (default /kaggle/input)
ENV_WORKING_DIR = "KAGGLE_MAGICS_WORKING_DIR"  # where outputs go (default /kaggle/working)
ENV_RUN_TYPE = "KAGGLE_KERNEL_RUN_TYPE"  # set by Kaggle inside notebooks: Interactive or Batch
ENV_SANDBOX = "KAGGLE_MAGICS_SANDBOX"  # local runs: auto | bwrap | unshare | none
ENV_STATE_DIR = "KAGGLE_MAGICS_STATE_DIR"  # what uploads remember having sent (default: the user's cache dir)
ENV_IMAGE_CACHE = "KAGGLE_MAGICS_IMAGE_CACHE"  # local runs: the built image twins (default: the user's cache dir)
# Inside a local run in the image twin: the file that lists every package of the image the twin stands for
# (the twin installs only those the notebook imports), so that a freeze there leaves out what Kaggle's has
ENV_IMAGE_PACKAGES = "KAGGLE_MAGICS_IMAGE_PACKAGES"

# Kaggle's own credential variables, in the official clients' order of precedence.
ENV_API_TOKEN = "KAGGLE_API_TOKEN"
ENV_USERNAME = "KAGGLE_USERNAME"
ENV_KEY = "KAGGLE_KEY"
ENV_CONFIG_DIR = "KAGGLE_CONFIG_DIR"
SECRET_ENV_VARS = (ENV_API_TOKEN, ENV_KEY, "KAGGLE_PASSWORD", "KAGGLEHUB_TOKEN")

BACKENDS = ("kaggle", "local")
LOCAL_ENVS = ("twin", "user")  # a local run's Python environment: Kaggle's image twin, or the user's own


def kaggle_config_dir() -> Path:
    return Path(os.environ.get(ENV_CONFIG_DIR) or Path.home() / ".kaggle")


def credentials_source(environ: Mapping[str, str] | None = None) -> str | None:
    """Where Kaggle credentials would come from (a description, never the secret), or None if there are none.

    Same order as the official clients: an access token (``KAGGLE_API_TOKEN`` or ``~/.kaggle/access_token``),
    then ``KAGGLE_USERNAME`` + ``KAGGLE_KEY``, then ``kaggle.json``.
    """
    env = os.environ if environ is None else environ
    if env.get(ENV_API_TOKEN):
        return f"${ENV_API_TOKEN}"
    config_dir = Path(env.get(ENV_CONFIG_DIR) or Path.home() / ".kaggle")
    if (config_dir / "access_token").is_file():
        return str(config_dir / "access_token")
    if env.get(ENV_USERNAME) and env.get(ENV_KEY):
        return f"${ENV_USERNAME} + ${ENV_KEY}"
    if (config_dir / "kaggle.json").is_file():
        return str(config_dir / "kaggle.json")
    return None


def kaggle_username(environ: Mapping[str, str] | None = None) -> str | None:
    """The Kaggle user name, if the environment or kaggle.json tells it (no network)."""
    import json

    env = os.environ if environ is None else environ
    if env.get(ENV_USERNAME):
        return env[ENV_USERNAME]
    path = Path(env.get(ENV_CONFIG_DIR) or Path.home() / ".kaggle") / "kaggle.json"
    try:
        return json.loads(path.read_text()).get("username") or None
    except (OSError, ValueError, AttributeError):
        return None


NO_CREDENTIALS_HINT = (
    "put kaggle.json (from kaggle.com/settings, 'Create New Token') in ~/.kaggle/, or set KAGGLE_USERNAME and "
    "KAGGLE_KEY, or KAGGLE_API_TOKEN; or use --backend local to work with the embedded local Kaggle"
)


def in_kaggle(environ: Mapping[str, str] | None = None) -> bool:
    """True inside a Kaggle notebook (or a local run that mimics one)."""
    env = os.environ if environ is None else environ
    return bool(env.get(ENV_RUN_TYPE))


def state_dir() -> Path:
    """What kaggle-magics remembers between calls (uploads sent, kernels pushed): $KAGGLE_MAGICS_STATE_DIR or
    the user's cache dir."""
    if os.environ.get(ENV_STATE_DIR):
        return Path(os.environ[ENV_STATE_DIR]).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("kaggle-magics"))


def default_store_dir() -> Path:
    """The local backend's folder: $KAGGLE_MAGICS_STORE or the user's cache dir."""
    if os.environ.get(ENV_LOCAL_STORE):
        return Path(os.environ[ENV_LOCAL_STORE]).expanduser()
    from platformdirs import user_cache_dir

    return Path(user_cache_dir("kaggle-magics")) / "local-kaggle"


# -- project defaults ------------------------------------------------------------------------------------
@dataclass
class ProjectDefaults:
    """``[tool.kaggle_magics]`` of the nearest pyproject.toml. Every key is optional."""

    owner: str | None = None
    competition: str | None = None
    accelerator: str | None = None
    backend: str | None = None
    attach: list[str] = field(default_factory=list)
    datasets: list[str] = field(default_factory=list)
    models: list[str] = field(default_factory=list)
    internet: bool | None = None
    public: bool | None = None
    timeout: int | None = None
    kernel_dir: str | None = None
    deps_dest: str | None = None
    base: str | None = None
    env: str | None = None
    store: str | None = None
    python_version: str | None = None
    platform: str | None = None
    input_layout: str | None = None
    source: Path | None = None

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], source: Path | None = None) -> ProjectDefaults:
        known = {f.name: f for f in fields(cls) if f.name != "source"}
        values: dict[str, Any] = {}
        where = f"[tool.kaggle_magics] in {source}" if source else "[tool.kaggle_magics]"
        for key, value in data.items():
            name = key.replace("-", "_")
            if name not in known:
                raise ConfigError(
                    f"{where}: unknown key {key!r}", hint="known keys: " + ", ".join(sorted(known))
                )
            expected = known[name].type
            if "list" in str(expected):
                if isinstance(value, str):
                    value = [value]
                if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
                    raise ConfigError(f"{where}: {key} must be a string or a list of strings")
            elif "bool" in str(expected) and not isinstance(value, bool):
                raise ConfigError(f"{where}: {key} must be true or false")
            elif "int" in str(expected) and (not isinstance(value, int) or isinstance(value, bool)):
                raise ConfigError(f"{where}: {key} must be a whole number")
            elif "str" in str(expected) and not isinstance(value, str):
                raise ConfigError(f"{where}: {key} must be a string")
            values[name] = value
        _check_choices(values, where)
        return cls(**values, source=source)


def _check_choices(values: dict[str, Any], where: str) -> None:
    """Names with a fixed set of values are checked here, so the error names the file they came from."""
    from .errors import MetadataError
    from .metadata import check_accelerator

    if values.get("accelerator"):
        try:
            values["accelerator"] = check_accelerator(values["accelerator"])
        except MetadataError as exc:
            raise ConfigError(f"{where}: accelerator: {exc.message}", hint=exc.hint) from None
    if values.get("input_layout"):
        from .inputs import check_layout

        values["input_layout"] = check_layout(values["input_layout"], f"{where}: input_layout")
    if values.get("env"):
        values["env"] = check_env(values["env"], f"{where}: env")
    backend = values.get("backend")
    if backend and backend.strip().lower() not in BACKENDS:
        raise ConfigError(f"{where}: unknown backend {backend!r}", hint="use one of: " + ", ".join(BACKENDS))


def check_env(value: str | None, where: str = "--env") -> str:
    """``value`` as a local run's environment (``twin`` when empty); anything else is a ConfigError."""
    if value is None or not str(value).strip():
        return LOCAL_ENVS[0]
    name = str(value).strip().lower()
    if name not in LOCAL_ENVS:
        raise ConfigError(
            f"{where}: unknown environment {value!r}",
            hint="use twin (Kaggle's image packages only, the default) or user (your own environment)",
        )
    return name


def find_pyproject(start: Path | None = None) -> Path | None:
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        candidate = folder / "pyproject.toml"
        if candidate.is_file():
            return candidate
    return None


def load_project_defaults(start: Path | None = None) -> ProjectDefaults:
    """Read ``[tool.kaggle_magics]`` from the nearest pyproject.toml (empty defaults when there is none)."""
    path = find_pyproject(start)
    if path is None:
        return ProjectDefaults()
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - Python 3.10
        import tomli as tomllib
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read it ({exc})", hint="fix the TOML syntax") from None
    section = data.get("tool", {}).get("kaggle_magics", {})
    if not isinstance(section, dict):
        raise ConfigError(f"{path}: [tool.kaggle_magics] must be a table")
    return ProjectDefaults.from_mapping(section, source=path)


def first(*values: Any) -> Any:
    """The first value that is set (not None and not empty), else None."""
    for value in values:
        if value is not None and value != "" and value != []:
            return value
    return None
