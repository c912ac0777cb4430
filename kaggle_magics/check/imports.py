"""Imports: every module resolved to the target Python's standard library, Kaggle's image (at which version),
an attached bundle, an attached source's files, or the notebook itself. What resolves to nothing is an error;
what may come from a source whose files cannot be read is a warning ("not seen"); so is a version the code
checks (``x.__version__ == "1.2"``) that the image does not have.
"""

from __future__ import annotations

import functools
import importlib.metadata
from collections.abc import Mapping
from pathlib import Path

from packaging.utils import canonicalize_name
from packaging.version import InvalidVersion, Version

from .. import inputs, modules
from ..scan import Import
from .context import Context

_REPLACEMENTS = {
    "imp": "use importlib",
    "distutils": "use setuptools (or packaging for versions)",
    "asyncore": "use asyncio",
    "asynchat": "use asyncio",
    "smtpd": "use aiosmtpd",
}
_FREEZE = "ship it: `%kaggle_freeze {dist}` in a deps notebook (internet on), then push with --deps OWNER/DEPS-SLUG"


@functools.lru_cache(maxsize=1)
def _environment() -> Mapping[str, list[str]]:
    """This interpreter's own module -> distributions (what the table of mismatches does not know)."""
    return importlib.metadata.packages_distributions()


def _fuzzy(module: str, available: Mapping[str, str]) -> str | None:
    """A distribution of the base whose name is close to the module's (``python-foo``, ``foo-python``...)."""
    name = str(canonicalize_name(module))
    for candidate in (f"python-{name}", f"py{name}", f"{name}-python", f"py-{name}", f"{name}-py", f"{name}2"):
        if candidate in available:
            return candidate
    return None


def _beside(folder: Path | None, top: str, code_file: str | None) -> str | None:
    """``utils.py`` or a ``utils/`` package beside the code file (Kaggle receives only the code file)."""
    if folder is None:
        return None
    if (folder / f"{top}.py").is_file():
        return f"{top}.py"
    package = folder / top
    if package.is_dir() and any(package.glob("*.py")):
        return f"{top}/"
    return None


class Resolver:
    """Where each module comes from, for one target."""

    def __init__(self, ctx: Context):
        self.ctx = ctx
        target = ctx.target
        self.base = target.settings.base
        self.python = target.settings.python
        self.written = ctx.scan.provided_modules()
        self.utility = {m.source.split("/")[1].replace("-", "_"): m.source for m in target.mounts if m.kind == "kernel"}
        self.pip = _pip_installed(ctx)

    def resolve(self, module: str) -> str | None:
        """A description of what provides ``module``, or None when nothing does."""
        top = module.split(".", 1)[0]
        target = self.ctx.target
        if modules.is_stdlib(module, self.python):
            return "standard library"
        if modules.runtime_only(top):
            return "Kaggle's runtime"
        if top in self.written:
            return "this notebook (%%writefile)"
        dist = modules.provider(module, self.base.packages)  # distutils too: setuptools brings it back
        if dist is not None:
            return f"image: {dist}=={self.base.packages[dist]}"
        for bundle in target.bundles:
            found = modules.provider(module, bundle.projects) or bundle.modules().get(top)
            if found:
                return f"bundle of {bundle.label}: {found}=={bundle.projects.get(found, '?')}"
        if top in target.provided:
            return f"files of {target.provided[top]}"
        if top in self.utility:
            return f"utility script {self.utility[top]}"
        pip = self.pip.get(str(canonicalize_name(modules.candidates(module)[0])))
        if pip is not None:
            return pip
        if modules.removed_from_stdlib(top, self.python):
            return None
        dist = modules.provider(module, self.base.packages, _environment())
        if dist is not None:
            return f"image: {dist}=={self.base.packages[dist]}"
        return None

    def version(self, module: str) -> tuple[str, str] | None:
        """(distribution, version) the target has for ``module``: from a bundle if one ships it, else the image."""
        for bundle in self.ctx.target.bundles:
            found = modules.provider(module, bundle.projects)
            if found:
                return found, bundle.projects[found]
        dist = modules.provider(module, self.base.packages)
        return (dist, self.base.packages[dist]) if dist else None


def _pip_installed(ctx: Context) -> dict[str, str]:
    """Distributions a ``pip install`` of the notebook installs and that work here: with the internet on, from
    local files (``--no-index --find-links``), or a wheel file named (``pip install /kaggle/input/.../x.whl``)."""
    from .shell import read_line

    found: dict[str, str] = {}
    for command in ctx.commands():
        if command.kind == "magic" and command.magic not in ("pip", "uv"):
            continue
        for pip in read_line(command.text)[0]:  # a magic's text is its whole line: "pip install x", "uv pip ..."
            where = f"pip install in {ctx.places.at(command.cell, command.line)['label'] or _cell(command.cell)}"
            for path in pip.local:  # a wheel file installs offline; its name is its distribution's
                if path.endswith(".whl"):
                    found.setdefault(str(canonicalize_name(path.rsplit("/", 1)[-1].split("-")[0])), where)
            if not (ctx.target.internet or ctx.target.internet_hint) and not pip.no_index:
                continue
            for requirement in pip.requirements:
                name = requirement.split(";")[0].split("[")[0]
                for sep in ("==", ">=", "<=", "~=", "!=", ">", "<", "@"):
                    name = name.split(sep)[0]
                found.setdefault(str(canonicalize_name(name.strip() or "?")), where)
    return found


