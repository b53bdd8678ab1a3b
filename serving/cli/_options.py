"""Command-line flags derived from settings dataclasses (see :mod:`kernels.settings`).

Each field of a settings dataclass becomes one flag: its name (or ``flag`` metadata) with
dashes, its help text with the dataclass default shown as ``[default]``, its choices, and a type
that enforces its bounds, so ``--horizon 0`` is refused by the parser naming ``--horizon``.
Flags default to ``None`` so that :func:`given` returns only what the user typed; the dataclass
supplies everything else.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import re
import sys
import typing
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from kernels.settings import bound_problem


def comma_list(text: str) -> tuple[str, ...]:
    """``a,b, c`` -> ``("a", "b", "c")``."""
    return tuple(part.strip() for part in text.split(",") if part.strip())


def flag_name(field: dataclasses.Field) -> str:
    return "--" + (field.metadata.get("flag") or field.name).replace("_", "-")


def default_of(field: dataclasses.Field) -> Any:
    if field.default is not dataclasses.MISSING:
        return field.default
    if field.default_factory is not dataclasses.MISSING:
        return field.default_factory()
    return None


def show_default(value: Any) -> str:
    """How a default is written in help text: ``[28]``, ``[none]``, ``[a,b]``."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list | tuple):
        return ",".join(map(str, value)) or "none"
    return str(value)


def _bounded(convert: Callable[[str], Any], meta: dict[str, Any]) -> Callable[[str], Any]:
    def parse(text: str) -> Any:
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected {getattr(convert, '__name__', 'a value')}, got {text!r}"
            ) from None
        problem = bound_problem(meta, value)
        if problem:
            raise argparse.ArgumentTypeError(problem)
        return value

    parse.__name__ = getattr(convert, "__name__", "value")
    return parse


def _comma_list_of(convert: Callable[[str], Any]) -> Callable[[str], tuple]:
    def parse(text: str) -> tuple:
        return tuple(convert(part) for part in comma_list(text))

    parse.__name__ = f"a comma-separated list of {getattr(convert, '__name__', 'values')}"
    return parse


def _converter(hint: Any) -> Callable[[str], Any] | None:
    """int / float / str / tuple[X, ...] (optionally ``| None``); None for other types."""
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if typing.get_origin(hint) is tuple:
        element = _converter(args[0]) if args else str
        if element is None or element is str:
            return comma_list if element is str else None
        return _comma_list_of(element)
    if args:
        if set(args) == {int, str}:
            return str
        if len(args) == 1:
            return _converter(args[0])
    if hint in (int, float, str):
        return hint
    return None


# The settings that switch a command's progress bars (TrainConfig.progress_bar, the others'
# progress). Not typed and not in a --config, they are on where stderr is a terminal only: a
# bar redrawn with carriage returns into a CI log or a file (`2> log`) is one line of
# thousands of redraws (tqdm draws whatever the stream is).
PROGRESS_FIELDS = ("progress", "progress_bar")
PROGRESS_DEFAULT = "yes on a terminal"


def stderr_is_terminal() -> bool:
    """Whether the progress bars' stream is a terminal (not a pipe, a file or a CI log)."""
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):  # replaced by an object without it, or closed
        return False


def add_settings(
    parser: argparse.ArgumentParser | argparse._ArgumentGroup,
    cls: type,
    *,
    skip: Iterable[str] = (),
    only: Iterable[str] | None = None,
    help_defaults: dict[str, Any] | None = None,
) -> None:
    """Add one flag per CLI field of the settings dataclass ``cls``.

    ``skip``/``only`` select fields; ``help_defaults`` shows another default in the help where a
    command fills the field from elsewhere (``--accelerator`` of a prediction shows the run's).
    """
    hints = typing.get_type_hints(cls)
    skip = set(skip)
    only = None if only is None else set(only)
    for field in dataclasses.fields(cls):
        meta = dict(field.metadata)
        if not meta.get("cli", True) or field.name in skip:
            continue
        if only is not None and field.name not in only:
            continue
        flag = flag_name(field)
        default = (help_defaults or {}).get(field.name, default_of(field))
        if field.name in PROGRESS_FIELDS and default is True:
            default = PROGRESS_DEFAULT  # see given()
        text = f"{meta.get('help', '')} [{show_default(default)}]".replace("%", "%%")
        hint = hints[field.name]
        if hint is bool:
            action = parser.add_argument(
                flag,
                dest=field.name,
                action=argparse.BooleanOptionalAction,
                default=None,
                help=text,
            )
            action.setting = (cls, field, default)  # type: ignore[attr-defined]
            continue
        convert = _converter(hint)
        if convert is None:
            raise TypeError(f"{cls.__name__}.{field.name}: no command-line form for {hint}")
        choices = meta.get("choices")
        action = parser.add_argument(
            flag,
            dest=field.name,
            type=_bounded(convert, meta),
            default=None,
            choices=[c for c in choices if c is not None] if choices else None,
            metavar=None if choices else flag[2:].upper().replace("-", "_"),
            help=text,
        )
        # Which setting a flag came from, for tests that compare help and dataclass defaults.
        action.setting = (cls, field, default)  # type: ignore[attr-defined]


