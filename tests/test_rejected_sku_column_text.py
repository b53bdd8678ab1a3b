"""A scored CSV counted by another SKU column (``--sku-column sku``) keeps its SKUs as text:
read as numbers, SKU 0007 became 7 and its rejected units were counted with SKU 7's."""

import pandas as pd

from vision.tables import rejected_units


def test_a_csv_sku_column_keeps_leading_zeros(tmp_path):
    path = tmp_path / "scores.csv"
    pd.DataFrame(
        {"item_id": ["u1", "u2", "u3"], "product_id": ["P1", "P1", "P2"],
         "sku": ["0007", "0007", "7"], "location_id": "F1",
         "verdict": ["reject", "review", "reject"]}
    ).to_csv(path, index=False)  # fmt: skip
    counts = rejected_units(path, sku_column="sku").set_index("item_id")
    assert sorted(counts.index) == ["0007", "7"]
    assert counts.loc["0007", ["rejected_units", "review_units"]].tolist() == [1, 1]
    assert counts.loc["7", ["rejected_units", "review_units"]].tolist() == [1, 0]
