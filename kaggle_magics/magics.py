"""The IPython magics. Each parses its arguments, calls a workflow function and returns its result object
(which IPython displays: HTML in notebooks, text in a terminal). No logic lives here."""

from __future__ import annotations

import shlex
from collections.abc import Callable
from pathlib import Path
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, line_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import MagicArgumentParser
from traitlets import Bool, CaselessStrEnum, List, Unicode

from . import options as opts
from .errors import os_errors
from .options import Arg


class _MagicParser(opts.SuggestingParser, MagicArgumentParser):
    """IPython's parser for magics (errors are one-line UsageErrors), with the nearest flag for a typo."""


def _with_arguments(specs: list[Arg], name: str | None = None) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """The magic's parser from ``specs``, as ``@magic_arguments`` builds it (its help is the docstring, as
    ``%magic?`` shows it); ``name`` is the usage's name after the ``%`` (``%kaggle_sub`` for a cell magic)."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        parser = _MagicParser(prog=name or func.__name__, description=func.__doc__)
        opts.add_to_parser(parser, specs)
        func.parser = parser  # type: ignore[attr-defined]
        func.has_arguments = True  # type: ignore[attr-defined]
        func.__doc__ = parser.format_help()
        return func

    return decorate


def without_comment(line: str) -> str:
    """``line`` up to a comment, as a shell reads it: a ``#`` that starts a word outside quotes begins one
    (``%kaggle_status me/cmi-sub --wait  # live``); ``a#b``, ``"#3"`` and ``\\#`` are words."""
    quote = None
    escaped = False
    for i, char in enumerate(line):
        if escaped:
            escaped = False
        elif char == "\\" and quote != "'":
            escaped = True
        elif quote:
            quote = None if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char == "#" and (i == 0 or line[i - 1].isspace()):
            return line[:i]
    return line


def parse_argstring(magic: Callable[..., Any], line: str) -> Any:
    """Parse a magic's line as a shell would (quotes group words and are removed, a trailing ``# comment`` is
    left out); errors are UsageErrors."""
    try:
        argv = shlex.split(without_comment(line))
    except ValueError as exc:
        raise UsageError(f"cannot parse the arguments: {exc}") from None
    return magic.parser.parse_args(argv)  # type: ignore[attr-defined]


@magics_class
class KaggleMagics(Magics):
    """Magics for Kaggle code competitions. Options below are defaults for every magic; set them with
    ``%config KaggleMagics.owner = "me"``. A flag on a magic wins over them, and they win over
    ``[tool.kaggle_magics]`` in the nearest pyproject.toml."""

    owner = Unicode("", help="Kaggle user name used when a ref has no owner").tag(config=True)
    competition = Unicode("", help="competition slug attached to submission notebooks").tag(config=True)
    accelerator = Unicode("", help="default machine shape, e.g. NvidiaTeslaT4").tag(config=True)
    backend = Unicode("", help="kaggle or local (default: kaggle when credentials exist)").tag(config=True)
    store = Unicode("", help="folder of the embedded local Kaggle").tag(config=True)
    kernel_dir = Unicode("", help="where %%kaggle_sub writes kernel folders").tag(config=True)
    attach = List(Unicode(), help="kernels attached to every submission notebook").tag(config=True)
    datasets = List(Unicode(), help="datasets attached to every submission notebook").tag(config=True)
    models = List(Unicode(), help="models attached to every submission notebook").tag(config=True)
    internet = Bool(None, allow_none=True, help="internet for pushed kernels (default off)").tag(config=True)
    input_layout = Unicode(
        "", help="where local runs mount inputs, and the paths shown: nested (today's Kaggle) or flat (the old one)"
    ).tag(config=True)
    env = CaselessStrEnum(
        ["", "twin", "user"], "", help="local runs: twin (Kaggle's image packages, the default) or user (yours)"
    ).tag(config=True)
    base = Unicode("", help="base snapshot (pip freeze format) of freeze and of local runs' image").tag(config=True)

    # -- plumbing ----------------------------------------------------------------------------------------
    def _context(self) -> Any:
        """Project defaults from pyproject.toml, overridden by whatever %config set."""
        from .config import load_project_defaults
        from .inputs import check_layout
        from .verbs import Context

        defaults = load_project_defaults(Path.cwd())
        names = ("owner", "competition", "accelerator", "backend", "store", "kernel_dir", "internet", "env", "base")
        for name in names:
            value = getattr(self, name)
            if value not in ("", None):
                setattr(defaults, name, value)
        if self.input_layout:
            defaults.input_layout = check_layout(self.input_layout, "KaggleMagics.input_layout")
        for name in ("attach", "datasets", "models"):
            if getattr(self, name):
                setattr(defaults, name, list(getattr(self, name)))
        return Context(defaults=defaults)

    def _run(self, verb: str, magic: Callable[..., Any], line: str) -> Any:
        from . import verbs

        args = parse_argstring(magic, line)
        with os_errors():
            return getattr(verbs, verb)(args, self._context())

    # -- submission notebooks ----------------------------------------------------------------------------
    @no_var_expand
    @_with_arguments(opts.KERNEL, name="%kaggle_sub")
    @line_cell_magic
    def kaggle_sub(self, line: str, cell: str | None = None) -> Any:
        """Turn this cell into a Kaggle submission notebook and push it.

        The cell is not run here: it becomes a kernel folder (kernel-metadata.json + a notebook with a
        kernelspec) under --dir (default ./kaggle/<slug>/), pushed unless --dry-run. Internet is off unless
        --internet; --deps attaches a kernel holding a dependency bundle and installs it offline first.

            %%kaggle_sub --id me/cmi-sub --competition cmi-detect --deps me/cmi-deps --gpu
            import pandas as pd
            ...
        """
        from . import verbs

        args = parse_argstring(self.kaggle_sub, line)
        if cell is None:
            raise UsageError("%%kaggle_sub is a cell magic: write the submission code below the %%kaggle_sub line")
        with os_errors():
            return verbs.sub(args, self._context(), cell)

    @no_var_expand
    @_with_arguments(opts.PUSH)
    @line_magic
    def kaggle_push(self, line: str) -> Any:
        """Push a kernel folder, a notebook (.ipynb) or a percent-format .py to Kaggle.

        A folder is pushed as it is (validated, kernelspec and enable_internet made explicit in a copy); a
        notebook gets its kernel-metadata.json from the same flags as %%kaggle_sub. Your files are never
        modified: the pushed copy is prepared elsewhere.
        """
        return self._run("push", self.kaggle_push, line)

    @no_var_expand
    @_with_arguments(opts.CHECK)
    @line_magic
    def kaggle_check(self, line: str) -> Any:
        """Will this notebook survive Kaggle? A static check, nothing is run: imports (standard library, Kaggle's
        image, attached bundles and sources), the internet with the internet off (pip installs, downloads),
        /kaggle/input paths against the attached sources and today's layout, submission.csv, the metadata.

        Without a path: this notebook (its file as last saved, or the cells run so far; the result says which).

            %kaggle_check --competition cmi-detect --deps me/cmi-deps
            %kaggle_check kaggle/cmi-sub
        """
        from . import verbs

        return verbs.check(parse_argstring(self.kaggle_check, line), self._context(), shell=self.shell)

    # -- offline dependency bundles ----------------------------------------------------------------------
    @no_var_expand
    @_with_arguments(opts.FREEZE)
    @line_magic
    def kaggle_freeze(self, line: str) -> Any:
        """Freeze requirements into an offline bundle of wheels that installs on Kaggle with no internet.

        Outside Kaggle the target is Kaggle's (Python 3.12, manylinux x86_64) and the bundle goes to
        ./kaggle_deps; inside a Kaggle notebook the target is the running image and the bundle goes to
        /kaggle/working, so it becomes the notebook's output. Sdists, URLs and git requirements are built
        into wheels now; what the base already has (--base snapshot, or the running image) is left out.

            %kaggle_freeze polars lightgbm hydra-core --base kaggle-base.txt
        """
        return self._run("freeze", self.kaggle_freeze, line)

    @no_var_expand
    @_with_arguments(opts.INSTALL)
    @line_magic
    def kaggle_install(self, line: str) -> Any:
        """Install offline bundles into this interpreter: every bundle attached under /kaggle/input by default.

        Checks every file's sha256 and wheel tags before installing anything, never touches an index, and
        leaves alone what is already satisfied (a second run is a quick no-op).

            %kaggle_install
            %kaggle_install --from me/cmi-deps
        """
        return self._run("install", self.kaggle_install, line)

    # -- following a run ---------------------------------------------------------------------------------
    @no_var_expand
    @_with_arguments(opts.STATUS)
    @line_magic
    def kaggle_status(self, line: str) -> Any:
        """A kernel run's status; with --wait, follow it live until it ends, then show its runtime, the end
        of its log and its output files. Ctrl-C stops the waiting, not the run.

            %kaggle_status me/cmi-sub --wait
        """
        return self._run("status", self.kaggle_status, line)

    @no_var_expand
    @_with_arguments(opts.OUTPUT)
    @line_magic
    def kaggle_output(self, line: str) -> Any:
        """Download a kernel's output files (every page), atomically, into --dest.

            %kaggle_output me/cmi-deps --dest deps --pattern '*.whl'
        """
        return self._run("output", self.kaggle_output, line)

    @no_var_expand
    @_with_arguments(opts.SUBMIT)
    @line_magic
    def kaggle_submit(self, line: str) -> Any:
        """Submit to a competition: a kernel's output for code competitions (--kernel), or a local --file.

            %kaggle_submit --competition cmi-detect --kernel me/cmi-sub --wait
        """
        return self._run("submit", self.kaggle_submit, line)

    @no_var_expand
    @_with_arguments(opts.DATASET)
    @line_magic
    def kaggle_dataset(self, line: str) -> Any:
        """Upload a folder as a dataset (your code, say): created, or a new version only when it changed.

            %kaggle_dataset src --id me/cmi-codes -m "new features"
        """
        return self._run("dataset", self.kaggle_dataset, line)

    @no_var_expand
    @_with_arguments(opts.MODEL)
    @line_magic
    def kaggle_model(self, line: str) -> Any:
        """Upload weights as a new version of a Kaggle model; shows the model_sources entry and its input path.

            %kaggle_model weights --handle me/cmi-models/pyTorch/exp-001
        """
        return self._run("model", self.kaggle_model, line)

    @no_var_expand
    @_with_arguments(opts.PANEL)
    @line_magic
    def kaggle_panel(self, line: str) -> Any:
        """A panel that drives the whole workflow with buttons: the submission's settings (kernel, code,
        competition, deps, kernel outputs, datasets, models, accelerator, internet, backend), Freeze (a
        requirements box into a bundle), Dry run, Push, Rehearse, Status, Wait, Output and Submit (waiting for
        the score), each running in the background the verb of its name; a live area (progress, the running
        step's log) and a table of the recent kernels. Stop ends a wait, not the run. Needs ipywidgets
        (pip install 'kaggle-magics[panel]').

            %kaggle_panel me/cmi-sub --path sub.ipynb --competition cmi-detect
        """
        from .panel import kernel_panel

        args = parse_argstring(self.kaggle_panel, line)
        return kernel_panel(
            args.ref, backend=args.backend, path=args.path, dest=args.dest, competition=args.competition,
            context=self._context,
        )

    # -- the embedded local Kaggle -----------------------------------------------------------------------
    @no_var_expand
    @_with_arguments(opts.REHEARSE)
    @line_magic
    def kaggle_rehearse(self, line: str) -> Any:
        """Run a kernel folder or notebook now, as Kaggle would (sandbox, /kaggle paths, no network, the
        machine's limits), with each cell's time and peak memory, the total and where the outputs are; a
        competition kernel's submission.csv is then checked as Kaggle's scorer does.

            %kaggle_rehearse kaggle/cmi-sub --memory 16 --hidden-test private-test
        """
        return self._run("rehearse", self.kaggle_rehearse, line)
