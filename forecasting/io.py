"""Loading a demand panel in the user's column names (file I/O itself is :mod:`kernels.io`)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from forecasting.spec import DEMAND, PanelSpec
from forecasting.validate import PanelError
from kernels.io import read_table, table_kind

_FLOAT = r"[+-]?(\d+\.\d*|\.\d+|\d+(\.\d*)?[eE][+-]?\d+)"
_NUMBER = rf"[+-]?\d+|{_FLOAT}"


def read_panel(path: str | Path, spec: PanelSpec) -> pd.DataFrame:
    """Read a panel file in the user's column names, its keys and categorical covariates as
    the text the file holds, as a parquet file keeps them: a level ``01`` or ``007`` is not the
    number 1 or 7, which the CSV reader would make of it (a categorical's levels are its
    values as text). A CSV column of whole numbers written as floats (``1.0``, as a CSV of an
    integer column with an empty cell has them) still reads as those integers, ``1``."""
    categoricals = (*spec.static_categoricals, *spec.known_categoricals)
    return read_levels(path, (spec.item_col, spec.location_col), categoricals)


def read_levels(path: str | Path, keys: Sequence[str], levels: Sequence[str]) -> pd.DataFrame:
    """Read a table with its ``keys`` and the categorical ``levels`` columns as a panel's are
    read (:func:`read_panel`): whatever reads a panel's segments or categoricals from a file
    (the monitor's actuals) names their levels as training and backtests do."""
    frame = read_table(path, text=(*keys, *levels))
    if table_kind(Path(path)) != "csv":
        return frame
    for column in levels:
        if column not in frame.columns:
            continue  # validation names it
        text = frame[column].dropna().astype(str).str.strip()
        # Numbers with a decimal point or an exponent are read as the numbers the CSV reader
        # made of them before (validation writes a whole 1.0 as "1"); integer literals keep
        # their text.
        # A code with a leading zero (``007``) is text whatever the column's other values are:
        # beside a ``7.5`` it became 7.0, a level no table without a fraction (nor parquet) has.
        padded = text.str.match(r"[+-]?0\d").any()
        if text.str.fullmatch(_NUMBER).all() and text.str.fullmatch(_FLOAT).any() and not padded:
            numbers = pd.to_numeric(frame[column], errors="coerce")
            # Unless two of its levels would become one number (aisles "1.1" and "1.10"): then
            # the column keeps its text, as parquet keeps it (a whole "2.0" is "2" either way).
            whole = text.str.replace(r"^([+-]?\d+)\.0*$", r"\1", regex=True)
            if numbers.nunique() == whole.nunique():
                frame[column] = numbers
    return frame


def load_panel(path: str | Path, spec: PanelSpec) -> pd.DataFrame:
    """Load a panel and rename the user's key columns to the canonical names of ``spec``.

    Only the key columns and the covariates the spec declares are read. The result still needs
    :func:`forecasting.validate.validate_panel`.
    """
    return map_columns(read_panel(path, spec), spec)


def map_columns(frame: pd.DataFrame, spec: PanelSpec, require_target: bool = False) -> pd.DataFrame:
    """Rename ``spec``'s key columns to canonical names, keeping only the declared columns.

    A prediction table may leave out the demand column (every row is then a future row);
    ``require_target`` (training) makes that an error naming the column.
    """
    twice = frame.columns[frame.columns.duplicated()]
    used = [c for c, _, _ in spec.key_columns()] + list(spec.covariates())
    for column in used:
        if column in twice:
            raise PanelError(column, "appears more than once among the table's columns")
    for column, canonical, flag in spec.key_columns():
        if column not in frame.columns:
            if canonical == DEMAND and DEMAND not in frame.columns and not require_target:
                # Prediction-only tables may omit demand entirely: every row is a future row.
                continue
            raise PanelError(
                column,
                f"column not found; columns present: {list(frame.columns)}",
                hint=f"mapped with {flag}",
            )
    mapping = spec.rename_map()
    # A column of the table that is named like a canonical key another column is mapped onto
    # (an unused `item_id` beside `--item-col sku`) is not read: kept, it would stand beside
    # the mapped one under the same name.
    shadowed = [
        c
        for c in frame.columns
        if c in mapping.values() and c not in mapping and c not in spec.covariates()
    ]
    renamed = frame.drop(columns=shadowed).rename(columns=mapping)
    if DEMAND not in renamed.columns:
        renamed[DEMAND] = float("nan")
    missing = [c for c in spec.covariates() if c not in renamed.columns]
    if missing:
        roles = {c: r for r, cols in spec.roles().items() for c in cols}
        column = missing[0]
        raise PanelError(column, f"missing column (declared as {roles[column]})")
    keep = ["item_id", "location_id", "date", DEMAND, *spec.covariates()]
    return renamed[keep]
