"""A static real that is the same for every training series is flat (the documented rule: a
flat spread scales by 1), whatever its value: its mean and spread across series were taken in
float32, so 27.34 for every series had a std of 2e-6 and a new series at 27.35 read about 5000
instead of 0.01 (a cost of 1e6 + 0.3 had a std of 0.125)."""

import numpy as np
import pandas as pd

from forecasting import PanelSpec
from forecasting.grid import standardize_static, static_stats
from forecasting.store import PanelStore
from forecasting.validate import validate_panel


def _reference(train: np.ndarray, values: np.ndarray) -> np.ndarray:
    # textbook z-score in float64 of the float32 values, a flat spread scaled by 1
    train = train.astype(np.float64)
    mean, std = train.mean(axis=0), train.std(axis=0)
    std = np.where(std > 1e-6, std, 1.0)
    return (values.astype(np.float64) - mean) / std


def test_a_static_real_flat_across_series_reads_its_offset():
    for n_series in (3, 30, 1000):
        for value in (27.34, 81.42, 91.32, 1e6 + 0.3):
            train = np.full((n_series, 1), value, dtype=np.float32)
            stats = static_stats(train)
            new = np.array([[value], [value + 0.01], [value + 2.5]], dtype=np.float32)
            got = standardize_static(new, stats)
            np.testing.assert_allclose(got, _reference(train, new), atol=1e-3)
            np.testing.assert_allclose(standardize_static(train, stats), 0.0, atol=1e-6)


def test_a_store_with_training_stats_reads_a_new_items_cost_as_its_offset():
    dates = pd.date_range("2024-01-01", periods=30, freq="D")
    spec = PanelSpec(freq="D", static_reals=("unit_cost",))

    def table(items, costs):
        return pd.concat(
            [pd.DataFrame({"item_id": item, "location_id": loc, "date": dates,
                           "demand": np.arange(30) % 4 * 1.0, "unit_cost": cost})
             for item, cost in zip(items, costs, strict=True) for loc in ("A", "B", "C")]
        )  # fmt: skip

    train, _ = validate_panel(table(["x"], [27.34]), spec, categories=True)
    store = PanelStore.from_frame(train, spec)
    np.testing.assert_allclose(store.static_real.numpy()[:, 0], 0.0, atol=1e-6)
    later, _ = validate_panel(table(["x", "y"], [27.34, 30.0]), spec, categories=True)
    new = PanelStore.from_frame(later, spec, vocab=store.vocab, static_stats=store.static_stats)
    got = new.static_real.numpy()[:, 0]
    expected = np.where(new.keys["item_id"].to_numpy() == "y", 30.0 - np.float32(27.34), 0.0)
    np.testing.assert_allclose(got, expected, atol=1e-4)
