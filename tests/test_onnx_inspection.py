"""Inspection packages: exported whole, checked against torch, scored without torch.

A tiny run (24 items, 32 px, resnet18 width 8, one epoch) is fitted, calibrated and exported
(with its int8 graph) once per module. A package's tables must equal the PyTorch path's (same
columns, statuses and verdicts; scores within the export's parity tolerance), also for items
with missing, corrupt, truncated or too-small views; the per-item path a service uses must
give the same verdicts.
"""

from __future__ import annotations

import io
import json
import shutil
import subprocess
import sys
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image

from kernels.io import FileError, read_json
from kernels.runfolder import update_manifest
from serving.cli import main
from serving.export import export_run
from serving.export.forecast import ExportError
from serving.package import read_package
from serving.runtime import InspectionPackage
from training import ImageTrainConfig
from vision import Inspector
from vision.schema import CLASS_NAMES, VIEW_NAMES
from vision.synthetic import write_synthetic_dataset

SIZE = 32
SCORES = [f"score_{c}" for c in CLASS_NAMES]
MEASURED = ["measured_width_cm", "measured_height_cm", "measured_depth_cm"]

# Every test reads the module's fitted and exported run (about 20 s to build, 70 s in all).
pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    base = tmp_path_factory.mktemp("onnx_inspection")
    tunnel = write_synthetic_dataset(
        base / "tunnel", 24, seed=21, image_size=SIZE, defect_rate=0.3, progress=False
    )
    good = write_synthetic_dataset(
        base / "good", 16, seed=22, image_size=SIZE, defect_rate=0.0, progress=False
    )
    fast = ImageTrainConfig(max_epochs=1, batch_size=8, accelerator="cpu", progress_bar=False)
    inspector = Inspector(
        width=8, image_size=SIZE, head_dim=16, target_frr=0.2, review_rate=0.1, train=fast
    )
    inspector.fit(tunnel, run_dir=base / "run").calibrate(good, progress=False)
    package = export_run(base / "run", base / "repo", "inspect", quantize=True)
    return SimpleNamespace(
        base=base, tunnel=tunnel, good=good, run=base / "run", package=package, torch=inspector
    )


def assert_same_tables(torch_tables, onnx_tables) -> None:
    """Same columns, rows, statuses, verdicts and errors; scores within the tolerance."""
    for expected, got in zip(torch_tables, onnx_tables, strict=True):
        assert list(got.columns) == list(expected.columns)
        scores = [c for c in expected.columns if c.startswith("score_")]
        exact = [c for c in expected.columns if c not in (*scores, *MEASURED, "heatmap")]
        pd.testing.assert_frame_equal(got[exact], expected[exact])
        np.testing.assert_allclose(got[scores], expected[scores], rtol=1e-4, atol=1e-5)
        measured = [c for c in MEASURED if c in expected.columns]
        np.testing.assert_allclose(got[measured], expected[measured], atol=0.011)


def test_package_holds_what_a_caller_needs(tiny):
    manifest = read_package(tiny.package, task="inspection")
    files = {"model.onnx", "model.int8.onnx", "catalog.csv"}
    assert manifest["files"].keys() == files
    assert {"torch", "onnx", "onnxruntime"} <= manifest["versions"].keys()
    assert {p.name for p in tiny.package.iterdir()} == files | {"manifest.json"}
    inputs = {i["name"]: i for i in manifest["model"]["inputs"]}
    assert inputs["images"]["shape"] == ["batch", 6, SIZE, SIZE, 3]
    assert inputs["images"]["dtype"] == "tensor(uint8)"
    assert inputs["view_mask"]["shape"] == ["batch", 6] and inputs["catalog"]["shape"][1] == 7
    outputs = {o["name"]: o["shape"] for o in manifest["model"]["outputs"]}
    assert list(outputs) == ["item_scores", "view_scores", "heatmaps", "attributes"]
    assert outputs["view_scores"] == ["batch", 6, 4] and outputs["heatmaps"][:3] == ["batch", 6, 4]
    assert "any subset" in manifest["model"]["views_axis"] and manifest["model"]["opset"] >= 17
    parity = manifest["parity"]
    assert set(parity["max_relative_error"]) == {"1", "8"}
    assert max(parity["max_relative_error"].values()) <= 1e-4
    assert max(e["heatmaps"] for e in parity["per_output"].values()) <= 1e-3
    assert manifest["classes"] == list(CLASS_NAMES) and manifest["views"] == list(VIEW_NAMES)
    thresholds = manifest["thresholds"]["classes"]
    assert set(thresholds) == set(CLASS_NAMES) and {"reject", "review"} <= set(thresholds["damage"])
    pre = manifest["preprocessing"]
    assert pre["image_size"] == SIZE and pre["image_mode"] == "RGB" and pre["min_view_size"] == 16
    assert "bilinear" in pre["resize_filter"] and pre["normalization"]["applied"]
    assert manifest["catalog"]["mode"] == "reference" and manifest["catalog"]["file"]
    assert manifest["verdict_rule"].startswith("reject if any class score")
    assert manifest["data_fingerprint"] and manifest["metrics"]["calibration"]["n_items"] == 16
    quantized = manifest["quantized"]
    assert quantized["file"] == "model.int8.onnx" and quantized["calibration"]["items"] > 0
    evaluation = quantized["evaluation"]
    assert evaluation["items"] > 0 and "validation split" in evaluation["source"]
    assert 0 <= evaluation["verdict_agreement"] <= 1
    assert set(evaluation["auroc"]) == {"fp32", "int8", "change"}
    assert {"fp32", "int8", "change_points"} <= set(evaluation["any_defect_accuracy"])


