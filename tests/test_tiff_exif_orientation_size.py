"""A TIFF view turned by its EXIF orientation is measured as displayed, as its pixels are read.

Pillow's TIFF reader reports a quarter-turned picture's size as displayed already, so
``image_size`` swapped it back to the stored size: the mask drawn on the displayed photo was
refused as another picture's shape (and one drawn on the stored pixels was accepted, then
placed across the turned photo)."""

import numpy as np
import pytest
from PIL import Image

from vision.images import ImageLoadError, image_size, load_image, load_mask

ORIENTATION = 0x0112


@pytest.mark.parametrize("orientation", [5, 6, 7, 8])
def test_turned_tiff_is_measured_as_displayed(tmp_path, orientation):
    shown = np.full((90, 60, 3), 100, np.uint8)  # 60 wide x 90 high as displayed
    shown[5:15, 40:50] = 250
    inverse = {
        5: Image.Transpose.TRANSPOSE,
        6: Image.Transpose.ROTATE_90,
        7: Image.Transpose.TRANSVERSE,
        8: Image.Transpose.ROTATE_270,
    }[orientation]
    exif = Image.Exif()
    exif[ORIENTATION] = orientation
    Image.fromarray(shown).transpose(inverse).save(tmp_path / "view.tif", exif=exif.tobytes())
    mask = np.zeros((90, 60), np.uint8)
    mask[5:15, 40:50] = 1
    Image.fromarray(mask).save(tmp_path / "mask.png")

    assert image_size(tmp_path / "view.tif") == (60, 90)
    pixels = load_image(tmp_path / "view.tif", 64, resize="pad")[..., 0]
    bits = load_mask(tmp_path / "mask.png", 64, "pad", view_size=(60, 90))
    assert np.abs(np.argwhere(pixels > 200).mean(0) - np.argwhere(bits > 0).mean(0)).max() < 2
    # a mask of the stored (landscape) pixels is another picture's shape
    Image.fromarray(mask.T.copy()).save(tmp_path / "stored.png")
    with pytest.raises(ImageLoadError, match="shape"):
        load_mask(tmp_path / "stored.png", 64, "pad", view_size=image_size(tmp_path / "view.tif"))


def test_tiff_without_a_turn_keeps_its_size(tmp_path):
    Image.new("RGB", (30, 20)).save(tmp_path / "plain.tif")
    exif = Image.Exif()
    exif[ORIENTATION] = 3  # a half turn keeps the shape
    Image.new("RGB", (30, 20)).save(tmp_path / "half.tif", exif=exif.tobytes())
    assert image_size(tmp_path / "plain.tif") == (30, 20)
    assert image_size(tmp_path / "half.tif") == (30, 20)
