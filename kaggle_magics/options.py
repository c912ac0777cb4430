"""The arguments of every verb, written once: the magics (``@magic_arguments``) and the CLI (argparse
subcommands) are both built from these lists, so ``%kaggle_push?`` and ``kaggle-magics push --help`` agree."""

from __future__ import annotations

import argparse
from typing import Any

Arg = tuple[tuple[str, ...], dict[str, Any]]


def arg(*names: str, **kwargs: Any) -> Arg:
    return names, kwargs


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be positive")
    return value


BACKEND = arg("--backend", choices=("kaggle", "local"), help="kaggle (kaggle.com) or local (the embedded Kaggle)")

# What becomes kernel-metadata.json (plus the push options).
KERNEL = [
    arg("--id", metavar="OWNER/SLUG", help="the kernel, owner/kernel-slug (owner from the config if omitted)"),
    arg("--title", help="title (at least 5 characters; default: the slug)"),
    arg("--competition", action="append", default=[], metavar="SLUG", help="attach a competition's data"),
    arg("--attach", action="append", default=[], metavar="OWNER/SLUG",
        help="attach a kernel's output (kernel_sources); repeatable"),
    arg("--deps", action="append", default=[], metavar="OWNER/SLUG",
        help="attach a kernel whose output is a dependency bundle and install it offline in the first cell"),
    arg("--dataset", dest="datasets", action="append", default=[], metavar="OWNER/SLUG",
        help="attach a dataset (dataset_sources); repeatable"),
    arg("--model", dest="models", action="append", default=[], metavar="OWNER/MODEL/FRAMEWORK/VARIATION/VERSION",
        help="attach a model version (model_sources); repeatable"),
    arg("--accelerator", metavar="SHAPE", help="machine shape, e.g. NvidiaTeslaT4, NvidiaL4, TpuV6E8"),
    arg("--gpu", action="store_true", help="short for --accelerator NvidiaTeslaT4"),
    arg("--internet", action="store_true", default=None, help="turn internet on (off by default)"),
    arg("--public", action="store_true", default=None, help="make the kernel public (private by default)"),
    arg("--timeout", type=_positive_int, metavar="SECONDS", help="session timeout in seconds"),
    arg("--dir", metavar="PATH", help="where the kernel folder is written (default ./kaggle/<slug>/)"),
    arg("--dry-run", action="store_true", help="write the kernel folder, push nothing"),
    arg("--no-run", action="store_true", help="quick save: a new version that does not run"),
    BACKEND,
]

PUSH = [arg("path", nargs="?", default=".", help="a kernel folder, a .ipynb or a percent-format .py"), *KERNEL]


def add_to_parser(parser: argparse.ArgumentParser, specs: list[Arg]) -> argparse.ArgumentParser:
    for names, kwargs in specs:
        parser.add_argument(*names, **kwargs)
    return parser


def kernel_options(ns: argparse.Namespace) -> Any:
    """The :class:`~kaggle_magics.submission.KernelOptions` a parsed namespace holds."""
    from .submission import KernelOptions

    return KernelOptions(
        id=ns.id,
        title=ns.title,
        competition=ns.competition,
        attach=ns.attach,
        deps=ns.deps,
        datasets=ns.datasets,
        models=ns.models,
        accelerator=ns.accelerator,
        gpu=ns.gpu,
        internet=ns.internet,
        public=ns.public,
        timeout=ns.timeout,
        dir=ns.dir,
        dry_run=ns.dry_run,
        no_run=ns.no_run,
        backend=ns.backend,
    )
