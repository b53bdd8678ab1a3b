"""Inspection decisions as the station and stock see them: one unit counted once, calibration
figures as the station decides, a failed calibration changing nothing.
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest

from serving.cli import main
from training import ImageTrainConfig
from vision import Inspector
from vision.calibration import verdicts
from vision.items import Item, ItemSet
from vision.schema import CLASS_NAMES, PASS, VIEW_NAMES
from vision.scoring import Scorer
from vision.synthetic import write_synthetic_dataset
from vision.tables import Predictions, rejected_units

# A unit inspected twice leaves sellable stock once: ``inspect rejected`` does not count one
# item_id twice (two passes of the tunnel put in one table), it names it.


def _twice() -> pd.DataFrame:
    # u1 went to review, was sent through the tunnel again and rejected: one unit, not two.
    return pd.DataFrame(
        {
            "item_id": ["u1", "u2", "u1"],
            "product_id": ["P1", "P1", "P1"],
            "location_id": ["FC1", "FC1", "FC1"],
            "verdict": ["review", "pass", "reject"],
        }
    )


def test_an_item_scored_twice_is_named_not_counted_twice():
    with pytest.raises(ValueError, match=r"item_id \['u1'\].*more than once"):
        rejected_units(_twice())


def test_the_command_refuses_it_in_one_line(tmp_path, capsys):
    _twice().to_csv(tmp_path / "s.csv", index=False)
    out = tmp_path / "r.csv"
    code = main(["inspect", "rejected", "--scores", str(tmp_path / "s.csv"), "--out", str(out)])
    err = capsys.readouterr().err.strip()
    assert code == 2 and "u1" in err and "\n" not in err
    assert not out.exists()


def test_one_row_per_unit_still_counts_each_unit_once():
    counts = rejected_units(_twice().iloc[1:]).set_index("item_id")
    assert counts.loc["P1", ["inspected_units", "rejected_units", "review_units"]].tolist() == [
        2, 1, 0,
    ]  # fmt: skip


# Calibration's station figures count an item as the station would: a defective item with a
# view missing goes to review at the station, so it is not among the defects that pass.


def _calibration_set():
    """40 good items spread over the scores, and 10 damaged ones scored like good ones (the
    model misses them), half of them photographed without their top view."""
    rng = np.random.default_rng(0)
    n_good, n_bad, k, v = 40, 10, len(CLASS_NAMES), len(VIEW_NAMES)
    probs = rng.uniform(0.05, 0.95, size=(n_good + n_bad, k))
    probs[n_good:] = 0.01  # below every threshold: these pass when fully inspected
    labels = np.zeros((n_good + n_bad, k), np.float32)
    labels[n_good:, 0] = 1.0
    mask = np.ones((n_good + n_bad, v), np.float32)
    errors: list[list[str]] = [[] for _ in range(n_good + n_bad)]
    view_errors: list[dict[str, str]] = [{} for _ in range(n_good + n_bad)]
    for i in range(n_good, n_good + n_bad, 2):
        mask[i, VIEW_NAMES.index("top")] = 0.0
        errors[i] = ["view 'top' missing"]
        view_errors[i] = {"top": "missing"}
    pred = Predictions(
        item_probs=probs,
        view_probs=np.repeat(probs[:, None], v, axis=1),
        view_mask=mask,
        attributes=np.zeros((n_good + n_bad, 6)),
        errors=errors,
        view_errors=view_errors,
        heatmaps=[{} for _ in range(n_good + n_bad)],
    )
    items = [
        Item(item_id=f"i{i}", views={}, product_id="P1", labels=labels[i])
        for i in range(n_good + n_bad)
    ]
    item_set = ItemSet(Path("cal"), "tunnel", items, CLASS_NAMES, VIEW_NAMES)
    complete = np.array([not e for e in errors])
    return item_set, pred, labels, complete


def test_defects_passed_counts_what_the_station_passes(monkeypatch):
    item_set, pred, labels, complete = _calibration_set()
    scorer = Scorer.__new__(Scorer)  # the network is not needed: its predictions are given
    scorer.run = SimpleNamespace(class_names=CLASS_NAMES)
    monkeypatch.setattr(scorer, "dataset", lambda *a, **k: None, raising=False)
    monkeypatch.setattr(scorer, "predict", lambda *a, **k: pred, raising=False)
    thresholds, metrics = scorer.calibrate(item_set, target_frr=0.2, review_rate=0.1)
    station = np.array(verdicts(pred.item_probs, thresholds, complete)[0])
    defective = (labels >= 0.5).any(axis=1)
    assert (station[defective] == PASS).mean() == 0.5  # the five with every view
    assert metrics["defects_passed"] == 0.5
    assert metrics["catch_rate"]["damage"]["rejected_or_review"] == 0.5


# A calibration that fails leaves the inspector as it was: its calibration settings still
# describe its thresholds, and a run saved afterwards says so.


@pytest.mark.slow  # fits a tiny inspector (about 10 s)
def test_a_failed_calibration_keeps_the_settings_of_the_thresholds(tmp_path):
    tunnel = write_synthetic_dataset(
        tmp_path / "tunnel", 16, seed=21, image_size=32, defect_rate=0.3, progress=False
    )
    good = write_synthetic_dataset(
        tmp_path / "good", 12, seed=22, image_size=32, defect_rate=0.0, progress=False
    )
    fast = ImageTrainConfig(max_epochs=1, batch_size=8, accelerator="cpu", progress_bar=False)
    inspector = Inspector(width=8, image_size=32, head_dim=16, train=fast).fit(tunnel)
    inspector.calibrate(good, target_frr=0.2, review_rate=0.1, progress=False)
    one_good = inspector.items(good, require_labels=True).subset([0])
    with pytest.raises(ValueError, match="good"):
        inspector.calibrate(one_good, target_frr=0.05, review_rate=0.0, progress=False)
    assert inspector.thresholds.target_frr == 0.2
    assert (inspector.calibration.target_frr, inspector.calibration.review_rate) == (0.2, 0.1)
    manifest = json.loads((inspector.save(tmp_path / "run") / "manifest.json").read_text())
    assert manifest["config"]["calibration"]["target_frr"] == manifest["thresholds"]["target_frr"]
