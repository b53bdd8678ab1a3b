"""The product catalog: what each product should look like in the tunnel.

``wrong_color`` and ``wrong_size`` only mean something against this reference, so the model takes
the catalog row of an item's product as an input tensor beside the images.

File format (``catalog.csv``)::

    product_id,color,width_cm,height_cm,depth_cm
    P0001,#C82828,12.0,18.5,6.0

``color`` is the expected colour as ``#RRGGBB``; the front/back views show width x height,
left/right depth x height, top/bottom width x depth.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from kernels.io import read_table, write_table

CATALOG_COLUMNS: tuple[str, ...] = ("product_id", "color", "width_cm", "height_cm", "depth_cm")
DIMENSION_COLUMNS: tuple[str, ...] = ("width_cm", "height_cm", "depth_cm")

#: Layout of the model's ``catalog`` input: a presence flag, RGB in [0, 1], dimensions / scale.
REFERENCE_FIELDS: tuple[str, ...] = (
    "has_reference",
    "red",
    "green",
    "blue",
    "width",
    "height",
    "depth",
)
REF_DIM = len(REFERENCE_FIELDS)

#: What the model measures of an item (its ``attributes`` output): colour as RGB in [0, 1] and
#: dimensions divided by the catalog size scale, the units of the reference input.
MEASURED_FIELDS: tuple[str, ...] = ("red", "green", "blue", "width", "height", "depth")
ATTRIBUTES = len(MEASURED_FIELDS)

_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")


def _rows(frame: pd.DataFrame, mask) -> str:
    ids = [str(v) for v in frame.loc[mask, "product_id"]] if "product_id" in frame else []
    shown = ", ".join(ids[:5]) + (f" (+{len(ids) - 5} more)" if len(ids) > 5 else "")
    return f"rows {shown}" if shown else "some rows"


def hex_to_rgb(value: str) -> tuple[int, int, int]:
    """``"#C82828"`` -> ``(200, 40, 40)``."""
    if not isinstance(value, str) or not _HEX.match(value.strip()):
        raise ValueError(f"color: expected '#RRGGBB', got {value!r}")
    value = value.strip()
    return int(value[1:3], 16), int(value[3:5], 16), int(value[5:7], 16)


def rgb_to_hex(rgb) -> str:
    r, g, b = (int(round(float(c))) for c in rgb)
    return f"#{r:02X}{g:02X}{b:02X}"


@dataclass
class Catalog:
    """Expected colour and dimensions per product, validated on construction."""

    table: pd.DataFrame
    source: str = "catalog"

    def __post_init__(self) -> None:
        frame = self.table
        missing = [c for c in CATALOG_COLUMNS if c not in frame.columns]
        if missing:
            raise ValueError(
                f"{self.source}: missing columns {missing}; expected {CATALOG_COLUMNS}"
            )
        # Extra columns (a name, the synthetic shape) are kept and written back unchanged.
        frame = frame.copy()
        # A missing id stays missing through astype(str) with pandas' string dtype (pandas 3),
        # so it is looked for before the conversion; the text "nan" after it is a product id
        # as "NA" or "null" is (the labels table reads it so), not a missing one.
        missing = frame["product_id"].isna().to_numpy()
        frame["product_id"] = frame["product_id"].astype(str).str.strip()
        empty = missing | (frame["product_id"] == "").to_numpy()
        if empty.any():
            raise ValueError(
                f"{self.source}: column 'product_id' is empty in {int(empty.sum())} rows"
            )
        dup = frame["product_id"].duplicated(keep=False)
        if dup.any():
            raise ValueError(f"{self.source}: duplicate product_id in {_rows(frame, dup)}")
        bad_color = ~frame["color"].astype(str).str.strip().str.match(_HEX)
        if bad_color.any():
            raise ValueError(
                f"{self.source}: column 'color' must be '#RRGGBB' in {_rows(frame, bad_color)}"
            )
        for column in DIMENSION_COLUMNS:
            values = pd.to_numeric(frame[column], errors="coerce")
            bad = ~(values > 0) | ~np.isfinite(values)
            if bad.any():
                raise ValueError(
                    f"{self.source}: column '{column}' must be a positive number in "
                    f"{_rows(frame, bad)}"
                )
            frame[column] = values.astype(float)
        frame["color"] = frame["color"].astype(str).str.strip().str.upper()
        self.table = frame.set_index("product_id", drop=False)

    @classmethod
    def read(cls, path: str | Path) -> Catalog:
        """Read and validate a ``catalog.csv``."""
        # Ids are text as the labels table reads them: "NA" or "null" is a product, not missing.
        frame = read_table(
            path, dtype={"product_id": str, "color": str}, keep_default_na=False, na_values=[""]
        )
        return cls(frame, source=str(path))

    def write(self, path: str | Path) -> None:
        """Write the catalog atomically (temp file, then rename)."""
        write_table(self.table.reset_index(drop=True), path)

    def __contains__(self, product_id: object) -> bool:
        return str(product_id) in self.table.index

    def __len__(self) -> int:
        return len(self.table)

    @property
    def product_ids(self) -> list[str]:
        return self.table["product_id"].tolist()

    def size_scale(self) -> float:
        """A normalizing length (cm) so reference dimensions enter the model near [0, 1]."""
        return float(self.table[list(DIMENSION_COLUMNS)].to_numpy().max() * 1.5)

    def reference(self, product_id: str, size_scale: float) -> np.ndarray:
        """The model's catalog input for one product (see ``REFERENCE_FIELDS``)."""
        row = self.table.loc[str(product_id)]
        rgb = np.asarray(hex_to_rgb(row["color"]), dtype=np.float32) / 255.0
        dims = row[list(DIMENSION_COLUMNS)].to_numpy(dtype=np.float32) / float(size_scale)
        return np.concatenate([[1.0], rgb, dims]).astype(np.float32)

    def merged_with(self, other: Catalog) -> Catalog:
        """This catalog with ``other``'s rows added or replacing rows of the same product."""
        keep = self.table.loc[~self.table.index.isin(other.table.index)]
        merged = pd.concat([keep, other.table], ignore_index=True)
        return Catalog(merged, source=f"{self.source} + {other.source}")


def no_reference() -> np.ndarray:
    """The catalog input of an item without a reference (flag 0, all fields 0)."""
    return np.zeros(REF_DIM, dtype=np.float32)
