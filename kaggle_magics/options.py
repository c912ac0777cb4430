"""The arguments of every verb, written once: the magics (``@magic_arguments``) and the CLI (argparse
subcommands) are both built from these lists, so ``%kaggle_push?`` and ``kaggle-magics push --help`` agree."""

from __future__ import annotations

import argparse
import difflib
from collections.abc import Iterable, Sequence
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


def _positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"{text!r} must be positive")
    return value


BACKEND = arg("--backend", choices=("kaggle", "local"), help="kaggle (kaggle.com) or local (the embedded Kaggle)")
INPUT_LAYOUT = arg("--input-layout", choices=("nested", "flat"),
                   help="where local runs mount inputs: nested (today's Kaggle, the default: "
                   "/kaggle/input/datasets/<owner>/<slug>/...) or flat (the old /kaggle/input/<slug>/)")

# What becomes kernel-metadata.json (plus the push options).
KERNEL = [
    arg("--id", metavar="OWNER/SLUG", help="the kernel, owner/kernel-slug (owner from the config if omitted)"),
    arg("--title", help="title (at least 5 characters; default: the slug)"),
    arg("--competition", action="append", default=[], metavar="SLUG", help="attach a competition's data"),
    arg("--attach", action="append", default=[], metavar="OWNER/SLUG",
        help="attach a kernel's output (kernel_sources); repeatable"),
    arg("--deps", action="append", default=[], metavar="OWNER/SLUG",
        help="attach a kernel whose output is a dependency bundle (datasets/OWNER/SLUG: a dataset holding one) "
        "and install it offline in the first cell"),
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
    arg("--no-check", action="store_true", help="push even when the check finds errors (kaggle-magics check)"),
    INPUT_LAYOUT,
    BACKEND,
]

# How a local run's kernel gets its packages (the local backend only).
LOCAL_ENV = [
    arg("--env", choices=("twin", "user"),
        help="local runs: twin (Kaggle's image as it would be for this notebook, the default) or user "
        "(your own environment's packages)"),
    arg("--base", metavar="FILE",
        help="local runs: the base snapshot the image twin is made of (default: Kaggle's image list shipped "
        "with kaggle-magics)"),
]

PUSH = [arg("path", nargs="?", default=".", help="a kernel folder, a .ipynb or a percent-format .py"), *KERNEL,
        *LOCAL_ENV]  # fmt: skip

_NOT_IN_CONVERT = ("--id", "--dir", "--dry-run", "--no-run", "--no-check", "--input-layout", "--backend")
CONVERT = [
    arg("paths", nargs="+", metavar="FILE",
        help="notebooks (.ipynb), percent-format .py files, or kernel folders (for their code file)"),
    arg("--out", default="kaggle", metavar="DIR", help="where the kernel folders go (default ./kaggle)"),
    arg("--check", action="store_true",
        help="write nothing: list what converting would change in each folder, exit 1 when anything would"),
    arg("--warn-only", action="store_true", help="report failures (and, with --check, changes) but exit 0"),
    arg("--owner", help="the kernels' owner (default from the config or kaggle.json)"),
    *[spec for spec in KERNEL if spec[0][0] not in _NOT_IN_CONVERT],
]

FREEZE = [
    arg("requirements", nargs="*", metavar="REQ", help="requirements: names, pins, URLs, git+https://..., paths"),
    arg("-r", "--requirement", dest="requirement_files", action="append", default=[], metavar="FILE",
        help="a requirements file; repeatable"),
    arg("--dest", metavar="DIR", help="where the bundle goes (default ./kaggle_deps; in Kaggle /kaggle/working/...)"),
    arg("--python-version", metavar="X.Y",
        help="the target Python (default 3.12, Kaggle's; in Kaggle the running one)"),
    arg("--platform", metavar="TAG", help="the target platform tag (default manylinux x86_64, Kaggle's)"),
    arg("--base", metavar="FILE", help="a base snapshot (pip freeze format): what the image has is left out"),
    arg("--no-base", action="store_true", help="leave nothing out"),
    arg("--dir", dest="dirs", action="append", default=[], metavar="PATH",
        help="pack a folder (a Julia depot, a solver) under a name Kaggle does not unpack; repeatable"),
    arg("--name", help="the bundle's name"),
    arg("--find-links", action="append", default=[], metavar="DIR", help="also look for packages here"),
    arg("--index-url", metavar="URL", help="the package index (default PyPI)"),
    arg("--no-index", action="store_true", help="use --find-links only"),
    arg("--capture-base", metavar="FILE",
        help="instead of freezing, write this environment's packages as a base snapshot (run it in Kaggle)"),
]

