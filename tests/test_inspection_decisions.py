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
from PIL import Image
from visiontools import pair_auroc

from serving.cli import main
from training import ImageTrainConfig
from vision import Inspector
from vision.calibration import Thresholds, calibrate_thresholds, verdicts
from vision.items import CatalogHandling, Item, ItemLoader, ItemSet, read_tunnel
from vision.metrics import auroc
from vision.schema import CLASS_NAMES, PASS, VIEW_NAMES
from vision.scoring import Scorer
from vision.synthetic import write_synthetic_dataset
from vision.tables import PredictionCollector, Predictions, rejected_units, score_tables

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


VIEWS = ("front", "back")


def test_an_extra_photo_does_not_make_a_complete_item_partial(tmp_path):
    for i in range(3):
        folder = tmp_path / "items" / f"u{i}"
        folder.mkdir(parents=True)
        for view in VIEWS:
            Image.new("RGB", (32, 32), (100, 100, 100)).save(folder / f"{view}.png")
    Image.new("RGB", (32, 32), (90, 90, 90)).save(tmp_path / "items" / "u0" / "barcode.png")
    (tmp_path / "labels.csv").write_text(
        "item_id,product_id,location_id\n" + "".join(f"u{i},sku,FC1\n" for i in range(3))
    )
    item_set = read_tunnel(tmp_path)
    loader = ItemLoader(item_set, VIEWS, 32)
    samples = [loader.load(i) for i in range(3)]
    assert all(s["view_mask"].all() for s in samples)  # every model view was read
    assert samples[0]["errors"]  # the extra photo is still reported on the item
    thresholds = Thresholds(("damage",), np.array([0.5]), np.array([0.3]), 0.01, 0.04, 100, 0, 0)
    collector = PredictionCollector(("damage",), VIEWS)
    collector.add(
        [item.item_id for item in item_set.items],
        np.full((3, 1), 0.01),
        np.full((3, 2, 1), 0.01),
        np.stack([s["view_mask"] for s in samples]),
        np.zeros((3, 6)),
        [s["errors"] for s in samples],
        [s["view_errors"] for s in samples],
    )
    items, _ = score_tables(
        item_set.items, collector.result(), ("damage",), VIEWS, thresholds, CatalogHandling()
    )
    assert items["status"].tolist() == ["ok", "ok", "ok"]
    assert items["verdict"].tolist() == ["pass", "pass", "pass"]
    assert "barcode" in items.loc[0, "errors"]


def test_a_missing_view_still_makes_the_item_partial(tmp_path):
    folder = tmp_path / "items" / "u0"
    folder.mkdir(parents=True)
    Image.new("RGB", (32, 32), (100, 100, 100)).save(folder / "front.png")
    Image.new("RGB", (32, 32), (100, 100, 100)).save(folder / "barcode.png")
    sample = ItemLoader(read_tunnel(tmp_path), VIEWS, 32).load(0)
    thresholds = Thresholds(("damage",), np.array([0.5]), np.array([0.3]), 0.01, 0.04, 100, 0, 0)
    collector = PredictionCollector(("damage",), VIEWS)
    collector.add(
        ["u0"], np.full((1, 1), 0.01), np.full((1, 2, 1), 0.01), sample["view_mask"][None],
        np.zeros((1, 6)), [sample["errors"]], [sample["view_errors"]],
    )  # fmt: skip
    items, _ = score_tables(
        read_tunnel(tmp_path).items, collector.result(), ("damage",), VIEWS, thresholds,
        CatalogHandling(),
    )  # fmt: skip
    assert items["status"].tolist() == ["partial"]
    assert items["verdict"].tolist() == ["review"]


def test_an_unknown_label_is_not_a_defect_in_the_auroc():
    labels = np.array([0.0, np.nan, 1.0])
    scores = np.array([0.6, 0.1, 0.9])
    assert auroc(labels, scores) == pytest.approx(pair_auroc([0, 1], [0.6, 0.9]))  # 1.0


def test_an_infinite_score_still_counts_in_the_auroc():
    labels = np.array([0, 0, 1, 1])
    scores = np.array([0.1, 0.2, np.inf, 0.15])
    assert auroc(labels, scores) == pytest.approx(pair_auroc(labels, scores))  # 0.75
    assert auroc([0, 1], [-np.inf, np.inf]) == 1.0


