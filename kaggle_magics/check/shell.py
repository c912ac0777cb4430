"""Shell lines read for what they fetch: ``pip install`` (its requirements, whether it may use an index),
``wget``/``curl``/``git clone`` of URLs, ``apt-get``, model and data downloaders.

A line is split into its commands (``&&``, ``;``, ``|``) with :mod:`shlex`; IPython's ``{var}``/``$var``
expansions are kept as written, and a requirement that holds one is not judged.
"""

from __future__ import annotations

import functools
import re
import shlex
from dataclasses import dataclass, field

# pip install options that take a value (the rest are flags)
_PIP_VALUE_OPTIONS = frozenset({
    "-r", "--requirement", "-c", "--constraint", "-e", "--editable", "-t", "--target", "--platform",
    "--python-version", "--implementation", "--abi", "--root", "--prefix", "--src", "--upgrade-strategy",
    "-i", "--index-url", "--extra-index-url", "-f", "--find-links", "--progress-bar", "--no-binary",
    "--only-binary", "--log", "--proxy", "--retries", "--timeout", "--exists-action", "--trusted-host", "--cert",
    "--client-cert", "--cache-dir", "--report", "--config-settings", "-C", "--global-option", "--python",
    "--root-user-action", "--use-feature", "--use-deprecated", "--keyring-provider", "--group",
})  # fmt: skip
_URL = re.compile(r"^(?:[a-z0-9+]+://|git\+|hg\+|svn\+|bzr\+)", re.IGNORECASE)
LOCAL_HOSTS = ("localhost", "127.0.0.1", "0.0.0.0", "[::1]")


def is_remote_url(text: str) -> bool:
    """``https://example.com/x`` and the like; ``file://`` and loopback addresses are not remote."""
    match = re.match(r"^(?:https?|ftp|s3|gs)://([^/:?#]*)", text, re.IGNORECASE)
    return match is not None and bool(match.group(1)) and match.group(1).lower() not in LOCAL_HOSTS


def is_local_path(text: str) -> bool:
    return text.startswith(("/", "./", "../", "~", "file:")) or text in (".", "..") or (
        "/" in text and not _URL.match(text)
    )


@dataclass
class Pip:
    """One ``pip install`` (or ``uv pip install``, ``%pip install``)."""

    text: str  # the command as written
    requirements: list[str] = field(default_factory=list)  # named or URL requirements, as written
    local: list[str] = field(default_factory=list)  # paths: wheels, folders (-e too)
    files: list[str] = field(default_factory=list)  # -r requirement files
    no_index: bool = False
    find_links: list[str] = field(default_factory=list)
    index: bool = False  # an index given (-i / --extra-index-url)
    reinstall: bool = False  # --force-reinstall / -I: pip downloads even what is installed
    no_build_isolation: bool = False

    @property
    def only_local(self) -> bool:
        """Nothing it needs comes from an index (or every index is a local folder)."""
        return self.no_index or (not self.requirements and not self.files)


@dataclass
class Fetch:
    """A command that fetches from the internet: ``tool`` names it, ``target`` is what it fetches."""

    tool: str
    target: str
    text: str


def split_commands(line: str) -> list[list[str]]:
    """``a && b | c; d`` -> [[a...], [b...], [c...], [d...]]; an unparseable line -> its plain words."""
    try:
        lexer = shlex.shlex(line, posix=True, punctuation_chars=";&|")
        lexer.whitespace_split = True
        tokens = list(lexer)
    except ValueError:
        tokens = line.split()
    commands: list[list[str]] = [[]]
    redirect = False  # the next token is a redirection's target (`> log.txt`, `2>&1`)
    for token in tokens:
        if redirect:
            redirect = token == "&"
        elif re.match(r"^\d*[<>]", token):
            redirect = token.endswith((">", "<"))
        elif token and set(token) <= set(";&|"):
            commands.append([])
        else:
            commands[-1].append(token)
    return [_strip_prefix(c) for c in commands if c]


def _strip_prefix(words: list[str]) -> list[str]:
    """Drop ``sudo``, ``time``, ``env``, ``VAR=value`` in front of a command."""
    while words and (words[0] in ("sudo", "time", "env", "nohup", "exec") or re.match(r"^[A-Za-z_]\w*=", words[0])):
        words = words[1:]
    return words


def _program(words: list[str]) -> tuple[str, list[str]]:
    """``python3 -m pip install x`` -> ("pip", ["install", "x"]); ``pip3.12 install`` -> ("pip", [...])."""
    if not words:
        return "", []
    head = words[0].rsplit("/", 1)[-1]
    if re.match(r"^(python[\d.]*|\{sys\.executable\}|\$\{?sys\.executable\}?|py)$", head) and "-m" in words[1:3]:
        at = words.index("-m")
        if at + 1 < len(words):
            return words[at + 1], words[at + 2 :]
    if re.match(r"^pip[\d.]*$", head):
        return "pip", words[1:]
    if head == "uv" and words[1:2] == ["pip"]:
        return "pip", words[2:]
    return head, words[1:]


