"""Loading the extension is cheap: it imports none of the heavy clients."""

from __future__ import annotations

import json
import subprocess
import sys

HEAVY = ("kaggle", "kagglesdk", "kagglehub", "nbformat", "nbclient", "ipywidgets", "jupytext", "requests")

PROBE = """
import json, sys
from IPython.testing.globalipapp import start_ipython
ip = start_ipython()
before = set(sys.modules)
ip.run_line_magic("load_ext", "kaggle_magics")
magics = sorted(ip.magics_manager.magics["line"])
new = sorted(set(sys.modules) - before)
print("REPORT " + json.dumps({"new": new, "magics": [m for m in magics if m.startswith("kaggle")]}))
"""


def test_loading_imports_nothing_heavy() -> None:
    out = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, check=True).stdout
    # IPython 7 (Kaggle's image) writes the terminal's title before it: the report follows its marker.
    report = json.loads(out.rsplit("REPORT ", 1)[1])
    loaded = [m for m in report["new"] if m.split(".")[0] in HEAVY]
    assert loaded == [], f"loading the extension imported {loaded}"
    assert {"kaggle_sub", "kaggle_push"} <= set(report["magics"])


def test_every_magic_has_help_from_its_arguments(shell) -> None:
    magics = shell.ip.magics_manager.registry["KaggleMagics"]
    names = [n for n in shell.ip.magics_manager.magics["line"] if n.startswith("kaggle_")]
    assert names
    cell_magics = set(shell.ip.magics_manager.magics["cell"])
    for name in names:
        doc = getattr(magics, name).__doc__
        usage = f"%%{name}" if name in cell_magics else f"%{name}"  # a cell magic is used as one
        assert doc and f"\n  {usage} " in doc and "options:" in doc, f"{usage} has no argument help"