def _client_pixels(data: bytes, pre: dict) -> np.ndarray:
    """One view's images tensor built from the manifest's words alone (as an OIP v2 client
    that sends pixels would build it)."""
    image = Image.open(io.BytesIO(data))
    assert image.mode in pre["accepted_source_modes"]
    assert "EXIF" in pre["orientation"] and "black" in pre["transparency"]
    turns = {6: Image.Transpose.ROTATE_270, 8: Image.Transpose.ROTATE_90}
    turn = turns.get(image.getexif().get(0x0112, 1))
    image = image.transpose(turn) if turn is not None else image
    black = Image.new("RGBA", image.size, (0, 0, 0, 255))
    rgb = Image.alpha_composite(black, image.convert("RGBA")).convert("RGB")
    # a square photo: letterboxing ("pad") and squashing are the same plain resize
    assert pre["resize_mode"] in ("pad", "squash") and rgb.width == rgb.height
    return np.asarray(rgb.resize((pre["image_size"],) * 2, Image.Resampling.BILINEAR))


def test_the_record_tells_a_client_how_to_read_a_photo(tiny):
    """The preprocessing record left out the EXIF turn and the transparency rule: a rotated
    phone photo read otherwise by a client differed by up to 34 grey levels."""
    pre = read_package(tiny.package, task="inspection")["preprocessing"]
    pixels = np.random.default_rng(0).integers(0, 256, (40, 40, 4), dtype=np.uint8)
    pixels[:, :8, 3] = 0  # transparent on the left: after the EXIF turn, on the top
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    Image.fromarray(pixels, "RGBA").save(buffer, format="PNG", exif=exif.tobytes())
    data = buffer.getvalue()
    prepared = InspectionPackage(tiny.package).prepare_item({VIEW_NAMES[0]: data})
    served = prepared.feeds["images"][0, 0]
    np.testing.assert_array_equal(_client_pixels(data, pre), served)


def test_package_tables_equal_the_torch_tables(tiny, tmp_path):
    package = InspectionPackage(tiny.package)
    assert package.provider == "CPUExecutionProvider"
    expected = tiny.torch.score(tiny.tunnel, tmp_path / "torch.csv", progress=False)
    got = package.score(tiny.tunnel, tmp_path / "onnx.csv", batch_size=5, progress=False)
    assert_same_tables(expected, got)
    assert (got[0]["status"] == "ok").all() and len(got[1]) == 24 * 6
    drawn = got[1]["heatmap"]
    assert all(Path(p).is_file() for p in drawn) and Path(drawn[0]).parent.parent.name == (
        "onnx_heatmaps"
    )
    assert pd.read_csv(tmp_path / "onnx.views.csv")["heatmap_class"].notna().all()


