"""A cold-start training window (history hidden) must be scaled by the level a new item gets:
its peers' mean demand before the origin, without its own. ``OriginPrior`` counted the item's
own demand in its group's level, so an item alone in its group trained its cold-start path at
exactly its own level (a new item's table has none of it and falls back to its location)."""

import numpy as np
import pandas as pd
import pytest
import torch

from forecasting import Forecaster, PanelSpec
from forecasting.windows import OriginPrior, make_batch

H, L, T = 7, 14, 80


def _frame():
    dates = pd.date_range("2024-01-01", periods=T, freq="D")
    rng = np.random.default_rng(0)
    rows = []
    for item, category, level in (("a", "x", 50.0), ("b", "y", 2.0), ("c", "y", 4.0)):
        rows.append(
            pd.DataFrame(
                {
                    "item_id": item,
                    "location_id": "L",
                    "date": dates,
                    "demand": rng.poisson(level, T).astype(float),
                    "category": category,
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


@pytest.mark.parametrize("item, peers", [("a", ["b", "c"]), ("b", ["c"])])
def test_hidden_window_level_leaves_out_the_items_own_demand(item, peers):
    frame = _frame()
    spec = PanelSpec(freq="D", static_categoricals=("category",))
    store = Forecaster("lstm", H, spec=spec).store(frame)
    cutoff, origin = T - H, 40
    s = int(np.flatnonzero(store.keys["item_id"] == item)[0])
    series, origins = torch.tensor([s, s]), torch.tensor([origin, origin])
    hidden = torch.tensor([True, False])
    batch = make_batch(
        store, series, origins, L, H, OriginPrior(store, cutoff, 1.0), hide_history=hidden
    )
    # Reference: the mean demand per period before the origin of the item's peers (its
    # category at its location; "a" has none there, so its location's other items).
    history = frame[frame["date"] < frame["date"].min() + pd.Timedelta(days=origin)]
    expected = history[history["item_id"].isin(peers)]["demand"].mean()
    assert float(batch["scale"][0]) == pytest.approx(expected, rel=1e-5)
    # a window with its history keeps the level of its group, its own demand included
    own = history[history["item_id"].isin([item, *peers[: 1 if item == "b" else 0]])]
    group = own["demand"].to_numpy()
    demand = history[history["item_id"] == item]["demand"].to_numpy()
    warm = (demand[-L:].sum() + group.mean()) / (L + 1)
    assert float(batch["scale"][1]) == pytest.approx(warm, rel=1e-5)
