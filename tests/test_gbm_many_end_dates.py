"""The gbm's cost of a request grows with the windows asked for, not with the panel per origin.

A user forecasting a table whose series end on different dates (each series is forecast from
its own last observation: one origin per end date) relies on the forecast taking about as long
as one origin's: the trees were asked for every series of the panel at every origin, so a
panel of S series ending on S dates cost S times the rows (a brute-force count of the rows the
trees predicted is the reference: one per window and step).
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


class Counting:
    """A booster that counts the rows it is asked to predict."""

    def __init__(self, booster, counter: list[int]):
        self.booster, self.counter = booster, counter

    def predict(self, matrix):
        self.counter.append(len(matrix))
        return self.booster.predict(matrix)


def test_gbm_predicts_only_the_windows_asked_for():
    rng = np.random.default_rng(0)
    dates = pd.date_range("2023-01-02", periods=200, freq="D")
    panel = pd.concat(
        pd.DataFrame({"item_id": f"i{s}", "location_id": "fc", "date": dates,
                      "demand": rng.poisson(5 + s, size=len(dates)).astype(float)})
        for s in range(12)
    )  # fmt: skip
    spec = PanelSpec(freq="D")
    clean, _ = validate_panel(panel, spec, categories=True)
    store = PanelStore.from_frame(clean, spec.with_freq("D"))
    cutoff = store.n_periods - H
    model = GradientBoosted(H, "D", (0.1, 0.5, 0.9), threads=1).fit(store, cutoff)
    series = torch.arange(store.n_series)
    origins = cutoff + 1 - series % 4  # four end dates
    expected = model.predict_windows(store, series, origins)
    rows: list[int] = []
    for kind in ("boosters", "validation_boosters"):
        trees = getattr(model, kind)
        setattr(model, kind, {q: Counting(b, rows) for q, b in trees.items()})
    np.testing.assert_array_equal(model.predict_windows(store, series, origins), expected)
    assert sum(rows) == len(series) * H * 3  # one row per window, step and level