INSTALL = [
    arg("requirements", nargs="*", metavar="REQ", help="install only these from the bundles (default: all)"),
    arg("--from", dest="sources", action="append", default=[], metavar="DIR|OWNER/SLUG",
        help="a bundle folder, or an attached kernel or dataset; repeatable (default: every bundle attached)"),
    arg("--python", metavar="PATH", help="install into this interpreter (e.g. a venv's python)"),
    arg("--input-root", metavar="DIR", help="where attached inputs are (default /kaggle/input)"),
]

REF = arg("ref", metavar="OWNER/SLUG[/VERSION]", help="the kernel")

STATUS = [
    REF,
    arg("--wait", action="store_true", help="follow the run until it ends, with its elapsed time"),
    arg("--logs", action="store_true", help="show the whole log"),
    arg("--timeout", type=float, metavar="S", help="stop waiting after S seconds (implies --wait)"),
    BACKEND,
]

OUTPUT = [
    REF,
    arg("--dest", metavar="DIR", help="where the files go (default ./kaggle_output/<slug>)"),
    arg("--pattern", metavar="GLOB", help="only files whose path matches, e.g. '*.csv'"),
    BACKEND,
]

SUBMIT = [
    arg("--competition", metavar="SLUG", help="the competition (default from the config)"),
    arg("--kernel", metavar="OWNER/SLUG[/VERSION]", help="code competitions: the kernel whose output is submitted"),
    arg("--version", type=_positive_int, metavar="N", help="the kernel version (default: its latest)"),
    arg("--file", default="submission.csv",
        help="the output file the kernel writes (code) or the local file to submit (file competitions)"),
    arg("-m", "--message", default="", help="the submission description"),
    arg("--wait", action="store_true", help="wait for the score"),
    arg("--timeout", type=float, metavar="S", help="stop waiting after S seconds"),
    BACKEND,
]

DATASET = [
    arg("folder", metavar="DIR", help="the folder to upload (subfolders are zipped)"),
    arg("--id", required=True, metavar="OWNER/SLUG", help="the dataset"),
    arg("-m", "--message", default="", help="version notes"),
    arg("--title", help="title when the dataset is created (6-50 characters; default: the slug)"),
    arg("--public", action="store_true", help="create it public (private by default)"),
    arg("--force", action="store_true", help="upload even if the content did not change"),
    BACKEND,
]

MODEL = [
    arg("folder", metavar="DIR", help="the folder holding the weights"),
    arg("--handle", required=True, metavar="OWNER/MODEL/FRAMEWORK/VARIATION", help="the model instance"),
    arg("--notes", default="", help="version notes"),
    BACKEND,
]

PANEL = [
    arg("ref", nargs="?", default="", metavar="OWNER/SLUG",
        help="the kernel (a slug alone takes the configured owner)"),
    arg("--path", default="", metavar="PATH", help="what Push pushes: a kernel folder, a .ipynb or a .py"),
    arg("--dest", default="", metavar="DIR", help="where Output downloads (default ./kaggle_output/<slug>)"),
    arg("--competition", metavar="SLUG", help="what Submit submits to (default from the config)"),
    BACKEND,
]

STORE = arg("--store", metavar="DIR", help="the local Kaggle's folder (default: in the user's cache)")

REHEARSE = [
    arg("path", help="a kernel folder, a .ipynb or a .py"),
    arg("--timeout", type=_positive_int, metavar="SECONDS", help="the session timeout (default 12 h, Kaggle's)"),
    arg("--internet", action="store_true", default=None, help="run with the network (off by default)"),
    arg("--accelerator", metavar="SHAPE",
        help="the machine shape whose limits apply (default: the metadata's, else the CPU machine)"),
    arg("--memory", type=_positive_float, metavar="GB",
        help="the memory limit in GB (default: the machine's, 30 GB for the CPU machine)"),
    arg("--hidden-test", metavar="DIR",
        help="replace the competition's public test files with DIR's (same names), as Kaggle does when it scores"),
    INPUT_LAYOUT,
    arg("--attach", action="append", default=[], metavar="OWNER/SLUG", help="a kernel's output, from the store"),
    arg("--dataset", dest="datasets", action="append", default=[], metavar="OWNER/SLUG", help="a dataset"),
    arg("--model", dest="models", action="append", default=[], metavar="OWNER/MODEL/FRAMEWORK/VARIATION/VERSION",
        help="a model version"),
    arg("--competition", action="append", default=[], metavar="SLUG", help="a competition's data"),
    arg("--quiet", action="store_true", help="show each cell's time only, not what the cells print"),
    *LOCAL_ENV,
    STORE,
]

