"""Reading panels from CSV / parquet and writing tables without leaving partial files."""

from __future__ import annotations

import json
import math
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd

from forecasting.spec import DEMAND, PanelSpec
from forecasting.validate import PanelError

READERS = {".csv": "csv", ".parquet": "parquet", ".pq": "parquet"}


def read_table(path: str | Path, columns: list[str] | None = None) -> pd.DataFrame:
    """Read a CSV or parquet file (by extension)."""
    path = Path(path)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such file")
    kind = READERS.get(path.suffix.lower())
    if kind is None:
        raise ValueError(f"{path}: unsupported file type {path.suffix!r}; use .csv or .parquet")
    if kind == "csv":
        return pd.read_csv(path, usecols=columns)
    return pd.read_parquet(path, columns=columns)


def load_panel(path: str | Path, spec: PanelSpec) -> pd.DataFrame:
    """Load a panel and rename the user's key columns to the canonical names of ``spec``.

    Only the key columns and the covariates the spec declares are read. The result still needs
    :func:`forecasting.validate.validate_panel`.
    """
    frame = read_table(path)
    return map_columns(frame, spec)


def map_columns(frame: pd.DataFrame, spec: PanelSpec) -> pd.DataFrame:
    """Rename ``spec``'s key columns to canonical names, keeping only the declared columns."""
    flags = {
        spec.item_col: "item",
        spec.location_col: "location",
        spec.date_col: "date",
        spec.target_col: "target",
    }
    for column, flag in flags.items():
        if column not in frame.columns:
            if flag == "target" and DEMAND not in frame.columns:
                # Prediction-only tables may omit demand entirely: every row is a future row.
                continue
            raise PanelError(
                column,
                f"column not found (mapped with --{flag}-col); columns present: "
                f"{list(frame.columns)}",
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


def atomic_write(path: str | Path, write: Callable[[Path], Any]) -> Path:
    """Call ``write(tmp_path)`` then rename onto ``path``: readers never see a partial file."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def write_table(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a DataFrame as parquet or CSV (by extension), atomically."""
    kind = READERS.get(Path(path).suffix.lower())
    if kind is None:
        raise ValueError(f"{path}: unsupported output type; use .parquet or .csv")
    if kind == "csv":
        return atomic_write(path, lambda p: frame.to_csv(p, index=False))
    return atomic_write(path, lambda p: frame.to_parquet(p, index=False))


def write_json(obj: Any, path: str | Path) -> Path:
    """Write JSON atomically (NaN written as null)."""
    text = json.dumps(_finite(obj), indent=2, default=_json_default, allow_nan=False)
    return atomic_write(path, lambda p: p.write_text(text + "\n"))


def _finite(value: Any) -> Any:
    if isinstance(value, dict):
        return {str(k): _finite(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_finite(v) for v in value]
    if hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _json_default(value: Any) -> Any:
    if hasattr(value, "item"):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    raise TypeError(f"not JSON serializable: {type(value).__name__}")
