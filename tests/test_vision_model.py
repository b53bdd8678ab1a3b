"""Inspection model, backbones, augmentation and calibration (no training)."""

from __future__ import annotations

import copy
import dataclasses
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torchvision
from scipy import ndimage
from visiontools import tiny_task

from training.inspector import resolve_model_spec
from vision.augment import AugmentSpec, augment_batch
from vision.backbones import build_backbone
from vision.calibration import calibrate_thresholds, good_items_needed, verdicts
from vision.catalog import REF_DIM
from vision.model import CONTRAST_GAIN, RMS_FLOOR, InspectionNet, ModelSpec, top_hats
from vision.run import build_net

SIZE = 64


@pytest.fixture(scope="module")
def net():
    torch.manual_seed(0)
    return InspectionNet(ModelSpec(width=8, image_size=SIZE, head_dim=16), 4, 6).eval()


def _inputs(batch=2, views=6, seed=0):
    g = torch.Generator().manual_seed(seed)
    return (
        torch.rand(batch, views, 3, SIZE, SIZE, generator=g),
        torch.ones(batch, views),
        torch.rand(batch, REF_DIM, generator=g),
    )


def test_forward_shapes(net):
    images, mask, catalog = _inputs()
    item, view, maps, attrs = net(images, mask, catalog)
    assert item.shape == (2, 4) and view.shape == (2, 6, 4)
    assert maps.shape == (2, 6, 4, SIZE // 16, SIZE // 16)
    assert attrs.shape == (2, 6)


def test_masked_views_do_not_change_the_item_output(net):
    images, mask, catalog = _inputs()
    mask[:, 2] = 0
    mask[1, 5] = 0
    with torch.no_grad():
        before = net(images, mask, catalog)[0]
        noisy = images.clone()
        noisy[:, 2] = torch.rand_like(noisy[:, 2])
        noisy[1, 5] = 0.0
        after = net(noisy, mask, catalog)[0]
    torch.testing.assert_close(before, after)
    # ...whereas the pixels of a view that is present do count.
    with torch.no_grad():
        changed = images.clone()
        changed[:, 0] = torch.rand_like(changed[:, 0])
        assert not torch.allclose(net(changed, mask, catalog)[0], before)


def test_catalog_reference_enters_the_output(net):
    images, mask, catalog = _inputs()
    with torch.no_grad():
        for p in net.film.parameters():  # FiLM starts as the identity; give it some weight
            p.copy_(torch.randn_like(p) * 0.1)
        a = net(images, mask, catalog)[0]
        b = net(images, mask, torch.zeros_like(catalog))[0]
    assert not torch.allclose(a, b)


@pytest.mark.slow
def test_forward_exports_with_a_dynamic_batch(net):
    images, mask, catalog = _inputs(batch=2)
    batch = torch.export.Dim("batch", min=1, max=64)
    exported = torch.export.export(
        net,
        (images, mask, catalog),
        dynamic_shapes=({0: batch}, {0: batch}, {0: batch}),
    )
    images3, mask3, catalog3 = _inputs(batch=3, seed=1)
    mask3[0, 1] = 0
    with torch.no_grad():
        expected = net(images3, mask3, catalog3)
    for got, want in zip(exported.module()(images3, mask3, catalog3), expected):
        torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-4)


@pytest.mark.parametrize(
    "name", ["mobilenet_v3_small", pytest.param("efficientnet_b0", marks=pytest.mark.slow)]
)
def test_other_backbones_run(name):
    model = InspectionNet(ModelSpec(backbone=name, image_size=SIZE, head_dim=16), 2, 3).eval()
    images, mask, catalog = _inputs(batch=1, views=3)
    with torch.no_grad():
        item, view, maps, _ = model(images, mask, catalog)
    assert item.shape == (1, 2) and view.shape == (1, 3, 2) and maps.shape[:3] == (1, 3, 2)