def given(args: argparse.Namespace, cls: type, base: dict[str, Any] | None = None) -> dict:
    """``base`` (e.g. a YAML section) updated with the flags of ``cls`` the user typed."""
    values = dict(base or {})
    for field in dataclasses.fields(cls):
        value = getattr(args, field.name, None)
        if value is not None and field.metadata.get("cli", True):
            if field.name in values:
                _check_replaced(args, cls, field.name, values[field.name])
            values[field.name] = value
        elif field.name in PROGRESS_FIELDS and field.name not in values:
            # Neither typed nor in the config: bars only on a terminal (PROGRESS_FIELDS).
            if field.metadata.get("cli", True) and not stderr_is_terminal():
                values[field.name] = False
    return values


def _check_replaced(args: argparse.Namespace, cls: type, name: str, value: Any) -> None:
    """Refuse a ``--config`` value of the wrong type or out of bounds even where a flag replaces
    it: checked only after the merge, a YAML ``progress_bar: "false"`` beside ``--no-progress``
    was dropped without a word (the README: every value is checked wherever it comes from).
    The value is checked as its class reads it alone (``known_reals: price`` is a list of one)."""
    from serving.cli import CliError

    build = getattr(cls, "from_dict", None) or (lambda values: cls(**values))
    try:
        build({name: value})
    except (TypeError, ValueError) as exc:
        where = f"--config {args.config}" if getattr(args, "config", None) else "settings"
        raise CliError(f"{where}: {exc}") from None


def read_config(
    args: argparse.Namespace, sections: Iterable[str], hint: str = ""
) -> dict[str, Any]:
    """The YAML ``--config`` as a mapping of sections (empty without one); a section not in
    ``sections``, or one that is not a mapping, is a :class:`~serving.cli.CliError`."""
    from kernels.io import read_yaml
    from serving.cli import CliError

    if getattr(args, "config", None) is None:
        return {}
    config = read_yaml(args.config)
    known = list(sections)
    unknown = sorted(set(config) - set(known))
    if unknown:
        raise CliError(f"--config {args.config}: unknown sections {unknown}; known: {known}{hint}")
    for name, values in config.items():
        if values is not None and not isinstance(values, dict):
            raise CliError(f"--config {args.config}: section {name!r} must be a mapping")
    return config


def inputs_of(args: argparse.Namespace, *names: str) -> dict[str, Any]:
    """``{"--inventory": args.inventory, ...}``: the input paths a command was given, by flag.
    A review database given as a ``sqlite:///`` URL is its file."""
    inputs = {}
    for name in names:
        value = getattr(args, name, None)
        if value is not None and str(value).startswith("sqlite:///"):
            value = str(value)[len("sqlite:///") :]
        inputs["--" + name.replace("_", "-")] = value
    return inputs


def _same(a: Path, b: Path) -> bool:
    """The same file or folder: equal once resolved (``../``, symlinks), or, where both exist,
    the same inode (a hard link, another spelling on a case-insensitive disk)."""
    if a.resolve() == b.resolve():
        return True
    try:
        return os.path.samefile(a, b)
    except OSError:  # one of them does not exist (yet)
        return False


