"""The class-folder training recipe: letterboxing, a size from the data, balanced batches, EMA,
test-time augmentation, and the any-defect score, on grey part photos of varying sizes.

One tiny model is fitted per module (parts of 40-96 px, resnet18 width 8, two epochs); what a
full-size recipe achieves is measured by ``benchmarks/vision_realistic.py``.
"""

from __future__ import annotations

import shutil
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch
from PIL import Image
from visiontools import tiny_task

from serving.export import export_run
from serving.runtime import InspectionPackage
from training import ImageTrainConfig
from training.inspect_task import balanced_sample_weights
from training.pretrain import nt_xent, pretrain_backbone
from vision import Inspector
from vision.augment import dominant_axis
from vision.config import ModelSpec
from vision.datasets import read_items
from vision.images import load_image, load_mask
from vision.items import choose_image_size
from vision.metrics import any_defect
from vision.model import apply_transform, quarter_turns, tta_transforms
from vision.run import build_net, read_model
from vision.schema import score_column
from vision.synthetic_parts import DEFECT_CLASSES, GOOD_CLASS, write_parts_dataset


@pytest.fixture(scope="module")
def parts(tmp_path_factory):
    base = tmp_path_factory.mktemp("recipe")
    train = write_parts_dataset(base / "train", 48, seed=3, min_side=40, max_side=96)
    test = write_parts_dataset(base / "test", 18, seed=4, min_side=40, max_side=96)
    fast = ImageTrainConfig(max_epochs=2, batch_size=8, accelerator="cpu", progress_bar=False)
    inspector = Inspector(
        width=8, head_dim=16, target_frr=0.2, review_rate=0.1, val_fraction=0.3, train=fast
    )
    inspector.fit(train, run_dir=base / "run")
    items, views = inspector.score(test, progress=False, heatmaps=False)
    return SimpleNamespace(
        base=base, train=train, test=test, inspector=inspector, items=items, views=views
    )


@pytest.mark.slow
def test_grey_photos_of_varying_sizes_train_and_score(parts):
    model = parts.inspector.model
    # Photos of 40-96 px: the input keeps their resolution (median longer side, up to /32).
    assert model.image_size in (64, 96) and model.resize == "pad" and model.tta == "dihedral"
    assert model.contrast == 7 and parts.inspector.fitted_.net.contrast_head is not None
    assert parts.inspector.fitted_.image_mode == "L"
    training = parts.inspector.training
    assert training["imbalance"] == "balanced" and training["ema_decay"] == 0.998
    assert training["selected_on"] == "val_selection"
    assert set(parts.inspector.class_names) == set(DEFECT_CLASSES)
    items = parts.items
    assert len(items) == 18 and (items["status"] == "ok").all()
    assert items["verdict"].isin(["pass", "review", "reject"]).all()
    calibration = parts.inspector.metrics["calibration"]
    assert {"any_defect_auroc", "defects_passed", "good_rejected"} <= set(calibration)


@pytest.mark.slow
def test_the_any_defect_score_is_in_the_items_table(parts):
    items = parts.items
    scores = items[[score_column(c) for c in parts.inspector.class_names]].to_numpy()
    expected = 1 - np.prod(1 - scores, axis=1)
    np.testing.assert_allclose(items["any_defect"], expected, rtol=1e-9, atol=1e-12)
    assert items["any_defect"].between(0, 1).all()
    # At least as high as any single class score: one defect is enough.
    assert (items["any_defect"].to_numpy() >= scores.max(axis=1) - 1e-12).all()


def test_any_defect_against_a_brute_force_and_nan_rows():
    rng = np.random.default_rng(0)
    probs = rng.uniform(size=(50, 4))
    probs[0] = [0, 0, 0, 1]
    probs[1] = np.nan
    brute = np.array([1 - np.prod([1 - p for p in row]) for row in probs])
    got = any_defect(probs)
    np.testing.assert_allclose(got[2:], brute[2:], rtol=1e-12)
    assert got[0] == pytest.approx(1.0) and np.isnan(got[1])


@pytest.mark.slow
def test_a_saved_run_and_its_package_score_the_same(parts, tmp_path):
    loaded = Inspector.load(parts.base / "run")
    assert loaded.model.resize == "pad" and loaded.model.tta == "dihedral"
    items, _ = loaded.score(parts.test, progress=False, heatmaps=False)
    np.testing.assert_allclose(items["any_defect"], parts.items["any_defect"], rtol=1e-6)
    package = InspectionPackage(export_run(parts.base / "run", tmp_path / "repo", "parts"))
    assert package.resize == "pad"
    got, _ = package.score(parts.test, progress=False, batch_size=4)
    np.testing.assert_allclose(got["any_defect"], parts.items["any_defect"], atol=1e-4)
    assert list(got["verdict"]) == list(parts.items["verdict"])


