"""Settings dataclasses that are their own single source of truth.

A field declared with :func:`setting` carries its help text, bounds and choices next to its
default. The dataclass validates itself from them (:func:`check_settings`), YAML files use its
field names as keys (:func:`settings_from_dict`), and ``stockcast``'s command line derives its
flags, help defaults and choices from the same metadata, so none of them can drift apart.
(Torch-free and in ``kernels`` because every package's settings build on it.)
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any, TypeVar

T = TypeVar("T")


def setting(
    default: Any = dataclasses.MISSING,
    help: str = "",
    *,
    min: float | None = None,
    max: float | None = None,
    open_min: bool = False,
    open_max: bool = False,
    choices: Sequence[Any] | None = None,
    flag: str | None = None,
    cli: bool = True,
    default_factory: Any = dataclasses.MISSING,
) -> Any:
    """A dataclass field with what the CLI and validation need to know about it.

    ``min``/``max`` bound numbers (``open_min``/``open_max``: strictly above ``min``/below
    ``max``); ``choices`` lists the allowed values; ``flag`` renames the command-line flag
    (default: the field name with dashes); ``cli=False`` keeps the field out of the command line
    (YAML only).
    """
    metadata = {
        "help": help,
        "min": min,
        "max": max,
        "open_min": open_min,
        "open_max": open_max,
        "choices": tuple(choices) if choices is not None else None,
        "flag": flag,
        "cli": cli,
    }
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def bound_problem(meta: dict[str, Any], value: Any) -> str | None:
    """Why ``value`` breaks the field's bounds or choices (``None`` when it does not)."""
    choices = meta.get("choices")
    if choices is not None and value not in choices:
        return f"expected one of {list(choices)}, got {value!r}"
    lo, hi = meta.get("min"), meta.get("max")
    if (lo is None and hi is None) or value is None or isinstance(value, str | bool):
        return None
    if not isinstance(value, int | float) or (isinstance(value, float) and math.isnan(value)):
        return f"expected a number, got {value!r}"
    if lo is not None and (value <= lo if meta.get("open_min") else value < lo):
        return f"expected {'>' if meta.get('open_min') else '>='} {lo:g}, got {value!r}"
    if hi is not None and (value >= hi if meta.get("open_max") else value > hi):
        return f"expected {'<' if meta.get('open_max') else '<='} {hi:g}, got {value!r}"
    return None


def check_settings(obj: Any) -> None:
    """Raise ``ValueError('field: problem')`` for the first field outside its bounds/choices."""
    for f in dataclasses.fields(obj):
        problem = bound_problem(dict(f.metadata), getattr(obj, f.name))
        if problem:
            raise ValueError(f"{f.name}: {problem}")


def settings_from_dict(cls: type[T], values: dict[str, Any] | None, where: str) -> T:
    """Build ``cls`` from a mapping of field names (a YAML section); unknown keys are named."""
    values = dict(values or {})
    known = [f.name for f in dataclasses.fields(cls)]  # type: ignore[arg-type]
    unknown = sorted(set(values) - set(known))
    if unknown:
        raise ValueError(f"{where}: unknown keys {unknown}; known keys: {known}")
    return cls(**values)


def settings_to_dict(obj: Any) -> dict[str, Any]:
    """Field values as plain JSON/YAML types (tuples become lists)."""
    return {
        f.name: list(v) if isinstance(v := getattr(obj, f.name), tuple) else v
        for f in dataclasses.fields(obj)
    }
