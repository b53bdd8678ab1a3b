"""The station's tallies and requests: units without a location are not dropped from the
rejected counts, two images for one view are refused, and a product id is read as a labels
table reads it."""

from __future__ import annotations

import io

import httpx
import pandas as pd
import pytest
from PIL import Image

from serving.cli import main
from serving.runtime import InspectionPackage
from tests.test_service import running
from vision.tables import rejected_units


def _scored() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "item_id": ["a", "b", "c", "d", "e", "f"],
            "product_id": ["P1", "P1", "P1", "P2", "P2", "P2"],
            "location_id": ["FC1", "FC1", "FC2", "FC2", "FC2", "FC1"],
            "verdict": ["reject", "review", "pass", "reject", "review", "reject"],
            "status": ["ok", "failed", "ok", "partial", "ok", "ok"],
        }
    )


def test_counts_equal_a_pandas_tally():
    frame = _scored()
    counts = rejected_units(frame).set_index(["item_id", "location_id"])
    for (sku, fc), group in frame.groupby(["product_id", "location_id"]):
        row = counts.loc[(sku, fc)]
        assert row["inspected_units"] == len(group)
        assert row["rejected_units"] == (group["verdict"] == "reject").sum()
        assert row["review_units"] == (group["verdict"] == "review").sum()
    assert counts["inspected_units"].sum() == len(frame)


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_an_item_without_location_is_not_dropped(tmp_path, suffix, capsys):
    frame = _scored()
    frame["location_id"] = frame["location_id"].astype(object)
    frame.loc[1, "location_id"] = None  # a failed unit, held for review
    frame.loc[5, "location_id"] = None  # a rejected unit
    path = tmp_path / f"scores{suffix}"
    frame.to_parquet(path) if suffix == ".parquet" else frame.to_csv(path, index=False)
    with pytest.raises(ValueError, match=r"location_id.*\['b', 'f'\]"):
        rejected_units(path)
    out = tmp_path / "r.csv"
    assert main(["inspect", "rejected", "--scores", str(path), "--out", str(out)]) == 2
    assert "location_id" in capsys.readouterr().err
    assert not out.exists()


def test_no_location_at_all_counts_per_sku():
    frame = _scored().assign(location_id=None)
    counts = rejected_units(frame)
    assert "location_id" not in counts.columns
    assert counts.set_index("item_id")["rejected_units"].to_dict() == {"P1": 1, "P2": 2}


def _black_png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (32, 32), (0, 0, 0)).save(buffer, "PNG")
    return buffer.getvalue()


def test_two_parts_for_one_view_are_not_silently_dropped(inspection_repo):
    repo, views = inspection_repo
    files = [(p.stem, (p.name, p.read_bytes(), "image/png")) for p in views]
    twice = files + [("front", ("front-2.png", _black_png(), "image/png"))]
    labels = pd.read_csv(views[0].parents[2] / "labels.csv", dtype=str).set_index("item_id")
    fields = {"product_id": labels.loc[views[0].parent.name, "product_id"]}
    with running(repo) as url:
        single = httpx.post(f"{url}/v1/inspect", files=files, data=fields, timeout=60)
        answer = httpx.post(f"{url}/v1/inspect", files=twice, data=fields, timeout=60)
    assert single.status_code == 200 and single.json()["status"] == "ok", single.text
    if answer.status_code == 200:  # reported on the item, as the tunnel does
        body = answer.json()
        assert body["status"] != "ok" and body["verdict"] != "pass", body
        assert any("front" in e for e in body["errors"]), body
    else:
        assert answer.status_code == 422, answer.text
        assert "front" in answer.json()["detail"]


def test_product_id_with_spaces_finds_its_catalog_row(inspection_repo):
    repo, views = inspection_repo
    package = InspectionPackage(repo / "inspection" / "1")
    labels = pd.read_csv(views[0].parents[2] / "labels.csv", dtype=str).set_index("item_id")
    product = labels.loc[views[0].parent.name, "product_id"]
    uploads = {p.stem: p.read_bytes() for p in views}
    plain = package.prepare_item(uploads, product)
    padded = package.prepare_item(uploads, f" {product} ")
    assert plain.errors == [] and padded.errors == [], padded.errors
    assert (padded.feeds["catalog"] == plain.feeds["catalog"]).all()
