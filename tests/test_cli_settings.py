"""The command line reads every default and choice from the library's settings dataclasses."""

from __future__ import annotations

import argparse
import re
import subprocess
import sys

import pytest
from clitools import refused

from serving.cli import build_parser
from serving.cli._options import default_of, flag_name, show_default


def subparsers(parser: argparse.ArgumentParser, path=()):
    """Every (command path, parser) of the CLI, leaves included."""
    yield path, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from subparsers(sub, (*path, name))


def test_every_help_default_is_a_dataclass_default():
    """Each flag built from a settings field shows that field's own default and choices, and
    leaves the value to the dataclass (argparse default None)."""
    checked = 0
    for path, parser in subparsers(build_parser()):
        for action in parser._actions:
            if not hasattr(action, "setting"):
                continue
            cls, field, help_default = action.setting
            where = f"stockcast {' '.join(path)} {flag_name(field)}"
            shown = re.search(r"\[([^\]]*)\]$", action.help or "")
            assert shown, f"{where}: no default in the help"
            expected = show_default(default_of(field))
            # A command may say where else the value comes from ("the run's"), never a number
            # of its own.
            stated = show_default(help_default)
            assert stated == expected or not re.search(r"\d", stated), where
            assert shown.group(1) == stated, (
                f"{where} shows [{shown.group(1)}], {cls.__name__}.{field.name} is [{expected}]"
            )
            choices = field.metadata.get("choices")
            if choices:
                assert list(action.choices) == [c for c in choices if c is not None], where
            assert action.default is None, where
            checked += 1
    assert checked > 40


def test_no_flag_has_a_default_of_its_own():
    """Flags that are not settings fields carry no hidden default (paths, switches)."""
    for path, parser in subparsers(build_parser()):
        for action in parser._actions:
            if hasattr(action, "setting") or not action.option_strings:
                continue
            if isinstance(action, argparse._StoreTrueAction | argparse._HelpAction):
                continue
            assert action.default in (None, argparse.SUPPRESS), (
                f"stockcast {' '.join(path)} {action.option_strings[0]} has default "
                f"{action.default!r} that no settings dataclass declares"
            )


TRAIN = ["forecast", "train", "--data", "x.csv", "--out", "r"]


@pytest.mark.parametrize(
    "command, flag, value, expected",
    [
        (TRAIN, "--horizon", "0", "expected >= 1, got 0"),
        (TRAIN, "--epochs", "-1", "expected >= 1, got -1"),
        (TRAIN, "--encoder-length", "0", "expected >= 1, got 0"),
        (TRAIN, "--hidden-size", "0", "expected >= 1, got 0"),
        (["plan", "--forecast", "f.csv", "--inventory", "i.csv", "--out", "p.csv"],
         "--service-level", "2", "expected < 1, got 2.0"),
        (["plan"], "--cycle-days", "-3", "expected > 0, got -3.0"),
    ],
)  # fmt: skip
def test_zero_and_negative_settings_are_refused_naming_the_flag(
    command, flag, value, expected, tmp_path
):
    """One line from the parser of the command (not argparse's usage block), exit 2."""
    prog = "stockcast " + " ".join(c for c in command[:2] if not c.startswith("-"))
    line = refused([*command, flag, value], tmp_path, prog=prog)
    assert line == f"{prog}: error: argument {flag}: {expected} (see --help)"


def test_every_parser_error_is_one_line(capsys):
    """Missing arguments, unknown choices and commands: one line naming them, exit 2."""
    cases = {
        ("forecast", "train"): "stockcast forecast train: error: the following arguments are "
        "required: --data, --out (see --help)",
        ("forecast",): "stockcast forecast: error: the following arguments are required: ACTION",
        ("bogus",): "stockcast: error: argument COMMAND: invalid choice: 'bogus'",
        ("plan", "--shape", "x"): "stockcast plan: error: argument --shape: expected one of",
    }
    for argv, expected in cases.items():
        with pytest.raises(SystemExit) as exit_info:
            build_parser().parse_args(list(argv))
        assert exit_info.value.code == 2
        err = capsys.readouterr().err
        assert err.startswith(expected) and err.count("\n") == 1, err


def test_help_loads_neither_torch_nor_numba():
    code = (
        "import sys\n"
        "from serving.cli import main\n"
        "for cmd in (['plan'], ['allocate'], ['position'], ['forecast', 'train'],\n"
        "            ['inspect', 'train'], ['demo']):\n"
        "    try:\n"
        "        main([*cmd, '--help'])\n"
        "    except SystemExit:\n"
        "        pass\n"
        "print(sorted(m for m in ('torch', 'numba', 'lightning') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == "[]"