def _cell(cell: int | None) -> str:
    return "the file" if cell is None else f"cell {cell + 1}"


def check_imports(ctx: Context) -> None:
    resolver = Resolver(ctx)
    target = ctx.target
    reported: set[str] = set()
    for imp in [*ctx.scan.imports, *_extension_imports(ctx), *_spacy_models(ctx)]:
        resolved = resolver.resolve(imp.module)
        ctx.imports.append(
            {"module": imp.module, **ctx.places.at(imp.cell, imp.line), "guarded": imp.guarded, "resolved": resolved}
        )
        top = imp.top
        if imp.guarded or top in reported:
            continue
        if resolved is not None:
            shipped = resolved.rpartition(": ")[2].split("==")[0]
            installed = str(canonicalize_name(shipped)) in resolver.pip  # its wheel, pip-installed by a cell
            if resolved.startswith("bundle of") and not target.installs_bundles and not installed:
                reported.add(top)
                ctx.warning(
                    "import",
                    f"`{top}` is in the {resolved.split(':')[0]}, but nothing in the notebook installs that bundle",
                    "push with --deps OWNER/DEPS-SLUG: its first cell installs the attached bundles offline",
                    imp.cell,
                    imp.line,
                )
            continue
        reported.add(top)
        with ctx.maybe(imp.conditional):
            _unresolved(ctx, imp, resolver)
    _kaggle_magics(ctx, reported)
    _versions(ctx, resolver)


def _unresolved(ctx: Context, imp: Import, resolver: Resolver) -> None:
    top = imp.top
    target = ctx.target
    python = resolver.python
    removed = modules.removed_from_stdlib(top, python)
    if removed:
        ctx.error(
            "import",
            f"ModuleNotFoundError: Kaggle's Python {python} has no `{top}` (removed from the standard library in "
            f"{removed})",
            _REPLACEMENTS.get(top, "replace it"),
            imp.cell,
            imp.line,
        )
        return
    dist = modules.candidates(imp.module)[0]
    if top == "kaggle_magics":
        ctx.error(
            "import",
            "ModuleNotFoundError: kaggle-magics is not in Kaggle's image",
            "leave %load_ext kaggle_magics and %kaggle_* lines out of the submission: push with --deps "
            "OWNER/DEPS-SLUG, whose first cell installs the bundles without it",
            imp.cell,
            imp.line,
        )
        return
    beside = _beside(target.folder, top, target.code_file)
    if beside:
        ctx.error(
            "import",
            f"ModuleNotFoundError: no module named '{top}': {beside} is beside the notebook here, but Kaggle receives "
            "only the code file",
            f"upload it as a dataset (kaggle-magics dataset DIR --id OWNER/SLUG), attach it and add its folder to "
            f"sys.path; or write it with a `%%writefile {top}.py` cell",
            imp.cell,
            imp.line,
        )
        return
    unseen = _may_provide(ctx, top)
    if unseen:
        names = ", ".join(u for u in unseen if u)
        local = target.settings.store is not None  # the local Kaggle's store was read: they are not in it
        where = f"{names}, not {'in the local store' if local else 'readable here'}" if names else (
            "the files the notebook installs from or adds to sys.path (no sources given to read them)"
        )
        later = (
            "add them to the local Kaggle (a dataset: kaggle-magics dataset DIR --id OWNER/SLUG --backend local; "
            "a kernel: push it with --backend local)"
            if local else "check against the local Kaggle (--backend local)"
        )
        ctx.warning(
            "import",
            f"not seen: `{top}` is not in Kaggle's image; it may come from {where}",
            f"pass --bundle DIR (the folder a freeze wrote), or {later}"
            if names else "pass the sources the kernel attaches (--dataset, --attach, --competition, --model)",
            imp.cell,
            imp.line,
        )
        return
    near = _fuzzy(top, target.settings.base.packages)
    if near:
        ctx.warning(
            "import",
            f"not seen: no distribution named like `{top}` in Kaggle's image ({near} may provide it)",
            f"if {near} does not, " + _FREEZE.format(dist=dist),
            imp.cell,
            imp.line,
        )
        return
    if target.accelerated:
        ctx.warning(
            "import",
            f"not seen: `{top}` is not in Kaggle's CPU image list; this "
            f"{target.meta.machine_shape or target.accelerator_hint or 'GPU/TPU'} "
            "kernel runs another image, which may have it",
            "check it in a session with that accelerator, or " + _FREEZE.format(dist=dist),
            imp.cell,
            imp.line,
        )
        return
    pipped = any("pip install" in c.text for c in ctx.commands())
    ctx.error(
        "import",
        f"ModuleNotFoundError: no module named '{top}' (not in Kaggle's image, nor in an attached bundle or source"
        + (", and the notebook's pip install fails offline)" if pipped and ctx.offline else ")"),
        _FREEZE.format(dist=dist),
        imp.cell,
        imp.line,
    )


