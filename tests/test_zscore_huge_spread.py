"""Reals are accepted up to float32's range (3.4e38), and their z-scores must be the textbook
ones there too: numpy's ``nanstd(..., dtype=np.float64)`` of a float32 array squares the
deviations in float32, so a spread beyond about 1.8e19 had an infinite std, which the flat-spread
rule scaled by 1: known and observed reals of 1e30 read about 1e29 at prediction (training
windows, z-scored in float64, read them about 1), and a static real of 1e30 beside 2 and -7
read -3.3e29 instead of -0.71."""

import numpy as np
import pandas as pd

from forecasting import PanelSpec
from forecasting.grid import standardize, standardize_history, standardize_static, static_stats
from forecasting.store import PanelStore
from forecasting.validate import validate_panel


def _reference(window: np.ndarray, values: np.ndarray) -> np.ndarray:
    # z-score from the definition, in float64: population std, NaN ignored
    window = pd.DataFrame(window.astype(np.float64).T)
    mean, std = window.mean(), window.std(ddof=0)
    return (values.astype(np.float64) - mean.to_numpy()[:, None]) / std.to_numpy()[:, None]


def test_time_z_scores_of_huge_and_negative_reals():
    for scale in (1e30, -1e30, 3e38 / 4, 1.0):
        raw = scale * np.array([[1.0, 2.0, np.nan, 3.0, 4.0], [-1.0, 1.0, 0.5, -0.5, 2.0]])
        raw = raw.astype(np.float32)
        got = standardize(raw.copy(), 4)
        expected = np.nan_to_num(_reference(raw[:, :4], raw))
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)
        got = standardize_history(raw.copy(), np.array([3, 5]))
        first = _reference(raw[:1, :3], raw[:1])
        second = _reference(raw[1:], raw[1:])
        expected = np.nan_to_num(np.concatenate([first, second]))
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_static_reals_of_huge_magnitude():
    values = np.array([[2.0], [-7.0], [1e30]], dtype=np.float32)
    got = standardize_static(values, static_stats(values))[:, 0]
    column = values[:, 0].astype(np.float64)
    expected = (column - column.mean()) / column.std()
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_store_reads_a_price_of_1e30_as_its_z_score():
    dates = pd.date_range("2024-01-01", periods=8, freq="D")
    price = np.array([1.0, 2.0, 1.5, 3.0, 2.5, 2.0, 1.0, 3.0]) * 1e30
    frame = pd.DataFrame({"item_id": "a", "location_id": "x", "date": dates,
                          "demand": [1.0, 2, 3, 4, 5, 6, np.nan, np.nan], "price": price,
                          "size": 1e30})  # fmt: skip
    frame = pd.concat([frame, frame.assign(item_id="b", size=-5.0)])
    spec = PanelSpec(freq="D", known_reals=("price",), static_reals=("size",))
    clean, _ = validate_panel(frame, spec)
    store = PanelStore.from_frame(clean, spec)
    history = price[:6]
    expected = (price - history.mean()) / history.std()
    got = store.known_real[0].values.numpy()[0, :, 0]
    np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-6)
    sizes = np.array([1e30, -5.0])
    np.testing.assert_allclose(
        store.static_real.numpy()[:, 0], (sizes - sizes.mean()) / sizes.std(), rtol=1e-5
    )
