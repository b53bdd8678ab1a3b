"""A tunnel folder named in the decomposed Unicode form (as a macOS archive unpacks "é": "e"
and a combining accent) is the item its labels row names in the composed form: one unit, not
"folder not found" beside "not listed in labels.csv"."""

import unicodedata

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from vision.items import read_tunnel

NFC = unicodedata.normalize("NFC", "café-7")
NFD = unicodedata.normalize("NFD", "café-7")


def _dataset(root, folder_names, label_ids):
    for name in folder_names:
        folder = root / "items" / name
        folder.mkdir(parents=True)
        for view in ("front", "top"):
            Image.fromarray(np.full((8, 8, 3), 90, np.uint8)).save(folder / f"{view}.png")
    pd.DataFrame(
        {"item_id": label_ids, "product_id": ["P1"] * len(label_ids), "location_id": "01"}
    ).to_csv(root / "labels.csv", index=False)


@pytest.mark.parametrize("folder, label", [(NFD, NFC), (NFC, NFD)])
def test_folder_in_another_unicode_form_is_the_labelled_item(tmp_path, folder, label):
    assert folder != label and folder.encode() != label.encode()
    _dataset(tmp_path, [folder, "u2"], [label, "u2"])
    items = read_tunnel(tmp_path).items
    assert [i.item_id for i in items] == [label, "u2"]  # the labels' ids, one row per unit
    item = items[0]
    assert item.issues == []
    assert sorted(item.views) == ["front", "top"]
    assert (item.product_id, item.location_id) == ("P1", "01")


def test_two_folders_of_both_forms_stay_two_items(tmp_path):
    _dataset(tmp_path, [NFC, NFD], [NFC, NFD])
    items = read_tunnel(tmp_path).items
    assert [i.item_id for i in items] == [NFC, NFD]
    assert [i.views["front"].parent.name for i in items] == [NFC, NFD]
    assert all(i.issues == [] for i in items)
