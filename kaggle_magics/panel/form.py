"""The panel's settings: what a submission is (kernel id, code, competition, what it attaches, accelerator,
internet, backend) and what Freeze freezes, as widgets pre-filled from the configuration, and as the
command-line arguments each verb takes (so a click runs exactly what ``kaggle-magics <verb> ...`` would)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from ..metadata import ACCELERATORS

BACKEND_CHOICES = ("auto", "kaggle", "local")
CPU = "CPU (no accelerator)"


def split_list(text: str) -> list[str]:
    """``"me/a, me/b\\nme/c"`` -> ``["me/a", "me/b", "me/c"]`` (commas, spaces or lines between items)."""
    return [item for item in re.split(r"[\s,]+", text or "") if item]


class Settings:
    """The settings widgets. ``defaults`` is a :class:`~kaggle_magics.config.ProjectDefaults`."""

    def __init__(
        self,
        widgets: Any,
        defaults: Any,
        *,
        ref: str = "",
        path: str = "",
        dest: str = "",
        competition: str | None = None,
        backend: str | None = None,
    ):
        wide = widgets.Layout(width="34em")
        style = {"description_width": "9em"}

        def text(value: str, description: str, placeholder: str) -> Any:
            return widgets.Text(
                value=value, description=description, placeholder=placeholder, layout=wide, style=style
            )

        owner = defaults.owner or "owner"
        self.ref = text(ref, "kernel", f"{owner}/kernel-slug")
        self.path = text(path, "code", "a kernel folder, a .ipynb or a percent-format .py")
        self.competition = text(competition or defaults.competition or "", "competition", "competition-slug")
        self.deps = text("", "deps kernels", "owner/deps-kernel: installed offline in the first cell")
        self.attach = text(", ".join(defaults.attach), "kernel outputs", "owner/kernel, ...")
        self.datasets = text(", ".join(defaults.datasets), "datasets", "owner/dataset, ...")
        self.models = text(", ".join(defaults.models), "models", "owner/model/framework/variation/version, ...")
        shape = defaults.accelerator if defaults.accelerator in ACCELERATORS else CPU
        self.accelerator = widgets.Dropdown(
            options=[CPU, *ACCELERATORS], value=shape, description="accelerator", layout=wide, style=style
        )
        self.internet = widgets.Checkbox(
            value=bool(defaults.internet), description="internet on (a submission must run offline)",
            indent=False,
        )
        chosen = backend or defaults.backend or "auto"
        self.backend = widgets.Dropdown(
            options=list(BACKEND_CHOICES), value=chosen if chosen in BACKEND_CHOICES else "auto",
            description="backend", layout=widgets.Layout(width="20em"), style=style,
        )
        self.requirements = widgets.Textarea(
            value="", description="requirements",
            placeholder="one per line: polars, lightgbm==4.6.0, hydra-core; or an option: --find-links DIR",
            layout=widgets.Layout(width="34em", height="5em"), style=style,
        )
        self.deps_dest = text(defaults.deps_dest or "", "bundle to", "kaggle_deps")
        self.dest = text(dest, "outputs to", "kaggle_output/<slug>")

    # -- what the widgets say, as each verb's arguments -----------------------------------------------------
    def backend_flag(self) -> list[str]:
        return [] if self.backend.value == "auto" else [f"--backend={self.backend.value}"]

    def kernel_ref(self) -> str:
        return self.ref.value.strip()

    def code_path(self) -> str:
        return self.path.value.strip()

    def is_folder(self) -> bool:
        path = self.code_path()
        return bool(path) and Path(path).expanduser().is_dir()

    def kernel_flags(self) -> list[str]:
        """The flags of ``push`` that make kernel-metadata.json: empty for a kernel folder, whose metadata
        decides (push refuses flags that would change it)."""
        argv: list[str] = []
        if self.is_folder():
            return argv
        if self.kernel_ref():
            argv.append(f"--id={self.kernel_ref()}")
        for flag, widget in (
            ("--competition", self.competition),
            ("--deps", self.deps),
            ("--attach", self.attach),
            ("--dataset", self.datasets),
            ("--model", self.models),
        ):
            argv += [f"{flag}={item}" for item in split_list(widget.value)]
        if self.accelerator.value != CPU:
            argv.append(f"--accelerator={self.accelerator.value}")
        if self.internet.value:
            argv.append("--internet")
        return argv

    def push_argv(self, dry_run: bool = False) -> list[str]:
        return [*self.backend_flag(), *self.kernel_flags(), *(["--dry-run"] if dry_run else []), "--", self.code_path()]

    def freeze_argv(self) -> list[str]:
        """The requirements box as ``freeze`` arguments: a requirement per line; a line that starts with ``-``
        is one of freeze's options (``--find-links DIR``, ``--no-index``, ``--base FILE``, ``-r FILE``...)."""
        import shlex

        flags: list[str] = []
        reqs: list[str] = []
        for raw in self.requirements.value.splitlines():
            line = raw.split(" #", 1)[0].strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("-"):
                flags += shlex.split(line)
            else:
                reqs.append(line)
        dest = self.deps_dest.value.strip()
        return [*flags, *([f"--dest={dest}"] if dest else []), "--", *reqs]

    def status_argv(self, *extra: str) -> list[str]:
        return [*self.backend_flag(), *extra, "--", self.kernel_ref()]

    def output_argv(self) -> list[str]:
        dest = self.dest.value.strip()
        return [*self.backend_flag(), *([f"--dest={dest}"] if dest else []), "--", self.kernel_ref()]

    def submit_argv(self) -> list[str]:
        argv = [*self.backend_flag(), f"--kernel={self.kernel_ref()}", "--wait"]
        competition = split_list(self.competition.value)
        return argv + ([f"--competition={competition[0]}"] if competition else [])

    def rows(self) -> list[list[Any]]:
        """The widgets in display order, a row each."""
        return [
            [self.ref, self.backend],
            [self.path],
            [self.competition],
            [self.deps],
            [self.attach],
            [self.datasets],
            [self.models],
            [self.accelerator, self.internet],
        ]
