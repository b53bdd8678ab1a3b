"""``stockcast inspect`` on bad input: exit 2 with one line naming the problem, nothing left behind.

A tiny run (24 items, 32 px, resnet18 width 8, one epoch) is trained once per module through
``inspect train --config``, which also checks that a YAML config of two keys keeps the image
training defaults for everything else.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch
from clitools import refused
from PIL import Image

from kernels.io import read_json
from serving.cli import main
from vision import Inspector
from vision.config import ModelSpec
from vision.items import CatalogHandling
from vision.run import RunModel, build_net
from vision.schema import CLASS_NAMES, VIEW_NAMES
from vision.synthetic import write_synthetic_dataset
from vision.tables import PredictionCollector

SIZE = 32


def _run(capsys, *argv: str) -> tuple[int, str, str]:
    rc = main(["inspect", *map(str, argv)])
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


def _error(capsys, *argv: str) -> str:
    rc, _, err = _run(capsys, *argv)
    assert rc == 2, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("stockcast: error: "), err
    return lines[0]


def _contents(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    base = tmp_path_factory.mktemp("inspect_cli")
    for name, items, seed, rate in (
        ("tunnel", 24, 21, 0.3),
        ("good", 16, 22, 0.0),
        ("few", 3, 23, 0.3),
    ):
        argv = ["inspect", "generate", "--out", str(base / name), "--items", str(items)]
        argv += ["--seed", str(seed), "--image-size", str(SIZE), "--defect-rate", str(rate)]
        assert main([*argv, "--no-progress"]) == 0
    config = base / "inspect.yaml"
    config.write_text("train: {max_epochs: 1}\nmodel: {width: 8, image_size: 32, head_dim: 16}\n")
    argv = ["inspect", "train", "--data", str(base / "tunnel"), "--out", str(base / "run")]
    argv += ["--config", str(config), "--seed", "5", "--accelerator", "cpu", "--no-progress"]
    assert main(argv) == 0
    argv = ["inspect", "calibrate", "--run", str(base / "run"), "--data", str(base / "good")]
    assert main([*argv, "--target-frr", "0.2", "--no-progress"]) == 0
    return SimpleNamespace(
        base=base, run=base / "run", tunnel=base / "tunnel", good=base / "good", few=base / "few"
    )


def test_train_config_of_two_keys_keeps_the_image_defaults(tiny):
    config = read_json(tiny.run / "manifest.json")["config"]
    train = config["train"]
    assert train["max_epochs"] == 1  # from the YAML
    assert train["seed"] == 5 and train["accelerator"] == "cpu"  # from the flags
    # the rest: ImageTrainConfig's defaults, not the forecasting ones (50 batches of 128)
    assert train["batches_per_epoch"] is None and train["batch_size"] == 16
    assert train["learning_rate"] == 2e-3 and train["weight_decay"] == 1e-4
    assert train["early_stopping_patience"] == 15 and train["select_on"] == "auroc"
    assert config["model"]["width"] == 8 and config["model"]["image_size"] == SIZE
    assert config["calibration"]["target_frr"] == 0.2  # calibrate --target-frr


def test_train_config_errors_are_named(tiny, tmp_path, capsys):
    flat = tmp_path / "flat.yaml"
    flat.write_text("max_epochs: 1\nbatch_size: 8\n")
    argv = ("train", "--data", tiny.tunnel, "--out", tmp_path / "run", "--config")
    line = _error(capsys, *argv, flat)
    assert "unknown sections ['batch_size', 'max_epochs']" in line and "train:" in line
    typo = tmp_path / "typo.yaml"
    typo.write_text("train: {max_epoch: 1}\n")
    assert "unknown keys ['max_epoch']" in _error(capsys, *argv, typo)
    line = _error(capsys, "train", "--data", tmp_path / "absent", "--out", tmp_path / "run")
    assert f"{tmp_path / 'absent'}: dataset folder not found" in line
    assert _contents(tmp_path) == ["flat.yaml", "typo.yaml"]  # no run folder, staging or lock
    with pytest.raises(SystemExit) as exit_info:
        main(["inspect", "train", "--data", str(tiny.tunnel), "--out", "x", "--width", "4"])
    assert exit_info.value.code == 2
    assert "--width: expected >= 8, got 4" in capsys.readouterr().err


def test_train_refuses_an_existing_run_folder(tiny, capsys):
    before = (tiny.run / "manifest.json").read_bytes()
    line = _error(capsys, "train", "--data", tiny.tunnel, "--out", tiny.run, "--epochs", "1")
    assert f"{tiny.run}: exists" in line and "--overwrite" in line
    assert (tiny.run / "manifest.json").read_bytes() == before
    assert not [p for p in _contents(tiny.base) if p.startswith(".")]


def test_a_tiny_view_is_a_view_problem(tiny, tmp_path, capsys):
    items = shutil.copytree(tiny.few, tmp_path / "items")
    item_id = pd.read_csv(items / "labels.csv", dtype=str).item_id[0]
    Image.new("RGB", (1, 1), (200, 40, 40)).save(items / "items" / item_id / "front.png")
    out = tmp_path / "scores.csv"
    rc, _, err = _run(capsys, "score", "--run", tiny.run, "--items", items, "--out", out)
    assert rc == 0 and item_id in err
    scored = pd.read_csv(out, dtype={"item_id": str}, keep_default_na=False)
    row = scored.set_index("item_id").loc[item_id]
    assert row.status == "partial" and row.verdict in ("review", "reject")
    assert "view 'front'" in row.errors and "1x1 pixels" in row.errors
    views = pd.read_csv(tmp_path / "scores.views.csv", dtype={"item_id": str})
    view = views[(views.item_id == item_id) & (views.view == "front")].iloc[0]
    assert view.status == "unreadable" and "below the minimum of 16" in view.error
    assert (scored.set_index("item_id").drop(item_id).status == "ok").all()


def test_score_checks_its_outputs_before_any_work(tiny, tmp_path, capsys):
    (tmp_path / "file").write_text("not a folder")
    argv = ("score", "--run", tiny.run, "--items", tiny.tunnel, "--out")
    line = _error(capsys, *argv, tmp_path / "file" / "scores.csv")
    assert f"{tmp_path / 'file' / 'scores.csv'}: " in line and "is a file" in line
    assert "unsupported table type" in _error(capsys, *argv, tmp_path / "scores.txt")
    line = _error(capsys, *argv, tmp_path / "s.csv", "--heatmap-dir", tmp_path / "file")
    assert f"{tmp_path / 'file'}: is a file, expected a folder" in line
    assert _contents(tmp_path) == ["file"]


def test_score_replaces_earlier_outputs_only_with_overwrite(tiny, tmp_path, capsys):
    argv = ("score", "--run", tiny.run, "--items", tiny.few, "--out", tmp_path / "s.csv")
    assert _run(capsys, *argv)[0] == 0
    assert _contents(tmp_path) == ["s.csv", "s.views.csv", "s_heatmaps"]
    assert "s_heatmaps: heatmap folder exists" in _error(capsys, *argv)
    assert _run(capsys, *argv, "--overwrite", "--no-heatmaps")[0] == 0
    assert _contents(tmp_path) == ["s.csv", "s.views.csv", "s_heatmaps"]


def test_an_interrupted_score_leaves_nothing(tiny, tmp_path, capsys, monkeypatch):
    import vision.tables

    calls = []

    def interrupt(*args):
        calls.append(args)
        if len(calls) == 10:
            raise KeyboardInterrupt  # Ctrl-C while the heatmaps are being written

    monkeypatch.setattr(vision.tables, "save_overlay", interrupt)
    with pytest.raises(KeyboardInterrupt):
        main(
            ["inspect", "score", "--run", str(tiny.run), "--items", str(tiny.tunnel)]
            + ["--out", str(tmp_path / "scores.csv"), "--no-progress"]
        )
    assert len(calls) == 10 and _contents(tmp_path) == []


def test_a_changed_run_file_is_named(tiny, tmp_path, capsys):
    run = shutil.copytree(tiny.run, tmp_path / "run")
    (run / "model.pt").write_bytes((run / "model.pt").read_bytes()[:1000])
    out = tmp_path / "out" / "scores.csv"
    line = _error(capsys, "score", "--run", run, "--items", tiny.tunnel, "--out", out)
    assert f"{run / 'model.pt'}: sha256 does not match" in line
    assert not out.parent.exists()
    line = _error(capsys, "calibrate", "--run", run, "--data", tiny.good)
    assert "model.pt" in line


@pytest.mark.slow
def test_items_given_as_a_file_is_named(tiny, tmp_path):
    (tmp_path / "items.csv").write_text("item_id\n1\n")
    argv = ["inspect", "score", "--run", tiny.run, "--items", "items.csv", "--out", "s.csv"]
    refused(argv, tmp_path, "items.csv: is a file, expected a dataset folder")


def _tampered_run(tiny, folder: Path, edit=None, weights: bytes | None = None) -> Path:
    """A copy of the run with its manifest edited or its weights replaced, the manifest's
    sha256 updated to match (so loading, not the file check, meets the change)."""
    from kernels.io import sha256_file

    run = shutil.copytree(tiny.run, folder, dirs_exist_ok=True)
    manifest = read_json(run / "manifest.json")
    if weights is not None:
        (run / "model.pt").write_bytes(weights)
        manifest["files"]["model.pt"] = sha256_file(run / "model.pt")
    if edit is not None:
        edit(manifest)
    (run / "manifest.json").write_text(json.dumps(manifest))
    return run


def test_a_run_that_cannot_be_loaded_is_named(tiny, tmp_path, capsys):
    """Weights that are not the model's and manifest entries that are missing or malformed:
    one line naming the file (and the entry), for scoring and calibrating alike."""
    out = tmp_path / "out" / "scores.csv"
    score = ("score", "--items", tiny.tunnel, "--out", out, "--run")
    run = _tampered_run(tiny, tmp_path / "run", weights=b"\x80\x02.")  # an IndexError in torch
    line = _error(capsys, *score, run)
    assert f"{run / 'model.pt'}: not weights of this model" in line
    assert "weights_only" not in line
    assert "model.pt: not weights" in _error(capsys, "calibrate", "--run", run, "--data", tiny.good)
    cases = {
        "entry 'config' is a string, expected a mapping": lambda m: m.update(config="x"),
        "no entry 'config.model'": lambda m: m["config"].pop("model"),
        "entry 'classes' is a string, expected a list": lambda m: m.update(classes="damage"),
        "no entry 'catalog'": lambda m: m.pop("catalog"),
        "entry 'model' not readable": lambda m: m["model"].update(width=-3),
    }
    for named, edit in cases.items():
        run = _tampered_run(tiny, tmp_path / "run", edit)
        assert f"{run / 'manifest.json'}: {named}" in _error(capsys, *score, run)
    assert not out.parent.exists()
    # Another task's run, named with the right article.
    predict = ["forecast", "predict", "--run", str(tiny.run), "--data", "x.csv", "--out", str(out)]
    assert main(predict) == 2
    assert "an 'inspection' run, not a 'forecast' run" in capsys.readouterr().err


def test_calibrate_needs_labels_and_sane_rates(tiny, tmp_path, capsys):
    plain = tmp_path / "plain"
    plain.mkdir()
    for view in VIEW_NAMES[:2]:
        shutil.copy(tiny.tunnel / "items" / "s21-00000" / f"{view}.png", plain / f"{view}.png")
    line = _error(capsys, "calibrate", "--run", tiny.run, "--data", plain)
    assert f"{plain}: " in line and "labels" in line
    with pytest.raises(SystemExit) as exit_info:
        main(
            ["inspect", "calibrate", "--run", str(tiny.run), "--data", str(tiny.good)]
            + ["--target-frr", "0.7"]
        )
    assert exit_info.value.code == 2
    assert "--target-frr: expected <= 0.5" in capsys.readouterr().err


def test_generate_and_rejected_errors_are_named(tiny, tmp_path, capsys):
    line = _error(capsys, "generate", "--out", tiny.good, "--items", "2", "--no-progress")
    assert f"{tiny.good}: exists" in line
    table = tmp_path / "scores.csv"
    pd.DataFrame({"item_id": ["a"], "verdict": ["pass"]}).to_csv(table, index=False)
    line = _error(capsys, "rejected", "--scores", table, "--out", tmp_path / "r.csv")
    assert f"{table}: missing column 'product_id'" in line
    assert _contents(tmp_path) == ["scores.csv"]


def test_train_with_review_feedback_adds_the_decided_items(tiny, tmp_path, capsys):
    """Items people decided in the review queue join the training data with their decisions as
    labels; a file that is not a review database is named, and nothing is written."""
    from serving.review import ReviewStore

    items = sorted((tiny.good / "items").iterdir())[:2]
    store = ReviewStore(tmp_path / "review.db")
    queued = pd.DataFrame(
        {"item_id": [i.name for i in items], "sku": "S", "location_id": "FC1",
         "product_id": "P", "reasons": "review"}
    )  # fmt: skip
    views = {i.name: {v.stem: {"image": str(v)} for v in sorted(i.glob("*.png"))} for i in items}
    store.enqueue(queued, views)
    store.decide(items[0].name, "reject", "ana", defect="damage")
    store.decide(items[1].name, "pass", "bo")
    config = tiny.base / "inspect.yaml"
    argv = ["train", "--data", tiny.tunnel, "--config", config, "--accelerator", "cpu"]
    rc, out, err = _run(
        capsys, *argv, "--feedback", tmp_path / "review.db", "--out", tmp_path / "run",
        "--no-progress",
    )  # fmt: skip
    assert rc == 0, err
    assert "2 reviewed items from" in out and "join 24 labelled ones" in out
    data = read_json(tmp_path / "run" / "manifest.json")["training"]["data"]
    assert data["n_train"] + data["n_val"] == 26

    (tmp_path / "notes.db").write_text("not a database")
    line = _error(capsys, *argv, "--feedback", tmp_path / "notes.db", "--out", tmp_path / "b")
    assert "notes.db: not a review database" in line
    line = _error(capsys, *argv, "--feedback", tmp_path / "none.db", "--out", tmp_path / "b")
    assert "--feedback" in line and "no such file" in line
    assert not (tmp_path / "b").exists()


def _untrained_run(tmp_path, tunnel):
    torch.manual_seed(0)
    spec = ModelSpec(width=8, image_size=32, head_dim=16, tta="none", contrast=0)
    views = Inspector().items(tunnel).view_names
    net = build_net(spec, CLASS_NAMES, views).eval()
    inspector = Inspector(model=spec, image_size=32, tta="none", contrast=0)
    inspector.fitted_ = RunModel(net, CLASS_NAMES, views, "RGB", CatalogHandling(), None, None)
    return inspector.save(tmp_path / "run")


def test_calibrate_refuses_label_rows_without_items_and_names_a_folder_without_good_items(
    tmp_path, capsys
):
    good = write_synthetic_dataset(
        tmp_path / "good", 8, seed=3, image_size=32, defect_rate=0.0, progress=False
    )
    run = _untrained_run(tmp_path, good)
    labels = pd.read_csv(good / "labels.csv", dtype=str, keep_default_na=False)
    ghosts = labels.copy()
    ghosts["item_id"] = [f"ghost-{i}" for i in range(len(ghosts))]
    ghosts["damage"] = "1"  # defective items the calibration would silently not see
    pd.concat([labels, ghosts]).to_csv(good / "labels.csv", index=False)
    argv = ["calibrate", "--run", run, "--data", good, "--target-frr", "0.3", "--no-progress"]
    line = _error(capsys, *argv)
    assert str(good) in line and "ghost-0" in line
    manifest = (run / "manifest.json").read_text()
    assert '"thresholds": null' in manifest  # nothing calibrated

    # Only defective items: the error names the folder.
    labels["damage"] = "1"
    labels.to_csv(good / "labels.csv", index=False)
    line = _error(capsys, *argv)
    assert f"{good}: " in line and "good (defect-free) items" in line


def test_long_item_ids_with_replaced_characters_get_their_overlays(tmp_path):
    ids = ["a b" + "x" * 250, "a b" + "x" * 249 + "y", "007", "ü ß"]
    for item_id in ids:
        (tmp_path / "items" / item_id).mkdir(parents=True)  # legal folder names (<= 255 bytes)
    n = len(ids)
    collector = PredictionCollector(["damage"], ["front"], tmp_path / "heatmaps")
    collector.add(
        ids,
        np.full((n, 1), 0.5),
        np.full((n, 1, 1), 0.5),
        np.ones((n, 1)),
        np.zeros((n, 6)),
        [[] for _ in ids],
        [{} for _ in ids],
        maps=np.zeros((n, 1, 1, 2, 2)),
        pixels=np.zeros((n, 1, 32, 32, 3), np.uint8),
    )
    paths = [collector.result().heatmaps[i]["front"][0] for i in range(n)]
    assert len(set(paths)) == n  # one overlay per item, none shared
    assert all((tmp_path / "heatmaps").joinpath(*p.split("/")[-2:]).is_file() for p in paths)


def test_generate_parts_refuses_the_tunnels_settings(tmp_path, capsys):
    # --image-size and --defect-rate were accepted and ignored: the part photos keep their own.
    out = tmp_path / "parts"
    args = ["inspect", "generate", "--kind", "parts", "--out", str(out), "--items", "4"]
    assert main([*args, "--image-size", "64", "--defect-rate", "0.5"]) == 2
    err = capsys.readouterr().err
    assert "--defect-rate, --image-size" in err and "--kind parts" in err
    assert not out.exists()
