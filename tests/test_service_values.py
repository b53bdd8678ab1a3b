"""Service answers that must not depend on how JSON wrote a value: an integer categorical with a
null cell (read as float), numeric item ids in a plan from series; and the package refuses a
known real missing inside the horizon."""

from __future__ import annotations

import json
import warnings

import numpy as np
import pandas as pd
import pytest

from forecasting.validate import PanelError
from serving.runtime import ForecastPackage


def _rows(frame: pd.DataFrame) -> list[dict]:
    return json.loads(frame.assign(date=frame["date"].dt.strftime("%Y-%m-%d")).to_json(
        orient="records"))  # fmt: skip


def _table(body: dict) -> pd.DataFrame:
    return pd.DataFrame([{**{k: v for k, v in r.items() if k != "quantiles"}, **r["quantiles"]}
                         for r in body["rows"]])  # fmt: skip


def test_an_integer_categorical_with_a_missing_cell_keeps_its_training_levels(
    lstm_client, small_network
):
    """JSON rows whose promo column has one null (pandas then reads it as float) or whose
    promo is written 0.0 are the same levels "0"/"1" the model was trained on: a null in one
    series' row must not change another series' forecast."""
    frame = small_network.to_frame()
    few = frame[frame["item_id"].isin(frame["item_id"].unique()[:2])]
    rows = _rows(few)
    base = _table(lstm_client.post("/v1/forecast", json={"rows": rows}).json())
    other = rows[-1]["item_id"]
    changed = [dict(r) for r in rows]
    changed[[i for i, r in enumerate(changed) if r["item_id"] == other][5]]["promo"] = None
    response = lstm_client.post("/v1/forecast", json={"rows": changed})
    assert response.status_code == 200, response.text
    got = _table(response.json())
    first = base["item_id"] == rows[0]["item_id"]
    np.testing.assert_allclose(got.loc[first, "q0.5"], base.loc[first, "q0.5"], rtol=1e-6)
    as_float = json.dumps({"rows": [dict(r, promo=float(r["promo"])) for r in rows]})
    response = lstm_client.post("/v1/forecast", content=as_float,
                           headers={"content-type": "application/json"})  # fmt: skip
    assert '"promo": 0.0' in as_float and response.status_code == 200
    np.testing.assert_allclose(_table(response.json())["q0.5"], base["q0.5"], rtol=1e-6)


def test_a_known_real_missing_inside_the_horizon_is_refused_as_at_its_end(
    lstm_package, small_network
):
    """A future row without its price limits the forecast there (README: missing on future
    rows limits how far the series can be forecast), wherever it sits in the horizon; before,
    only a missing last row was refused and one inside it was silently the series' mean."""
    _, package, _ = lstm_package
    runtime = ForecastPackage(package)
    frame = small_network.to_frame()
    one = frame[(frame["item_id"] == frame["item_id"].iloc[0])
                & (frame["location_id"] == frame["location_id"].iloc[0])].copy()  # fmt: skip
    future = one.index[one["demand"].isna()]
    for position in (2, 6):  # inside the 7-period horizon, and at its end
        gap = one.copy()
        gap.loc[future[position], "price"] = np.nan
        with pytest.raises(PanelError, match="longer than the known covariates"):
            runtime.predict(gap)
    missing_row = one.drop(future[2])
    with pytest.raises(PanelError, match="longer than the known covariates"):
        runtime.predict(missing_row)
    beyond = one.copy()
    beyond.loc[future[7:], "price"] = np.nan  # past the horizon: no harm
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert len(runtime.predict(beyond)) == 7


