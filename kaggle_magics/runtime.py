"""Where we run: inside a Kaggle notebook or not, interactive or batch, and the /kaggle paths.

The paths honour ``$KAGGLE_MAGICS_INPUT_ROOT`` / ``$KAGGLE_MAGICS_WORKING_DIR`` so local runs and tests can put
them elsewhere; inside Kaggle they are ``/kaggle/input`` and ``/kaggle/working``.
"""

from __future__ import annotations

import os
from pathlib import Path

from . import config

KAGGLE_INPUT = Path("/kaggle/input")
KAGGLE_WORKING = Path("/kaggle/working")
KAGGLE_PYTHON = "3.12"  # the current Kaggle image
KAGGLE_PLATFORM = "manylinux_2_35_x86_64"  # Ubuntu 22.04 (glibc 2.35) under the image


def in_kaggle() -> bool:
    return config.in_kaggle()


def run_type() -> str | None:
    """``Interactive`` or ``Batch`` inside Kaggle, None elsewhere."""
    return os.environ.get(config.ENV_RUN_TYPE) or None


def input_root() -> Path:
    return Path(os.environ.get(config.ENV_INPUT_ROOT) or KAGGLE_INPUT)


def working_dir() -> Path:
    return Path(os.environ.get(config.ENV_WORKING_DIR) or KAGGLE_WORKING)
