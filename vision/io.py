"""Atomic file writes: every output goes to a temp file in its folder and is renamed into place,
so a crash never leaves a partial table, manifest, weight file or image behind."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

TABLE_SUFFIXES = (".csv", ".parquet")


@contextmanager
def atomic_path(path: str | Path):
    """Yield a temp path beside ``path``; it replaces ``path`` on success, is removed on error."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        yield Path(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_with(path: str | Path, writer: Callable[[Path], Any]) -> Path:
    """Call ``writer(tmp_path)`` and move the result to ``path`` atomically."""
    with atomic_path(path) as tmp:
        writer(tmp)
    return Path(path)


def write_csv_atomic(frame: pd.DataFrame, path: str | Path) -> Path:
    return write_with(path, lambda tmp: frame.to_csv(tmp, index=False))


def write_table(frame: pd.DataFrame, path: str | Path) -> Path:
    """Write a table as CSV or Parquet, chosen by the file suffix."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return write_csv_atomic(frame, path)
    if suffix == ".parquet":
        return write_with(path, lambda tmp: frame.to_parquet(tmp, index=False))
    raise ValueError(f"{path}: unsupported table format {suffix!r}; use one of {TABLE_SUFFIXES}")


def read_table(path: str | Path) -> pd.DataFrame:
    """Read a CSV or Parquet table written by :func:`write_table`."""
    path = Path(path)
    suffix = path.suffix.lower()
    if not path.is_file():
        raise ValueError(f"{path}: file not found")
    if suffix == ".csv":
        return pd.read_csv(
            path,
            dtype={"item_id": str, "product_id": str, "location_id": str},
            keep_default_na=False,
            na_values=[""],
        )
    if suffix == ".parquet":
        return pd.read_parquet(path)
    raise ValueError(f"{path}: unsupported table format {suffix!r}; use one of {TABLE_SUFFIXES}")


def write_json(payload: Any, path: str | Path) -> Path:
    def dump(tmp: Path) -> None:
        with open(tmp, "w") as fh:
            json.dump(payload, fh, indent=2, sort_keys=False)
            fh.write("\n")

    return write_with(path, dump)


def publish_dir(tmp_dir: Path, target: Path) -> None:
    """Move a fully written temp folder to ``target`` (which must not exist or be empty)."""
    if target.exists():
        if any(target.iterdir()):
            raise ValueError(f"{target}: folder exists and is not empty")
        target.rmdir()
    try:
        os.replace(tmp_dir, target)
    except OSError:
        shutil.rmtree(tmp_dir, ignore_errors=True)
        raise


def read_json(path: str | Path) -> Any:
    try:
        with open(path) as fh:
            return json.load(fh)
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: cannot read JSON ({exc})") from exc
