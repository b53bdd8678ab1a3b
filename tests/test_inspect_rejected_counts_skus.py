"""`stockcast inspect rejected` prints how many SKUs its counts table holds: with a location_id
the table has one row per (SKU, location), and "skus" counted those rows (4 for 2 SKUs)."""

import json

import pandas as pd

from serving.cli import main


def test_rejected_summary_counts_distinct_skus(tmp_path, capsys):
    scores = pd.DataFrame(
        {
            "item_id": ["u1", "u2", "u3", "u4", "u5"],
            "product_id": ["A", "A", "B", "B", "A"],
            "location_id": ["F1", "F2", "F1", "F2", "F1"],
            "verdict": ["reject", "pass", "review", "reject", "pass"],
        }
    )
    scores.to_csv(tmp_path / "scores.csv", index=False)
    out = tmp_path / "rejected.csv"
    assert main(["inspect", "rejected", "--scores", str(tmp_path / "scores.csv"),
                 "--out", str(out)]) == 0  # fmt: skip
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    written = pd.read_csv(out)
    # The reference: the written table, read back.
    assert summary["skus"] == written["item_id"].nunique() == 2
    assert summary["rejected_units"] == written["rejected_units"].sum() == 2
    assert summary["review_units"] == written["review_units"].sum() == 1


def test_rejected_summary_without_locations(tmp_path, capsys):
    scores = pd.DataFrame(
        {"item_id": ["u1", "u2", "u3"], "product_id": ["A", "B", "A"],
         "verdict": ["reject", "pass", "review"]}
    )  # fmt: skip
    scores.to_csv(tmp_path / "scores.csv", index=False)
    out = tmp_path / "rejected.csv"
    assert main(["inspect", "rejected", "--scores", str(tmp_path / "scores.csv"),
                 "--out", str(out)]) == 0  # fmt: skip
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["skus"] == pd.read_csv(out)["item_id"].nunique() == 2


def test_rejected_counts_by_the_sku_column_given(tmp_path, capsys):
    """The demo's stations write each unit's SKU in ``sku`` beside the catalog ``product_id``:
    counted by product the plan refused the keys as unknown; ``--sku-column sku`` counts the
    inventory's SKUs. A column the table lacks is named."""
    scores = pd.DataFrame(
        {"item_id": ["u1", "u2", "u3"], "product_id": ["cat-7", "cat-7", "cat-7"],
         "sku": ["S1", "S2", "S1"], "location_id": "F1", "verdict": ["reject", "pass", "review"]}
    )  # fmt: skip
    scores.to_csv(tmp_path / "scores.csv", index=False)
    out = tmp_path / "rejected.csv"
    args = ["inspect", "rejected", "--scores", str(tmp_path / "scores.csv"), "--out", str(out)]
    assert main([*args, "--sku-column", "sku"]) == 0
    written = pd.read_csv(out).set_index("item_id")
    assert written.loc["S1", ["rejected_units", "review_units"]].tolist() == [1, 1]
    assert written.loc["S2", "passed_units"] == 1
    capsys.readouterr()
    assert main([*args, "--sku-column", "SKU"]) == 2
    assert "missing column 'SKU'" in capsys.readouterr().err