def test_top_hats_against_scipy_grey_morphology():
    rng = np.random.default_rng(0)
    grey = rng.uniform(size=(3, 1, 41, 36))
    got = top_hats(torch.from_numpy(grey), 7).numpy()
    for image, (black, white) in zip(grey[:, 0], got):
        # Outside the frame nothing constrains the result, as max-pooling's -inf padding does.
        def dilate(a):
            return ndimage.grey_dilation(a, size=(7, 7), mode="constant", cval=-np.inf)

        def erode(a):
            return ndimage.grey_erosion(a, size=(7, 7), mode="constant", cval=np.inf)

        np.testing.assert_allclose(black, erode(dilate(image)) - image, atol=1e-12)
        np.testing.assert_allclose(white, image - dilate(erode(image)), atol=1e-12)


@pytest.mark.parametrize("marks", ["rms", "gain"])
def test_the_contrast_path_puts_a_small_dark_mark_in_its_cell(marks):
    torch.manual_seed(0)
    spec = ModelSpec(width=8, image_size=SIZE, head_dim=16, contrast=7, marks=marks)
    net = InspectionNet(spec, 2, 1)
    net.eval()
    images = torch.full((2, 1, 3, SIZE, SIZE), 0.7)
    images[:, :, :, 32:, :] = 0.2  # an edge across the frame: no mark
    images[1, 0, :, 20:23, 41:44] = 0.3  # a 3 px pit, 0.4 deep, in cell (1, 2) of 16 px
    mask, catalog = torch.ones(2, 1), torch.zeros(2, REF_DIM)
    # "rms" reads softplus of the stored weights: -1e4 is a weight of 0, log(e - 1) one of 1.
    zero, one = (-1.0e4, float(np.log(np.e - 1))) if marks == "rms" else (0.0, 1.0)

    def heatmaps(black_weight: float) -> torch.Tensor:
        # Class 0 reads the black top-hat alone, class 1 nothing.
        with torch.no_grad():
            net.contrast_head.weight.fill_(zero)
            net.contrast_head.bias.zero_()
            net.contrast_head.weight[0, 0] = black_weight
            return net(images, mask, catalog)[2][:, 0]

    path = heatmaps(one) - heatmaps(zero)
    expected = torch.zeros_like(path)
    if marks == "gain":
        expected[1, 0, 1, 2] = CONTRAST_GAIN * 0.4
    else:
        # In units of the image's root mean square black top-hat: 9 pixels of 0.4 in 64 x 64.
        expected[1, 0, 1, 2] = 0.4 / (0.4 * 3 / SIZE + RMS_FLOOR)
    torch.testing.assert_close(path, expected, atol=1e-4, rtol=1e-5)
    # A model saved before the option (no "contrast" in its manifest) has no such path.
    assert InspectionNet(ModelSpec.from_dict({"width": 8}), 2, 1).contrast_head is None
    with pytest.raises(ValueError, match="contrast: expected -1 .auto., 0 .off. or an odd size"):
        ModelSpec(contrast=4)


def test_rms_marks_read_a_mark_as_evidence_whatever_the_stored_weight():
    # Signed weights let a class settle where the cell maximum sits on flat ground, with no
    # gradient back to the mark; under "rms" a brighter mark never lowers any class's evidence.
    torch.manual_seed(0)
    net = InspectionNet(ModelSpec(width=8, image_size=SIZE, head_dim=16, contrast=7), 3, 1)
    net.eval()
    plain = torch.rand(1, 1, 3, SIZE, SIZE) * 0.05 + 0.6  # a faint texture
    marked = plain.clone()
    marked[0, 0, :, 40:42, 10:12] += 0.3  # a bright 2 px mark in cell (2, 0)
    mask, catalog = torch.ones(1, 1), torch.zeros(1, REF_DIM)

    def change(stored: list[float]) -> torch.Tensor:
        """What the mark changes in cell (2, 0) of each class's heatmap."""
        with torch.no_grad():
            net.contrast_head.weight.copy_(torch.tensor(stored).view(3, 1, 1, 1))
            maps = [net(x, mask, catalog)[2][0, 0, :, 2, 0] for x in (marked, plain)]
        return maps[0] - maps[1]

    # Less what the rest of the network makes of the mark (contrast weights of 0).
    rise = change([-3.0, 0.5, 2.0]) - change([-1.0e4] * 3)
    assert (rise > 0).all() and rise[2] > rise[1] > rise[0]


