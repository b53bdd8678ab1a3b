"""A table mapped with --item-col / --location-col / --target-col may also hold an unused column
named like the canonical key (`item_id` beside `sku`, `demand` beside `units`): it is ignored."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting import Forecaster, PanelSpec
from forecasting.io import load_panel, map_columns
from forecasting.validate import PanelError, validate_panel
from kernels.io import FileError
from training import TrainConfig

H = 7


def _panel(days: int = 80) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    dates = pd.date_range("2023-01-02", periods=days + H, freq="D")
    rows = []
    for s in range(3):
        for k, day in enumerate(dates):
            units = np.nan if k >= days else float(rng.poisson(2 + 3 * s))
            rows.append({"sku": f"i{s}", "store_id": "L0", "day": day, "units": units})
    return pd.DataFrame(rows)


SPEC = PanelSpec(item_col="sku", location_col="store_id", date_col="day", target_col="units")


@pytest.fixture(scope="module")
def fitted():
    train = TrainConfig(max_epochs=1, batches_per_epoch=2, batch_size=16, progress_bar=False)
    frame = _panel()
    return Forecaster("lstm", H, spec=SPEC, train=train, hidden_size=8).fit(frame), frame


@pytest.mark.parametrize(
    "column, value",
    [("item_id", "internal-7"), ("location_id", "X"), ("demand", 5.0), ("date", "n/a")],
)
def test_an_unused_column_named_like_a_canonical_key_is_ignored(fitted, column, value):
    forecaster, frame = fitted
    expected = forecaster.predict(frame)
    got = forecaster.predict(frame.assign(**{column: value}))
    pd.testing.assert_frame_equal(got, expected)


def test_cli_predict_ignores_it_too(fitted, tmp_path):
    from serving.cli import main

    forecaster, frame = fitted
    forecaster.save(tmp_path / "run")
    frame.assign(demand=0.0).to_csv(tmp_path / "sales.csv", index=False)
    run, data, out = tmp_path / "run", tmp_path / "sales.csv", tmp_path / "f.parquet"
    code = main(["forecast", "predict", "--run", str(run), "--data", str(data), "--out", str(out)])
    assert code == 0
    got = pd.read_parquet(tmp_path / "f.parquet")
    np.testing.assert_allclose(
        got.filter(like="q").to_numpy(), forecaster.predict(frame).filter(like="q").to_numpy()
    )


UNITS_SPEC = PanelSpec(target_col="units")


def test_csv_with_a_column_twice_is_refused(tmp_path):
    path = tmp_path / "sales.csv"
    path.write_text(
        "item_id,location_id,date,units,units\na,x,2024-01-01,1,5\na,x,2024-01-02,2,6\n"
    )
    with pytest.raises((FileError, PanelError), match="units"):
        validate_panel(load_panel(path, UNITS_SPEC), UNITS_SPEC)


def test_frame_with_a_column_twice_is_refused_by_name():
    frame = pd.DataFrame(
        [["a", "x", "2024-01-01", 1, 5], ["a", "x", "2024-01-02", 2, 6]],
        columns=["item_id", "location_id", "date", "units", "units"],
    )
    with pytest.raises(PanelError, match="units"):
        validate_panel(map_columns(frame, UNITS_SPEC), UNITS_SPEC)


def test_distinct_columns_still_read(tmp_path):
    path = tmp_path / "sales.csv"
    path.write_text("item_id,location_id,date,units,units.1\na,x,2024-01-01,1,5\n")
    assert load_panel(path, UNITS_SPEC)["demand"].tolist() == [1]