def test_items_of_unknown_label_do_not_set_the_thresholds():
    rng = np.random.default_rng(0)
    good = rng.random((99, 1))
    unknown = 0.95 + 0.05 * rng.random((20, 1))  # unlabelled, in fact defective
    scores = np.vstack([good, unknown])
    labels = np.vstack([np.zeros((99, 1)), np.full((20, 1), np.nan)])
    got = calibrate_thresholds(scores, labels, ("damage",), 0.05, 0.0)
    ref = calibrate_thresholds(good, np.zeros_like(good), ("damage",), 0.05, 0.0)
    assert got.n_good == 99
    assert got.reject[0] == ref.reject[0]
    # just above the 95th (ceil(100 * 0.95)), below the 96th: no good score is a threshold
    assert np.sort(good[:, 0])[94] < got.reject[0] < np.sort(good[:, 0])[95]


def test_a_nan_review_rate_is_refused():
    good = np.random.default_rng(1).random((50, 2))
    with pytest.raises(ValueError, match="review_rate"):
        calibrate_thresholds(good, np.zeros_like(good), ("a", "b"), 0.1, float("nan"))


def _flips(scores, th, rel):
    before = np.array(verdicts(scores, th)[0])
    up = np.array(verdicts(scores * (1 + rel), th)[0])
    down = np.array(verdicts(scores * (1 - rel), th)[0])
    return int((before != up).sum() + (before != down).sum())


def test_calibration_items_keep_their_verdicts_under_rounding():
    rng = np.random.default_rng(0)
    for classes in (1, 2, 4):
        good = rng.beta(2, 8, size=(300, classes))
        th = calibrate_thresholds(good, np.zeros_like(good), [f"c{k}" for k in range(classes)],
                                  target_frr=0.05, review_rate=0.05)  # fmt: skip
        assert th.achievable
        # no threshold equals a good score
        for k in range(classes):
            assert not np.isin(th.reject[k], good[:, k]) and not np.isin(th.review[k], good[:, k])
        assert _flips(good, th, 1e-7) == 0
        # the same items are rejected as by the order-statistic rule
        assert th.calibration_frr <= 0.05


def test_a_saturated_model_keeps_its_calibration_verdicts():
    """Scores near 1 (confident heads), as a float64 sigmoid of float32 logits gives them."""
    rng = np.random.default_rng(1)
    logits = rng.normal(9.0, 1.0, size=(200, 2)).astype(np.float32).astype(np.float64)
    good = 1 / (1 + np.exp(-logits))
    th = calibrate_thresholds(good, np.zeros_like(good), ["a", "b"], 0.1, 0.1)
    moved = 1 / (1 + np.exp(-(logits * (1 + 1e-6))))
    before = np.array(verdicts(good, th)[0])
    assert (np.array(verdicts(moved, th)[0]) == before).all()
    moved = 1 / (1 + np.exp(-(logits * (1 - 1e-6))))
    assert (np.array(verdicts(moved, th)[0]) == before).all()


def test_thresholds_at_the_largest_good_score_sit_above_it():
    """Too few good items (or a level at the class maximum): README says the thresholds sit
    above every good score; equal to the maximum, rounding up rejects that good item."""
    rng = np.random.default_rng(2)
    good = rng.uniform(0.3, 0.7, size=(10, 3))
    th = calibrate_thresholds(good, np.zeros_like(good), ["a", "b", "c"], 0.05, 0.0)
    assert not th.achievable
    assert (th.reject > good.max(axis=0)).all() and (th.reject < 1).all()
    assert _flips(good, th, 1e-7) == 0
    fresh = rng.uniform(0.3, 0.7, size=(2000, 3))
    # the rule is unchanged for fresh items beyond a sliver above the maximum
    clear = (np.abs(fresh - good.max(axis=0)) > 0.01).all(axis=1)
    old = (fresh > good.max(axis=0)).any(axis=1)
    assert ((np.array(verdicts(fresh, th)[0]) == "reject") == old)[clear].all()