def parse_pip(words: list[str], text: str) -> Pip | None:
    """The ``pip install`` in ``words`` (pip's own arguments), or None when it is another pip command."""
    if not words or words[0] != "install":
        return None
    pip = Pip(text)
    args = iter(words[1:])
    for arg in args:
        option, _, inline = arg.partition("=") if arg.startswith("--") else (arg, "", "")
        if option in _PIP_VALUE_OPTIONS or (len(arg) > 2 and arg[:2] in ("-r", "-f", "-i", "-e", "-c")):
            if option in _PIP_VALUE_OPTIONS:
                value = inline or next(args, "")
            else:
                option, value = arg[:2], arg[2:]
            if option in ("-r", "--requirement"):
                pip.files.append(value)
            elif option in ("-f", "--find-links"):
                pip.find_links.append(value)
            elif option in ("-i", "--index-url", "--extra-index-url"):
                pip.index = pip.index or not is_local_path(value)
            elif option in ("-e", "--editable"):
                (pip.requirements if _URL.match(value) else pip.local).append(value)
            continue
        if arg in ("--force-reinstall", "-I", "--ignore-installed"):
            pip.reinstall = True
        elif arg == "--no-index":
            pip.no_index = True
        elif arg == "--no-build-isolation":
            pip.no_build_isolation = True
        elif arg.startswith("-"):
            continue
        elif is_local_path(arg) or (arg.endswith((".whl", ".tar.gz", ".zip")) and not _URL.match(arg)):
            pip.local.append(arg)
        else:
            pip.requirements.append(arg)
    return pip


_DOWNLOADERS = {"wget", "curl", "aria2c", "axel", "gdown", "rsync", "scp"}


@functools.lru_cache(maxsize=4096)
def read_line(text: str) -> tuple[list[Pip], list[Fetch]]:
    """The pip installs and the fetches of one shell line (or of a ``%pip``/``%conda`` magic's text); cached,
    so the results must not be changed."""
    pips: list[Pip] = []
    fetches: list[Fetch] = []
    for words in split_commands(text):
        program, rest = _program(words)
        if program == "pip":
            pip = parse_pip(rest, text)
            if pip is not None:
                pips.append(pip)
            elif rest[:1] == ["download"]:
                fetches.append(Fetch("pip download", " ".join(rest[1:]), text))
            continue
        if program in ("conda", "mamba", "micromamba") and rest[:1] == ["install"]:
            if not any(w in ("--offline", "--use-local") for w in rest):
                fetches.append(Fetch(f"{program} install", _words(rest[1:]), text))
        elif program in ("apt-get", "apt", "yum", "dnf", "apk") and rest[:1] and rest[0] in ("install", "update"):
            fetches.append(Fetch(f"{program} {rest[0]}", _words(rest[1:]), text))
        elif program in _DOWNLOADERS:
            urls = [w for w in rest if is_remote_url(w) or (program == "gdown" and not w.startswith("-"))]
            if urls:
                fetches.append(Fetch(program, urls[0], text))
        elif program == "git" and rest[:1] in (["clone"], ["pull"], ["fetch"], ["submodule"]):
            remote = [w for w in rest[1:] if is_remote_url(w) or w.startswith("git@")]
            if remote or rest[0] != "clone":
                fetches.append(Fetch(f"git {rest[0]}", remote[0] if remote else "", text))
        elif program in ("huggingface-cli", "hf") and rest[:1] == ["download"]:
            fetches.append(Fetch(f"{program} download", " ".join(rest[1:2]), text))
        elif program == "kaggle" and len(rest) >= 2 and rest[1] in ("download", "output", "pull"):
            fetches.append(Fetch(f"kaggle {rest[0]} {rest[1]}", _words(rest[2:]), text))
        elif program == "spacy" and rest[:1] == ["download"]:
            fetches.append(Fetch("spacy download", " ".join(rest[1:2]), text))
        elif program in ("nltk.downloader",):
            fetches.append(Fetch("nltk.downloader", _words(rest), text))
        elif program in ("npm", "yarn", "cargo", "go", "gem") and rest[:1] in (["install"], ["add"], ["get"]):
            fetches.append(Fetch(f"{program} {rest[0]}", " ".join(rest[1:2]), text))
    return pips, fetches


def _words(words: list[str]) -> str:
    """The arguments of a command without its options."""
    return " ".join(w for w in words if not w.startswith("-"))


def quote(words: list[str]) -> str:
    return " ".join(shlex.quote(w) if re.search(r"[<>|&;()\s*!$`'\"]", w) else w for w in words)