def test_plan_from_series_with_numeric_ids_matches_the_inventory(lstm_client, small_network):
    """Series and inventory both keyed by JSON numbers plan as the same keys written as text."""
    frame = small_network.to_frame()
    few = frame[frame["item_id"].isin(frame["item_id"].unique()[:2])].copy()
    few["item_id"] = few["item_id"].astype(str).str[-2:].astype(int)
    rows = _rows(few)
    keys = few[["item_id", "location_id"]].drop_duplicates().reset_index(drop=True)
    inventory = keys.assign(on_hand=3.0, lead_time_mean=3.0, lead_time_std=0.5)
    records = json.loads(inventory.to_json(orient="records"))
    assert isinstance(records[0]["item_id"], int)
    response = lstm_client.post("/v1/plan", json={"series": rows, "inventory": records})
    assert response.status_code == 200, response.text
    text = [dict(r, item_id=str(r["item_id"])) for r in rows]
    expected = lstm_client.post(
        "/v1/plan",
        json={"series": text, "inventory": [dict(r, item_id=str(r["item_id"])) for r in records]},
    )
    assert expected.status_code == 200, expected.text
    got, want = pd.DataFrame(response.json()["rows"]), pd.DataFrame(expected.json()["rows"])
    np.testing.assert_allclose(got["reorder_point"], want["reorder_point"], rtol=1e-9)
    assert list(got["item_id"].astype(str)) == list(want["item_id"])


def test_a_new_item_whose_first_row_opens_the_table_is_forecast_on_both_paths(
    lstm_package, small_network
):
    """A new item (only future rows, no demand) whose first row is the table's first date has
    origin 0, which read as "nothing to do": it was left out of the forecast without a word,
    while the same item starting a day later got its rows. Torch and package agree."""
    forecaster, package, _ = lstm_package
    frame = small_network.to_frame()
    one = frame[(frame["item_id"] == frame["item_id"].iloc[0])
                & (frame["location_id"] == frame["location_id"].iloc[0])]  # fmt: skip
    last = one.loc[one["demand"].notna(), "date"].max()
    recent = one[one["date"] > last - pd.Timedelta(days=30)]
    for start in (0, 1):  # the new item's rows open the table, or start a day later
        new = recent.iloc[start:].assign(item_id="NEW", demand=np.nan)
        table = pd.concat([recent, new], ignore_index=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # the new item's id is unseen: a warning names it
            ours = forecaster.predict(table)
            served = ForecastPackage(package).predict(table)
        for out in (ours, served):
            rows = out[out["item_id"] == "NEW"]
            assert len(rows) == 7 and rows["date"].min() == new["date"].min()
        np.testing.assert_allclose(
            served.sort_values(["item_id", "step"])["q0.5"].to_numpy(),
            ours.sort_values(["item_id", "step"])["q0.5"].to_numpy(),
            rtol=1e-4, atol=1e-4,
        )  # fmt: skip


@pytest.mark.parametrize(
    ("datatype", "onnx_type", "data", "ok"),
    [
        ("INT64", "tensor(int64)", [1, 2], True),
        ("INT64", "tensor(int64)", [1.0, 2.0], True),
        ("INT64", "tensor(int64)", [1.5, 2.0], False),  # NumPy truncates it to 1
        ("INT64", "tensor(int64)", [float("nan"), 1.0], False),
        ("UINT8", "tensor(uint8)", [300.0, 1.0], False),  # NumPy wraps it to 44
        ("BOOL", "tensor(bool)", [2, 0], False),  # NumPy reads it as True
        ("BOOL", "tensor(bool)", [1, 0], True),
    ],
)
def test_oip_integer_tensors_refuse_values_they_cannot_hold(datatype, onnx_type, data, ok):
    """An OIP tensor's values are taken only when its datatype holds them exactly: a
    fractional INT64 was truncated and answered as if the client had sent the whole number."""
    from types import SimpleNamespace

    from fastapi import HTTPException

    from serving.service.app import _to_array
    from serving.service.schemas import Tensor

    tensor = Tensor(name="codes", shape=[2], datatype=datatype, data=data)
    expected = SimpleNamespace(type=onnx_type, shape=[None])
    if ok:
        np.testing.assert_array_equal(
            _to_array(tensor, expected),
            np.asarray(data).astype(bool if datatype == "BOOL" else np.int64),
        )
        return
    with pytest.raises(HTTPException) as raised:
        _to_array(tensor, expected)
    assert raised.value.status_code == 422 and "inputs.codes" in raised.value.detail
