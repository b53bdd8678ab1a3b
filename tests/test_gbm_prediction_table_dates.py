"""The gbm forecasts from its refitted trees whatever date a prediction table starts on.

A user predicts with a table that holds other series than the training table (a discontinued
item that started earlier left out, or a history trimmed to recent periods): the periods of
such a table count from a later first date, and the forecast of every other series must stay
the one the training table gives. Reference: the refitted trees applied to the same features.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import torch

from forecasting import PanelSpec
from forecasting.models.gbm import GradientBoosted
from forecasting.store import PanelStore
from forecasting.validate import validate_panel

H = 7
SPEC = PanelSpec(freq="D", known_reals=("price",))


def panel(n_series: int = 6, n_days: int = 200, early: int = 40) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    dates = pd.date_range("2023-01-02", periods=n_days + H, freq="D")
    frames = []
    for s in range(n_series + 1):
        # The last series is an unrelated item at its own FC whose history starts earlier.
        span = pd.date_range(dates[0] - pd.Timedelta(days=early), dates[-1]) if s == n_series \
            else dates  # fmt: skip
        price = rng.choice([1.5, 2.0, 2.5], size=len(span))
        demand = rng.poisson((5 + s) * (price / 2.0) ** -2.0).astype(float)
        demand[-H:] = np.nan  # the horizon's future rows: prices only
        location = f"fc{s % 2}" if s < n_series else "old"
        frames.append(pd.DataFrame({"item_id": f"i{s}", "location_id": location, "date": span,
                                    "demand": demand, "price": price}))  # fmt: skip
    return pd.concat(frames, ignore_index=True)


def store_of(table: pd.DataFrame) -> PanelStore:
    clean, _ = validate_panel(table, SPEC, categories=True, history=False)
    return PanelStore.from_frame(clean, SPEC.with_freq("D"), extra_periods=H)


def forecast(model: GradientBoosted, store: PanelStore) -> dict[str, np.ndarray]:
    origins = store.end.clone()
    series = torch.arange(store.n_series)
    out = model.predict_windows(store, series, origins)
    return {str(k): out[i] for i, k in enumerate(store.keys["item_id"])}


def test_gbm_forecast_does_not_depend_on_the_tables_first_date():
    table = panel()
    full = store_of(table)
    model = GradientBoosted(H, "D", (0.1, 0.5, 0.9), seed=0, threads=1).fit(full)
    with_early = forecast(model, full)
    without = forecast(model, store_of(table[table["item_id"] != "i6"]))
    assert set(without) == {f"i{s}" for s in range(6)}
    for key, values in without.items():
        np.testing.assert_allclose(values, with_early[key], rtol=1e-6, atol=1e-6)
    # and both are the refitted trees' forecast
    store = store_of(table[table["item_id"] != "i6"])
    matrix, _ = model.features(store, int(store.end[0]))
    refitted = model._levels(model.boosters, matrix).reshape(store.n_series, H, -1)
    np.testing.assert_allclose(without["i0"], refitted[0], rtol=1e-6, atol=1e-6)


def test_gbm_keeps_its_cutoff_date_when_saved(tmp_path):
    """A run loaded from disk forecasts a later-starting table with its refitted trees too."""
    table = panel(n_days=150)
    model = GradientBoosted(H, "D", (0.1, 0.5, 0.9), seed=0, threads=1).fit(store_of(table))
    model.save_trees(tmp_path / "trees.json")
    restored = GradientBoosted.restore(model.state(), tmp_path / "trees.json")
    trained = forecast(model, store_of(table))
    restored_later = forecast(restored, store_of(table[table["item_id"] != "i6"]))
    for key, values in restored_later.items():
        np.testing.assert_allclose(values, trained[key], rtol=1e-6, atol=1e-6)
