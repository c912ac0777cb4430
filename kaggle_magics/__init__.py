"""kaggle-magics: IPython magics and a CLI for Kaggle code competitions.

Load in IPython or Jupyter with ``%load_ext kaggle_magics``. Loading imports nothing heavy:
the Kaggle clients, nbformat, nbclient and ipywidgets are imported by the magics that need them.
"""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__", "load_ipython_extension", "unload_ipython_extension"]


def load_ipython_extension(ipython):
    """Register the kaggle magics with ``ipython`` (called by ``%load_ext kaggle_magics``)."""
    from .magics import KaggleMagics

    ipython.register_magics(KaggleMagics(shell=ipython))


def unload_ipython_extension(ipython):
    """Nothing to undo: magics stay registered until the shell ends, as IPython's own extensions do."""
