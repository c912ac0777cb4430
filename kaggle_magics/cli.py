"""``kaggle-magics <verb>``: the magics' verbs for a terminal, thin over the same workflow functions.

``main(argv=None) -> int``: 0 on success, the error's exit code on a known failure (printed as ``error: ...``
and ``hint: ...``), 1 for a run or submission that failed, 130 on Ctrl-C; only an unexpected exception prints
a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, NoReturn

from . import __version__
from . import options as opts
from .errors import KaggleMagicsError, os_errors

VERBS: dict[str, tuple[str, list[opts.Arg]]] = {
    "push": ("push a kernel folder, a notebook or a percent-format .py to Kaggle", opts.PUSH),
    "convert": ("turn notebooks into Kaggle-ready kernel folders, in a batch", opts.CONVERT),
    "check": ("will it survive Kaggle? imports, internet, /kaggle/input paths, submission, metadata; no run",
              opts.CHECK),
    "freeze": ("freeze requirements into an offline bundle of wheels for Kaggle", opts.FREEZE),
    "install": ("install offline bundles (in a Kaggle notebook: every attached bundle)", opts.INSTALL),
    "status": ("a kernel run's status; --wait follows it and tells its runtime", opts.STATUS),
    "output": ("download a kernel's output files", opts.OUTPUT),
    "submit": ("submit a kernel's output (code competitions) or a file", opts.SUBMIT),
    "dataset": ("upload a folder as a dataset, a new version only when it changed", opts.DATASET),
    "model": ("upload weights as a new version of a Kaggle model", opts.MODEL),
    "rehearse": (
        "run a kernel folder or notebook now, as Kaggle would (its limits, its scorer), with each cell's time and "
        "memory",
        opts.REHEARSE,
    ),
    "demo": ("the whole chain on the embedded local Kaggle: freeze, deps kernel, offline submission", opts.DEMO),
}
# ``kaggle-magics local competition add SLUG DIR``
LOCAL_COMPETITION_VERBS: dict[str, tuple[str, list[opts.Arg], str]] = {
    "add": ("register a folder of data as a local competition", opts.LOCAL_COMPETITION_ADD, "local_competition_add"),
    "list": ("list the local competitions", [opts.STORE], "local_competition_list"),
}
# ``kaggle-magics local image build [PATH...]``
LOCAL_IMAGE_VERBS: dict[str, tuple[str, list[opts.Arg], str]] = {
    "build": ("build the image twins local runs execute in (online), for these notebooks", opts.LOCAL_IMAGE_BUILD,
              "local_image_build"),
}  # fmt: skip


def _notice(message: str) -> None:
    print(message, file=sys.stderr)


def _echo(message: str) -> None:
    print(message, flush=True)


class _Parser(opts.SuggestingParser):
    """The CLI's parser: errors are ``error: ...`` and ``hint: ...`` lines and exit code 2, as ours are."""

    handlers: dict[str, argparse.ArgumentParser]

    def chosen(self, ns: argparse.Namespace) -> argparse.ArgumentParser:
        return getattr(self, "handlers", {}).get(getattr(ns, "handler", None) or "", self)

    def error(self, message: str) -> NoReturn:
        red, dim, reset = ("\033[31m", "\033[2m", "\033[0m") if _color() else ("", "", "")
        self.exit(2, f"{red}error:{reset} {self.prog}: {message}\n{dim}hint:{reset} {self.prog} --help lists "
                     "what it takes\n")


def build_parser() -> argparse.ArgumentParser:
    handlers: dict[str, argparse.ArgumentParser] = {}
    parser = _Parser(
        prog="kaggle-magics",
        description="Kaggle code competitions made painless: offline dependency bundles, submission notebooks, "
        "push, status, outputs, submit; with an embedded local Kaggle.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    verbs = parser.add_subparsers(dest="verb", metavar="VERB")
    for name, (summary, specs) in VERBS.items():
        verb = verbs.add_parser(name, help=summary, description=summary)
        opts.add_to_parser(verb, specs)
        verb.set_defaults(handler=name)
        handlers[name] = verb
    local = verbs.add_parser("local", help="manage the embedded local Kaggle", description="the embedded local Kaggle")
    things = local.add_subparsers(dest="thing", metavar="THING")
    competition = things.add_parser("competition", help="local competitions", description="local competitions")
    image = things.add_parser(
        "image", help="the image twins local runs execute in", description="Kaggle's image, as local runs get it"
    )
    for group, verbs_of_group in ((competition, LOCAL_COMPETITION_VERBS), (image, LOCAL_IMAGE_VERBS)):
        actions = group.add_subparsers(dest="action", metavar="ACTION")
        for name, (summary, specs, handler) in verbs_of_group.items():
            verb = actions.add_parser(name, help=summary, description=summary)
            opts.add_to_parser(verb, specs)
            verb.set_defaults(handler=handler)
            handlers[handler] = verb
    parser.handlers = handlers
    return parser


def _color() -> bool:
    return sys.stderr.isatty() and not os.environ.get("NO_COLOR")


@contextmanager
def _errors_reported() -> Iterator[list[int]]:
    """Known errors become ``error: ...`` + ``hint: ...`` and an exit code; Ctrl-C becomes 130."""
    code = [0]
    try:
        yield code
    except KaggleMagicsError as exc:
        red, dim, reset = ("\033[31m", "\033[2m", "\033[0m") if _color() else ("", "", "")
        print(f"{red}error:{reset} {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"{dim}hint:{reset} {exc.hint}", file=sys.stderr)
        code[0] = exc.exit_code
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        code[0] = 130


def _exit_code(result: Any) -> int:
    """Non-zero for a result that reports a failure (a run that ended in ERROR, a failed submission)."""
    if hasattr(result, "exit_code"):
        return int(result.exit_code)
    if getattr(result, "done", False) and not getattr(result, "ok", True):
        return 1
    return 0


def _lighter_jsonschema() -> None:
    """Where rfc3987-syntax is installed (JupyterLab brings it, through jsonschema's format extra),
    importing jsonschema compiles its 38 grammars, ~0.8 s, and nbformat's validation imports jsonschema.
    Notebook schemas use no IRI format, so this process (the command line's own, not a user's kernel) goes
    without it: jsonschema then skips those formats, as it does where the package is not installed."""
    if "jsonschema" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)  # type: ignore[arg-type]


def main(argv: Sequence[str] | None = None) -> int:
    _lighter_jsonschema()
    parser = build_parser()
    ns = parser.parse_args(argv)
    if not getattr(ns, "handler", None):
        parser.print_help()
        return 2
    from . import verbs
    from .config import load_project_defaults

    with _errors_reported() as code, os_errors():
        ctx = verbs.Context(defaults=load_project_defaults(Path.cwd()), notify=_notice, echo=_echo)
        result = getattr(verbs, ns.handler)(ns, ctx)
        if result is not None:
            print(result)
        code[0] = _exit_code(result)
    return code[0]
