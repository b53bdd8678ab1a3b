"""Letterboxed (``resize: pad``) inspection packages exported before 2026-12-05 11:00 were
trained on views whose margins all took one colour, the mean of the scaled image's whole
border, as their manifest's ``resize_mode_note`` says. The letterbox now fills each margin with
the colour of its own edge, and the runtime applied that to those packages too: a 4:3 photo lit
from above reached the old model with its top margin 219 where it was trained on 140 (a quarter
of the pixels up to 79 levels off), and its scores moved silently. A package whose note is the
old one is fed the margins its model was trained on."""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from PIL import Image

from serving.export import export_run
from serving.runtime import InspectionPackage
from training import ImageTrainConfig
from vision import Inspector
from vision.images import RESIZE_FILTER, letterbox_box
from vision.synthetic import write_synthetic_dataset

OLD_NOTE = (
    "scaled so the longer side is image_size, centred, the margin filled with the mean colour "
    "of the scaled image's border pixels"
)


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    root = tmp_path_factory.mktemp("old_letterbox")
    tunnel = write_synthetic_dataset(root / "tunnel", 12, image_size=32, progress=False)
    good = write_synthetic_dataset(
        root / "good", 8, seed=22, image_size=32, defect_rate=0.0, progress=False
    )
    fast = ImageTrainConfig(max_epochs=1, batch_size=8, accelerator="cpu", progress_bar=False)
    inspector = Inspector(
        width=8, image_size=32, head_dim=16, target_frr=0.2, resize="pad", train=fast
    )
    inspector.fit(tunnel, run_dir=root / "run").calibrate(good, progress=False)
    return export_run(root / "run", root / "repo", "inspection")


def _photo() -> tuple[bytes, Image.Image]:
    """A 4:3 photo lit from above: rows fall from 220 to 60."""
    rows = np.linspace(220, 60, 48)[:, None, None]
    image = Image.fromarray(np.broadcast_to(rows, (48, 64, 3)).astype(np.uint8))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue(), image


def _one_colour_letterbox(image: Image.Image, size: int) -> np.ndarray:
    left, top, w, h = letterbox_box(image.width, image.height, size)
    pixels = np.asarray(image.resize((w, h), RESIZE_FILTER), dtype=np.uint8)
    border = np.concatenate([pixels[0], pixels[-1], pixels[:, 0], pixels[:, -1]])
    canvas = np.empty((size, size, 3), np.uint8)
    canvas[:] = np.rint(border.mean(axis=0)).astype(np.uint8)
    canvas[top : top + h, left : left + w] = pixels
    return canvas


def test_an_old_letterboxed_package_gets_the_margins_it_was_trained_on(package, tmp_path):
    old = tmp_path / "old"
    old.mkdir()
    for file in package.iterdir():
        (old / file.name).write_bytes(file.read_bytes())
    manifest = json.loads((old / "manifest.json").read_text())
    assert manifest["preprocessing"]["resize_mode"] == "pad"
    manifest["preprocessing"]["resize_mode_note"] = OLD_NOTE  # as exported on 2026-12-04
    (old / "manifest.json").write_text(json.dumps(manifest))
    data, image = _photo()
    runtime = InspectionPackage(old)
    view = runtime.view_names[0]
    fed = runtime.prepare_item({view: data}).feeds["images"][0, 0]
    expected = _one_colour_letterbox(image, runtime.image_size)
    assert np.array_equal(fed, expected)
    # A package of today keeps each edge's colour in its margin.
    today = InspectionPackage(package).prepare_item({view: data}).feeds["images"][0, 0]
    assert today[0, 0, 0] > expected[0, 0, 0] + 40
