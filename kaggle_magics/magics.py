"""The IPython magics. Each parses its arguments, calls a workflow function and returns its result object
(which IPython displays: HTML in notebooks, text in a terminal). No logic lives here."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from IPython.core.error import UsageError
from IPython.core.magic import Magics, line_cell_magic, line_magic, magics_class, no_var_expand
from IPython.core.magic_arguments import argument, magic_arguments
from traitlets import Bool, List, Unicode

from . import options as opts
from .options import Arg


def _with_arguments(specs: list[Arg]) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """``@magic_arguments`` + one ``@argument`` per spec, in the spec's order (the help lists them so)."""

    def decorate(func: Callable[..., Any]) -> Callable[..., Any]:
        for names, kwargs in reversed(specs):
            func = argument(*names, **kwargs)(func)
        return magic_arguments()(func)

    return decorate


def parse_argstring(magic: Callable[..., Any], line: str) -> Any:
    """Parse a magic's line as a shell would (quotes group words and are removed); errors are UsageErrors."""
    try:
        argv = shlex.split(line)
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

    # -- plumbing ----------------------------------------------------------------------------------------
    def _defaults(self) -> Any:
        """Project defaults from pyproject.toml, overridden by whatever %config set."""
        from .config import load_project_defaults

        defaults = load_project_defaults(Path.cwd())
        for name in ("owner", "competition", "accelerator", "backend", "store", "kernel_dir", "internet"):
            value = getattr(self, name)
            if value not in ("", None):
                setattr(defaults, name, value)
        for name in ("attach", "datasets", "models"):
            if getattr(self, name):
                setattr(defaults, name, list(getattr(self, name)))
        return defaults

    def _backend_factory(self, defaults: Any) -> Callable[[str | None], Any]:
        from .backends import backend_factory

        return backend_factory(defaults, notify=_notice)

    # -- submission notebooks ----------------------------------------------------------------------------
    @no_var_expand
    @_with_arguments(opts.KERNEL)
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
        from .submission import submit_cell

        args = parse_argstring(self.kaggle_sub, line)
        if cell is None:
            raise UsageError("%%kaggle_sub is a cell magic: write the submission code below the %%kaggle_sub line")
        defaults = self._defaults()
        return submit_cell(
            cell,
            opts.kernel_options(args),
            defaults=defaults,
            backend_factory=self._backend_factory(defaults),
        )

    @no_var_expand
    @_with_arguments(opts.PUSH)
    @line_magic
    def kaggle_push(self, line: str) -> Any:
        """Push a kernel folder, a notebook (.ipynb) or a percent-format .py to Kaggle.

        A folder is pushed as it is (validated, kernelspec and enable_internet made explicit in a copy); a
        notebook gets its kernel-metadata.json from the same flags as %%kaggle_sub. Your files are never
        modified: the pushed copy is prepared elsewhere.
        """
        from .submission import push_path

        args = parse_argstring(self.kaggle_push, line)
        defaults = self._defaults()
        return push_path(
            args.path,
            opts.kernel_options(args),
            defaults=defaults,
            backend_factory=self._backend_factory(defaults),
        )


def _notice(message: str) -> None:
    print(message, file=sys.stderr)
