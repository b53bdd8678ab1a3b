"""A new item listed from a period after the forecast origin (a launch g periods ahead) is
forecast from its first row, and a lead-time table has no dates: a plan reads its row h as the
demand of the next h periods from the origin. Its rows are shifted by the launch: 0 for h <= g,
the launch's own lead-time quantiles of h - g periods after (it sells nothing before), and a
note names the series (a user may not expect the zeros). They said the launch's first h periods
(with a warning): a plan ordered the launch's first days now."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import training.forecaster as forecaster_module
from forecasting import Forecaster
from forecasting.grid import ended_early
from forecasting.spec import PanelSpec
from forecasting.tables import cumulative_frame
from kernels import Policy, plan
from training import TrainConfig

H = 7
DATES = pd.date_range("2024-01-01", periods=60, freq="D")
LEVELS = ["q0.05", "q0.1", "q0.25", "q0.5", "q0.75", "q0.9", "q0.95"]


def _table(launch_day: int) -> pd.DataFrame:
    demand = 5.0 + np.random.default_rng(0).integers(0, 4, len(DATES))
    sold = pd.DataFrame({"item_id": "A", "location_id": "L", "date": DATES, "demand": demand})
    dates = pd.date_range(DATES[0] + pd.Timedelta(days=launch_day), periods=H, freq="D")
    new = pd.DataFrame({"item_id": "B", "location_id": "L", "date": dates, "demand": np.nan})
    return pd.concat([sold, new], ignore_index=True)


@pytest.fixture(scope="module")
def fitted():
    # A network: a new item's cold-start forecast is not 0 (a seasonal naive one is).
    train = TrainConfig(max_epochs=1, batches_per_epoch=2, batch_size=8, progress_bar=False)
    spec = PanelSpec()
    return Forecaster("lstm", H, spec=spec, train=train, hidden_size=4, encoder_length=14).fit(
        _table(60)
    )


def _unshifted(fitted, table, monkeypatch, cumulative=H):
    """The table as it was before the shift (the launch's own first periods): reference."""
    with monkeypatch.context() as patch:
        patch.setattr(forecaster_module, "launch_origin", lambda end, first_row: None)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fitted.predict(table, cumulative=cumulative)


def _b(table: pd.DataFrame) -> np.ndarray:
    return table.loc[table["item_id"] == "B", LEVELS].to_numpy()


def test_a_launch_ahead_is_shifted_by_its_launch(fitted, monkeypatch):
    table = _table(63)  # B launches 3 days after the origin (2024-03-01)
    with pytest.warns(UserWarning, match=r"B @ L \(first row 2024-03-04\): their lead-time rows"):
        got = fitted.predict(table, cumulative=H)
    old = _unshifted(fitted, table, monkeypatch)
    expected = np.zeros_like(_b(old))
    expected[3:] = _b(old)[: H - 3]  # origin's days 1..h: 0, then the launch's days 1..h - 3
    np.testing.assert_array_equal(_b(got), expected)
    assert _b(old)[0, 3] > 0  # the launch's first day sells: the old row 1 was not 0
    a = got["item_id"] == "A"
    pd.testing.assert_frame_equal(got[a], old[old["item_id"] == "A"])
    # Per-step rows carry their dates: unchanged, B from its launch.
    first = fitted.predict(table).groupby("item_id")["date"].min()
    assert first["B"] == pd.Timestamp("2024-03-04") and first["A"] == pd.Timestamp("2024-03-01")


def test_a_launch_the_table_does_not_reach_is_all_zero(fitted):
    with pytest.warns(UserWarning, match=r"1 start 3 or more periods after it: every row 0"):
        got = fitted.predict(_table(63), cumulative=3)
    assert (_b(got) == 0).all() and len(_b(got)) == 3


def test_per_step_tables_and_launches_at_the_origin_are_unchanged(fitted, monkeypatch):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fitted.predict(_table(63))  # per-step rows carry their dates
        at_origin = fitted.predict(_table(60), cumulative=H)
    pd.testing.assert_frame_equal(at_origin, _unshifted(fitted, _table(60), monkeypatch))


def test_a_plan_orders_the_launch_ahead_from_its_launch(fitted, monkeypatch):
    # 4 days of fixed lead time at a cycle service of 0.9: the reorder point is the 0.9
    # quantile of the next 4 days' demand, 1 day of it B's (its launch is 3 days ahead).
    table = _table(63)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = fitted.predict(table, cumulative=H)
    inventory = pd.DataFrame(
        {"item_id": ["A", "B"], "location_id": "L", "on_hand": 0.0, "lead_time_mean": 4.0}
    ).assign(lead_time_std=0.0, review_period=0.0)
    policy = Policy(service_level=0.9, service_type="cycle")
    launch_day_1 = _unshifted(fitted, table, monkeypatch).query("item_id == 'B' and horizon == 1")
    planned = plan(got, inventory, policy).set_index("item_id")["reorder_point"]
    assert planned["B"] == pytest.approx(float(launch_day_1["q0.9"].iloc[0]), rel=1e-6)


def test_weekly_and_monthly_tables_shift_in_steps():
    keys = pd.DataFrame({"item_id": ["A", "B"], "location_id": ["L", "L"]})
    q = np.cumsum(np.tile([[1.0, 2.0]], (2, 4, 1)) * [[[1]], [[10]]], axis=1)  # (2, 4, 2)
    weeks = pd.date_range("2024-01-01", periods=12, freq="W-MON")
    table = cumulative_frame(keys, np.arange(2), q, [0.1, 0.9], "W", weeks, [10, 12], origin=10)
    b = table.loc[table["item_id"] == "B", ["q0.1", "q0.9"]].to_numpy()
    np.testing.assert_array_equal(b, [[0, 0], [0, 0], [10, 20], [20, 40]])
    assert (table["step_days"] == 7).all()
    # Monthly: B launches in March 2024, two months after the origin (January): the steps
    # are shifted first, then re-read at h * 30.4375 days of the origin's months (31, 29, 31,
    # 30 days), the launch's month spread evenly over its days.
    months = pd.date_range("2023-01-01", periods=12, freq="MS")
    table = cumulative_frame(keys, np.arange(2), q, [0.1, 0.9], "M", months, [12, 14], origin=12)
    b = table.loc[table["item_id"] == "B", "q0.1"].to_numpy()
    ends = np.cumsum([0, 31, 29, 31, 30])
    expected = np.interp(np.arange(1, 5) * 30.4375, ends, [0, 0, 0, 10, 20])
    expected[3] = 20 + (4 * 30.4375 - 121) * 10 / 30  # past the 4 months: April's rate
    np.testing.assert_allclose(b, expected, rtol=1e-6)
    assert b[0] == 0 and 0 < b[1] < 1  # 1.75 days of March past February's 60


def test_the_grid_rule_the_package_runtime_shares():
    keys = pd.DataFrame({"item_id": ["A", "B", "C"], "location_id": ["L"] * 3})
    dates = pd.date_range("2024-01-01", periods=20, freq="D")
    end, first_row = np.array([10, 0, 0]), np.array([0, 10, 14])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert ended_early(keys, dates, end, first_row) is None
    with pytest.warns(UserWarning, match=r"C @ L \(first row 2024-01-15\): their lead-time"):
        note = ended_early(keys, dates, end, first_row, cumulative=7)
    assert note is not None and "B @ L" not in note and "(2024-01-11)" in note
    assert "every row 0" not in note
    with pytest.warns(UserWarning, match=r"1 start 4 or more periods after it: every row 0"):
        ended_early(keys, dates, end, first_row, cumulative=4)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:1 of 2 series have no observed demand")
def test_the_onnx_package_shifts_as_the_run_does(tmp_path):
    from serving.export import export_run
    from serving.runtime import ForecastPackage

    train = TrainConfig(max_epochs=1, batches_per_epoch=2, batch_size=8, progress_bar=False)
    run = tmp_path / "run"
    fitted = Forecaster("lstm", H, spec=PanelSpec(), train=train, hidden_size=4)
    fitted.fit(_table(60), run_dir=run)
    runtime = ForecastPackage(export_run(run, tmp_path / "repo"))
    table = _table(63)
    expected = fitted.predict(table, cumulative=H)
    got = runtime.predict(table, cumulative=H)
    np.testing.assert_allclose(_b(got), _b(expected), rtol=1e-4, atol=1e-4)
    assert (_b(got)[:3] == 0).all() and (_b(got)[3:] > 0).all()
    # The service's warnings name it (what a client of /v1/forecast reads).
    notes = runtime.prepare(table, cumulative=H).warnings
    assert any("B @ L (first row 2024-03-04): their lead-time rows are shifted" in n for n in notes)