def test_a_faint_blotch_wider_than_the_top_hat_reads_at_the_coarse_scales():
    torch.manual_seed(0)
    net = InspectionNet(ModelSpec(width=8, image_size=SIZE, head_dim=16, contrast=7), 1, 1)
    net.eval()
    texture = torch.rand(1, 1, 1, SIZE, SIZE).expand(1, 1, 3, SIZE, SIZE) * 0.04 + 0.6
    blotch = texture.clone()
    blotch[0, 0, :, 36:48, 4:16] -= 0.08  # 12 px across, 0.08 deep, in cell (2, 0)
    mask, catalog = torch.ones(1, 1), torch.zeros(1, REF_DIM)
    heads = (net.contrast_head, *net.coarse_heads)
    assert len(heads) == 3

    def rise(level: int) -> float:
        """What the blotch adds to its cell with only head ``level`` reading dark marks."""
        with torch.no_grad():
            for k, head in enumerate(heads):
                head.bias.zero_()
                head.weight.fill_(-1.0e4)  # softplus: 0
                if k == level:
                    head.weight[0, 0] = 0.0
            maps = [net(x, mask, catalog)[2][0, 0, 0, 2, 0] for x in (blotch, texture)]
            return float(maps[0] - maps[1])

    full, half, quarter = rise(0), rise(1), rise(2)
    # At full resolution the blotch is wider than 7 px and its flat floor is no mark; at a
    # quarter it is 3 px across and stands out of the averaged texture.
    assert quarter > 1 and quarter > 10 * abs(full)
    assert half > 10 * abs(full)


def test_pretrained_weights_load_only_from_a_local_file(tmp_path):
    reference = torchvision.models.resnet18(weights=None)
    torch.save(reference.state_dict(), tmp_path / "resnet18.pt")
    backbone = build_backbone("resnet18", width=64, pretrained=tmp_path / "resnet18.pt")
    torch.testing.assert_close(backbone.layer3[1].conv2.weight, reference.layer3[1].conv2.weight)
    with pytest.raises(ValueError, match="does not fit backbone 'resnet18'.*shape mismatches"):
        build_backbone("resnet18", width=16, pretrained=tmp_path / "resnet18.pt")
    with pytest.raises(ValueError, match="not found"):
        build_backbone("resnet18", pretrained=tmp_path / "absent.pt")
    with pytest.raises(ValueError, match="backbone: expected one of"):
        ModelSpec(backbone="vgg16")


def test_augmentation_moves_masks_with_the_pixels():
    torch.manual_seed(0)
    images = torch.zeros(16, 3, SIZE, SIZE)
    masks = torch.zeros(16, SIZE, SIZE, dtype=torch.uint8)
    images[:, :, 10:24, 30:50] = 1.0
    masks[:, 10:24, 30:50] = 5
    spec = AugmentSpec(hflip=0.5, vflip=0.5, rot90=True, rotate_deg=5, translate=0.05)
    out, moved = augment_batch(images, spec, masks=masks)
    bright = out.mean(1) > 0.5
    marked = moved > 0
    assert set(moved.unique().tolist()) <= {0, 5}
    overlap = (bright & marked).sum() / (bright | marked).sum()
    assert overlap > 0.85
    # Geometry did change for at least some images.
    assert (marked != (masks > 0)).any()


def _scores(n, rng, positives=0):
    """Correlated per-class scores of good items, plus clearly higher scores for defects."""
    shared = rng.normal(size=(n, 1))
    good = 1 / (1 + np.exp(-(rng.normal(size=(n, 4)) + 0.5 * shared - 2)))
    labels = np.zeros((n, 4))
    if positives:
        labels[:positives, 1] = 1
        good[:positives, 1] = 1 / (1 + np.exp(-rng.normal(3, 1, positives)))
    return good, labels


