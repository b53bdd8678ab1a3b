"""A catalog's product id "nan" is a product, as "NA" and "null" are and as the labels table
reads it: it was refused as an empty id, so no catalog with it could be read."""

import numpy as np
import pandas as pd
import pytest

from vision.catalog import Catalog, hex_to_rgb
from vision.items import CatalogHandling, Item

CSV = "product_id,color,width_cm,height_cm,depth_cm\nnan,#C82828,12,18,6\nNA,#28963C,10,8,9\n"


def test_product_nan_is_read_and_referenced(tmp_path):
    path = tmp_path / "catalog.csv"
    path.write_text(CSV)
    catalog = Catalog.read(path)
    assert catalog.product_ids == ["nan", "NA"]
    assert "nan" in catalog
    handling = CatalogHandling("reference", catalog, size_scale=20.0)
    reference, why = handling.reference(Item(item_id="u1", views={}, product_id="nan"))
    assert why is None
    # by hand: flag 1, #C82828 as RGB / 255, dimensions / 20
    expected = [1.0, *(np.array(hex_to_rgb("#C82828")) / 255.0), 12 / 20, 18 / 20, 6 / 20]
    assert reference == pytest.approx(np.array(expected, dtype=np.float32))


@pytest.mark.parametrize("blank", [None, np.nan, "", "  "])
def test_a_missing_or_blank_id_is_still_refused(blank):
    frame = pd.DataFrame(
        {"product_id": ["P1", blank], "color": ["#C82828"] * 2, "width_cm": 1.0,
         "height_cm": 1.0, "depth_cm": 1.0}
    )  # fmt: skip
    with pytest.raises(ValueError, match="product_id' is empty in 1 rows"):
        Catalog(frame)
