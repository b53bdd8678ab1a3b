"""A categorical's levels are its values as text, read from a CSV as a parquet file keeps them:
a code list such as `00`, `01`, `02` is not the numbers 0, 1, 2 (whose text is another level),
while a CSV of an integer column with an empty cell (`1.0`) still reads as the integers."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from forecasting import Forecaster
from forecasting.io import load_panel
from forecasting.spec import PanelSpec
from training import TrainConfig

H = 7
SPEC = PanelSpec(static_categoricals=("dept",), known_categoricals=("promo",))


def _panel(days: int = 80) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    dates = pd.date_range("2023-01-02", periods=days + H, freq="D")
    rows = []
    for s in range(4):
        for k, day in enumerate(dates):
            demand = np.nan if k >= days else float(rng.poisson(2 + 3 * s))
            promo = "01" if k % 5 == 0 else "00"
            rows.append({"item_id": f"i{s}", "location_id": "L0", "date": day, "demand": demand,
                         "dept": f"{s % 2:02d}", "promo": promo})  # fmt: skip
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    root = tmp_path_factory.mktemp("csv_levels")
    frame = _panel()
    frame.to_parquet(root / "sales.parquet")
    frame.to_csv(root / "sales.csv", index=False)
    train = TrainConfig(max_epochs=1, batches_per_epoch=2, batch_size=16, progress_bar=False)
    forecaster = Forecaster("lstm", H, spec=SPEC, train=train, hidden_size=8)
    return forecaster.fit(root / "sales.parquet"), root


def test_csv_and_parquet_of_one_table_forecast_alike(fitted):
    forecaster, root = fitted
    assert forecaster.model_.vocab["dept"] == ["00", "01"]
    expected = forecaster.predict(root / "sales.parquet")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no level of the CSV is unseen in training
        got = forecaster.predict(root / "sales.csv")
    pd.testing.assert_frame_equal(got, expected)


def test_a_csv_float_column_of_whole_numbers_still_reads_as_integers(tmp_path):
    path = tmp_path / "t.csv"
    path.write_text(
        "item_id,location_id,date,demand,dept,promo\n"
        "007,01,2024-01-01,1,01,1.0\n"
        "007,01,2024-01-02,2,01,\n"
    )
    frame = load_panel(path, SPEC)
    assert frame["dept"].tolist() == ["01", "01"]
    assert frame["item_id"].tolist() == ["007", "007"]
    assert frame["promo"].dtype.kind == "f"  # validation writes 1.0 as "1", as before
