"""The data fingerprint of a forecasting run changes with the training data the network
reads (dates, known reals), and not with the row order or prediction-only future rows."""

from __future__ import annotations

import numpy as np
import pandas as pd

from forecasting import Forecaster, PanelSpec
from training.forecaster import store_fingerprint

SPEC = PanelSpec(static_categoricals=("cat",), known_reals=("price",))


def _table() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    dates = pd.date_range("2022-01-03", periods=30, freq="7D")
    return pd.DataFrame(
        [
            {"item_id": f"i{i}", "location_id": "l0", "date": d, "demand": float(rng.poisson(5)),
             "cat": f"c{i % 2}", "price": float(rng.uniform(1, 3))}
            for i in range(6)
            for d in dates
        ]
    )  # fmt: skip


def _fingerprint(table: pd.DataFrame) -> str:
    store = Forecaster("lstm", horizon=4, spec=SPEC).store(table)
    return store_fingerprint(store, int(store.end.max()))


def test_the_fingerprint_follows_the_training_data():
    table = _table()
    base = _fingerprint(table)
    assert _fingerprint(table.sample(frac=1, random_state=1)) == base
    future = table[table["date"] == table["date"].max()].copy()
    future["date"] += pd.Timedelta(weeks=1)
    future["demand"] = np.nan
    assert _fingerprint(pd.concat([table, future])) == base  # rows a forecast reads

    shifted = table.assign(date=table["date"] + pd.Timedelta(weeks=26))
    assert _fingerprint(shifted) != base  # another calendar: another model
    repriced = table.copy()
    repriced.loc[3, "price"] += 1.0
    assert _fingerprint(repriced) != base
    resold = table.copy()
    resold.loc[3, "demand"] += 1.0
    assert _fingerprint(resold) != base
