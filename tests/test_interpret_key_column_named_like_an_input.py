"""A key column named like one of the networks' own inputs of its kind (a demand column
'observed' beside the demand's observation flag, a location column 'log_scale') is not renamed
into it: the importance table listed two encoder rows 'observed' (0.119 and 0.059 in the audit's
run) that no reader could tell apart, and the plot drew them as one bar."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
import torch

from forecasting import PanelSpec
from forecasting.interpret import in_column_names, interpret_windows
from forecasting.models.inputs import InputDims
from forecasting.models.tft import TemporalFusionTransformer
from forecasting.store import PanelStore

H, L = 3, 6


def interpretation(**columns):
    """(importance in the networks' names, the same named as a table of ``columns`` names it)
    of an untrained TFT; the store is read in the key columns' canonical names, as
    :meth:`Forecaster._store_for` reads a validated table."""
    n, periods = 3, 20
    frame = pd.DataFrame(
        {
            "item_id": np.repeat([f"A{i}" for i in range(n)], periods),
            "location_id": "F",
            "date": np.tile(pd.date_range("2024-01-01", periods=periods, freq="D"), n),
            "demand": np.random.default_rng(0).poisson(5, n * periods).astype(float),
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        store = PanelStore.from_frame(frame, PanelSpec(freq="D", calendar=False))
    torch.manual_seed(0)
    net = TemporalFusionTransformer(InputDims.from_store(store), H, (0.1, 0.5, 0.9), 8)
    series = torch.arange(n)
    raw, _ = interpret_windows(net, store, series, torch.full_like(series, 15), L, H, 1.0)
    return raw, in_column_names(raw, PanelSpec(freq="D", calendar=False, **columns))


@pytest.mark.parametrize(
    "columns",
    [
        {"target_col": "observed"},
        {"target_col": "seasonal_lag"},
        {"location_col": "log_scale"},
        {"item_col": "log_scale"},
    ],
)
def test_no_two_inputs_share_a_name(columns):
    raw, named = interpretation(**columns)
    assert not named.duplicated(["kind", "variable"]).any(), named
    # Each row keeps its number; only the key inputs' names may change.
    np.testing.assert_array_equal(named["importance"], raw["importance"])
    assert (named["kind"] == raw["kind"]).all()


def test_key_columns_otherwise_keep_the_tables_names():
    raw, named = interpretation(item_col="sku", location_col="fc", target_col="units")
    renamed = {"item_id": "sku", "location_id": "fc", "target": "units"}
    assert named["variable"].tolist() == [renamed.get(v, v) for v in raw["variable"]]
    # A name clash in one kind leaves the other kinds' key inputs named as the table names them.
    raw, named = interpretation(item_col="sku", target_col="observed")
    static = set(named.loc[named["kind"] == "static", "variable"])
    assert {"sku", "location_id", "log_scale"} == static