def test_thresholds_meet_the_target_false_reject_rate_on_fresh_good_items():
    rng = np.random.default_rng(0)
    names = ("damage", "wrong_color", "wrong_size", "packaging")
    scores, labels = _scores(3000, rng, positives=300)
    target, band = 0.05, 0.05
    th = calibrate_thresholds(scores, labels, names, target_frr=target, review_rate=band)
    assert th.n_good == 2700 and th.achievable
    fresh, _ = _scores(20000, rng)
    verdict, _ = verdicts(fresh, th)
    verdict = np.array(verdict)
    se = np.sqrt(target * (1 - target) * (1 / th.n_good + 1 / len(fresh)))
    assert abs((verdict == "reject").mean() - target) < 3 * se
    assert abs((verdict == "review").mean() - band) < 3 * np.sqrt(band * (1 - band) / th.n_good)
    assert (th.review <= th.reject).all()


def test_verdict_rules():
    names = ("a", "b")
    th = calibrate_thresholds(
        np.array([[0.1, 0.1], [0.2, 0.2], [0.3, 0.3]] * 100),
        np.zeros((300, 2)),
        names,
        target_frr=0.1,
        review_rate=0.2,
    )
    th.reject[:] = [0.8, 0.9]
    th.review[:] = [0.5, 0.6]
    scores = np.array(
        [[0.1, 0.1], [0.85, 0.1], [0.6, 0.1], [0.1, 0.95], [0.1, 0.1], [np.nan, np.nan]]
    )
    complete = np.array([True, True, True, True, False, False])
    verdict, reasons = verdicts(scores, th, complete)
    assert verdict == ["pass", "reject", "review", "reject", "review", "review"]
    assert reasons[1] == "a" and reasons[3] == "b" and reasons[4] == "incomplete inspection"


def test_too_few_good_items_cannot_resolve_a_small_rate():
    rng = np.random.default_rng(1)
    scores = rng.random((20, 2))
    th = calibrate_thresholds(scores, np.zeros((20, 2)), ("a", "b"), target_frr=0.01)
    assert not th.achievable and "over 2 classes: need 299" in th.notes[0]
    assert (np.array(verdicts(scores, th)[0]) != "reject").all()
    with pytest.raises(ValueError, match="target_frr"):
        calibrate_thresholds(scores, np.zeros((20, 2)), ("a", "b"), target_frr=0.0)


def test_fresh_good_items_are_rejected_at_the_target_rate_whatever_the_number_of_classes():
    """Independent uniform class scores: a fresh good item passes class c with probability
    ``reject[c]`` exactly, so ``1 - prod(reject)`` is its false-reject rate, whose mean over
    calibration sets the conformal level keeps at or below the target. Ranks counted among
    the calibration items alone gave 1.6% for 1% here (and 3.9% with 99 items)."""
    rng = np.random.default_rng(0)
    n, target = 500, 0.01
    rates = []
    for _ in range(300):
        good = rng.random((n, 4))
        th = calibrate_thresholds(good, np.zeros_like(good), tuple("abcd"), target, 0.0)
        assert th.achievable
        rates.append(1 - np.prod(th.reject))
    assert np.mean(rates) <= target + 3 * np.std(rates) / np.sqrt(len(rates))
    # One class: the plain conformal quantile, exact: (n + 1 - j) / (n + 1) on average.
    one = [calibrate_thresholds(g, np.zeros_like(g), ("a",), target, 0.0).reject[0]
           for g in rng.random((2000, 99, 1))]  # fmt: skip
    assert 1 - np.mean(one) == pytest.approx(0.01, abs=0.0015)


