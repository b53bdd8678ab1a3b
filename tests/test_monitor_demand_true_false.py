"""The monitor refuses true/false actual demand, as a panel's demand does: pandas reads a CSV
column of TRUE/FALSE as booleans, and the monitor scored each TRUE as 1 unit sold (a forecast
of 1 a day read WAPE 0 against a table of flags)."""

import numpy as np
import pandas as pd
import pytest

from forecasting.monitor import monitor
from forecasting.validate import PanelError
from kernels.io import read_table


def _run(tmp_path, cell: str):
    dates = pd.date_range("2025-04-01", periods=14, freq="D")
    forecasts = pd.DataFrame(
        {"item_id": "A", "location_id": "FC1", "date": dates[7:], "step": np.arange(1, 8),
         "q0.1": 0.0, "q0.5": 1.0, "q0.9": 2.0}
    )  # fmt: skip
    path = tmp_path / "actuals.csv"
    rows = [f"A,FC1,{d.date()},{cell}" for d in dates]
    path.write_text("item_id,location_id,date,demand\n" + "\n".join(rows) + "\n")
    actuals = read_table(path, text=("item_id", "location_id"))
    return monitor(forecasts, actuals, segments=[])


def test_whole_units_score(tmp_path):
    assert _run(tmp_path, "1").table["wape"].tolist() == [0.0]  # 1 sold, 1 forecast


@pytest.mark.parametrize("cell", ["TRUE", "false"])
def test_true_false_demand_is_refused(tmp_path, cell):
    with pytest.raises(PanelError, match="non-numeric values in the actuals table"):
        _run(tmp_path, cell)
