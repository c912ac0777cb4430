"""The panel: a face of the whole workflow, over the same verbs as the magics and the CLI.

Settings (:mod:`.form`) say what the submission is; each button runs one verb with the arguments the settings
make, parsed by the verb's own option list (:mod:`kaggle_magics.options`), so the panel cannot drift from
``kaggle-magics <verb>``: Freeze, Dry run, Push, Rehearse, Status, Wait, Output, Submit (which waits for the
score). Every action runs in a background thread, so the notebook's kernel stays free (to hear Stop, and for
anything else); while one runs, the action buttons are disabled, so a double click cannot push twice. Stop
ends a wait (Wait, Submit's wait for the score), never the run, as Ctrl-C does for the magics.

What an action produces goes into the panel itself, errors included (JupyterLab drops what a widget callback
prints or raises): its result into ``out`` (the result's HTML), its progress into the live area (a bar for
freezing, a label for waits, the running step's log for rehearsals), its notices into ``out``. Below, a table
of the recent kernels (:mod:`.recent`), refreshed after each action and by its own button.
"""

from __future__ import annotations

import argparse
import dataclasses
import threading
from collections.abc import Callable
from typing import Any

from .. import options as opts
from ..errors import KaggleMagicsError
from ..options import Arg
from . import recent
from .display import BarProgress, LabelDisplay, LiveLog, error_output, notice_output, result_output
from .form import Settings


def parse_verb_arguments(specs: list[Arg], argv: list[str]) -> argparse.Namespace:
    """``argv`` parsed by the verb's own option list, as a magic parses its line (bad values: UsageError)."""
    from IPython.core.magic_arguments import MagicArgumentParser

    parser = MagicArgumentParser(prog="%kaggle_panel", add_help=False)
    return opts.add_to_parser(parser, specs).parse_args(argv)