def _sys_paths(ctx: Context) -> list[object]:
    """What the notebook adds to ``sys.path`` (literal strings, or NOT_LITERAL)."""
    found: list[object] = []
    for call in ctx.facts.calls:
        if call.qualified in ("sys.path.append", "site.addsitedir", "sys.path.extend"):
            found.append(call.arg(0))
        elif call.qualified == "sys.path.insert":
            found.append(call.arg(1))
    return found


def _may_provide(ctx: Context, top: str) -> list[str]:
    """What could hold ``top`` among the sources whose files cannot be read: a kernel's output (a bundle, a
    utility script) always; a dataset when the notebook installs from files or extends sys.path; a
    competition only for its own API (``kaggle_evaluation``, a module named after it) or a path added under
    it; and, when no sources were given, whatever the notebook installs from or adds to sys.path."""
    target = ctx.target
    added = _sys_paths(ctx)
    utility = any(s.value.startswith("/kaggle/usr/lib") for s in ctx.facts.strings)  # utility scripts' code
    from_files = ctx.installs_from_files or bool(added) or utility
    found = []
    for mount in target.unseen():
        where = [inputs.mount_path(mount.path(layout)) for layout in inputs.LAYOUTS]
        under = any(isinstance(p, str) and p.replace("../input", inputs.INPUT_ROOT).startswith(tuple(where))
                    for p in added)  # fmt: skip
        dataset = mount.kind == "dataset" and from_files
        api = mount.kind == "competition" and (top == "kaggle_evaluation" or top in mount.source.replace("-", "_"))
        if mount.kind == "kernel" or under or dataset or api:
            found.append(f"{mount.kind} {mount.source}")
    if not target.sources_known and from_files:
        found.append("")  # what it installs from or adds to sys.path, with no sources given to read
    return found


def _extension_imports(ctx: Context) -> list[Import]:
    """``%load_ext x`` imports ``x``."""
    found = []
    for command in ctx.magics("load_ext"):
        words = command.text.split()
        if len(words) >= 2 and all(part.isidentifier() for part in words[1].split(".")):
            found.append(Import(words[1], command.cell, command.line))
    return found


def _spacy_models(ctx: Context) -> list[Import]:
    """``spacy.load("en_core_web_sm")`` imports the model's package."""
    found = []
    for call in ctx.facts.calls:
        if call.qualified == "spacy.load":
            name = call.arg(0, "name")
            if isinstance(name, str) and name.replace("_", "").isalnum() and "_" in name:
                found.append(Import(name, call.cell, call.line))
    return found


def _kaggle_magics(ctx: Context, reported: set[str]) -> None:
    """A ``%kaggle_*`` magic with the extension never loaded: IPython does not know it."""
    if "kaggle_magics" in reported:
        return
    loaded = any(c.text.split()[1:2] == ["kaggle_magics"] for c in ctx.magics("load_ext"))
    for command in ctx.scan.commands:
        if command.kind == "magic" and (command.magic or "").startswith("kaggle_") and not loaded:
            ctx.error(
                "import",
                f"UsageError: Line magic function `%{command.magic}` not found (kaggle-magics is not loaded, nor in "
                "Kaggle's image)",
                "leave %kaggle_* lines out of the submission: push with --deps OWNER/DEPS-SLUG, whose first cell "
                "installs the bundles without it",
                command.cell,
                command.line,
            )
            return


def _versions(ctx: Context, resolver: Resolver) -> None:
    for fact in ctx.facts.versions:
        if fact.op not in ("==", "startswith"):
            continue
        module = ctx.facts.qualify(fact.name)
        have = resolver.version(module)
        if have is None:
            continue
        dist, version = have
        public = _public(version)
        if fact.op == "startswith":
            same = public.startswith(fact.value) or version.startswith(fact.value)
        else:
            same = fact.value in (version, public) or _same(public, fact.value)
        if not same:
            wants = f"starts with {fact.value!r}" if fact.op == "startswith" else f"== {fact.value!r}"
            ctx.warning(
                "import",
                f"the code checks {fact.name}.__version__ {wants}; Kaggle has {dist} {version}",
                f"ship {dist}=={fact.value.rstrip('.')} with %kaggle_freeze, or check for {public}",
                fact.cell,
                fact.line,
            )


def _public(version: str) -> str:
    try:
        return Version(version).public
    except InvalidVersion:
        return version


def _same(a: str, b: str) -> bool:
    try:
        return Version(a) == Version(b)
    except InvalidVersion:
        return False
