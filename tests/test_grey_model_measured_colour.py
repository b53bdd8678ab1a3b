"""A grey ("L") inspection model sees brightness only. Its attribute head is trained against the
catalog's RGB colour, so the colour it outputs is the catalog colour it guesses from the grey
level: a purple unit of a red product's brightness was reported as measured_color "#CF1F2C"
(red) and passed. The items table must report what a grey camera measures: a grey level
(R = G = B, the ITU-R 601-2 luma of the measured colour, as Pillow makes an "L" image), in the
PyTorch path and the ONNX package alike. RGB models keep their colour."""

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from serving.export import export_run
from serving.runtime.inspection import InspectionPackage
from training import ImageTrainConfig
from vision import Inspector
from vision.calibration import Thresholds
from vision.catalog import Catalog
from vision.items import CatalogHandling, Item
from vision.synthetic import write_synthetic_dataset
from vision.tables import PredictionCollector, score_tables


def _grey(tmp, name, n, seed, defect_rate):
    root = write_synthetic_dataset(
        tmp / name, n, seed=seed, image_size=32, defect_rate=defect_rate, progress=False
    )
    for path in (root / "items").rglob("*.png"):
        Image.open(path).convert("L").save(path)
    return root


def _channels(colors):
    return np.array([[int(c[i : i + 2], 16) for i in (1, 3, 5)] for c in colors])


@pytest.fixture(scope="module")
def grey_run(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("grey_colour")
    tunnel = _grey(tmp, "tunnel", 12, 31, 0.3)
    good = _grey(tmp, "good", 10, 32, 0.0)
    quick = ImageTrainConfig(max_epochs=1, batch_size=8, accelerator="cpu", progress_bar=False)
    inspector = Inspector(
        width=8, image_size=32, head_dim=8, image_mode="L", target_frr=0.2, train=quick
    )
    inspector.fit(tunnel, run_dir=tmp / "run").calibrate(good, progress=False)
    return tmp, tunnel, inspector


@pytest.mark.slow
def test_a_grey_model_reports_a_grey_measured_colour_in_torch_and_onnx(grey_run):
    tmp, tunnel, inspector = grey_run
    assert inspector.fitted_.image_mode == "L"
    by_torch, _ = inspector.score(tunnel, progress=False, heatmaps=False)
    rgb = _channels(by_torch["measured_color"])
    assert (rgb[:, 0] == rgb[:, 1]).all() and (rgb[:, 1] == rgb[:, 2]).all(), rgb[:4]
    package = export_run(tmp / "run", tmp / "repo", "inspect")
    by_onnx, _ = InspectionPackage(package).score(tunnel, progress=False, heatmaps=False)
    grey = _channels(by_onnx["measured_color"])
    assert (grey[:, 0] == grey[:, 1]).all() and (grey[:, 1] == grey[:, 2]).all(), grey[:4]
    assert np.abs(grey - _channels(by_torch["measured_color"])).max() <= 1


def test_score_tables_luma_and_rgb_models_unchanged():
    catalog = Catalog(
        pd.DataFrame(
            [{"product_id": "P", "color": "#C82828", "width_cm": 5, "height_cm": 5, "depth_cm": 5}]
        )
    )
    handling = CatalogHandling("reference", catalog, 10.0)
    thresholds = Thresholds(("damage",), np.array([0.5]), np.array([0.3]), 0.01, 0.04, 100, 0, 0)
    tables = {}
    for mode in ("RGB", "L"):
        collector = PredictionCollector(("damage",), ("front",))
        collector.add(
            ["u0"], np.full((1, 1), 0.01), np.full((1, 1, 1), 0.01), np.ones((1, 1)),
            np.array([[0.8, 0.1, 0.1, 0.5, 0.5, 0.5]]), [[]], [{}],
        )  # fmt: skip
        tables[mode], _ = score_tables(
            [Item("u0", {}, product_id="P")], collector.result(), ("damage",), ("front",),
            thresholds, handling, mode,
        )  # fmt: skip
    assert tables["RGB"].loc[0, "measured_color"] == "#CC1A1A"
    # 204 x 0.299 + 25.5 x 0.587 + 25.5 x 0.114 = 78.9
    assert tables["L"].loc[0, "measured_color"] == "#4F4F4F"
    assert tables["L"].loc[0, "measured_width_cm"] == 5.0
