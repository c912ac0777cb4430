"""A local run never sees this machine's Kaggle credentials, in any sandbox: not ~/.kaggle (kaggle.json,
access_token), not $KAGGLE_CONFIG_DIR, not a token file named by $KAGGLE_API_TOKEN, not the CLI's
~/.config/kaggle nor kagglehub's cache, not a KAGGLE_* variable; the official clients inside the run find no
credentials. Here every one of those files lies in a folder the run is shown (a home folder on sys.path, as
when Python is started from it), so only the sandbox's masking can hide them. Without namespaces (``none``)
the files can still be read by their full path, and the run's notes say so."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from kaggle_magics.local.rehearse import rehearse
from tests.fixtures_local import make_notebook

SECRET = "kaggle-secret-that-must-stay-out"

PROBE = """\
import json, os
from pathlib import Path
found = {"vars": sorted(k for k in os.environ if k.startswith(("KAGGLE", "KAGGLEHUB")))}
for name, path in PATHS.items():
    try:
        text = " ".join(os.listdir(path)) if Path(path).is_dir() else Path(path).read_text()
    except OSError as exc:
        text = type(exc).__name__
    found[name] = "SECRET" if SECRET in text else text
found["home"] = os.path.exists(os.path.expanduser("~/.kaggle/kaggle.json"))
from kagglesdk import get_access_token_from_env
import kagglehub.config
clients = [get_access_token_from_env()[0], kagglehub.config.get_kaggle_credentials()]
found["clients"] = [None if v is None else "SOMETHING" for v in clients]
print("FOUND", json.dumps(found))
"""


@pytest.fixture
def machine(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, Path]:
    """Credentials in every place the official clients look, all inside a folder the run is shown."""
    user = tmp_path / "user"
    home = user / "home"
    places = {
        "kaggle_json": home / ".kaggle" / "kaggle.json",
        "access_token": home / ".kaggle" / "access_token",
        "xdg_config": home / ".config" / "kaggle" / "kaggle.json",
        "kagglehub_cache": home / ".cache" / "kagglehub" / "credentials.json",
        "config_dir": user / "kaggle-config" / "kaggle.json",
        "token_file": user / "token.txt",
        "hub_cache": user / "hub-cache" / "models.json",
    }
    for path in places.values():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps({"username": "someone", "key": SECRET}) if path.suffix == ".json" else SECRET)
    (user / "visible.txt").write_text("the folder itself is shown")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_CACHE_HOME", str(user / "xdg-cache"))  # kagglehub still keeps ~/.cache/kagglehub
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(user / "kaggle-config"))
    monkeypatch.setenv("KAGGLE_API_TOKEN", str(places["token_file"]))
    monkeypatch.setenv("KAGGLEHUB_CACHE", str(user / "hub-cache"))
    monkeypatch.setenv("KAGGLE_USERNAME", "someone")
    monkeypatch.setenv("KAGGLE_KEY", SECRET)
    monkeypatch.setattr(sys, "path", [*sys.path, str(user)])  # shown read-only in the box, like a source folder
    return {**places, "visible": user / "visible.txt", "folder": home / ".kaggle"}


def _probe(tmp_path: Path, places: dict[str, Path], mode: str) -> tuple[dict, object]:
    notebook = tmp_path / "probe.ipynb"
    code = f"SECRET = {SECRET!r}\nPATHS = {json.dumps({k: str(v) for k, v in places.items()})}\n" + PROBE
    notebook.write_text(make_notebook([code]))
    result = rehearse(notebook, sandbox_mode=mode, timeout=120)
    assert result.ok, (result.failure_message, result.log.read_text()[-3000:])
    text = "".join(entry["data"] for entry in json.loads(result.log.read_text()))
    return json.loads(text.split("FOUND ", 1)[1].splitlines()[0]), result


@pytest.mark.parametrize("mode", [pytest.param("bwrap", marks=pytest.mark.requires("bwrap")),
                                  pytest.param("unshare", marks=pytest.mark.requires("unshare-view"))])  # fmt: skip
def test_no_credential_reaches_a_sandboxed_run(tmp_path: Path, machine: dict[str, Path], mode: str) -> None:
    found, result = _probe(tmp_path, machine, mode)
    assert result.sandbox == mode
    assert found["vars"] == ["KAGGLE_KERNEL_RUN_TYPE", "KAGGLE_MAGICS_IMAGE_PACKAGES"]  # the image's list: no secret
    assert found["visible"] == "the folder itself is shown", "the folder is shown: the masks alone hide the rest"
    hidden = {name: found[name] for name in machine if name not in ("visible", "folder")}
    assert all(value in ("", "FileNotFoundError") for value in hidden.values()), json.dumps(hidden)
    assert found["folder"] in ("", "FileNotFoundError"), found["folder"]
    assert found["home"] is False and found["clients"] == [None, None]
    assert SECRET not in result.log.read_text() and SECRET not in (result.run_dir / "env.json").read_text()
    assert not any("credentials" in note for note in result.notes)


def test_without_namespaces_the_run_says_what_it_could_still_read(tmp_path: Path, machine: dict[str, Path]) -> None:
    found, result = _probe(tmp_path, machine, "none")
    assert found["vars"] == [
        "KAGGLE_KERNEL_RUN_TYPE",
        "KAGGLE_MAGICS_IMAGE_PACKAGES",
        "KAGGLE_MAGICS_INPUT_ROOT",
        "KAGGLE_MAGICS_WORKING_DIR",
    ]
    assert found["home"] is False and found["clients"] == [None, None], "HOME and the variables point away"
    assert found["kaggle_json"] == "SECRET", "no mount namespace: a full path still reads the file"
    (note,) = [note for note in result.notes if note.startswith("credentials:")]
    for name in ("folder", "xdg_config", "config_dir", "token_file", "hub_cache"):
        place = machine[name] if machine[name].is_dir() else machine[name].parent
        assert str(place.resolve()) in note or str(machine[name].resolve()) in note, (name, note)
    assert SECRET not in (result.run_dir / "env.json").read_text()


@pytest.mark.parametrize("xdg_cache", [None, "elsewhere"])
def test_kagglehubs_own_cache_is_hidden_whatever_xdg_cache_home_says(tmp_path: Path, xdg_cache: str | None) -> None:
    from kaggle_magics.local.credentials import host_paths

    cache = tmp_path / "home" / ".cache" / "kagglehub"
    cache.mkdir(parents=True)
    env = {"HOME": str(tmp_path / "home")}
    if xdg_cache:
        (tmp_path / xdg_cache).mkdir()
        env["XDG_CACHE_HOME"] = str(tmp_path / xdg_cache)
    assert cache.resolve() in host_paths(env)
