"""A mask or a view's header is read only in the dataset's image formats (as the view's pixels
are): an EPS file under a mask's name ran Ghostscript on its PostScript, and an icon decodes
the PNG it holds, of any size, when it is opened."""

from __future__ import annotations

import numpy as np
import PIL.EpsImagePlugin as eps
import pytest
from PIL import Image

from vision.images import ImageLoadError, image_size, load_image, load_mask, peek_mode

POSTSCRIPT = b"%!PS-Adobe-3.0 EPSF-3.0\n%%BoundingBox: 0 0 16 16\n0 0 moveto 16 16 lineto stroke\n"


@pytest.fixture()
def ghostscript(monkeypatch):
    """Records every time Pillow would start Ghostscript (it is not started)."""
    calls = []

    def spy(*args, **kwargs):
        calls.append(args)
        raise OSError("Ghostscript started")

    monkeypatch.setattr(eps, "Ghostscript", spy)
    return calls


def test_an_eps_file_named_as_a_mask_is_refused_without_running_ghostscript(tmp_path, ghostscript):
    path = tmp_path / "front.png"
    path.write_bytes(POSTSCRIPT)
    with pytest.raises(ImageLoadError, match="not a readable mask"):
        load_mask(path, 16)
    with pytest.raises(ImageLoadError, match="not a readable image"):
        load_image(path, 16)  # its view is refused the same way
    assert ghostscript == []


def test_headers_of_other_formats_are_not_read(tmp_path, ghostscript):
    path = tmp_path / "front.png"
    path.write_bytes(POSTSCRIPT)
    assert image_size(path) is None and peek_mode(path) is None
    icon = tmp_path / "left.png"
    Image.new("RGB", (16, 16), (9, 9, 9)).save(icon, format="ICO")
    assert image_size(icon) is None and peek_mode(icon) is None


def test_masks_and_views_in_the_dataset_formats_still_read(tmp_path):
    mask = np.zeros((16, 16), dtype=np.uint8)
    mask[4:8, 4:8] = 1
    Image.fromarray(mask, "L").save(tmp_path / "front.png")
    Image.new("RGB", (16, 16), (200, 10, 10)).save(tmp_path / "view.tif")
    assert load_mask(tmp_path / "front.png", 16).sum() == 16
    assert image_size(tmp_path / "view.tif") == (16, 16)
    assert peek_mode(tmp_path / "view.tif") == "RGB"