LOCAL_IMAGE_BUILD = [
    arg("paths", nargs="*", metavar="PATH",
        help="kernel folders, notebooks or .py files whose image twins to build (default: the kernel alone)"),
    LOCAL_ENV[1],
    arg("--index-url", metavar="URL", help="the package index (default: pip's or uv's configured one, else PyPI)"),
    arg("--find-links", action="append", default=[], metavar="DIR", help="also look for packages here"),
    arg("--no-index", action="store_true", help="use --find-links only"),
    arg("--rebuild", action="store_true", help="build again what the cache holds"),
    STORE,
]

LOCAL_COMPETITION_ADD = [
    arg("slug", help="the competition slug"),
    arg("data_dir", metavar="DIR", help="the folder of its data"),
    arg("--title", help="its title"),
    arg("--link", action="store_true", help="refer to DIR instead of copying it (for big data)"),
    STORE,
]

DEMO = [STORE]

_NOT_IN_CHECK = ("--public", "--dir", "--dry-run", "--no-run", "--no-check", "--timeout", "--input-layout")
CHECK = [
    arg("paths", nargs="*", metavar="PATH",
        help="kernel folders, .ipynb or percent-format .py files; folders are walked (default: the current folder; "
        "in a notebook: this notebook)"),
    *[spec for spec in KERNEL if spec[0][0] not in _NOT_IN_CHECK],
    arg("--base", metavar="FILE",
        help="what Kaggle's image has: a base snapshot (pip freeze format; default: the shipped image list)"),
    arg("--input-layout", choices=("nested", "flat"),
        help="how Kaggle mounts sources: nested (today's, the default) or flat (the old /kaggle/input/<slug>)"),
    arg("--input-root", metavar="DIR",
        help="a folder laid out like /kaggle/input whose sources' files are read (inside Kaggle: /kaggle/input)"),
    arg("--bundle", dest="bundles", action="append", default=[], metavar="DIR",
        help="a bundle folder (what freeze wrote) standing for the attached deps kernel; repeatable"),
    arg("--format", choices=("text", "json"), default="text", help="text (default) or json, for CI"),
    arg("--warn-only", action="store_true", help="report errors but exit 0"),
    STORE,
]


def nearest(word: str, choices: Iterable[str]) -> str | None:
    """The choice closest to a mistyped ``word``, if one is close enough to be what was meant (flags are
    compared without their dashes, which every flag shares)."""
    by_name = {choice.lstrip("-"): choice for choice in choices}
    close = difflib.get_close_matches(word.lstrip("-"), list(by_name), n=1, cutoff=0.6)
    return by_name[close[0]] if close else None


class SuggestingParser(argparse.ArgumentParser):
    """An ArgumentParser whose errors for a mistyped flag or verb name the nearest one ("did you mean"). The
    CLI and the magics both parse with a subclass of it."""

    def _check_value(self, action: argparse.Action, value: Any) -> None:
        if action.choices is not None and value not in action.choices:
            choices = [str(c) for c in action.choices]
            close = nearest(str(value), choices)
            raise argparse.ArgumentError(
                action,
                f"invalid choice {value!r}: "
                + (f"did you mean {close!r}?" if close else "choose from " + ", ".join(choices)),
            )
        super()._check_value(action, value)

    def chosen(self, ns: argparse.Namespace) -> argparse.ArgumentParser:
        """The (sub)command parser that ``ns`` was parsed by."""
        return self

    def parse_args(self, args: Sequence[str] | None = None, namespace: Any = None) -> Any:  # type: ignore[override]
        ns, extras = self.parse_known_args(args, namespace)
        if extras:
            parser, first = self.chosen(ns), extras[0]
            if first.startswith("-") and first != "-":
                flag = first.split("=", 1)[0]
                close = nearest(flag, parser._option_string_actions)
                parser.error(f"unrecognized option {flag!r}" + (f": did you mean {close!r}?" if close else ""))
            parser.error(f"unexpected argument {first!r}")
        return ns


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
        public=getattr(ns, "public", None),
        timeout=getattr(ns, "timeout", None),
        dir=getattr(ns, "dir", None),
        dry_run=getattr(ns, "dry_run", False),
        no_run=getattr(ns, "no_run", False),
        no_check=getattr(ns, "no_check", False),
        backend=ns.backend,
        input_layout=getattr(ns, "input_layout", None),
    )