def test_letterbox_keeps_the_aspect_ratio_and_masks_follow(tmp_path):
    # A 120 x 60 grey photo: a bright 40 x 20 block in the middle, a defect bit on it.
    pixels = np.full((60, 120), 40, np.uint8)
    pixels[20:40, 40:80] = 220
    Image.fromarray(pixels, "L").save(tmp_path / "wide.png")
    bits = np.zeros((60, 120), np.uint8)
    bits[20:40, 40:80] = 1
    Image.fromarray(bits, "L").save(tmp_path / "wide_mask.png")
    padded = load_image(tmp_path / "wide.png", 64, "L", resize="pad")[..., 0]
    squashed = load_image(tmp_path / "wide.png", 64, "L", resize="squash")[..., 0]
    mask = load_mask(tmp_path / "wide_mask.png", 64, resize="pad")
    # Scaled by 64/120: 32 rows of image centred on 64 (rows 16..47), margin of the border colour.
    assert (padded[:16] == 40).all() and (padded[48:] == 40).all()
    block = np.argwhere(padded > 130)
    height, width = np.ptp(block, axis=0) + 1
    assert width == pytest.approx(2 * height, abs=2)  # the block stays twice as wide as high
    squashed_block = np.argwhere(squashed > 130)
    assert np.ptp(squashed_block[:, 0]) + 1 > 1.5 * height  # squashing stretches it
    # The mask lands on the block.
    assert ((mask > 0) == (padded > 130)).mean() > 0.97 and mask.sum() > 0


def test_image_size_is_chosen_from_the_data(tmp_path):
    for k, (w, h) in enumerate([(300, 200), (310, 310), (90, 300), (500, 400), (250, 120)]):
        folder = tmp_path / ("good" if k % 2 else "dent")
        folder.mkdir(exist_ok=True)
        Image.new("L", (w, h), 128).save(folder / f"{k}.png")
    items = read_items(tmp_path, layout="classes", good_class="good")
    # Longer sides 300, 310, 300, 500, 250: median 300, rounded up to 320, capped.
    assert choose_image_size(items, max_size=512) == 320
    assert choose_image_size(items, max_size=256) == 256
    assert choose_image_size(items, max_size=250) == 224  # on the 32 grid the cells tile


@pytest.mark.slow
def test_dihedral_tta_is_invariant_to_flips_and_quarter_turns():
    torch.manual_seed(0)
    grid = torch.rand(2, 3, 5, 5)
    for turns in range(-3, 5):  # the exportable quarter turn is torch's rot90
        assert torch.equal(quarter_turns(grid, turns), torch.rot90(grid, turns, (-2, -1)))
    net = build_net(ModelSpec(width=8, image_size=32, head_dim=16, tta="dihedral"), "ab", ["v"])
    net.eval()
    x = torch.rand(3, 1, 3, 32, 32)
    ones, catalog = torch.ones(3, 1), torch.zeros(3, 7)
    reference = net(x, ones, catalog)[0]
    for turns, flip in tta_transforms("dihedral"):
        moved = net(apply_transform(x, turns, flip), ones, catalog)[0]
        torch.testing.assert_close(moved, reference, rtol=1e-4, atol=1e-5)
    # Without TTA the network is not invariant (so the check above can fail).
    plain = build_net(ModelSpec(width=8, image_size=32, head_dim=16, tta="none"), "ab", ["v"])
    plain.load_state_dict(net.state_dict())
    plain.eval()
    turned = plain(apply_transform(x, 1, True), ones, catalog)[0]
    assert (turned - plain(x, ones, catalog)[0]).abs().max() > 1e-3


def striped_cells(n: int, size: int = 48, seed: int = 0) -> torch.Tensor:
    """Grey "solar cells": two dark horizontal busbars at varying rows on a textured
    background, as (n, 1, size, size) uint8."""
    g = torch.Generator().manual_seed(seed)
    x = 150 + 40 * torch.rand(n, 1, size, size, generator=g)
    for i in range(n):
        for row in torch.randint(4, size - 6, (2,), generator=g).tolist():
            x[i, :, row : row + 2] -= 90
    return x.clamp(0, 255).to(torch.uint8)


