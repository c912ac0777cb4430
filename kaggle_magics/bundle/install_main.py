"""``python -m kaggle_magics.bundle.install_main``: the bundle installer as a plain command.

This is what a submission notebook's first cell runs on a stock Kaggle image, where kaggle-magics is not
installed: the cell puts the bundle's own kaggle-magics and packaging wheels first on ``sys.path`` of a new
process and calls :func:`main`, so no IPython magic and no index is needed. ``main(argv)`` returns an exit
code (0 ok, 1 failed).
"""

from __future__ import annotations

import argparse
import sys

from ..errors import KaggleMagicsError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m kaggle_magics.bundle.install_main",
        description="Install kaggle-magics dependency bundles offline (verified, only what is missing).",
    )
    parser.add_argument("requirements", nargs="*", metavar="REQ", help="install only these from the bundles")
    parser.add_argument(
        "--from", dest="sources", action="append", default=[], metavar="DIR|owner/slug",
        help="a bundle folder, or an attached notebook/dataset; repeatable "
        "(default: every bundle under the input root)",
    )  # fmt: skip
    parser.add_argument("--python", help="install into this interpreter (default: the one running this)")
    parser.add_argument("--input-root", help="where attached inputs are (default /kaggle/input)")
    parser.add_argument("--dirs-dest", help="where packed folders are unpacked")
    parser.add_argument("--installer", choices=("uv", "pip"), help="force an installer")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    from .installing import install

    try:
        result = install(
            args.sources,
            requirements=args.requirements,
            python=args.python,
            input_root=args.input_root,
            dirs_dest=args.dirs_dest,
            installer=args.installer,
            progress=None if sys.stderr.isatty() else False,
        )
    except KaggleMagicsError as exc:
        print(f"error: {exc.message}", file=sys.stderr)
        if exc.hint:
            print(f"hint: {exc.hint}", file=sys.stderr)
        return 1
    print(result)
    return 0


if __name__ == "__main__":
    sys.exit(main())
