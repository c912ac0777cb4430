"""``%kaggle_panel``: a small ipywidgets panel that pushes, follows, downloads and submits one kernel.

Each button runs the verb the magics and the CLI run (:mod:`kaggle_magics.verbs`, with arguments parsed by
the verb's own option list), so the panel cannot drift from them; only Wait calls
:func:`kaggle_magics.status.status` itself, to show the elapsed time in a label and to let Stop end the
waiting (never the run).

Everything a callback produces, errors included, goes into the panel's ``Output`` widget: JupyterLab drops
what a widget callback prints or raises. Results are shown as they are in a notebook (their ``_repr_html_``);
a :class:`~kaggle_magics.errors.KaggleMagicsError` as its one line and hint. While a call runs every action
button is disabled, so a double click cannot push twice.

ipywidgets is imported only when a panel is built (``pip install 'kaggle-magics[panel]'``): loading the
extension stays cheap.
"""

from __future__ import annotations

import argparse
import dataclasses
import functools
import threading
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from . import options as opts
from .errors import KaggleMagicsError
from .options import Arg

BACKEND_CHOICES = ("auto", "kaggle", "local")

__all__ = ["BACKEND_CHOICES", "kernel_panel"]  # and KagglePanel, made on first use


def _widgets() -> Any:
    try:
        import ipywidgets  # type: ignore[import-untyped]
    except ImportError:
        raise KaggleMagicsError(
            "the panel needs ipywidgets, which is not installed",
            hint="pip install 'kaggle-magics[panel]' (or pip install ipywidgets), then restart the kernel",
        ) from None
    return ipywidgets


def parse_verb_arguments(specs: list[Arg], argv: list[str]) -> argparse.Namespace:
    """``argv`` parsed by the verb's own option list, as a magic parses its line (bad values: UsageError)."""
    from IPython.core.magic_arguments import MagicArgumentParser

    parser = MagicArgumentParser(prog="%kaggle_panel", add_help=False)
    return opts.add_to_parser(parser, specs).parse_args(argv)


def default_context() -> Any:
    """The project defaults of the current folder (what the CLI uses; the magic passes its %config on top)."""
    from .config import load_project_defaults
    from .verbs import Context

    return Context(defaults=load_project_defaults(Path.cwd()))


class LabelDisplay:
    """The wait's progress display (see :class:`kaggle_magics.progress.Display`): a widget label's text."""

    def __init__(self, label: Any, desc: str):
        self.label = label
        self.desc = desc

    def update(self, state: str, elapsed: float) -> None:
        from .progress import format_seconds

        self.label.value = f"{self.desc}: {state}, {format_seconds(elapsed)} elapsed"

    def close(self, final: str | None = None) -> None:
        if final:
            self.label.value = f"{self.desc}: {final}"


def error_output(exc: BaseException) -> dict[str, Any]:
    """An ``Output`` widget entry for a failure: one line and a hint for errors the user can fix (as the CLI
    prints them); the traceback only for an unexpected exception, which is a bug worth reporting."""
    from IPython.core.error import UsageError

    if isinstance(exc, KaggleMagicsError):
        text = f"error: {exc.message}\n" + (f"hint: {exc.hint}\n" if exc.hint else "")
    elif isinstance(exc, UsageError):
        text = f"error: {exc}\n"
    else:
        text = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    return {"output_type": "stream", "name": "stderr", "text": text}


def result_output(result: Any) -> dict[str, Any]:
    """An ``Output`` widget entry for a result object: its HTML, with its text for plain frontends."""
    data = {"text/plain": str(result)}
    to_html = getattr(result, "_repr_html_", None)
    if callable(to_html):
        data["text/html"] = to_html()
    return {"output_type": "display_data", "data": data, "metadata": {}}


def _notice_output(message: str) -> dict[str, Any]:
    return {"output_type": "stream", "name": "stdout", "text": message.rstrip("\n") + "\n"}