def test_dominant_axis_finds_a_shared_direction_and_only_then():
    cells = striped_cells(60)
    assert dominant_axis(cells) == "horizontal"
    assert dominant_axis(cells.transpose(-2, -1)) == "vertical"
    assert dominant_axis(cells.flip(-1).flip(-2)) == "horizontal"  # flips keep the direction
    # Half of them turned a quarter: no direction is shared, nor is there one in plain texture.
    mixed = torch.cat([cells[:30], cells[30:].transpose(-2, -1)])
    assert dominant_axis(mixed) == "none"
    assert (
        dominant_axis(torch.rand(60, 3, 48, 48, generator=torch.Generator().manual_seed(1)))
        == "none"
    )
    assert dominant_axis(torch.zeros(0, 1, 8, 8)) == "none"


@pytest.mark.slow
def test_oriented_class_folders_train_without_quarter_turns(tmp_path, parts):
    cells = striped_cells(32, seed=2).numpy()
    for i, cell in enumerate(cells):
        image = cell[0].copy()
        folder = tmp_path / "cells" / ("good" if i % 2 else "crack")
        if i % 2 == 0:  # a dark vertical scratch
            image[10:30, 20:22] = 20
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image).save(folder / f"cell_{i}.png")
    fast = ImageTrainConfig(max_epochs=1, batch_size=8, accelerator="cpu", progress_bar=False)
    inspector = Inspector(width=8, head_dim=16, val_fraction=0.25, train=fast)
    inspector.fit(tmp_path / "cells", run_dir=tmp_path / "run")
    # Busbars stay horizontal under flips, not under quarter turns: flips only, in training
    # and in test-time augmentation; the part photos (any direction) keep all eight.
    assert inspector.training["augment"]["rot90"] is False and inspector.model.tta == "flips"
    assert parts.inspector.training["augment"]["rot90"] is True
    # The four-view averaging is part of the exported graph: the package scores the same.
    items, _ = inspector.score(tmp_path / "cells", progress=False, heatmaps=False)
    package = InspectionPackage(export_run(tmp_path / "run", tmp_path / "repo", "cells"))
    got, _ = package.score(tmp_path / "cells", progress=False, batch_size=4)
    np.testing.assert_allclose(got["any_defect"], items["any_defect"], atol=1e-4)


def test_balanced_weights_draw_every_label_combination_equally():
    labels = np.zeros((20, 3))
    labels[:3, 0] = 1  # 3 of class 0, 1 of class 2, 16 good
    labels[3, 2] = 1
    weights = balanced_sample_weights(labels)
    totals = [weights[:3].sum(), weights[3], weights[4:].sum()]
    np.testing.assert_allclose(totals, 1.0)


def test_ema_follows_the_weights_with_its_decay():
    torch.manual_seed(0)
    task = tiny_task(4, ema_decay=0.5)
    before = [p.detach().clone() for p in task.ema.parameters()]
    with torch.no_grad():
        for p in task.model.parameters():
            p.add_(1.0)
    task.on_train_batch_end(None, None, 0)  # step 0: decay min(0.5, 1/10) = 0.1
    for old, new, live in zip(before, task.ema.parameters(), task.model.parameters()):
        torch.testing.assert_close(new, 0.1 * old + 0.9 * live)
    assert task.scoring_model is task.ema


@pytest.mark.slow
def test_runs_written_before_the_recipe_read_as_squashed(parts):
    from kernels.runfolder import read_manifest

    manifest = read_manifest(parts.base / "run")
    assert manifest["model"]["marks"] == "rms" and manifest["model"]["mark_scales"] == 3
    for key in ("resize", "tta"):
        manifest["model"].pop(key)
    model = read_model(parts.base / "run", manifest)
    assert model.net.spec.resize == "squash" and model.net.spec.tta == "none"


@pytest.mark.slow
def test_runs_written_before_the_mark_scales_keep_their_contrast_path(parts, tmp_path):
    from kernels.runfolder import read_manifest

    # Such a run has the full-resolution head alone, which read the top-hats times a gain.
    old = tmp_path / "run"
    shutil.copytree(parts.base / "run", old)
    state = parts.inspector.fitted_.net.state_dict()
    kept = {k: v for k, v in state.items() if not k.startswith("coarse_heads.")}
    torch.save(kept, old / "old.pt")
    manifest = read_manifest(old)
    for key in ("marks", "mark_scales"):
        manifest["model"].pop(key)
    manifest["model"]["weights"] = "old.pt"
    net = read_model(old, manifest).net
    assert net.spec.marks == "gain" and net.spec.mark_scales == 1 and len(net.coarse_heads) == 0
    torch.testing.assert_close(net.contrast_head.weight, state["contrast_head.weight"])


