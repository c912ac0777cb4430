"""Where Kaggle mounts each attached source under ``/kaggle/input``.

Two layouts:

``nested`` (today's, the default)
    ``competitions/<slug>/``, ``datasets/<owner>/<slug>/``, ``notebooks/<owner>/<slug>/`` (a kernel's output),
    ``models/<owner>/<model>/<framework>/<variation>/<version>/``
``flat`` (the older one, still met in old notebooks)
    ``<slug>/`` for competitions, datasets and kernel outputs; ``<model>/<framework>/<variation>/<version>/``

Frameworks are lower-cased in paths (``pyTorch`` -> ``pytorch``), as Kaggle writes them. Every function
returns a path relative to the input root; :func:`mount_path` gives the absolute one.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import ConfigError

if TYPE_CHECKING:
    from .handles import CompetitionRef, DatasetRef, KernelRef, ModelRef

NESTED = "nested"
FLAT = "flat"
LAYOUTS = (NESTED, FLAT)
DEFAULT_LAYOUT = NESTED
INPUT_ROOT = "/kaggle/input"
KINDS = ("competitions", "datasets", "notebooks", "models")  # the top folders of the nested layout


def check_layout(value: str | None, where: str = "--input-layout") -> str:
    """``value`` as a layout name (default when empty); anything else is a ConfigError naming ``where``."""
    if value is None or not str(value).strip():
        return DEFAULT_LAYOUT
    name = str(value).strip().lower()
    if name not in LAYOUTS:
        raise ConfigError(
            f"{where}: unknown input layout {value!r}",
            hint=f"use {NESTED} (today's Kaggle: /kaggle/input/datasets/<owner>/<slug>/...) or {FLAT} "
            "(the old /kaggle/input/<slug>/)",
        )
    return name


def competition_path(ref: CompetitionRef | str, layout: str = DEFAULT_LAYOUT) -> str:
    slug = ref if isinstance(ref, str) else ref.slug
    return slug if layout == FLAT else f"competitions/{slug}"


def dataset_path(ref: DatasetRef, layout: str = DEFAULT_LAYOUT) -> str:
    return ref.slug if layout == FLAT else f"datasets/{ref.owner}/{ref.slug}"


def kernel_path(ref: KernelRef, layout: str = DEFAULT_LAYOUT) -> str:
    """Where a kernel's output is mounted when another kernel attaches it (``kernel_sources``)."""
    return ref.slug if layout == FLAT else f"notebooks/{ref.owner}/{ref.slug}"


def model_path(ref: ModelRef, layout: str = DEFAULT_LAYOUT) -> str:
    version = ref.version if ref.version is not None else "VERSION"
    tail = f"{ref.model}/{ref.framework.lower()}/{ref.variation}/{version}"
    return tail if layout == FLAT else f"models/{ref.owner}/{tail}"


def mount_path(relative: str, root: str = INPUT_ROOT) -> str:
    return f"{root.rstrip('/')}/{relative}"


@dataclass(frozen=True)
class Mount:
    """One attached source and where it is mounted (relative to the input root) in each layout."""

    kind: str  # competition | dataset | kernel | model
    source: str  # as written in kernel-metadata.json
    nested: str
    flat: str

    def path(self, layout: str = DEFAULT_LAYOUT) -> str:
        return self.flat if layout == FLAT else self.nested


def mounts(sources: Mapping[str, list[str] | tuple[str, ...]]) -> list[Mount]:
    """Every source of ``{"competitions": [...], "datasets": [...], "kernels": [...], "models": [...]}`` (the
    lists of kernel-metadata.json) with its two paths. References are parsed (an InvalidRef names a bad one)."""
    from .handles import CompetitionRef, DatasetRef, KernelRef, ModelRef

    found: list[Mount] = []
    for text in sources.get("competitions", ()):
        comp = CompetitionRef.parse(text)
        found.append(Mount("competition", text, competition_path(comp, NESTED), competition_path(comp, FLAT)))
    for text in sources.get("datasets", ()):
        dref = DatasetRef.parse(text)
        found.append(Mount("dataset", text, dataset_path(dref, NESTED), dataset_path(dref, FLAT)))
    for text in sources.get("kernels", ()):
        kref = KernelRef.parse(text)
        found.append(Mount("kernel", text, kernel_path(kref, NESTED), kernel_path(kref, FLAT)))
    for text in sources.get("models", ()):
        mref = ModelRef.parse(text, require_version=True)
        found.append(Mount("model", text, model_path(mref, NESTED), model_path(mref, FLAT)))
    return found
