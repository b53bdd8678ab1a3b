"""The ``stockcast`` console script.

Each subcommand group lives in its own module here and only parses arguments; the work is done by
the package that owns it (``forecasting``/``training`` for forecasts, ``kernels`` for plans,
``vision``/``training`` for inspection). Heavy imports (torch, lightning) happen inside the handlers
so ``stockcast plan`` runs without loading torch.
"""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys


class CliError(Exception):
    """An error a user can fix; printed without a traceback, exit status 2."""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="stockcast",
        description="Forecast demand, inspect items, plan inventory and serve models.",
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    # Every public module of this package is a subcommand group with ``register(subparsers)``.
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result = args.handler(args)
    except CliError as exc:
        print(f"stockcast: error: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:
        # Validation errors from the packages name the offending column/field and rows.
        print(f"stockcast: error: {exc}", file=sys.stderr)
        return 2
    return int(result or 0)


if __name__ == "__main__":
    sys.exit(main())
