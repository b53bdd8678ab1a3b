"""Class folders none of whose images can be read (all smaller than the minimum view size) were
refused as 'no readable image in class folders ['good']', as if the defect folders had been
read: the error names every folder that has no readable image."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from training import ImageTrainConfig
from vision import Inspector


def test_no_readable_image_anywhere_names_every_class_folder(tmp_path):
    rng = np.random.default_rng(0)
    for cls, n in (("good", 4), ("damage", 3), ("scratch", 2)):
        (tmp_path / cls).mkdir()
        for i in range(n):
            pixels = (rng.random((12, 12, 3)) * 255).astype(np.uint8)  # below 16 px a side
            Image.fromarray(pixels).save(tmp_path / cls / f"{cls}_{i}.png")
    quick = ImageTrainConfig(max_epochs=1, batch_size=4, accelerator="cpu", progress_bar=False)
    inspector = Inspector(width=8, image_size=32, head_dim=16, train=quick)
    with pytest.raises(ValueError, match=r"no readable image in class folders") as caught:
        inspector.fit(tmp_path)
    named = str(caught.value).split("class folders ")[1].split("]")[0]
    assert all(f"'{cls}'" in named for cls in ("good", "damage", "scratch")), named
