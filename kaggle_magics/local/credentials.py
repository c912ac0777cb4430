"""Where this machine keeps Kaggle credentials, so that a local run never sees them.

The official clients read, in their order: ``KAGGLE_API_TOKEN`` (a token, or the path of a file holding one),
``KAGGLE_API_V1_TOKEN`` (a token file, inside Kaggle), ``~/.kaggle/access_token`` (and ``access_token.txt``),
``KAGGLE_USERNAME`` + ``KAGGLE_KEY``, ``kaggle.json`` and kagglesdk's ``credentials.json`` in
``$KAGGLE_CONFIG_DIR`` or ``~/.kaggle`` (the CLI also looks in ``$XDG_CONFIG_HOME/kaggle``), and kagglehub
keeps what it fetched, with the same account, under ``$KAGGLEHUB_CACHE`` (``~/.cache/kagglehub``, whatever
``$XDG_CACHE_HOME`` says: kagglehub does not read it).

A run's variables never carry any of them (:mod:`.environment` passes a short list of harmless ones) and its
``HOME`` is a fresh folder; :func:`host_paths` lists the files and folders the sandbox must also hide, where a
mount namespace can (``bwrap``, ``unshare``), and that the run's notes name where it cannot (``none``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from .. import config

_TOKEN_FILE_VARS = (config.ENV_API_TOKEN, "KAGGLE_API_V1_TOKEN")


def host_paths(environ: Mapping[str, str] | None = None) -> list[Path]:
    """The credential files and folders that exist on this machine, resolved, each once, shortest first."""
    env = os.environ if environ is None else environ
    home = Path(env.get("HOME") or Path.home())
    candidates = [
        home / ".kaggle",
        Path(env.get("XDG_CONFIG_HOME") or home / ".config") / "kaggle",
        home / ".cache" / "kagglehub",  # kagglehub's default, which ignores $XDG_CACHE_HOME
        Path(env.get("XDG_CACHE_HOME") or home / ".cache") / "kagglehub",
    ]
    if env.get(config.ENV_CONFIG_DIR):
        candidates.append(Path(env[config.ENV_CONFIG_DIR]))
    if env.get("KAGGLEHUB_CACHE"):
        candidates.append(Path(env["KAGGLEHUB_CACHE"]))
    for name in _TOKEN_FILE_VARS:  # a token given as the path of a file
        value = env.get(name, "")
        if value and ("/" in value or value.startswith("~")):
            candidates.append(Path(value).expanduser())
    found: list[Path] = []
    for path in candidates:
        try:
            if not path.exists():
                continue
            resolved = path.resolve()
        except OSError:
            continue
        if resolved not in found:
            found.append(resolved)
    return sorted(found, key=lambda p: (len(p.parts), str(p)))


def visible(path: Path, shown: list[Path]) -> bool:
    """Whether ``path`` lies in one of the host folders ``shown`` at their own paths in the box."""
    return any(path == root or root in path.parents for root in shown)
