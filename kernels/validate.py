"""Boundary checks shared by the kernels and the table API.

Every error is a ``ValueError`` whose message names the field and the offending rows, so that
``stockcast`` can print it as is. Rows are positional indices unless the caller passes labels
(the table API passes ``item_id/location_id`` keys).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

_SHOWN = 5


def describe_rows(rows: np.ndarray, labels: Sequence | None = None) -> str:
    """Human-readable list of the first few offending rows ("rows 3, 9 and 12 more")."""
    rows = np.asarray(rows)
    if rows.dtype == bool:
        rows = np.flatnonzero(rows)
    shown = rows[:_SHOWN]
    if labels is None:
        text = ", ".join(str(int(r)) for r in shown)
        head = "row" if rows.size == 1 else "rows"
    else:
        text = ", ".join(str(labels[int(r)]) for r in shown)
        head = "key" if rows.size == 1 else "keys"
    more = f" and {rows.size - shown.size} more" if rows.size > shown.size else ""
    return f"{head} {text}{more}"


def fail(field: str, problem: str, rows: np.ndarray, labels: Sequence | None = None) -> None:
    """Raise the standard error for ``field`` at ``rows``."""
    raise ValueError(f"{field}: {problem} at {describe_rows(rows, labels)}")


def _row_mask(bad: np.ndarray) -> np.ndarray:
    # Reduce a per-element mask to a per-row mask for 2-d and 3-d inputs.
    while bad.ndim > 1:
        bad = bad.any(axis=-1)
    return bad


def as_float_array(field: str, values, ndim: int | None = None, dtype=np.float64) -> np.ndarray:
    """Convert to a C-contiguous float array, naming ``field`` if that is impossible."""
    try:
        arr = np.asarray(values, dtype=dtype)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{field}: not numeric ({exc})") from None
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"{field}: expected a {ndim}-d array, got shape {arr.shape}")
    if not arr.flags.c_contiguous or not arr.flags.writeable:
        # Kernels are compiled per array type, and read-only (e.g. broadcast) arrays are a
        # different type: a copy of a per-row vector is cheaper than another compilation.
        arr = np.array(arr, dtype=dtype, order="C")
    return arr


def check_finite(field: str, arr: np.ndarray, labels: Sequence | None = None) -> None:
    """No NaN or infinity."""
    bad = _row_mask(~np.isfinite(arr))
    if bad.any():
        fail(field, "missing or non-finite value", bad, labels)


def check_nonnegative(field: str, arr: np.ndarray, labels: Sequence | None = None) -> None:
    """Finite and >= 0."""
    check_finite(field, arr, labels)
    bad = _row_mask(arr < 0)
    if bad.any():
        fail(field, "negative value", bad, labels)


def check_positive(field: str, arr: np.ndarray, labels: Sequence | None = None) -> None:
    """Finite and > 0."""
    check_finite(field, arr, labels)
    bad = _row_mask(arr <= 0)
    if bad.any():
        fail(field, "value must be > 0", bad, labels)


def check_open_unit(field: str, arr: np.ndarray, labels: Sequence | None = None) -> None:
    """Strictly inside (0, 1), as service levels and quantile levels must be."""
    check_finite(field, arr, labels)
    bad = _row_mask((arr <= 0) | (arr >= 1))
    if bad.any():
        fail(field, "must be strictly between 0 and 1", bad, labels)


def check_length(field: str, arr: np.ndarray, n: int) -> None:
    """First dimension equals ``n`` (the number of rows)."""
    if arr.shape[0] != n:
        raise ValueError(f"{field}: has {arr.shape[0]} rows, expected {n} (mismatched shapes)")


def broadcast_rows(field: str, values, n: int, dtype=np.float64) -> np.ndarray:
    """A scalar or length-n vector as a contiguous length-n array."""
    arr = as_float_array(field, values, dtype=dtype)
    if arr.ndim == 0:
        return np.full(n, arr[()], dtype=dtype)
    if arr.ndim != 1:
        raise ValueError(f"{field}: expected a scalar or 1-d array, got shape {arr.shape}")
    check_length(field, arr, n)
    return arr


def check_levels(levels) -> np.ndarray:
    """Quantile levels as float64: at least two, strictly increasing, inside (0, 1)."""
    levels = as_float_array("levels", levels, ndim=1)
    if levels.shape[0] < 2:
        raise ValueError("levels: need at least two quantile levels")
    check_open_unit("levels", levels)
    if not (np.diff(levels) > 0).all():
        raise ValueError(f"levels: must be strictly increasing, got {levels.tolist()}")
    return levels