@pytest.mark.slow
def test_the_parts_generator_writes_class_folders_of_varying_sizes(parts):
    sizes = {Image.open(p).size for p in parts.train.rglob("*.png")}
    assert len(sizes) > 10 and all(max(s) <= 96 and min(s) >= 16 for s in sizes)
    folders = sorted(p.name for p in parts.train.iterdir())
    assert folders == sorted((GOOD_CLASS, *DEFECT_CLASSES))
    modes = {Image.open(p).mode for p in parts.train.rglob("*.png")}
    assert modes == {"L"}


def test_nt_xent_against_a_brute_force():
    torch.manual_seed(0)
    z1, z2 = torch.randn(5, 4), torch.randn(5, 4)
    z = torch.nn.functional.normalize(torch.cat([z1, z2]), dim=1)
    terms = []
    for i in range(10):
        positive = (i + 5) % 10
        sims = [float(z[i] @ z[j]) / 0.2 for j in range(10) if j != i]
        terms.append(-(float(z[i] @ z[positive]) / 0.2 - np.log(np.sum(np.exp(sims)))))
    assert nt_xent(z1, z2, 0.2).item() == pytest.approx(np.mean(terms), rel=1e-5)


@pytest.mark.slow
def test_self_supervised_pretraining_starts_the_backbone(parts, tmp_path):
    from torch.utils.data import Subset

    from vision.datasets import ItemDataset

    item_set = read_items(parts.train, layout="classes", good_class="good")
    data = ItemDataset(item_set, item_set.view_names, 32, "L", cache=True, resize="pad")
    spec = ModelSpec(width=8, image_size=32, head_dim=16)
    state, losses = pretrain_backbone(
        Subset(data, range(32)), spec, 10, batch_size=16, learning_rate=3e-3, progress=False
    )
    # The two views of an image come together: the contrastive loss falls (chance: ln 31).
    assert len(losses) == 10 and np.mean(losses[-3:]) < np.mean(losses[:3])
    again, _ = pretrain_backbone(Subset(data, range(32)), spec, 10, batch_size=16,
                                 learning_rate=3e-3, progress=False)  # fmt: skip
    assert all(torch.equal(state[k], again[k]) for k in state)  # same seed, same weights
    build_net(spec, ["a"], ["image"]).backbone.load_state_dict(state)
    fast = ImageTrainConfig(max_epochs=1, batch_size=8, accelerator="cpu", progress_bar=False)
    inspector = Inspector(width=8, head_dim=16, image_size=32, ssl_epochs=1, train=fast)
    inspector.fit(parts.train)
    assert len(inspector.training["ssl_loss_by_epoch"]) == 1
    with pytest.raises(ValueError, match="choose one start"):
        Inspector(ssl_epochs=2, pretrained=str(tmp_path / "weights.pt"))


@pytest.mark.slow
def test_cli_generates_parts_trains_on_class_folders_and_scores(tmp_path, capsys):
    from serving.cli import main

    data, run, scores = tmp_path / "parts", tmp_path / "run", tmp_path / "scores.csv"
    assert main(["inspect", "generate", "--kind", "parts", "--out", str(data), "--items", "36",
                 "--seed", "5", "--no-progress"]) == 0  # fmt: skip
    sizes = {Image.open(p).size for p in data.rglob("*.png")}
    assert len(sizes) > 5  # photos of varying sizes, as a user's would be
    assert main(["inspect", "train", "--data", str(data), "--good-class", "good", "--out",
                 str(run), "--epochs", "1", "--width", "8", "--head-dim", "16",
                 "--max-image-size", "64", "--batch-size", "8", "--target-frr", "0.2",
                 "--no-progress"]) == 0  # fmt: skip
    assert main(["inspect", "score", "--run", str(run), "--items", str(data), "--out",
                 str(scores), "--no-heatmaps", "--no-progress"]) == 0  # fmt: skip
    items = pd.read_csv(scores)
    assert len(items) == 36 and items["any_defect"].between(0, 1).all()
    assert items.columns.get_loc("any_defect") < items.columns.get_loc("score_crack")


# Checkpoint selection follows the any-defect validation AUROC first and the item loss only
# between equal AUROCs (README: "ties broken by the validation loss").
def _selection(probs, labels) -> float:
    """``val_selection`` as on_validation_epoch_end logs it for these validation outputs."""
    task = tiny_task(2)
    logged: dict[str, float] = {}
    task._trainer = SimpleNamespace(world_size=1)
    task.log = lambda name, value, **kwargs: logged.__setitem__(name, float(value))
    task._val_outputs = [
        (torch.tensor(probs, dtype=torch.float32)[:, None], torch.tensor(labels)[:, None])
    ]
    task.on_validation_epoch_end()
    return logged["val_selection"]


