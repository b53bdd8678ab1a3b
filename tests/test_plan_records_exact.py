"""/v1/plan's _records writes the same rows as before its speed-up: every float digit, NaN and
inf as null, ints, bools, text, None, dates and nullable integers as to_json writes them, the
columns in order (a check that the faster column-at-once conversion changed no answer)."""

import json

import numpy as np
import pandas as pd

from serving.service.app import _records


def _reference(frame):
    records = json.loads(frame.to_json(orient="records", date_format="iso"))
    for k, column in enumerate(frame.columns):
        if frame.dtypes.iloc[k].kind == "f":
            for record, value in zip(records, frame.iloc[:, k].tolist(), strict=True):
                record[str(column)] = value if np.isfinite(value) else None
    return records


def _frame():
    return pd.DataFrame(
        {
            "item_id": ["a", None, "c", "d"],
            "units": np.array([1, 2, 3, 2**53 + 1]),
            "held": [True, False, True, False],
            "safety_stock": [1.5, np.nan, np.inf, -np.inf],
            "f32": np.array([0.1, 2, np.nan, 3], dtype=np.float32),
            "tiny": [4.9e-11, 1.23456789e-08, 0.99999999996, 2.0545804975e16],
            "day": pd.to_datetime(["2024-01-01", None, "2024-03-01", "2024-03-02"]),
            "mixed": [1, "x", None, 2.5],
            "flag": pd.array([True, None, False, True], dtype="boolean"),
            "count": pd.array([1, None, 3, 4], dtype="Int64"),
            7: [0.0, -0.0, 1e308, 5e-324],
        }
    )


def test_records_keep_every_value_type_and_the_column_order():
    frame = _frame()
    got = _records(frame)
    want = _reference(frame)
    assert json.dumps(got) == json.dumps(want)
    assert [list(r) for r in got] == [[str(c) for c in frame.columns]] * len(frame)
    assert got[2]["tiny"] == 0.99999999996 and got[0]["tiny"] == 4.9e-11
    assert got[0]["count"] == 1 and isinstance(got[0]["count"], int)
    assert got[1]["safety_stock"] is None and got[2]["safety_stock"] is None
    json.dumps(got, allow_nan=False)


def test_records_of_empty_frames():
    frame = _frame()
    for part in (frame.iloc[:0], frame.iloc[:, :0], frame[["tiny"]], frame[["item_id"]]):
        assert _records(part) == _reference(part)


def test_records_of_a_plan_answer():
    from kernels import Policy, plan

    rng = np.random.default_rng(3)
    n = 40
    forecast = pd.DataFrame(
        {
            "item_id": [f"i{i}" for i in range(n)],
            "location_id": "FC1",
            "demand_mean": rng.gamma(2, 10, n),
            "demand_std": rng.gamma(2, 3, n),
        }
    )
    inventory = forecast[["item_id", "location_id"]].assign(
        on_hand=rng.integers(0, 100, n).astype(float), lead_time_mean=5.0, review_period=7.0
    )
    rows = plan(forecast, inventory, Policy())
    rows.iloc[::5, 3] = np.nan
    assert json.dumps(_records(rows)) == json.dumps(_reference(rows))
