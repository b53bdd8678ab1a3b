"""What a forecast request's answer says: ``cumulative`` is a number of periods (JSON ``true``,
a client reading it as a switch, is a 422 naming the field, not the one-period sums), and an
unseen item, FC or category, which maps to the unknown embedding "with a warning naming it"
(README, cold start), is named in the answer to a forecast and to a plan made from series, as
the Python API warns of it."""

from __future__ import annotations

import json

import numpy as np
import pytest

from serving.runtime import ForecastPackage


def _rows(small_network, item=None):
    frame = small_network.to_frame()
    one = frame[(frame["item_id"] == frame["item_id"].iloc[0])
                & (frame["location_id"] == frame["location_id"].iloc[0])]  # fmt: skip
    one = one.assign(date=one["date"].dt.strftime("%Y-%m-%d"))
    rows = json.loads(one.to_json(orient="records"))
    return [dict(r, item_id=item) for r in rows] if item else rows


@pytest.fixture(scope="module")
def rows(small_network):
    return _rows(small_network)


@pytest.mark.parametrize("value", [True, False, 2.5])
def test_cumulative_must_be_a_whole_number_of_periods(lstm_client, rows, value):
    response = lstm_client.post("/v1/forecast", json={"rows": rows, "cumulative": value})
    assert response.status_code == 422, response.text[:300]
    assert response.json()["detail"][0]["field"] == "cumulative"


def test_a_whole_cumulative_gives_its_horizons(lstm_client, rows):
    response = lstm_client.post("/v1/forecast", json={"rows": rows, "cumulative": 7})
    assert response.status_code == 200, response.text[:300]
    assert sorted({r["horizon"] for r in response.json()["rows"]}) == list(range(1, 8))


@pytest.mark.filterwarnings("ignore:categories unseen")
def test_a_forecast_of_an_unseen_item_says_so(lstm_client, small_network):
    known = lstm_client.post("/v1/forecast", json={"rows": _rows(small_network)})
    assert known.status_code == 200 and known.json()["warnings"] == []
    new = lstm_client.post("/v1/forecast", json={"rows": _rows(small_network, "NEW-SKU")})
    assert new.status_code == 200, new.text[:300]
    warnings = new.json()["warnings"]
    assert len(warnings) == 1 and "unknown embedding" in warnings[0] and "NEW-SKU" in warnings[0]


@pytest.mark.filterwarnings("ignore:categories unseen")
def test_a_plan_from_series_of_an_unseen_item_says_so(lstm_client, small_network):
    rows = _rows(small_network, "NEW-SKU")
    inventory = [{"item_id": "NEW-SKU", "location_id": rows[0]["location_id"], "on_hand": 5,
                  "lead_time_mean": 3}]  # fmt: skip
    response = lstm_client.post("/v1/plan", json={"series": rows, "inventory": inventory})
    assert response.status_code == 200, response.text[:300]
    assert any("NEW-SKU" in w for w in response.json()["warnings"])


# cumulative is a number of periods in the Python API and the package runtime too: True is not
# a switch that quietly returns the one-period sums, and 7.0 gets the same one-line error as 0.
@pytest.mark.parametrize("value", [True, False, np.True_, 7.0, 2.5])
def test_the_python_api_refuses_a_cumulative_that_is_no_number_of_periods(
    lstm_package, small_network, value
):
    forecaster, _, _ = lstm_package
    with pytest.raises(ValueError, match="cumulative: expected 1..7"):
        forecaster.predict(small_network.to_frame(), cumulative=value)


@pytest.mark.parametrize("value", [True, 7.0])
def test_the_package_refuses_it_too(lstm_package, small_network, value):
    _, package, _ = lstm_package
    with pytest.raises(ValueError, match="cumulative: expected 1..7"):
        ForecastPackage(package).predict(small_network.to_frame(), cumulative=value)


def test_a_whole_number_of_any_integer_type_still_works(lstm_package, small_network):
    forecaster, _, _ = lstm_package
    table = forecaster.predict(small_network.to_frame(), cumulative=np.int64(3))
    assert sorted(table["horizon"].unique()) == [1, 2, 3]


def _tensors(feeds):
    out = []
    for name, value in feeds.items():
        datatype = (
            "BYTES"
            if value.dtype == object
            else {"float32": "FP32", "int64": "INT64"}[str(value.dtype)]
        )
        data = value.ravel().tolist()
        if datatype == "FP32":
            data = [None if np.isnan(x) else x for x in data]
        out.append({"name": name, "shape": list(value.shape), "datatype": datatype, "data": data})
    return out


@pytest.mark.parametrize("bad", [None, False, 0.0], ids=["null", "false", "fraction"])
def test_bytes_tensors_refuse_values_that_are_not_text(
    lstm_client, lstm_package, small_network, bad
):
    from serving.runtime import ForecastPackage

    _, package, _ = lstm_package
    frame = small_network.to_frame()
    keys = frame[["item_id", "location_id"]].drop_duplicates().iloc[0]
    one = frame[
        (frame["item_id"] == keys["item_id"]) & (frame["location_id"] == keys["location_id"])
    ]
    feeds = ForecastPackage(package).prepare(one).feeds
    good = lstm_client.post("/v2/models/lstm/infer", json={"inputs": _tensors(feeds)})
    assert good.status_code == 200, good.text
    promo = feeds["known.promo"].copy()
    assert (promo == "0").any()
    promo[promo == "0"] = bad
    response = lstm_client.post(
        "/v2/models/lstm/infer", json={"inputs": _tensors({**feeds, "known.promo": promo})}
    )
    assert response.status_code == 422, response.text
    assert "known.promo" in response.text