@functools.cache
def _panel_class() -> type:
    """The panel class, made on first use so that importing this module does not import ipywidgets."""
    widgets = _widgets()

    class KagglePanel(widgets.VBox):  # type: ignore[misc,name-defined]
        """Push, Status, Wait (with Stop), Output and Submit for one kernel, on a chosen backend.

        ``context`` returns the :class:`kaggle_magics.verbs.Context` each action runs with (called every time,
        so ``%config KaggleMagics...`` set after the panel was shown still applies).
        """

        def __init__(
            self,
            ref: str = "",
            *,
            backend: str | None = None,
            path: str = "",
            dest: str = "",
            competition: str | None = None,
            context: Callable[[], Any] = default_context,
            poll: Any = None,
        ):
            self._context = context
            self._poll = poll
            self._busy = threading.Lock()
            self._stop = threading.Event()
            self._worker: threading.Thread | None = None
            defaults = context().defaults
            owner = defaults.owner or ""
            wide = widgets.Layout(width="28em")
            style = {"description_width": "7em"}

            self.ref = widgets.Text(
                value=ref, description="kernel", placeholder=f"{owner or 'owner'}/kernel-slug",
                layout=wide, style=style,
            )
            chosen = backend or defaults.backend or "auto"
            self.backend = widgets.Dropdown(
                options=list(BACKEND_CHOICES), value=chosen if chosen in BACKEND_CHOICES else "auto",
                description="backend", layout=widgets.Layout(width="16em"),
                style={"description_width": "5em"},
            )
            self.path = widgets.Text(
                value=path, description="push", placeholder="kernel folder, .ipynb or .py", layout=wide,
                style=style,
            )
            self.dest = widgets.Text(
                value=dest, description="output to", placeholder="kaggle_output/<slug>", layout=wide,
                style=style,
            )
            self.competition = widgets.Text(
                value=competition or defaults.competition or "", description="competition",
                placeholder="competition-slug", layout=wide, style=style,
            )

            def button(text: str, tip: str, icon: str, style: str = "") -> Any:
                return widgets.Button(description=text, tooltip=tip, icon=icon, button_style=style)

            self.push_button = button("Push", "push the path above as this kernel", "upload", "primary")
            self.status_button = button("Status", "ask once: status, runtime, log tail", "info")
            self.wait_button = button("Wait", "follow the run until it ends", "hourglass-half")
            self.stop_button = button("Stop", "stop waiting (the run goes on)", "stop", "warning")
            self.stop_button.disabled = True
            self.output_button = button("Output", "download the run's output files", "download")
            self.submit_button = button("Submit", "submit this kernel's output to the competition", "trophy",
                                        "success")
            self.elapsed = widgets.Label(value="")
            self.out = widgets.Output(layout=widgets.Layout(border="1px solid #ddd", padding="4px"))
            self.actions = [self.push_button, self.status_button, self.wait_button, self.output_button,
                            self.submit_button]

            self.push_button.on_click(lambda _: self._run(self._push))
            self.status_button.on_click(lambda _: self._run(self._status))
            self.output_button.on_click(lambda _: self._run(self._output))
            self.submit_button.on_click(lambda _: self._run(self._submit))
            self.wait_button.on_click(lambda _: self._start_wait())
            self.stop_button.on_click(lambda _: self.stop())

            hbox = widgets.HBox
            super().__init__(
                [
                    hbox([self.ref, self.backend]),
                    hbox([self.path, self.push_button]),
                    hbox([self.status_button, self.wait_button, self.stop_button, self.elapsed]),
                    hbox([self.dest, self.output_button]),
                    hbox([self.competition, self.submit_button]),
                    self.out,
                ]
            )
            self.add_class("kaggle-magics-panel")

        # -- running an action -------------------------------------------------------------------------------
        def _ctx(self) -> Any:
            """The context with its notices ("no credentials: using local") written into the panel."""
            ctx = self._context()
            return dataclasses.replace(ctx, notify=self._notice, echo=self._notice)

        def _notice(self, message: str) -> None:
            self.out.outputs = (*self.out.outputs, _notice_output(message))

        def _set_busy(self, busy: bool) -> None:
            for b in self.actions:
                b.disabled = busy

        def _begin(self) -> bool:
            """Take the panel for one action (False if another is running: the click is ignored)."""
            if not self._busy.acquire(blocking=False):
                return False
            self._set_busy(True)
            self.out.outputs = ()
            return True

        def _finish(self, action: Callable[[], Any]) -> None:
            try:
                result = action()
                if result is not None:
                    self.out.outputs = (*self.out.outputs, result_output(result))
            except BaseException as exc:  # shown, never raised: a widget callback's error would be lost
                self.out.outputs = (*self.out.outputs, error_output(exc))
            finally:
                self._set_busy(False)
                self._busy.release()

        def _run(self, action: Callable[[], Any]) -> None:
            """Run ``action`` now (short calls), with stray prints and progress bars captured in ``out``."""
            if not self._begin():
                return
            with self.out:
                self._finish(action)

        def _backend_flag(self) -> list[str]:
            return [] if self.backend.value == "auto" else [f"--backend={self.backend.value}"]

        def _ref(self) -> str:
            return self.ref.value.strip()

        # -- the actions: each one verb ------------------------------------------------------------------
        def _push(self) -> Any:
            from . import verbs

            path = self.path.value.strip()
            if not path:
                raise KaggleMagicsError(
                    "nothing to push", hint="type a kernel folder, a .ipynb or a .py in the push box"
                )
            argv = self._backend_flag()
            competition = self.competition.value.strip()
            if not Path(path).expanduser().is_dir():  # a folder's metadata names its kernel and sources
                argv += [f"--id={self._ref()}"] if self._ref() else []
                # the competition Submit goes to is attached, as %%kaggle_sub --competition does
                argv += [f"--competition={competition}"] if competition else []
            result = verbs.push(parse_verb_arguments(opts.PUSH, [*argv, "--", path]), self._ctx())
            if result.ref and not result.dry_run:
                self.ref.value = result.ref  # Status, Wait, Output and Submit follow what was pushed
            return result

        def _status(self) -> Any:
            from . import verbs

            ns = parse_verb_arguments(opts.STATUS, [*self._backend_flag(), "--", self._ref()])
            return verbs.status(ns, self._ctx())

        def _output(self) -> Any:
            from . import verbs

            dest = self.dest.value.strip()
            argv = [*self._backend_flag(), *([f"--dest={dest}"] if dest else []), "--", self._ref()]
            return verbs.output(parse_verb_arguments(opts.OUTPUT, argv), self._ctx())

        def _submit(self) -> Any:
            from . import verbs

            argv = [*self._backend_flag(), f"--kernel={self._ref()}"]
            if self.competition.value.strip():
                argv.append(f"--competition={self.competition.value.strip()}")
            return verbs.submit(parse_verb_arguments(opts.SUBMIT, argv), self._ctx())

        def _wait(self) -> Any:
            """``%kaggle_status REF --wait``, with the elapsed time in a label and Stop as its Ctrl-C."""
            from .handles import KernelRef
            from .status import status
            from .waiting import Poll

            ns = parse_verb_arguments(opts.STATUS, [*self._backend_flag(), "--wait", "--", self._ref()])
            ctx = self._ctx()
            ref = KernelRef.parse(ns.ref, default_owner=ctx.owner())
            backend = ctx.backend(ns.backend)

            def sleep(seconds: float) -> None:
                if self._stop.wait(seconds):
                    raise KeyboardInterrupt  # how a wait is told to stop: it returns what it knows

            base = self._poll or Poll()
            poll = dataclasses.replace(base, sleep=sleep)
            self.elapsed.value = f"{ref}: waiting"
            return status(backend, ref, wait=True, poll=poll, display=LabelDisplay(self.elapsed, str(ref)))

        # -- waiting in the background -------------------------------------------------------------------
        def _start_wait(self) -> None:
            """Wait in a thread, so the kernel stays free to hear Stop (and anything else)."""
            if not self._begin():
                return
            self._stop.clear()
            self.stop_button.disabled = False

            def work() -> None:
                try:
                    self._finish(self._wait)
                finally:
                    self.stop_button.disabled = True

            self._worker = threading.Thread(target=work, name="kaggle-panel-wait", daemon=True)
            self._worker.start()

        def stop(self) -> None:
            """Stop waiting (the run itself goes on, as after Ctrl-C on ``%kaggle_status --wait``)."""
            self._stop.set()

        def join(self, timeout: float | None = None) -> bool:
            """Block until a running Wait ends (scripts and tests); True when nothing is running any more."""
            worker = self._worker
            if worker is not None:
                worker.join(timeout)
                return not worker.is_alive()
            return True

        @property
        def busy(self) -> bool:
            return self._busy.locked()

        def text(self) -> str:
            """What ``out`` shows, as text (for tests and terminals), in order."""
            parts = []
            for item in self.out.outputs:
                if item.get("output_type") == "stream":
                    parts.append(item.get("text", ""))
                else:
                    parts.append(item.get("data", {}).get("text/plain", "") + "\n")
            return "".join(parts)

    return KagglePanel


def kernel_panel(
    ref: str = "",
    *,
    backend: str | None = None,
    path: str = "",
    dest: str = "",
    competition: str | None = None,
    context: Callable[[], Any] = default_context,
    poll: Any = None,
) -> Any:
    """Build the panel (a ``VBox``); ``poll`` is Wait's schedule (a :class:`~kaggle_magics.waiting.Poll`)."""
    cls = _panel_class()
    return cls(
        ref, backend=backend, path=path, dest=dest, competition=competition, context=context, poll=poll
    )


def __getattr__(name: str) -> Any:
    """``KagglePanel`` is made on first access (it subclasses an ipywidgets class)."""
    if name == "KagglePanel":
        return _panel_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

