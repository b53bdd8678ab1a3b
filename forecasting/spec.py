"""The panel spec: which column plays which role, and how often the panel is observed.

Canonical names (``item_id``, ``location_id``, ``date``, ``demand``) are what every package uses;
a user's own names (``sku``, ``store_id``, ``sales``) are mapped onto them when the panel is loaded.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kernels.io import read_yaml
from kernels.settings import check_settings, setting, settings_from_dict, settings_to_dict

ITEM, LOCATION, DATE, DEMAND = "item_id", "location_id", "date", "demand"
KEYS = (ITEM, LOCATION, DATE)
DEFAULT_QUANTILES = (0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95)

# Frequency -> natural season length in periods.
FREQUENCIES = {"D": 7, "W": 52, "M": 12}
FREQ_NAMES = {"D": "daily", "W": "weekly", "M": "monthly"}
# Days per period: planning reads lead times and review periods in days (a month is 365.25 / 12).
STEP_DAYS = {"D": 1.0, "W": 7.0, "M": 365.25 / 12}
# How periods missing inside a series are treated (see forecasting.validate).
GAP_RULES = ("auto", "zero", "error")


def quantile_column(q: float) -> str:
    """The column name of quantile level ``q`` in forecast tables, e.g. ``q0.05``."""
    return f"q{q:g}"


@dataclass(frozen=True)
class PanelSpec:
    """Roles of the columns of a long demand panel.

    * ``static_*``: constant per (item, location) — category, brand, FC region.
    * ``known_*``: known for the future too — price, promotion, holiday, event, weather forecast.
      Rows after a series' last observed demand may carry them (demand left empty).
    * ``observed_reals``: known only up to the forecast origin — page views, ad clicks.
    * ``calendar``: derive day-of-week / week-of-year / month categoricals from the date.
    * ``key_embeddings``: give the model the item and location themselves as static categoricals
      (an item or FC unseen in training maps to the unknown embedding).
    * ``*_col``: the user's names for the four key columns; loaders rename them to the canonical
      ``item_id``, ``location_id``, ``date``, ``demand``.
    * ``freq``: ``D``, ``W`` or ``M``; ``None`` (the default) infers it from the dates, and a
      given one that the dates contradict is an error.
    * ``gaps``: periods missing inside a series are filled with zero demand (``zero``), rejected
      (``error``), or filled only while they add at most 5% to the rows (``auto``).
    """

    freq: str | None = setting(
        None,
        "panel frequency D, W or M (none: inferred from the dates)",
        choices=(*FREQUENCIES, None),
    )
    static_categoricals: tuple[str, ...] = setting(
        (), "comma-separated static categoricals", flag="static_cats"
    )
    static_reals: tuple[str, ...] = setting((), "comma-separated static reals")
    known_categoricals: tuple[str, ...] = setting(
        (), "comma-separated known-future categoricals", flag="known_cats"
    )
    known_reals: tuple[str, ...] = setting((), "comma-separated known-future reals")
    observed_reals: tuple[str, ...] = setting((), "comma-separated observed-only reals")
    calendar: bool = setting(True, "derive calendar features from the dates")
    key_embeddings: bool = setting(True, "embed the item and location ids")
    item_col: str = setting(ITEM, "column holding the item (SKU) id")
    location_col: str = setting(LOCATION, "column holding the location (FC) id")
    date_col: str = setting(DATE, "column holding the period's date")
    target_col: str = setting(DEMAND, "column holding the demand")
    gaps: str = setting(
        "auto",
        "periods missing inside a series: fill with zero demand while they add at most 5% of "
        "the rows (auto), always (zero), or reject them (error)",
        choices=GAP_RULES,
    )

    def __post_init__(self) -> None:
        for role in (
            "static_categoricals",
            "static_reals",
            "known_categoricals",
            "known_reals",
            "observed_reals",
        ):
            value = getattr(self, role)
            if isinstance(value, str):
                value = (value,)
            if not isinstance(value, tuple | list):
                raise ValueError(f"{role}: expected a list of column names, got {value!r}")
            object.__setattr__(self, role, tuple(value))
        check_settings(self)
        seen: dict[str, str] = {}
        # The user's key column names too: a covariate named as the target (--target-col units
        # --known-reals units) was accepted here and refused later as a "missing column" (the
        # table's key columns are renamed before the covariates are looked up).
        flags = {name: flag for name, _, flag in self.key_columns()}
        for role, columns in self.roles().items():
            for column in columns:
                if column in flags:
                    field = flags[column].removeprefix("--").replace("-", "_")
                    raise ValueError(
                        f"{role}: {column!r} is the {field.removesuffix('_col')} column "
                        f"({field}, {flags[column]}), not a covariate"
                    )
                if column in KEYS or column == DEMAND:
                    raise ValueError(f"{role}: {column!r} is a key column, not a covariate")
                if column in seen:
                    raise ValueError(
                        f"{role}: column {column!r} is already declared as {seen[column]}"
                    )
                seen[column] = role

    @property
    def frequency(self) -> str:
        """The frequency, once given or inferred (an error before the panel was validated)."""
        if self.freq is None:
            raise ValueError("freq: not known yet; validate the panel to infer it from the dates")
        return self.freq

    @property
    def season(self) -> int:
        """Natural season length of the frequency (7 days, 52 weeks, 12 months)."""
        return FREQUENCIES[self.frequency]

    def with_freq(self, freq: str) -> PanelSpec:
        """This spec with the frequency set (e.g. the one inferred from the dates)."""
        return dataclasses.replace(self, freq=freq)

    def canonical(self) -> PanelSpec:
        """This spec for a table whose key columns are already renamed to the canonical names
        (what :func:`forecasting.io.map_columns` returns).

        Code that maps a user's table once and hands the frame on (the demo) must hand on this
        spec too: the original one would map again and look for the user's names, which the
        renamed frame no longer has.
        """
        return dataclasses.replace(
            self, item_col=ITEM, location_col=LOCATION, date_col=DATE, target_col=DEMAND
        )

    def roles(self) -> dict[str, tuple[str, ...]]:
        return {
            "static_categoricals": self.static_categoricals,
            "static_reals": self.static_reals,
            "known_categoricals": self.known_categoricals,
            "known_reals": self.known_reals,
            "observed_reals": self.observed_reals,
        }

    def covariates(self) -> list[str]:
        """Every declared covariate column, role by role in the order of :meth:`roles`."""
        return [column for columns in self.roles().values() for column in columns]

    def key_columns(self) -> tuple[tuple[str, str, str], ...]:
        """(the user's name, the canonical name, the flag that maps it) of the key columns."""
        return (
            (self.item_col, ITEM, "--item-col"),
            (self.location_col, LOCATION, "--location-col"),
            (self.date_col, DATE, "--date-col"),
            (self.target_col, DEMAND, "--target-col"),
        )

    def rename_map(self) -> dict[str, str]:
        """User column name -> canonical name, for the four key columns."""
        return {name: canonical for name, canonical, _ in self.key_columns()}

    def to_dict(self) -> dict[str, Any]:
        """The fields as plain JSON/YAML types (tuples become lists), as a manifest keeps them."""
        return settings_to_dict(self)

    @classmethod
    def from_dict(cls, values: dict[str, Any] | None) -> PanelSpec:
        """From a mapping of field names (a YAML ``spec`` section); unknown keys are named."""
        return settings_from_dict(cls, values, "panel spec")

    @classmethod
    def from_yaml(cls, path: str | Path) -> PanelSpec:
        return cls.from_dict(read_yaml(path))


M5_SPEC = PanelSpec(
    freq="D",
    static_categoricals=("dept_id", "cat_id", "state_id"),
    known_categoricals=("event_type_1", "snap"),
    known_reals=("sell_price",),
    item_col="item_id",
    location_col="store_id",
    date_col="date",
    target_col="sales",
)
"""The spec of ``m5_tiny.parquet`` (shared test data): stores are the locations."""
