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
import signal
import sys
import threading
from pathlib import Path
from typing import NoReturn


class CliError(Exception):
    """An error a user can fix; printed without a traceback, exit status 2."""


class Interrupted(BaseException):
    """SIGINT or SIGTERM. Not a KeyboardInterrupt: Lightning turns that into ``exit(1)`` with no
    message, while other exceptions it tears down for and re-raises, so staged outputs are
    removed on the way out and the command exits 128 + the signal number."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _interrupt(signum, frame) -> None:
    raise Interrupted(signum)


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line, ``stockcast <cmd>: error: <msg> (see
    --help)``, exit 2, like every other bad input (argparse prints the whole usage block,
    10-45 lines for the larger commands, above the line that matters)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {_one_line(message)} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    """The ``stockcast`` parser: one subcommand group per public module of this package, each
    added by its ``register(subparsers)``; every parser errs in one line, exit 2
    (:class:`Parser`)."""
    parser = Parser(
        prog="stockcast",
        description="Forecast demand, inspect items, plan inventory and serve models.",
    )
    # Subparsers (and theirs: argparse makes them of their parent's class) are Parsers too.
    sub = parser.add_subparsers(
        dest="command", required=True, metavar="COMMAND", parser_class=Parser
    )
    # Every public module of this package is a subcommand group with ``register(subparsers)``.
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        if not info.name.startswith("_"):
            importlib.import_module(f"{__name__}.{info.name}").register(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run one command. Exit status: 0 done, 2 the input is wrong (one line on stderr naming the
    file, column, flag or row), 130 interrupted (143 for SIGTERM); a traceback is a bug."""
    parser = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        # argparse reports them from the root parser ("stockcast: error"), whose --help does
        # not list the command's flags; the command's own parser names itself.
        _command_parser(parser, args).error(f"unrecognized arguments: {' '.join(unknown)}")
    handled = (signal.SIGINT, signal.SIGTERM)
    in_main = threading.current_thread() is threading.main_thread()  # signals need the main one
    previous = {s: signal.signal(s, _interrupt) for s in handled} if in_main else {}
    try:
        result = args.handler(args)
    except (CliError, ValueError) as exc:
        # Validation errors from the packages (ValueError: PanelError, FileError...) name the
        # offending file, column or field and the rows.
        print(f"stockcast: error: {_one_line(exc)}", file=sys.stderr)
        return 2
    except OSError as exc:
        # A file the user named cannot be read or written (permissions, a full disk...).
        where = f": {exc.filename}" if exc.filename else ""
        print(f"stockcast: error: {exc.strerror or exc}{where}", file=sys.stderr)
        return 2
    except Interrupted as stop:
        name = signal.Signals(stop.signum).name
        # An interrupted training run saved where it stood (training.trainer.InterruptCheckpoint).
        kept = getattr(stop, "checkpoint", None)
        # A fit without a run folder of its own (a backtest's, the demo's, a challenger's)
        # trains in a scratch folder that is removed on the way out: nothing to resume from.
        kept = kept if kept is not None and Path(kept).is_file() else None
        resume = f"; checkpoint to resume from: {kept}" if kept else ""
        print(
            f"stockcast: interrupted ({name}); unfinished outputs were removed{resume}",
            file=sys.stderr,
        )
        return 128 + stop.signum
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
    return int(result or 0)


def _command_parser(parser: argparse.ArgumentParser, args: argparse.Namespace):
    """The (sub)parser of the command ``args`` were parsed for (``stockcast forecast train``)."""
    while True:
        groups = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
        chosen = getattr(args, groups[0].dest, None) if groups else None
        if chosen is None or chosen not in groups[0].choices:
            return parser
        parser = groups[0].choices[chosen]


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split())


if __name__ == "__main__":
    sys.exit(main())
