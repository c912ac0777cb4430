"""``kaggle-magics <verb>``: the magics' verbs for a terminal, thin over the same workflow functions.

``main(argv=None) -> int``: 0 on success, the error's exit code on a known failure (printed as ``error: ...``
and ``hint: ...``), 130 on Ctrl-C; only an unexpected exception prints a traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from . import __version__
from . import options as opts
from .errors import KaggleMagicsError

Handler = Callable[[argparse.Namespace], Any]


def _notice(message: str) -> None:
    print(message, file=sys.stderr)


def _backend_factory(defaults: Any) -> Callable[[str | None], Any]:
    from .backends import backend_factory

    return backend_factory(defaults, notify=_notice)


def _defaults() -> Any:
    from .config import load_project_defaults

    return load_project_defaults(Path.cwd())


# -- verbs ---------------------------------------------------------------------------------------------
def _push(ns: argparse.Namespace) -> Any:
    from .submission import push_path

    defaults = _defaults()
    return push_path(
        ns.path, opts.kernel_options(ns), defaults=defaults, backend_factory=_backend_factory(defaults)
    )


VERBS: dict[str, tuple[str, list[opts.Arg], Handler]] = {
    "push": ("push a kernel folder, a notebook or a percent-format .py to Kaggle", opts.PUSH, _push),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kaggle-magics",
        description="Kaggle code competitions made painless: offline dependency bundles, submission notebooks, "
        "push, status, outputs, submit; with an embedded local Kaggle.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    sub = parser.add_subparsers(dest="verb", metavar="VERB")
    for name, (summary, specs, handler) in VERBS.items():
        verb = sub.add_parser(name, help=summary, description=summary)
        opts.add_to_parser(verb, specs)
        verb.set_defaults(handler=handler)
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


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    ns = parser.parse_args(argv)
    if not getattr(ns, "handler", None):
        parser.print_help()
        return 2
    with _errors_reported() as code:
        result = ns.handler(ns)
        if result is not None:
            print(result)
        failed = getattr(result, "failed", False)
        code[0] = 1 if failed else 0
    return code[0]