def test_99_good_items_cannot_promise_1_percent_over_four_classes():
    """With every threshold at its class's highest good score, a fresh good item beats one of
    four independent maxima of 99 with probability 1 - 0.99 ** 4 = 3.9%: not achievable."""
    good = np.random.default_rng(1).random((99, 4))
    th = calibrate_thresholds(good, np.zeros_like(good), tuple("abcd"), 0.01, 0.0)
    assert not th.achievable and "need 499" in th.notes[0]
    assert good_items_needed(0.01, 4) == 499 and good_items_needed(0.01, 1) == 99
    many = np.random.default_rng(2).random((499, 4))
    assert calibrate_thresholds(many, np.zeros_like(many), tuple("abcd"), 0.01, 0.0).achievable


def test_a_class_constant_on_good_items_does_not_freeze_the_other_thresholds():
    """A class that reads the same on every good item (a saturated or dead head) ties every
    item at its rank: the tie takes the lowest rank, so the other class's thresholds still
    follow the target and the review band (the highest rank pushed them to their maxima)."""
    rng = np.random.default_rng(3)
    n = 1000
    a = rng.random(n)
    good = np.column_stack([a, np.full(n, 0.02)])
    th = calibrate_thresholds(good, np.zeros_like(good), ("a", "b"), 0.05, 0.05)
    # The constant class's threshold sits a step above its tied score (rounding at the tie
    # would reject every good item), not far above it.
    assert 0.02 < th.reject[1] < 0.03 and th.achievable
    assert th.reject[0] < np.sort(a)[-10]
    assert 0.03 < th.calibration_frr <= 0.05
    assert th.calibration_review_rate > 0.03
    fresh = np.column_stack([rng.random(20000), np.full(20000, 0.02)])
    rejected = (np.array(verdicts(fresh, th)[0]) == "reject").mean()
    assert 0.03 < rejected < 0.065


# Heatmaps of the contrast path under test-time augmentation land in the mark's own cell.
def _mark_heatmap(spec: ModelSpec, y: int, x: int) -> np.ndarray:
    torch.manual_seed(0)
    net = InspectionNet(spec, 1, 1).eval()
    with torch.no_grad():  # the heatmap is the contrast path's black top-hat alone
        net.local_head.weight.zero_()
        net.local_head.bias.zero_()
        net.contrast_head.weight.copy_(torch.tensor([5.0, -20.0]).view(1, 2, 1, 1))
        net.contrast_head.bias.zero_()
        size = spec.image_size
        images = torch.full((1, 1, 3, size, size), 0.7)
        images[..., y : y + 1, x : x + 1] = 0.1
        return net(images, torch.ones(1, 1), torch.zeros(1, REF_DIM))[2][0, 0, 0].numpy()


