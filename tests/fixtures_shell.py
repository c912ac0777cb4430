"""A real IPython shell with the extension loaded, whose ``run_cell`` raises on error (as jupysql tests do),
and a working directory of the test's own."""

from __future__ import annotations

from pathlib import Path

import pytest


class Shell:
    """Wraps the global InteractiveShell: ``run(cell)`` returns the cell's result or raises its error."""

    def __init__(self, ip):
        self.ip = ip

    def run(self, cell: str):
        result = self.ip.run_cell(cell, store_history=False)
        if result.error_before_exec is not None:
            raise result.error_before_exec
        if result.error_in_exec is not None:
            raise result.error_in_exec
        return result.result

    def render_error(self, cell: str) -> str:
        """What IPython shows for a failing cell (the text of its traceback display)."""
        import io
        from contextlib import redirect_stdout

        buffer = io.StringIO()
        with redirect_stdout(buffer):
            result = self.ip.run_cell(cell, store_history=False)
        assert not result.success, "the cell was expected to fail"
        return buffer.getvalue()


@pytest.fixture
def shell(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Shell:
    from IPython.testing.globalipapp import get_ipython

    ip = get_ipython()
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    ip.run_line_magic("load_ext", "kaggle_magics")
    from kaggle_magics.magics import KaggleMagics

    magics = ip.magics_manager.registry["KaggleMagics"]
    assert isinstance(magics, KaggleMagics)
    saved = {name: getattr(magics, name) for name in magics.trait_names() if magics.trait_metadata(name, "config")}
    yield Shell(ip)
    for name, value in saved.items():  # %config in one test must not leak into the next
        setattr(magics, name, value)