def test_a_higher_auroc_is_never_outranked_by_a_lower_loss():
    # 100 defective and 100 good items.
    labels = [1.0] * 100 + [0.0] * 100
    # Epoch A ranks every pair right but is unsure (low probabilities): AUROC 1, BCE 0.83.
    sure_not = [0.25] * 100 + [0.24] * 100
    # Epoch B is confident but ranks one pair wrong: AUROC 1 - 1/10000, BCE 0.05.
    confident = [0.99] * 99 + [0.02] + [0.03] + [0.01] * 99
    assert _selection(sure_not, labels) > _selection(confident, labels)


def test_equal_aurocs_prefer_the_lower_loss_also_above_one():
    labels = [1.0] * 4 + [0.0] * 4
    # Both rank every pair right (AUROC 1) and both are badly calibrated (BCE > 1).
    worse = [0.03] * 4 + [0.02] * 4  # BCE 1.76
    better = [0.1] * 4 + [0.05] * 4  # BCE 1.18
    assert _selection(better, labels) > _selection(worse, labels)


def _arrows(root, n: int, seed: int = 0):
    """Class folders whose classes only an orientation tells apart: an arrow head pointing up
    (good) or down (``upside_down``), anywhere in the image."""
    rng = np.random.default_rng(seed)
    for k in range(n):
        up = k % 2 == 0
        image = rng.normal(60, 12, (32, 32)).clip(0, 255)
        x, y = rng.integers(10, 22, 2)
        for r in range(8):
            half = (r if up else 7 - r) // 2
            image[y - 4 + r, x - half : x + half + 1] = 220
        folder = root / ("good" if up else "upside_down")
        folder.mkdir(parents=True, exist_ok=True)
        Image.fromarray(image.astype(np.uint8)).save(folder / f"label_{k}.png")
    return root


def test_upright_augmentation_never_shows_an_arrow_upside_down(tmp_path):
    """Under flips an arrow pointing up becomes one pointing down: classes an orientation
    defines could not be learnt with the class-folder default, and the command line had no
    other. ``upright`` keeps every image's orientation (its light changes, small rotations and
    shifts aside); ``parts`` turns about half of them over."""
    from vision.augment import augment_batch, preset_augment

    pixels = load_image(next((_arrows(tmp_path, 2) / "good").glob("*.png")), 32, "L")
    up = torch.from_numpy(pixels.copy()).permute(2, 0, 1).float() / 255  # a read-only decode
    up = up.expand(256, *up.shape).contiguous()
    flipped = torch.flip(up, dims=[-2])

    def turned_over(spec) -> float:
        torch.manual_seed(0)
        out = augment_batch(up, spec)
        closer = ((out - flipped) ** 2).mean((1, 2, 3)) < ((out - up) ** 2).mean((1, 2, 3))
        return float(closer.float().mean())

    assert turned_over(preset_augment("upright")) == 0.0
    assert turned_over(preset_augment("parts")) > 0.3
    assert preset_augment("auto") is None
    with pytest.raises(ValueError, match="give one"):
        Inspector(augmentation="upright", augment=preset_augment("parts"))


@pytest.mark.slow
def test_the_command_line_trains_with_a_named_augmentation(tmp_path, capsys):
    from serving.cli import main

    data, run = _arrows(tmp_path / "labels", 24), tmp_path / "run"
    assert main(["inspect", "train", "--data", str(data), "--good-class", "good", "--out",
                 str(run), "--epochs", "1", "--width", "8", "--head-dim", "16",
                 "--max-image-size", "32", "--batch-size", "8", "--augmentation", "upright",
                 "--target-frr", "0.2", "--no-progress"]) == 0  # fmt: skip
    loaded = Inspector.load(run)
    augment = loaded.training["augment"]
    assert (augment["hflip"], augment["vflip"], augment["rot90"]) == (0.0, 0.0, False)
    assert loaded.model.tta == "none" and loaded.data.augmentation == "upright"
    with pytest.raises(SystemExit) as refused:
        main(["inspect", "train", "--data", str(data), "--out", str(tmp_path / "x"),
              "--augmentation", "sideways"])  # fmt: skip
    assert refused.value.code == 2
    assert "augmentation" in capsys.readouterr().err