@pytest.mark.parametrize("tta", ["hflip", "flips", "dihedral"])
@pytest.mark.parametrize("size,stride", [(64, 32), (48, 16), (96, 32)])
def test_a_mark_lights_its_own_cell_under_tta(tta, size, stride):
    spec = ModelSpec(
        width=8,
        image_size=size,
        output_stride=stride,
        head_dim=8,
        contrast=5,
        tta=tta,
        mark_scales=1,
    )
    for y, x in ((3, size - 5), (size // 2 + 3, 5), (stride + 2, stride - 3)):
        heat = _mark_heatmap(spec, y, x)
        top = np.argwhere(np.isclose(heat, heat.max(), rtol=1e-5))
        assert top.tolist() == [[y // stride, x // stride]], (y, x, heat.round(2))


@pytest.mark.parametrize("size,stride", [(48, 32), (80, 32), (40, 16)])
def test_sizes_whose_cells_flips_would_split_are_refused(size, stride):
    # 48 px at stride 32: cells cover 0-31 and 32-47, mirrored 16-47 and 0-15, so a mark at
    # x = 20 would light both cells of its row equally.
    from training.inspector import resolve_model_spec
    from vision.augment import AugmentSpec

    flips = AugmentSpec(hflip=0.5, vflip=0.5)
    spec = ModelSpec(width=8, image_size=size, output_stride=stride, contrast=7)
    with pytest.raises(ValueError, match="not a multiple of the output stride"):
        resolve_model_spec(spec, None, flips, 256)  # tta auto -> flips
    # Without test-time augmentation or without the contrast path nothing is split; a saved
    # run with such a spec still loads (the check is made when a run is fitted).
    resolve_model_spec(dataclasses.replace(spec, tta="none"), None, flips, 256)
    resolve_model_spec(dataclasses.replace(spec, contrast=0), None, flips, 256)
    ModelSpec(width=8, image_size=size, output_stride=stride, contrast=7, tta="flips")


# ``--pretrained`` with torchvision's published ResNet weights, which predate BatchNorm's
# ``num_batches_tracked`` buffer (the file holds 102 tensors, the model's state 122).


def test_pretrained_weights_without_num_batches_tracked_load_whole(tmp_path):
    torch.manual_seed(0)
    reference = torchvision.models.resnet18(weights=None)
    with torch.no_grad():
        for name, value in reference.state_dict().items():
            if name.endswith("running_mean"):
                value.normal_(0, 0.1)
            elif name.endswith("running_var"):
                value.uniform_(0.5, 2.0)
    # As torchvision's resnet18-f37072fd.pth: a plain dict, no num_batches_tracked entries.
    state = {
        k: v for k, v in reference.state_dict().items() if not k.endswith("num_batches_tracked")
    }
    torch.save(state, tmp_path / "resnet18.pth")
    fresh = torchvision.models.resnet18(weights=None)
    fresh.load_state_dict(
        torch.load(tmp_path / "resnet18.pth", weights_only=True)
    )  # torch's own rule

    backbone = build_backbone("resnet18", width=64, pretrained=tmp_path / "resnet18.pth")
    own = backbone.state_dict()
    loaded = [k for k in own if not k.endswith("num_batches_tracked")]
    assert len(loaded) == len(state) - 2  # every tensor but fc.weight and fc.bias
    for key in loaded:
        torch.testing.assert_close(own[key], state[key], rtol=0, atol=0)  # BN stats included
    # A file that really lacks a weight is still refused by name.
    del state["layer2.0.bn1.running_var"]
    torch.save(state, tmp_path / "short.pth")
    with pytest.raises(ValueError, match=r"1 missing keys \['layer2.0.bn1.running_var'\]"):
        build_backbone("resnet18", width=64, pretrained=tmp_path / "short.pth")


# The validation AUROC that selects inspection checkpoints ranks confident items as the
# scorer does: probabilities from float64, so logits above ~16.6 do not tie at exactly 1.


def _rank_auroc(labels, scores) -> float:
    """Brute force over all (defective, good) pairs; a tie counts one half."""
    labels, scores = np.asarray(labels, bool), np.asarray(scores, float)
    pos, neg = scores[labels], scores[~labels]
    wins = sum(float((neg < p).sum()) + 0.5 * float((neg == p).sum()) for p in pos)
    return wins / (len(pos) * len(neg))


def _validate(logits: torch.Tensor, labels: torch.Tensor) -> dict:
    task = tiny_task(2)
    task._trainer = SimpleNamespace(world_size=1, global_rank=0)
    logged: dict = {}
    task.log = lambda name, value, **kw: logged.__setitem__(name, float(value))
    task._loss = lambda batch, train, sums=False: (torch.zeros((), dtype=torch.float64), logits)
    task.validation_step({"labels": labels}, 0)
    task.on_validation_epoch_end()
    return logged


@pytest.mark.parametrize("seed", [0, 1])
def test_validation_auroc_of_confident_logits_matches_a_rank_reference(seed):
    rng = np.random.default_rng(seed)
    # Confident items: logits 15..30, where float32 sigmoids are all exactly 1.
    logits = torch.from_numpy(rng.uniform(15.0, 30.0, (12, 1)).astype(np.float32))
    labels = torch.from_numpy((rng.random((12, 1)) < 0.5).astype(np.float32))
    labels[0, 0], labels[1, 0] = 0.0, 1.0
    logged = _validate(logits, labels)
    expected = _rank_auroc(labels[:, 0] >= 0.5, logits[:, 0].numpy())
    assert logged["val_auroc_a"] == pytest.approx(expected, abs=1e-12)
    assert logged["val_auroc_any"] == pytest.approx(expected, abs=1e-12)


def test_a_confident_false_positive_does_not_tie_with_the_defects():
    logits = torch.tensor([[18.0], [20.0], [16.0], [-3.0]])
    labels = torch.tensor([[0.0], [1.0], [1.0], [0.0]])
    logged = _validate(logits, labels)
    # Pairs: 20 > 18, 16 < 18, 20 > -3, 16 > -3 -> 3 of 4 (float32 read 0.625).
    assert logged["val_auroc_any"] == pytest.approx(0.75)


# The contrast path pools its evidence over the backbone's real cells: the torchvision feature
# extractors are at stride 32 whatever ``output_stride`` (default 16) says, and a mark outside the
# top-left quarter of the image must still reach its cell.


def _contrast_only(backbone: str) -> InspectionNet:
    torch.manual_seed(0)
    width = 8 if backbone == "resnet18" else 32
    spec = ModelSpec(
        backbone=backbone,
        width=width,
        image_size=64,
        head_dim=16,
        contrast=7,
        tta="none",
        mark_scales=1,
    )
    net = InspectionNet(spec, 1, 1).eval()
    with torch.no_grad():  # silence every head but the contrast path's
        net.local_head.weight.zero_()
        net.local_head.bias.zero_()
        for layer in net.global_head:
            if isinstance(layer, torch.nn.Linear):
                layer.weight.zero_()
                layer.bias.zero_()
        net.contrast_head.weight.fill_(2.0)
        net.contrast_head.bias.zero_()
    return net


@pytest.mark.parametrize("backbone", ["resnet18", "mobilenet_v3_small"])
def test_a_pit_anywhere_lights_its_own_cell(backbone):
    net = _contrast_only(backbone)
    g = torch.Generator().manual_seed(1)
    base = (0.6 + 0.02 * torch.rand(1, 1, 1, 64, 64, generator=g)).expand(1, 1, 3, 64, 64)
    mask, catalog = torch.ones(1, 1), torch.zeros(1, 7)
    with torch.no_grad():
        clean = net(base.clone(), mask, catalog)[0].item()
        for y, x in ((10, 10), (50, 50), (10, 50), (50, 10)):
            image = base.clone()
            image[..., y : y + 2, x : x + 2] = 0.0
            item, _, maps, _ = net(image, mask, catalog)
            h, w = maps.shape[-2:]
            cell = divmod(int(maps[0, 0, 0].argmax()), w)
            assert cell == (y * h // 64, x * w // 64), (y, x)
            assert item.item() > clean + 10.0, (y, x)


def test_sizes_that_split_the_real_cells_under_flips_are_refused():
    spec = ModelSpec(backbone="mobilenet_v3_small", image_size=48, contrast=7, tta="flips")
    with pytest.raises(ValueError, match="multiple of the output stride 32"):
        resolve_model_spec(spec, None, None, 256)


CLASSES = ["damage", "wrong_color", "wrong_size", "packaging"]
VIEWS = ["front", "back", "left", "right"]


def _batch():
    gen = torch.Generator().manual_seed(0)
    images = 0.3 + 0.4 * torch.rand(4, 4, 3, 32, 32, generator=gen)
    mask = torch.tensor(
        [[1, 0, 1, 0], [1, 1, 0, 0], [1, 1, 1, 1], [0, 1, 0, 1]], dtype=torch.float32
    )
    images = images * mask[..., None, None, None]  # the loader leaves missing slots zero
    catalog = torch.rand(4, 7, generator=gen)
    catalog[:, 0] = 1
    return images, mask, catalog


def _net():
    torch.manual_seed(0)
    net = build_net(
        ModelSpec(width=8, image_size=32, head_dim=16, tta="none", contrast=0), CLASSES, VIEWS
    )
    for m in net.modules():
        if isinstance(m, torch.nn.BatchNorm2d):
            m.momentum = None  # cumulative average: after one batch, that batch's statistics
    return net.train()


def test_missing_views_stay_out_of_the_batchnorm_statistics():
    images, mask, catalog = _batch()
    net, reference = _net(), _net()
    with torch.no_grad():
        net(images, mask, catalog)
        # Independent reference: the backbone on the photographed views alone.
        x = (images[mask > 0] - reference.pixel_mean) / reference.pixel_std
        reference.reduce(reference.backbone.forward_body(reference.backbone.forward_stem(x)))
    for (name, got), (_, want) in zip(net.named_buffers(), reference.named_buffers()):
        if name.endswith(("running_mean", "running_var")):
            torch.testing.assert_close(got, want, rtol=1e-4, atol=1e-5, msg=name)


def test_in_training_an_item_does_not_depend_on_another_items_missing_views():
    images, mask, catalog = _batch()
    other = images.clone()
    other[0, 1] = torch.rand(3, 32, 32)  # item 0's missing slot: noise instead of zeros
    net = _net()
    with torch.no_grad():
        first = copy.deepcopy(net)(images, mask, catalog)
        second = copy.deepcopy(net)(other, mask, catalog)
    for got, want in zip(first, second):
        torch.testing.assert_close(got[1:], want[1:])


def _tta_net(tta: str):
    torch.manual_seed(0)
    spec = ModelSpec(width=8, image_size=64, head_dim=16, tta=tta, contrast=7, mark_scales=1)
    return build_net(spec, ["damage", "packaging"], ["front", "top"]).eval()


@pytest.mark.parametrize("shape", [(64, 96), (96, 64)])
def test_dihedral_tta_on_a_rectangular_view_is_the_average_of_the_eight_transforms(shape):
    net = _tta_net("dihedral")
    gen = torch.Generator().manual_seed(1)
    images = torch.rand(2, 2, 3, *shape, generator=gen)
    mask = torch.tensor([[1.0, 1.0], [1.0, 0.0]])
    catalog = torch.zeros(2, 7)
    with torch.no_grad():
        got = net(images, mask, catalog)
        # Reference: each transform of the dihedral group on its own (rot90 and flip in
        # torch's own ops), its heatmaps turned back, everything averaged.
        outs = []
        for flip in (False, True):
            for turns in range(4):
                x = images.flip(-1) if flip else images
                x = torch.rot90(x, turns, (-2, -1))
                item, view, maps, attrs = net._forward(x, mask, catalog)
                maps = torch.rot90(maps, -turns, (-2, -1))
                outs.append((item, view, maps.flip(-1) if flip else maps, attrs))
    for k, name in enumerate(("item", "view", "maps")):
        want = torch.stack([o[k] for o in outs]).mean(0)
        torch.testing.assert_close(got[k], want, rtol=1e-4, atol=1e-5, msg=name)
    # A turn swaps the measured width and height or puts the item upside down: measured on
    # the view and its mirror.
    want = torch.stack([outs[0][3], outs[4][3]]).mean(0)
    torch.testing.assert_close(got[3], want, rtol=1e-4, atol=1e-5, msg="attributes")


def test_a_bright_mark_in_a_corner_of_a_rectangular_view_heats_that_corner():
    net = _tta_net("dihedral")
    with torch.no_grad():
        net.local_head.weight.zero_()
        net.local_head.bias.zero_()
    h, w = 64, 96
    for top in (True, False):
        for left in (True, False):
            image = torch.full((1, 2, 3, h, w), 0.5)
            rows = slice(2, 5) if top else slice(h - 5, h - 2)
            cols = slice(2, 5) if left else slice(w - 5, w - 2)
            image[..., rows, cols] = 1.0
            with torch.no_grad():
                maps = net(image, torch.ones(1, 2), torch.zeros(1, 7))[2][0, 0, 0]
            r, c = divmod(int(maps.argmax()), maps.shape[1])
            assert (r, c) == (0 if top else maps.shape[0] - 1, 0 if left else maps.shape[1] - 1)
