"""Loading a demand panel in the user's column names (file I/O itself is :mod:`kernels.io`)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from forecasting.spec import DEMAND, PanelSpec
from forecasting.validate import PanelError
from kernels.io import read_table


def load_panel(path: str | Path, spec: PanelSpec) -> pd.DataFrame:
    """Load a panel and rename the user's key columns to the canonical names of ``spec``.

    Only the key columns and the covariates the spec declares are read. The result still needs
    :func:`forecasting.validate.validate_panel`.
    """
    frame = read_table(path, text=(spec.item_col, spec.location_col))
    return map_columns(frame, spec)


def map_columns(frame: pd.DataFrame, spec: PanelSpec, require_target: bool = False) -> pd.DataFrame:
    """Rename ``spec``'s key columns to canonical names, keeping only the declared columns.

    A prediction table may leave out the demand column (every row is then a future row);
    ``require_target`` (training) makes that an error naming the column.
    """
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
    renamed = frame.rename(columns=spec.rename_map())
    if DEMAND not in renamed.columns:
        renamed[DEMAND] = float("nan")
    missing = [c for c in spec.covariates() if c not in renamed.columns]
    if missing:
        roles = {c: r for r, cols in spec.roles().items() for c in cols}
        column = missing[0]
        raise PanelError(column, f"missing column (declared as {roles[column]})")
    keep = ["item_id", "location_id", "date", DEMAND, *spec.covariates()]
    return renamed[keep]
