"""``python -m kaggle_magics``: the same as the ``kaggle-magics`` command."""

import sys

from .cli import main

if __name__ == "__main__":
    sys.exit(main())