def _broken_copy(tunnel: Path, root: Path) -> list[str]:
    shutil.copytree(tunnel, root)
    ids = pd.read_csv(root / "labels.csv", dtype={"item_id": str}).item_id.tolist()
    items = root / "items"
    (items / ids[0] / "top.png").unlink()  # missing
    (items / ids[1] / "left.png").write_bytes(b"not a png at all")  # corrupt
    data = (items / ids[2] / "front.png").read_bytes()
    (items / ids[2] / "front.png").write_bytes(data[: len(data) // 2])  # truncated
    Image.new("RGB", (8, 8), "red").save(items / ids[3] / "back.png")  # below min_view_size
    shutil.rmtree(items / ids[4])  # the whole item
    for view in VIEW_NAMES:  # every view unreadable
        (items / ids[5] / f"{view}.png").write_bytes(b"")
    return ids


def test_missing_and_broken_views_behave_as_on_the_torch_path(tiny, tmp_path):
    root = tmp_path / "broken"
    ids = _broken_copy(tiny.tunnel, root)
    expected = tiny.torch.score(root, progress=False, heatmaps=False)
    got = InspectionPackage(tiny.package).score(root, progress=False, heatmaps=False)
    assert_same_tables(expected, got)
    items = got[0].set_index("item_id")
    assert list(items.loc[ids[:6], "status"]) == ["partial"] * 4 + ["failed"] * 2
    assert (items.loc[ids[:6], "verdict"] != "pass").all()
    assert items.loc[ids[0], "missing_views"] == "top"
    assert "below the minimum of 16" in items.loc[ids[3], "errors"]
    views = got[1].set_index(["item_id", "view"])
    assert views.loc[(ids[1], "left"), "status"] == "unreadable"
    assert np.isnan(views.loc[(ids[1], "left"), "score_damage"])


def test_the_service_path_gives_the_table_verdicts(tiny):
    package = InspectionPackage(tiny.package)
    items, _ = package.score(tiny.tunnel, progress=False, heatmaps=False)
    row = items.iloc[3]
    folder = tiny.tunnel / "items" / row["item_id"]
    uploads = {view: (folder / f"{view}.png").read_bytes() for view in VIEW_NAMES}
    job = package.prepare_item(uploads, row["product_id"], row["item_id"], max_pixels=10**6)
    out = package.model.run(job.feeds)
    result = package.finish_item(job, out, heatmaps=True)
    assert result["verdict"] == row["verdict"] and result["status"] == "ok"
    for name in CLASS_NAMES:
        assert result["scores"][name] == pytest.approx(row[f"score_{name}"], abs=1e-6)
    png = result["views"][0]["heatmap_png"]
    assert png.startswith(b"\x89PNG") and result["views"][0]["scores"]

    # a missing view and one over the pixel limit: that view's status, at least review
    big = Image.new("RGB", (600, 600), "blue")
    buffer = __import__("io").BytesIO()
    big.save(buffer, format="PNG")
    partial = {**uploads, "left": buffer.getvalue()}
    partial.pop("top")
    job = package.prepare_item(partial, row["product_id"], "x", max_pixels=100_000)
    result = package.finish_item(job, package.model.run(job.feeds))
    views = {v["view"]: v for v in result["views"]}
    assert views["top"]["status"] == "missing" and views["left"]["status"] == "unreadable"
    assert "more than the limit of 100000" in views["left"]["error"]
    assert result["status"] == "partial" and result["verdict"] in ("review", "reject")
    assert views["left"]["scores"] == {} and views["front"]["heatmap_png"] is None

    # no product in the catalog: checked without colour and size, at least review
    job = package.prepare_item(uploads, "NOT-A-PRODUCT", "y")
    result = package.finish_item(job, package.model.run(job.feeds))
    assert result["verdict"] != "pass" and "not in the catalog" in result["errors"][0]

    # nothing usable: one error naming every view and its problem
    with pytest.raises(ValueError, match=r"front: not a readable image.*frnt: not a view"):
        package.prepare_item({"front": b"", "frnt": uploads["front"]})


def test_a_tampered_package_is_refused_naming_the_file(tiny, tmp_path):
    for name in ("model.onnx", "catalog.csv"):
        copy = shutil.copytree(tiny.package, tmp_path / name)
        target = copy / name
        target.write_bytes(target.read_bytes()[:-3] + b"abc")
        with pytest.raises(FileError, match=rf"{name}: sha256 does not match"):
            InspectionPackage(copy)


def test_the_runtime_imports_no_torch(tiny):
    code = (
        "import sys\n"
        "from serving.runtime import InspectionPackage\n"
        f"package = InspectionPackage({str(tiny.package)!r})\n"
        f"items, views = package.score({str(tiny.tunnel)!r}, progress=False, heatmaps=False)\n"
        f"data = open({str(tiny.tunnel / 'items' / 's21-00000' / 'front.png')!r}, 'rb').read()\n"
        "job = package.prepare_item({'front': data})\n"
        "package.finish_item(job, package.model.run(job.feeds), heatmaps=True)\n"
        "print(len(items), sorted(m for m in ('torch', 'lightning') if m in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split("\n")[-2] == "24 []"


def test_the_int8_graph_loads_and_scores_on_the_cpu(tiny, tmp_path):
    package = InspectionPackage(tiny.package, quantized=True)
    assert package.quantized and package.provider == "CPUExecutionProvider"
    items, _ = package.score(tiny.tunnel, progress=False, heatmaps=False)
    assert len(items) == 24 and items[SCORES].notna().all().all()
    fp32_only = export_run(tiny.run, tmp_path / "repo", "plain")
    assert read_package(fp32_only)["quantized"] is None
    with pytest.raises(FileError, match="no int8 graph"):
        InspectionPackage(fp32_only, quantized=True)


def test_quantize_names_missing_data_and_takes_data_given(tiny, tmp_path):
    run = shutil.copytree(tiny.run, tmp_path / "run")
    training = read_json(run / "manifest.json")["training"]
    training["data"]["root"] = str(tmp_path / "gone")
    update_manifest(run, training=training)
    with pytest.raises(FileError, match=r"gone: the run's training data is not there"):
        export_run(run, tmp_path / "repo", quantize=True)
    assert not (tmp_path / "repo" / "run").exists() or not any(
        (tmp_path / "repo" / "run").iterdir()
    )
    package = export_run(run, tmp_path / "repo", quantize=tiny.good)
    evaluation = read_package(package)["quantized"]["evaluation"]
    assert str(tiny.good) in evaluation["source"] and "half" in evaluation["source"]


def test_quantize_on_data_changed_since_training_does_not_claim_the_validation_split(
    tiny, tmp_path
):
    """The int8 evaluation reproduced the validation split from the data as it is now: with two
    items' labels swapped after training (same counts, so the same split sizes) it evaluated
    other items, one of five trained on, and still called them "the validation split"."""
    data = shutil.copytree(tiny.tunnel, tmp_path / "tunnel")
    run = shutil.copytree(tiny.run, tmp_path / "run")
    training = read_json(run / "manifest.json")["training"]
    training["data"]["root"] = str(data)
    update_manifest(run, training=training)
    labels = pd.read_csv(data / "labels.csv", dtype=str)
    columns = [*CLASS_NAMES, "defects"]
    combos = labels[list(CLASS_NAMES)].agg("".join, axis=1)
    a, b = 0, int(np.flatnonzero(combos != combos[0])[0])
    labels.loc[[a, b], columns] = labels.loc[[b, a], columns].to_numpy()
    labels.to_csv(data / "labels.csv", index=False)
    evaluation = read_package(export_run(run, tmp_path / "repo", quantize=True))["quantized"][
        "evaluation"
    ]
    assert "not the validation split; the data changed since training" in evaluation["source"]


def test_an_export_that_fails_parity_is_not_written(tiny, tmp_path, monkeypatch):
    import serving.export.onnx as onnx_io

    monkeypatch.setattr(onnx_io, "PARITY_RTOL", 0.0)
    with pytest.raises(ExportError, match="not written"):
        export_run(tiny.run, tmp_path / "repo", "inspect")
    assert not (tmp_path / "repo").exists()  # nor the folders made for it


def test_cli_export_then_score_from_the_package(tiny, tmp_path, capsys):
    repo = tmp_path / "repo"
    assert main(["export", "--run", str(tiny.run), "--repo", str(repo), "--name", "tunnel"]) == 0
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["package"].endswith("tunnel/1") and summary["task"] == "inspection"
    tables = {}
    for flag, source in (("--run", tiny.run), ("--package", repo / "tunnel" / "1")):
        out = tmp_path / f"scores{flag.strip('-')}.csv"
        argv = ["inspect", "score", flag, str(source), "--items", str(tiny.tunnel)]
        assert main([*argv, "--out", str(out), "--no-progress", "--no-heatmaps"]) == 0
        tables[flag] = (pd.read_csv(out), pd.read_csv(out.with_name(f"{out.stem}.views.csv")))
    assert "onnxruntime on CPUExecutionProvider" in capsys.readouterr().out
    assert_same_tables(tables["--run"], tables["--package"])
    counts = tmp_path / "rejected.csv"
    argv = ["inspect", "rejected", "--scores", str(tmp_path / "scorespackage.csv")]
    assert main([*argv, "--out", str(counts)]) == 0
    rejected = pd.read_csv(counts)
    assert rejected["inspected_units"].sum() == 24
    skus = pd.DataFrame({"item_id": rejected["item_id"], "location_id": "FC1"})
    skus.assign(demand_mean=5.0, demand_std=2.0).to_csv(tmp_path / "f.csv", index=False)
    skus.assign(on_hand=50.0, lead_time_mean=3.0, lead_time_std=0.0).to_csv(
        tmp_path / "inv.csv", index=False
    )
    argv = ["plan", "--forecast", str(tmp_path / "f.csv"), "--inventory", str(tmp_path / "inv.csv")]
    assert main([*argv, "--rejected", str(counts), "--out", str(tmp_path / "plan.csv")]) == 0
    held = pd.read_csv(tmp_path / "plan.csv").set_index("item_id")["inspection_held"]
    assert held.to_dict() == rejected.set_index("item_id")["rejected_units"].to_dict()
    argv = ["inspect", "score", "--run", str(tiny.run), "--int8", "--items", str(tiny.tunnel)]
    assert main([*argv, "--out", str(tmp_path / "x.csv")]) == 2
    assert "--int8: only with --package" in capsys.readouterr().err


def _confident_cells(root):
    rng = np.random.default_rng(0)
    for cls in ("good", "spot", "streak"):
        (root / cls).mkdir(parents=True)
        for i in range(14 if cls == "good" else 8):
            pixels = rng.integers(90, 110, size=(36, 48), dtype=np.uint8)
            if cls == "spot":
                pixels[10:18, 10:18] = 10
            elif cls == "streak":
                pixels[:, 25:28] = 240
            Image.fromarray(pixels, "L").save(root / cls / f"{cls}_{i}.png")
    return root


def _logit(p):
    p = np.asarray(p, dtype=np.float64)
    return np.log(p) - np.log1p(-p)


def test_a_confident_model_gets_the_torch_verdicts_from_its_package(tmp_path):
    cells = _confident_cells(tmp_path / "cells")
    fast = ImageTrainConfig(max_epochs=1, batch_size=8, accelerator="cpu", progress_bar=False)
    inspector = Inspector(
        width=8, image_size=32, head_dim=16, target_frr=0.3, review_rate=0.1,
        val_fraction=0.5, train=fast,
    )  # fmt: skip
    inspector.fit(cells, run_dir=tmp_path / "run")
    scores = [f"score_{c}" for c in inspector.class_names]
    first, _ = inspector.score(cells, progress=False, heatmaps=False)
    # An over-confident head (what long training on easy data gives): item logits near 20.
    with torch.no_grad():
        inspector.net.fusion_bias += float(20.0 - np.median(_logit(first[scores])))
    inspector.calibrate(cells, update_run=False, progress=False)
    inspector.save(tmp_path / "confident")
    package = export_run(tmp_path / "confident", tmp_path / "repo", "cells")

    expected, _ = inspector.score(cells, progress=False, heatmaps=False)
    got, _ = InspectionPackage(package).score(cells, progress=False, heatmaps=False)
    assert (expected[scores].to_numpy(np.float32) == 1.0).any()  # saturated in float32
    thresholds = inspector.thresholds
    margin = np.minimum(
        np.abs(_logit(expected[scores]) - _logit(thresholds.reject)),
        np.abs(_logit(expected[scores]) - _logit(thresholds.review)),
    ).min(axis=1)
    clear = margin > 1e-3  # not a tie at a threshold, which float rounding may break
    assert clear.sum() >= len(expected) // 2
    assert list(got["verdict"][clear]) == list(expected["verdict"][clear])
    np.testing.assert_allclose(_logit(got[scores]), _logit(expected[scores]), rtol=1e-4, atol=1e-4)