def refuse_output_over_inputs(
    output: str | Path | None,
    inputs: dict[str, Any],
    *,
    label: str = "--out",
    folder: bool = False,
    what: str = "the output",
) -> None:
    """Refuse, naming both flags, an output that would replace an input the command reads.

    A file output is written to a temporary file renamed onto ``output``, and a folder output is
    built beside it and renamed into place (``--overwrite`` replaces it whole), so an output that
    is an input, or (``folder``) a folder that holds one, silently replaced the user's input
    with the result (``plan --inventory inv.csv --out inv.csv``). Checked before any work.
    """
    from serving.cli import CliError

    if output is None:
        return
    output = Path(output)
    for flag, source in inputs.items():
        if source is None:
            continue
        source = Path(source)
        kind = "folder" if source.is_dir() else "file"
        spelled = "" if str(source) == str(output) else f" {source}"
        if _same(output, source):
            raise CliError(
                f"{label} {output}: is the {flag} {kind}{spelled}; write {what} elsewhere"
            )
        if folder and output.exists() and source.exists():
            # The source, or a folder above it, is the output folder.
            if any(_same(output, above) for above in source.resolve().parents):
                raise CliError(
                    f"{label} {output}: holds the {flag} {kind} {source}, and an output folder "
                    f"is replaced whole; write {what} elsewhere"
                )


def read_tables(
    args: argparse.Namespace,
    tables: Iterable[str],
    text: Iterable[str] = ("item_id", "location_id"),
) -> tuple[dict[str, Any], dict[str, str]]:
    """``({table: frame}, {table: path})`` for the table flags of ``args`` that were given
    (``--demand`` for ``"demand"``), keys read as text (SKU 0007 is not 7) as ``stockcast plan``
    reads them. A file that cannot be read is a :class:`~serving.cli.CliError` naming the flag."""
    from kernels.io import FileError, read_table
    from serving.cli import CliError

    frames: dict[str, Any] = {}
    paths = {t: getattr(args, t) for t in tables if getattr(args, t, None) is not None}
    for table, path in paths.items():
        try:
            frames[table] = read_table(path, text=tuple(text))
        except FileError as exc:
            raise CliError(f"--{table.replace('_', '-')} {exc}") from None
    return frames, paths


# The problems a table API error states of a whole table (``stock: missing column(s) on_hand``),
# after which the table's name is dropped once the file is named; any other first word is a
# column and is kept (``supply: must be a whole number`` is the supply column's).
_TABLE_PROBLEMS = (
    "missing column", "missing item_id", "duplicate ", "column ", "no ", "objective ",
    "expected ", "every sample",
)  # fmt: skip


def name_table_error(message: str, paths: dict[str, str], owners: dict[str, str]) -> str:
    """A table API error with the flag and file of the table it is about: ``stock: missing
    column(s) on_hand`` -> ``--stock s.csv: missing column(s) on_hand``, ``on_hand: negative
    value at key (sku1, FC1)`` -> ``--stock s.csv: on_hand: negative value at key (sku1, FC1)``.

    ``owners`` maps an error's first word (a table's name, or a column or field) to the table
    it belongs to; ``fc lead_time: ...`` (a field the API names by its table) is shown as
    ``--fc f.csv: lead_time: ...``. A message of no known table is returned as it is."""
    match = re.match(r"(\w+)(?: (\w+))?: ", message)
    if not match or owners.get(match.group(1)) not in paths:
        return message
    word, column = match.groups()
    table = owners[word]
    rest = message
    if word == table and column is not None:  # "fc lead_time: ..." -> "lead_time: ..."
        rest = f"{column}: {message[match.end() :]}"
    elif word == table and message[match.end() :].startswith(_TABLE_PROBLEMS):
        rest = message[match.end() :]
    return f"--{table.replace('_', '-')} {paths[table]}: {rest}"


def check_table_output(path: str, inputs: dict[str, Any], *, label: str = "--out", what: str):
    """Before any work: ``path`` is a .csv/.parquet name that can be written and is none of
    ``inputs`` (see :func:`refuse_output_over_inputs`); a :class:`~serving.cli.CliError`
    naming ``label`` otherwise."""
    from kernels.io import FileError, check_writable, table_kind
    from serving.cli import CliError

    try:
        table_kind(path)
        check_writable(path)
    except FileError as exc:
        raise CliError(f"{label} {exc}") from None
    refuse_output_over_inputs(path, inputs, label=label, what=what)
