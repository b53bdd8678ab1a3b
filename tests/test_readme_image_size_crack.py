"""The README's geometry paragraph says what the automatic input size does to a small crack;
a user sizing photos for the inspection relies on it. It said a 1-2 px crack in a 400 px photo
is not shrunk below a pixel, while the default cap of 256 shrinks that photo by 0.64 and its
1 px crack to two pixels a third as dark."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from PIL import Image

from vision.images import load_image
from vision.items import choose_image_size, read_class_folders

README = Path(__file__).resolve().parents[1] / "README.md"


def test_readme_states_what_the_default_size_does_to_a_one_pixel_crack(tmp_path):
    for name in ("good", "crack"):
        (tmp_path / name).mkdir()
        for i in range(3):
            pixels = np.full((400, 400), 150, np.uint8)
            if name == "crack":
                pixels[100:300, 201] = 70  # a 1 px crack, 80 grey levels dark
            Image.fromarray(pixels).save(tmp_path / name / f"{i}.png")
    size = choose_image_size(read_class_folders(tmp_path))
    row = load_image(tmp_path / "crack" / "0.png", size, "L", resize="pad")[size // 2, :, 0]
    depths = sorted((150 - row[row < 150].astype(int)).tolist(), reverse=True)
    text = " ".join(README.read_text().split())
    geometry = text[text.index("* *Geometry.*") : text.index("* *Small marks.*")]
    assert "not shrunk below a pixel" not in geometry
    stated = re.search(
        r"a 400 px photo by ([0-9.]+), where a 1 px crack 80 grey levels dark "
        r"reads as two pixels (\d+) and (\d+) levels dark",
        geometry,
    )
    assert stated is not None, geometry
    assert float(stated.group(1)) == size / 400
    assert [int(stated.group(2)), int(stated.group(3))] == depths
