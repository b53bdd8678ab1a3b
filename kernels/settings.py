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
import numbers
import os
import types
import typing
from collections.abc import Mapping, Sequence
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
    # Any real number: NumPy's (np.int64(7), np.float32(0.9)) too, as the type check takes them.
    whole = isinstance(value, numbers.Integral)
    if not isinstance(value, numbers.Real) or (not whole and math.isnan(value)):
        return f"expected a number, got {value!r}"
    if not whole and math.isinf(value):
        # A bound is a finite range: --step-days inf planned no orders, --lr inf a NaN model.
        return f"expected a finite number, got {value!r}"
    if lo is not None and (value <= lo if meta.get("open_min") else value < lo):
        return f"expected {'>' if meta.get('open_min') else '>='} {lo:g}, got {value!r}"
    if hi is not None and (value >= hi if meta.get("open_max") else value > hi):
        return f"expected {'<' if meta.get('open_max') else '<='} {hi:g}, got {value!r}"
    return None


_KINDS = {bool: "true or false", int: "a whole number", float: "a number", str: "text"}


def _kind(hint: Any) -> str:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        return " or ".join(_kind(a) for a in typing.get_args(hint))
    if hint is type(None):
        return "none"
    if typing.get_origin(hint) is tuple:
        args = typing.get_args(hint)
        return f"a list of {_kind(args[0])}" if args else "a list"
    if hint in (dict, Mapping) or typing.get_origin(hint) in (dict, Mapping):
        return "a mapping"
    return _KINDS.get(hint, getattr(hint, "__name__", str(hint)))


def _has_type(hint: Any, value: Any) -> bool:
    """Whether ``value`` is of the annotated type (int for float and paths for text allowed;
    a bool is neither a number nor text, a float never a whole number)."""
    origin = typing.get_origin(hint)
    if origin in (typing.Union, types.UnionType):
        return any(_has_type(a, value) for a in typing.get_args(hint))
    if hint is Any:
        return True
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if hint is float:
        return isinstance(value, numbers.Real) and not isinstance(value, bool)
    if hint is str:
        return isinstance(value, str | os.PathLike)
    if origin is tuple:
        if not isinstance(value, tuple | list):
            return False
        args = typing.get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return all(_has_type(args[0], v) for v in value)
        return len(args) != len(value) or all(map(_has_type, args, value))
    if hint in (dict, Mapping) or origin in (dict, Mapping):
        return isinstance(value, Mapping)
    return True


_HINTS: dict[type, dict[str, Any]] = {}


def _hints(cls: type) -> dict[str, Any]:
    """The resolved field annotations of a settings class (computed once per class)."""
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def type_problem(hint: Any, value: Any) -> str | None:
    """Why ``value`` is not of the field's annotated type (``None`` when it is): ``"0.9"`` is
    not a number, ``"false"`` not a bool, ``7.0`` not a whole number."""
    if _has_type(hint, value):
        return None
    return f"expected {_kind(hint)}, got {value!r}"


def check_settings(obj: Any) -> None:
    """Raise ``ValueError('field: problem')`` for the first field of the wrong type or outside
    its bounds/choices."""
    hints = _hints(type(obj))
    for f in dataclasses.fields(obj):
        value, meta = getattr(obj, f.name), dict(f.metadata)
        # A value outside the choices is named with them; anything else by its type first.
        problem = (meta.get("choices") is not None and bound_problem(meta, value)) or (
            type_problem(hints.get(f.name, Any), value) or bound_problem(meta, value)
        )
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
