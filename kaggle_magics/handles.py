"""References to Kaggle things: kernels, datasets, models, competitions.

Each parses from the string a user types, validates every part, names the bad part and the expected form
when it does not fit, and turns back into that string with ``str()``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import InvalidRef

# Kaggle user names and slugs: letters, digits and hyphens (slugs are made by slugify); we accept
# underscores and dots as Kaggle's own clients do, and reject spaces, slashes and empty parts.
_PART = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?\Z")  # \Z: `$` lets a final newline in

MODEL_FRAMEWORKS = (
    "tensorFlow1", "tensorFlow2", "tfLite", "tfJs", "pyTorch", "jax", "flax", "pax", "maxText", "gemmaCpp",
    "ggml", "gguf", "coral", "scikitLearn", "mxnet", "onnx", "keras", "transformers", "api", "other",
    "tensorRtLlm", "triton", "vllm",
)
_FRAMEWORKS_BY_KEY = {f.lower(): f for f in MODEL_FRAMEWORKS}


def _part(value: str, what: str, text: str, form: str) -> str:
    if not value:
        raise InvalidRef(f"{text!r}: the {what} is empty", hint=f"expected {form}")
    if not _PART.match(value):
        raise InvalidRef(
            f"{text!r}: the {what} {value!r} may hold only letters, digits, '-', '_' and '.'",
            hint=f"expected {form}",
        )
    return value


def _version(value: str, text: str, form: str) -> int:
    if not (value.isascii() and value.isdigit()) or int(value) < 1:  # '²' is a digit to isdigit, not to int
        raise InvalidRef(f"{text!r}: the version {value!r} is not a positive whole number", hint=f"expected {form}")
    return int(value)


def _split(text: str, counts: tuple[int, ...], form: str) -> list[str]:
    if not isinstance(text, str) or not text.strip():
        raise InvalidRef("an empty reference", hint=f"expected {form}")
    parts = text.strip().strip("/").split("/")
    if len(parts) not in counts:
        raise InvalidRef(f"{text!r} has {len(parts)} part(s)", hint=f"expected {form}")
    return parts


# -- near misses: what users paste instead of a reference, named for what it is, with the fix -----------------
_URL = re.compile(r"^(?:https?://)?(?:www\.)?kaggle\.com/+", re.IGNORECASE)
_INPUT = "/kaggle/input/"
# The first part of a kaggle.com URL's path (and of today's /kaggle/input layout), by kind of thing.
_PREFIXES = {"kernel": ("code", "kernels", "notebooks"), "dataset": ("datasets",), "model": ("models",),
             "competition": ("competitions", "c")}  # fmt: skip


_OWNED_PARTS = {"kernel": 2, "dataset": 2, "model": 5, "competition": 1}  # parts of a reference with its owner


def _has_prefix(parts: list[str], kind: str) -> bool:
    """Whether ``parts`` (no URL, no mount path) are a reference of ``kind`` behind its URL path's first part,
    and could not be read as a reference without it."""
    if not parts or parts[0] not in _PREFIXES[kind]:
        return False
    if kind in ("kernel", "dataset"):
        return len(parts) == 4 or (len(parts) == 3 and not parts[2].isdigit())
    if kind == "model":
        return len(parts) == 6 or (len(parts) == 5 and parts[2].lower() not in _FRAMEWORKS_BY_KEY)
    return len(parts) == 2


def _near_miss(text: str, kind: str, form: str) -> None:
    """Raise InvalidRef naming what ``text`` is (a URL, a mount path, a URL's path, a doubled owner) and the
    reference it means; return quietly when it is none of those."""
    if not isinstance(text, str):
        return
    stripped = text.strip()
    what = None
    if _URL.match(stripped):
        what, rest = "a URL", _URL.sub("", stripped).split("?")[0].split("#")[0]
    elif stripped.startswith(_INPUT):
        what, rest = "an input's mount path", stripped[len(_INPUT) :]
    else:
        rest = stripped
    parts = [p for p in rest.split("/") if p]
    if parts and parts[0] in _PREFIXES[kind] and (what or _has_prefix(parts, kind)):
        what = what or f"a URL's path (it starts with {parts[0] + '/'!r})"
        parts = parts[1:]
    if kind in ("kernel", "dataset") and len(parts) == 4 and parts[2] == "versions":
        what = what or "a URL's path"
        parts = [parts[0], parts[1], parts[3]]  # kaggle.com/datasets/OWNER/SLUG/versions/N
    if what:
        if what.startswith("an input") and len(parts) < _OWNED_PARTS[kind]:
            hint = f"write {form}: a mount path does not say the owner (the {kind}'s URL does)"
        else:
            hint = f"write {'/'.join(parts)!r}"
        raise InvalidRef(f"{text!r} is {what}, not a {kind} reference", hint=hint)
    if kind in ("kernel", "dataset") and len(parts) == 3 and parts[0] == parts[1] and not parts[2].isdigit():
        raise InvalidRef(f"{text!r} repeats the owner {parts[0]!r}", hint=f"write {parts[0] + '/' + parts[2]!r}")


def _owner_slug_version(
    text: str, what: str, form: str, default_owner: str | None
) -> tuple[str, str, int | None]:
    """``owner/slug[/version]`` (or ``slug`` alone with a default owner), each part validated."""
    parts = _split(text, (1, 2, 3), form)
    if len(parts) == 1:
        if not default_owner:
            raise InvalidRef(
                f"{text!r} names no owner",
                hint=f"write {form}, or set a default owner: owner = \"NAME\" in [tool.kaggle_magics] of pyproject.toml"
                " (in a notebook: %config KaggleMagics.owner = \"NAME\")",
            )
        parts = [default_owner, *parts]
    owner = _part(parts[0], "owner", text, form)
    slug = _part(parts[1], what, text, form)
    version = _version(parts[2], text, form) if len(parts) == 3 else None
    return owner, slug, version


@dataclass(frozen=True)
class KernelRef:
    """``owner/slug[/version]``: a notebook (kernel) on Kaggle."""

    owner: str
    slug: str
    version: int | None = None

    FORM = "owner/kernel-slug or owner/kernel-slug/VERSION (the slug from the notebook's URL)"

    @classmethod
    def parse(cls, text: str, *, default_owner: str | None = None) -> KernelRef:
        _near_miss(text, "kernel", cls.FORM)
        owner, slug, version = _owner_slug_version(text, "kernel slug", cls.FORM, default_owner)
        if len(slug) < 5:
            raise InvalidRef(f"{text!r}: the kernel slug {slug!r} is shorter than 5 characters", hint=cls.FORM)
        return cls(owner, slug, version)

    @property
    def id(self) -> str:
        """``owner/slug`` without the version (what kernel-metadata.json's ``id`` holds)."""
        return f"{self.owner}/{self.slug}"

    @property
    def url(self) -> str:
        return f"https://www.kaggle.com/code/{self.owner}/{self.slug}"

    def with_version(self, version: int | None) -> KernelRef:
        return KernelRef(self.owner, self.slug, version)

    def __str__(self) -> str:
        return self.id if self.version is None else f"{self.id}/{self.version}"


@dataclass(frozen=True)
class DatasetRef:
    """``owner/slug[/version]``: a dataset."""

    owner: str
    slug: str
    version: int | None = None

    FORM = "owner/dataset-slug or owner/dataset-slug/VERSION"

    @classmethod
    def parse(cls, text: str, *, default_owner: str | None = None) -> DatasetRef:
        _near_miss(text, "dataset", cls.FORM)
        return cls(*_owner_slug_version(text, "dataset slug", cls.FORM, default_owner))

    @property
    def id(self) -> str:
        return f"{self.owner}/{self.slug}"

    @property
    def url(self) -> str:
        return f"https://www.kaggle.com/datasets/{self.owner}/{self.slug}"

    def __str__(self) -> str:
        return self.id if self.version is None else f"{self.id}/{self.version}"


def _framework(value: str, text: str, form: str) -> str:
    _part(value, "framework", text, form)
    if value.lower() not in _FRAMEWORKS_BY_KEY:
        raise InvalidRef(f"{text!r}: unknown framework {value!r}", hint="one of: " + ", ".join(MODEL_FRAMEWORKS))
    return value  # Kaggle matches frameworks case-insensitively; keep the user's spelling


@dataclass(frozen=True)
class ModelRef:
    """``owner/model/framework/variation[/version]``: a model instance (variation), optionally one version.

    ``model_sources`` in kernel-metadata.json needs the version; uploads take the handle without it.
    """

    owner: str
    model: str
    framework: str
    variation: str
    version: int | None = None

    FORM = "owner/model/framework/variation/VERSION (e.g. me/cmi-models/pyTorch/exp-001/1)"

    @classmethod
    def parse(cls, text: str, *, require_version: bool = False) -> ModelRef:
        _near_miss(text, "model", cls.FORM)
        parts = _split(text, (4, 5), cls.FORM)
        if require_version and len(parts) == 4:
            raise InvalidRef(
                f"{text!r} has no version (4 parts): a model source is one version of the model",
                hint=f"write {text.strip().strip('/') + '/VERSION'!r}, VERSION the number on the model's page",
            )
        owner = _part(parts[0], "owner", text, cls.FORM)
        model = _part(parts[1], "model slug", text, cls.FORM)
        framework = _framework(parts[2], text, cls.FORM)
        variation = _part(parts[3], "variation", text, cls.FORM)
        version = _version(parts[4], text, cls.FORM) if len(parts) == 5 else None
        return cls(owner, model, framework, variation, version)

    @property
    def handle(self) -> str:
        """``owner/model/framework/variation`` (what kagglehub.model_upload takes)."""
        return f"{self.owner}/{self.model}/{self.framework}/{self.variation}"

    @property
    def input_path(self) -> str:
        """Where Kaggle mounts this model in a notebook (today's layout; :mod:`kaggle_magics.inputs` for
        the other)."""
        from .inputs import model_path, mount_path

        return mount_path(model_path(self))

    @property
    def url(self) -> str:
        return f"https://www.kaggle.com/models/{self.owner}/{self.model}"

    def with_version(self, version: int | None) -> ModelRef:
        return ModelRef(self.owner, self.model, self.framework, self.variation, version)

    def __str__(self) -> str:
        return self.handle if self.version is None else f"{self.handle}/{self.version}"


@dataclass(frozen=True)
class CompetitionRef:
    """A competition slug, as in kaggle.com/competitions/SLUG."""

    slug: str

    FORM = "the competition slug from its URL (kaggle.com/competitions/SLUG)"

    @classmethod
    def parse(cls, text: str) -> CompetitionRef:
        _near_miss(text, "competition", cls.FORM)
        parts = _split(text, (1,), cls.FORM)
        return cls(_part(parts[0], "competition slug", text, cls.FORM))

    @classmethod
    def normalise(cls, text: str) -> tuple[CompetitionRef, str | None]:
        """Parse ``text``, also in the forms Kaggle's own tools and users' repositories write it: ``c/SLUG``
        and ``competitions/SLUG`` (the mount path's form) are the slug; the note says so (None when unchanged).
        """
        if isinstance(text, str):
            parts = text.strip().strip("/").split("/")
            if len(parts) == 2 and parts[0] in ("c", "competitions"):
                ref = cls(_part(parts[1], "competition slug", text, cls.FORM))
                return ref, f"competition {text!r} read as {ref.slug!r} (kernel-metadata.json takes the slug alone)"
        return cls.parse(text), None

    @property
    def url(self) -> str:
        return f"https://www.kaggle.com/competitions/{self.slug}"

    def __str__(self) -> str:
        return self.slug


def slugify(title: str) -> str:
    """The slug Kaggle derives from a title (the official client uses python-slugify the same way)."""
    from slugify import slugify as _slugify

    return _slugify(title)