def make_panel_class(widgets: Any) -> type:
    class KagglePanel(widgets.VBox):  # type: ignore[misc,name-defined]
        """The workflow panel. ``context`` returns the :class:`kaggle_magics.verbs.Context` each action runs
        with (called every time, so ``%config KaggleMagics...`` set after the panel was shown still applies);
        ``poll`` is the waits' schedule (a :class:`~kaggle_magics.waiting.Poll`)."""

        def __init__(
            self,
            ref: str = "",
            *,
            backend: str | None = None,
            path: str = "",
            dest: str = "",
            competition: str | None = None,
            context: Callable[[], Any],
            poll: Any = None,
        ):
            self._context = context
            self._poll = poll
            self._busy = threading.Lock()
            self._stop = threading.Event()
            self._worker: threading.Thread | None = None
            self.settings = s = Settings(
                widgets, context().defaults, ref=ref, path=path, dest=dest, competition=competition,
                backend=backend,
            )
            # the names the magics' users and older scripts know
            self.ref, self.path, self.dest = s.ref, s.path, s.dest
            self.competition, self.backend = s.competition, s.backend

            def button(text: str, tip: str, icon: str, style: str = "") -> Any:
                return widgets.Button(description=text, tooltip=tip, icon=icon, button_style=style)

            self.freeze_button = button("Freeze", "freeze the requirements into an offline bundle", "cubes")
            self.dry_run_button = button("Dry run", "write the kernel folder, push nothing", "file-code-o")
            self.push_button = button("Push", "push the code as this kernel", "upload", "primary")
            self.rehearse_button = button("Rehearse", "run it here as Kaggle would, timed", "play")
            self.status_button = button("Status", "ask once: status, runtime, log tail", "info")
            self.wait_button = button("Wait", "follow the run until it ends", "hourglass-half")
            self.output_button = button("Output", "download the run's output files", "download")
            self.submit_button = button("Submit", "submit this kernel and wait for the score", "trophy", "success")
            self.stop_button = button("Stop", "stop waiting (the run goes on)", "stop", "warning")
            self.stop_button.disabled = True
            self.refresh_button = button("Refresh", "ask the status of the recent kernels again", "refresh")
            self.actions = [
                self.freeze_button, self.dry_run_button, self.push_button, self.rehearse_button,
                self.status_button, self.wait_button, self.output_button, self.submit_button,
                self.refresh_button,
            ]

            self.freeze_button.on_click(lambda _: self._start(self._freeze))
            self.dry_run_button.on_click(lambda _: self._start(lambda: self._push(dry_run=True)))
            self.push_button.on_click(lambda _: self._start(self._push))
            self.rehearse_button.on_click(lambda _: self._start(self._rehearse))
            self.status_button.on_click(lambda _: self._start(self._status))
            self.wait_button.on_click(lambda _: self._start(self._wait, stoppable=True))
            self.output_button.on_click(lambda _: self._start(self._output))
            self.submit_button.on_click(lambda _: self._start(self._submit, stoppable=True))
            self.refresh_button.on_click(lambda _: self._start(lambda: None))
            self.stop_button.on_click(lambda _: self.stop())

            self.bar = widgets.IntProgress(value=0, min=0, max=1, layout=widgets.Layout(width="20em"))
            self.elapsed = widgets.Label(value="")
            self.log_view = widgets.HTML(value="", layout=widgets.Layout(max_height="16em", overflow="auto"))
            self.live = LiveLog(self.log_view)
            self.progress = BarProgress(self.bar, self.elapsed)
            self.out = widgets.Output(layout=widgets.Layout(border="1px solid #ddd", padding="4px"))
            self.recent = widgets.HTML(value="")

            hbox, title = widgets.HBox, lambda text: widgets.HTML(f"<b>{text}</b>")
            super().__init__(
                [
                    title("submission"),
                    *(hbox(row) for row in s.rows()),
                    hbox([self.dry_run_button, self.push_button, self.rehearse_button]),
                    title("dependencies"),
                    hbox([s.requirements]),
                    hbox([s.deps_dest, self.freeze_button]),
                    title("run"),
                    hbox([self.status_button, self.wait_button, self.stop_button, self.output_button,
                          self.submit_button]),
                    hbox([s.dest]),
                    hbox([self.bar, self.elapsed]),
                    self.log_view,
                    self.out,
                    hbox([title("recent kernels"), self.refresh_button]),
                    self.recent,
                ]
            )
            self.add_class("kaggle-magics-panel")
            # In the background: each row asks the backend for a status, which may wait on a slow network.
            self._refresher = threading.Thread(target=self._refresh_recent, name="kaggle-panel-recent", daemon=True)
            self._refresher.start()

        # -- running an action in the background --------------------------------------------------------
        def _ctx(self) -> Any:
            """The context with its notices written into the panel and progress shown in its live area."""
            ctx = self._context()
            poll = self._poll
            if poll is None:
                from ..waiting import Poll

                poll = Poll()
            return dataclasses.replace(
                ctx, notify=self._notice, echo=self.live.write, progress=self.progress,
                poll=dataclasses.replace(poll, sleep=self._sleep),
                display=LabelDisplay(self.elapsed, self.settings.kernel_ref() or "run"),
            )

        def _sleep(self, seconds: float) -> None:
            if self._stop.wait(seconds):
                raise KeyboardInterrupt  # how a wait is told to stop: it returns what it knows

        def _notice(self, message: str) -> None:
            self.out.outputs = (*self.out.outputs, notice_output(message))

        def _set_busy(self, busy: bool, stoppable: bool = False) -> None:
            for b in self.actions:
                b.disabled = busy
            self.stop_button.disabled = not (busy and stoppable)

        def _start(self, action: Callable[[], Any], stoppable: bool = False) -> None:
            """Run ``action`` in a thread (ignored while another action runs)."""
            if not self._busy.acquire(blocking=False):
                return
            self._set_busy(True, stoppable)
            self._stop.clear()
            self.out.outputs = ()
            self.live.clear()
            self.progress.reset()

            def work() -> None:
                try:
                    result = action()
                    if result is not None:
                        self.out.outputs = (*self.out.outputs, result_output(result))
                except BaseException as exc:  # shown, never raised: a widget callback's error would be lost
                    self.out.outputs = (*self.out.outputs, error_output(exc))
                finally:
                    self._refresh_recent()
                    self._set_busy(False)
                    self._busy.release()

            self._worker = threading.Thread(target=work, name="kaggle-panel", daemon=True)
            self._worker.start()

        def _refresh_recent(self) -> None:
            try:
                ctx = self._context()
                self.recent.value = recent.table_html(recent.rows(lambda name: ctx.backend(name)))
            except Exception as exc:  # the table is a help, never the reason an action fails
                self.recent.value = f"<i>recent kernels unavailable: {type(exc).__name__}: {exc}</i>"

        def stop(self) -> None:
            """Stop waiting (the run itself goes on, as after Ctrl-C on ``%kaggle_status --wait``)."""
            self._stop.set()

        def join(self, timeout: float | None = None) -> bool:
            """Block until the running action ends (scripts and tests); True when nothing runs any more."""
            self._refresher.join(timeout)
            worker = self._worker
            if worker is not None:
                worker.join(timeout)
                return not worker.is_alive()
            return True

        @property
        def busy(self) -> bool:
            return self._busy.locked()

        def __repr__(self) -> str:
            """The panel as text, where widgets do not show (a terminal, a notebook on a static page): its
            settings and its buttons."""
            s = self.settings
            rows = [
                ("kernel", s.kernel_ref()), ("code", s.code_path()), ("competition", s.competition.value),
                ("deps kernels", s.deps.value), ("kernel outputs", s.attach.value), ("datasets", s.datasets.value),
                ("models", s.models.value), ("accelerator", s.accelerator.value),
                ("internet", "on" if s.internet.value else "off"), ("backend", s.backend.value),
                ("buttons", ", ".join(b.description for b in [*self.actions, self.stop_button])),
            ]  # fmt: skip
            shown = [(key, value) for key, value in rows if value]
            width = max(len(key) for key, _ in shown)
            lines = ["kaggle-magics panel (ipywidgets: its buttons work in JupyterLab, Jupyter Notebook, VS Code)"]
            return "\n".join([*lines, *(f"  {key.ljust(width)}  {value}" for key, value in shown)])

        def _repr_mimebundle_(self, **kwargs: Any) -> Any:
            bundle = super()._repr_mimebundle_(**kwargs)
            if bundle:
                bundle["text/plain"] = repr(self)  # whole: ipywidgets cuts it at 110 characters
            return bundle

        def text(self) -> str:
            """What ``out`` shows, as text (for tests and terminals), in order."""
            parts = []
            for item in self.out.outputs:
                if item.get("output_type") == "stream":
                    parts.append(item.get("text", ""))
                else:
                    parts.append(item.get("data", {}).get("text/plain", "") + "\n")
            return "".join(parts)

        # -- the actions: each one verb ---------------------------------------------------------------------
        def _freeze(self) -> Any:
            from .. import verbs

            ns = parse_verb_arguments(opts.FREEZE, self.settings.freeze_argv())
            if not (ns.requirements or ns.requirement_files or ns.dirs):  # freeze's own rule, in the panel's words
                raise KaggleMagicsError(
                    "nothing to freeze", hint="write the requirements in the box, one per line (polars, x==1.2)"
                )
            return verbs.freeze(ns, self._ctx())

        def _push(self, dry_run: bool = False) -> Any:
            from .. import verbs

            if not self.settings.code_path():
                raise KaggleMagicsError(
                    "nothing to push", hint="type a kernel folder, a .ipynb or a .py in the code box"
                )
            ns = parse_verb_arguments(opts.PUSH, self.settings.push_argv(dry_run))
            result = verbs.push(ns, self._ctx())
            if result.ref:
                self.ref.value = result.ref  # Status, Wait, Output and Submit follow what was pushed
            return result

        def _rehearse(self) -> Any:
            """Rehearse what Push would push: a kernel folder as it is; a notebook as the folder a dry run
            writes (its metadata, its install cell), so the rehearsal runs exactly the submission."""
            from .. import verbs

            folder = self.settings.code_path()
            if not self.settings.is_folder():
                written = self._push(dry_run=True)
                folder = str(written.folder)
                self.live.write(f"kernel folder written: {folder}")
            ns = parse_verb_arguments(opts.REHEARSE, ["--", folder])
            return verbs.rehearse(ns, self._ctx())

        def _status(self) -> Any:
            from .. import verbs

            return verbs.status(parse_verb_arguments(opts.STATUS, self.settings.status_argv()), self._ctx())

        def _wait(self) -> Any:
            from .. import verbs

            self.elapsed.value = f"{self.settings.kernel_ref()}: waiting"
            ns = parse_verb_arguments(opts.STATUS, self.settings.status_argv("--wait"))
            return verbs.status(ns, self._ctx())

        def _output(self) -> Any:
            from .. import verbs

            return verbs.output(parse_verb_arguments(opts.OUTPUT, self.settings.output_argv()), self._ctx())

        def _submit(self) -> Any:
            from .. import verbs

            ref = self.settings.kernel_ref()
            self.elapsed.value = f"{ref}: submitting"
            result = verbs.submit(parse_verb_arguments(opts.SUBMIT, self.settings.submit_argv()), self._ctx())
            self.elapsed.value = f"{ref}: submission {result.status}"
            return result

    return KagglePanel
