"""position() refuses a blank key, as allocate() and plan() do: an FC row without an item
matched the DC table's row without one and was planned with it (its safety stock and the DC's
written under an empty item), and an FC without a location was written as location ""."""

from __future__ import annotations

import pandas as pd
import pytest

from kernels import position
from serving.cli import main

BLANK = r"^fc: missing item_id or location_id at key "


def _tables():
    fc = pd.DataFrame({"item_id": ["sku1", "sku1"], "location_id": ["FC1", "FC2"],
                       "demand_mean": [10.0, 6.0], "demand_std": [3.0, 2.0],
                       "lead_time": [2.0, 3.0], "service_level": 0.95,
                       "holding_cost": 1.0})  # fmt: skip
    dc = pd.DataFrame(
        {"item_id": ["sku1"], "lead_time": [10.0], "service_level": [0.95], "holding_cost": [0.3]}
    )
    return fc, dc


def test_an_fc_without_an_item_is_not_planned_with_a_dc_row_without_one():
    fc, dc = _tables()
    dc = pd.concat([dc, dc.assign(item_id=None)], ignore_index=True)
    with pytest.raises(ValueError, match=BLANK + r"\((None|nan), FC1\)$"):
        position(fc.assign(item_id=[None, "sku1"]), dc)


def test_an_fc_without_a_location_or_a_dc_without_an_item_is_refused():
    fc, dc = _tables()
    with pytest.raises(ValueError, match=BLANK + r"\(sku1, (None|nan)\)$"):
        position(fc.assign(location_id=["FC1", None]), dc)
    with pytest.raises(ValueError, match=r"^dc: missing item_id at row 1$"):
        position(fc, pd.concat([dc, dc.assign(item_id=None)], ignore_index=True))


def test_the_cli_names_the_file_of_a_blank_key(tmp_path, capsys):
    fc, dc = _tables()
    fc.assign(item_id=[None, "sku1"]).to_csv(tmp_path / "fc.csv", index=False)
    pd.concat([dc, dc.assign(item_id=None)]).to_csv(tmp_path / "dc.csv", index=False)
    out, dc_out = tmp_path / "fc_plan.csv", tmp_path / "dc_plan.csv"
    argv = ["position", "--fc", str(tmp_path / "fc.csv"), "--dc", str(tmp_path / "dc.csv")]
    assert main([*argv, "--out", str(out), "--dc-out", str(dc_out)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"stockcast: error: --fc {tmp_path / 'fc.csv'}: missing item_id"), err
    assert not out.exists() and not dc_out.exists()
