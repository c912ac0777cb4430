"""One function per verb: parsed arguments in, a result object out.

The magics and the CLI both call these, so a verb behaves the same in a notebook and in a terminal; each
function only maps arguments onto a workflow function (the logic lives in the workflow modules).
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from . import config


def _stderr(message: str) -> None:
    print(message, file=sys.stderr)


@dataclass
class Context:
    """What a verb needs besides its arguments: the project defaults and where notices go."""

    defaults: config.ProjectDefaults = field(default_factory=config.ProjectDefaults)
    notify: Callable[[str], None] = _stderr
    echo: Callable[[str], None] = print
    # How long steps show themselves (None: the verb's own choice, a tqdm bar or a line): a freeze's
    # ``progress(stage, done, total)`` callback, a wait's poll schedule and display (the panel sets them).
    progress: Any = None
    poll: Any = None
    display: Any = None

    def backend(self, flag: str | None) -> Any:
        from .backends import open_backend

        d = self.defaults
        return open_backend(flag, d.backend, store=d.store, notify=self.notify, env=d.env, base=d.base)

    def local_environment(self, ns: argparse.Namespace) -> None:
        """``--env`` and ``--base`` of a verb that runs locally win over the project defaults."""
        self.defaults.env = config.first(getattr(ns, "env", None), self.defaults.env)
        self.defaults.base = config.first(getattr(ns, "base", None), self.defaults.base)

    def owner(self) -> str | None:
        return self.defaults.owner or config.kaggle_username()


# -- submission notebooks -----------------------------------------------------------------------------
def sub(ns: argparse.Namespace, ctx: Context, cell: str) -> Any:
    from .options import kernel_options
    from .submission import submit_cell

    return submit_cell(cell, kernel_options(ns), defaults=ctx.defaults, backend_factory=ctx.backend)


def push(ns: argparse.Namespace, ctx: Context) -> Any:
    from .options import kernel_options
    from .submission import push_path

    ctx.local_environment(ns)
    return push_path(ns.path, kernel_options(ns), defaults=ctx.defaults, backend_factory=ctx.backend)


def convert(ns: argparse.Namespace, ctx: Context) -> Any:
    from .convert import convert as run_convert
    from .options import kernel_options

    for name in ("id", "dir", "dry_run", "no_run", "backend"):
        setattr(ns, name, None if name in ("id", "dir", "backend") else False)
    if ns.owner:
        ctx.defaults.owner = ns.owner
    return run_convert(
        ns.paths, kernel_options(ns), out=ns.out, defaults=ctx.defaults, warn_only=ns.warn_only, check=ns.check
    )


def check(ns: argparse.Namespace, ctx: Context, shell: Any = None) -> Any:
    """``kaggle-magics check PATH...``; in a notebook (``shell`` given) with no path: this notebook."""
    from .check.runner import check_paths, make_settings
    from .options import kernel_options

    settings = make_settings(
        ctx.defaults, base=ns.base, layout=ns.input_layout, input_root=ns.input_root, bundles=ns.bundles,
        backend=ns.backend, store=ns.store,
    )  # fmt: skip
    options = kernel_options(ns)
    if shell is not None and not ns.paths:
        from .check.current import check_current

        return check_current(shell, options, defaults=ctx.defaults, settings=settings, warn_only=ns.warn_only,
                             format=ns.format)  # fmt: skip
    return check_paths(ns.paths or ["."], options, defaults=ctx.defaults, settings=settings, warn_only=ns.warn_only,
                       format=ns.format)  # fmt: skip


# -- offline dependency bundles ----------------------------------------------------------------------
def freeze(ns: argparse.Namespace, ctx: Context) -> Any:
    from .bundle import capture_base
    from .bundle import freeze as run_freeze

    if ns.capture_base:
        extra = ns.requirements or ns.requirement_files or ns.dirs
        if extra:
            from .errors import KaggleMagicsError

            raise KaggleMagicsError(
                f"--capture-base writes a snapshot and freezes nothing, but {extra[0]!r} was given too",
                hint="run --capture-base FILE alone (in a Kaggle notebook), then freeze with --base FILE",
            )
        return capture_base(ns.capture_base)

    d = ctx.defaults
    return run_freeze(
        ns.requirements,
        requirement_files=ns.requirement_files,
        dest=config.first(ns.dest, d.deps_dest),
        python_version=config.first(ns.python_version, d.python_version),
        platform=config.first(ns.platform, d.platform),
        base=None if ns.no_base else config.first(ns.base, d.base),
        no_base=ns.no_base,
        dirs=ns.dirs,
        name=ns.name,
        index_url=ns.index_url,
        find_links=ns.find_links,
        no_index=ns.no_index,
        progress=ctx.progress,
    )


def install(ns: argparse.Namespace, ctx: Context) -> Any:
    from .bundle import install as run_install

    return run_install(
        ns.sources, requirements=ns.requirements, python=ns.python, input_root=ns.input_root
    )


# -- following a run ---------------------------------------------------------------------------------
def status(ns: argparse.Namespace, ctx: Context) -> Any:
    from .handles import KernelRef
    from .status import status as run_status

    ref = KernelRef.parse(ns.ref, default_owner=ctx.owner())
    return run_status(
        ctx.backend(ns.backend), ref, wait=ns.wait, logs=ns.logs, timeout=ns.timeout, poll=ctx.poll,
        display=ctx.display,
    )


def output(ns: argparse.Namespace, ctx: Context) -> Any:
    from .handles import KernelRef
    from .outputs import download_output

    ref = KernelRef.parse(ns.ref, default_owner=ctx.owner())
    dest = ns.dest or str(Path("kaggle_output") / ref.slug)
    return download_output(ctx.backend(ns.backend), ref, dest=dest, pattern=ns.pattern)


def submit(ns: argparse.Namespace, ctx: Context) -> Any:
    from .handles import KernelRef
    from .submit import submit as run_submit

    competition = config.first(ns.competition, ctx.defaults.competition)
    if not competition:
        from .errors import ConfigError

        raise ConfigError(
            "no competition to submit to",
            hint="pass --competition SLUG (the slug from its URL), or set competition in [tool.kaggle_magics]",
        )
    kernel = KernelRef.parse(ns.kernel, default_owner=ctx.owner()) if ns.kernel else None
    return run_submit(
        ctx.backend(ns.backend),
        competition,
        kernel=kernel,
        version=ns.version,
        file=ns.file,
        message=ns.message,
        wait=ns.wait,
        timeout=ns.timeout,
        poll=ctx.poll,
        display=ctx.display,
    )


def dataset(ns: argparse.Namespace, ctx: Context) -> Any:
    from .datasets import upload_dataset
    from .handles import DatasetRef

    ref = DatasetRef.parse(ns.id, default_owner=ctx.owner())
    return upload_dataset(
        ctx.backend(ns.backend),
        ns.folder,
        ref,
        message=ns.message,
        title=ns.title,
        public=ns.public,
        force=ns.force,
        layout=ctx.defaults.input_layout,
    )


def model(ns: argparse.Namespace, ctx: Context) -> Any:
    from .models import upload_model

    return upload_model(
        ctx.backend(ns.backend), ns.folder, ns.handle, notes=ns.notes, layout=ctx.defaults.input_layout
    )


# -- the embedded local Kaggle -----------------------------------------------------------------------
def rehearse(ns: argparse.Namespace, ctx: Context) -> Any:
    from .local.rehearse import log_lines
    from .local.rehearse import rehearse as run_rehearse

    def show(entry: dict[str, Any]) -> None:
        for line in log_lines(entry):
            ctx.echo(line)

    store = config.first(ns.store, ctx.defaults.store)
    ctx.local_environment(ns)
    return run_rehearse(
        ns.path,
        store=Path(store).expanduser() if store else None,
        env=ctx.defaults.env,
        base=ctx.defaults.base,
        timeout=ns.timeout,
        internet=ns.internet,
        on_cell=lambda cell: ctx.echo(str(cell)),
        on_output=None if ns.quiet else show,
        kernel_sources=ns.attach,
        dataset_sources=ns.datasets,
        competition_sources=ns.competition,
        model_sources=ns.models,
        input_layout=config.first(ns.input_layout, ctx.defaults.input_layout),
        accelerator=ns.accelerator,
        memory_gb=ns.memory,
        hidden_test=ns.hidden_test,
    )


def local_competition_add(ns: argparse.Namespace, ctx: Context) -> Any:
    from .local.admin import add_competition

    store = config.first(ns.store, ctx.defaults.store)
    return add_competition(
        ns.slug,
        ns.data_dir,
        Path(store).expanduser() if store else None,
        title=ns.title,
        copy=not ns.link,
        layout=ctx.defaults.input_layout,
    )


def local_competition_list(ns: argparse.Namespace, ctx: Context) -> Any:
    from .local.admin import LocalCompetitions, list_competitions
    from .local.store import Store

    store = config.first(ns.store, ctx.defaults.store)
    root = Path(store).expanduser() if store else None
    return LocalCompetitions(
        store=Store(root).root, competitions=list_competitions(root, layout=ctx.defaults.input_layout)
    )


def local_image_build(ns: argparse.Namespace, ctx: Context) -> Any:
    from .local.admin import build_images

    store = config.first(ns.store, ctx.defaults.store)
    return build_images(
        ns.paths,
        base=config.first(ns.base, ctx.defaults.base),
        store=Path(store).expanduser() if store else None,
        index_url=ns.index_url,
        find_links=ns.find_links,
        no_index=ns.no_index,
        rebuild=ns.rebuild,
        say=ctx.notify,
    )


def demo(ns: argparse.Namespace, ctx: Context) -> Any:
    from .demo import demo as run_demo

    store = config.first(ns.store, ctx.defaults.store)
    return run_demo(
        store=Path(store).expanduser() if store else None, echo=ctx.echo, layout=ctx.defaults.input_layout
    )
