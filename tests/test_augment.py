"""Augmentation settings that destroy labelled content are refused; the warp stays correct
in bfloat16.
"""

import math
import subprocess
import sys
import textwrap

import pytest
import torch

from vision.augment import AugmentSpec, augment_batch

# AugmentSpec refuses amplitudes that destroy the labelled content instead of transforming it.
#
# ``brightness`` and ``contrast`` draw a factor ``1 +- amplitude``: above 1 the factor can be
# negative, so a share of the training images came out black (brightness 1.5: 1 in 6) or
# inverted (contrast 1.5) while keeping their defect labels. Non-finite amplitudes were accepted
# too (NaN silently switched a transform off; inf rotation or noise turned every image into
# noise), and a truthy non-bool ``rot90`` ("false") turned quarter turns and dihedral TTA on.


@pytest.mark.parametrize(
    "values",
    [
        {"brightness": 1.5},
        {"contrast": 1.5},
        {"translate": 3.0},
        {"brightness": math.nan},
        {"rotate_deg": math.inf},
        {"noise": math.inf},
        {"contrast": math.nan},
        {"rot90": "false"},
    ],
)
def test_label_destroying_settings_are_refused(values):
    with pytest.raises(ValueError, match=next(iter(values))):
        AugmentSpec(**values)
    with pytest.raises(ValueError, match=next(iter(values))):
        AugmentSpec.from_dict(values)


def test_the_largest_accepted_light_changes_keep_every_image():
    # Reference: a gain or contrast factor in [0, 2] never blacks out or inverts an image whose
    # pixels lie in [0.3, 0.7] (a gain g > 0 keeps some pixel above 0; a factor f >= 0 keeps the
    # order of the pixels).
    torch.manual_seed(0)
    x = 0.3 + 0.4 * torch.rand(300, 3, 8, 8)
    spec = AugmentSpec(hflip=0.0, brightness=1.0, contrast=1.0)
    y = augment_batch(x, spec).reshape(300, -1)
    flat = x.reshape(300, -1)
    assert bool((y.amax(dim=1) > 0).all())
    xc, yc = flat - flat.mean(1, keepdim=True), y - y.mean(1, keepdim=True)
    assert bool(((xc * yc).sum(dim=1) >= 0).all())


# bf16-true training: the augmentation's rotation/shift must not read outside the image.
#
# Under ``precision="bf16-true"`` InspectionTask hands bfloat16 images to ``augment_batch`` with
# bfloat16 as torch's default dtype. The warp's sampling grid was then bfloat16 too: at 192-256
# pixels its coordinates are a pixel apart and torch's bfloat16 CPU ``grid_sample`` read outside
# the image (NaN pixels, values near 3e38, or a segmentation fault). The check runs in a child
# process so that a crash is a failed assertion, not a dead test session; the warp is compared with
# a float64 bilinear warp written here.

CHILD = textwrap.dedent(
    """
    import math
    import numpy as np
    import torch
    from vision.augment import AugmentSpec, augment_batch

    torch.set_num_threads(1)
    S, n = 256, 12
    spec = AugmentSpec(hflip=0.0, rotate_deg=4.0, translate=0.04)  # the tunnel's geometry
    rng = np.random.default_rng(0)
    base = rng.random((n, 3, S, S))
    masks = np.zeros((n, S, S), np.uint8)
    masks[:, 100:140, 60:70] = 4

    def reference(image, theta):
        # output pixel (i, j) samples the input at theta @ (x, y, 1), x, y in [-1, 1] at
        # pixel centres (align_corners=False), bilinear, coordinates clamped to the border
        y, x = np.meshgrid((2 * np.arange(S) + 1) / S - 1, (2 * np.arange(S) + 1) / S - 1,
                           indexing="ij")
        sx = theta[0, 0] * x + theta[0, 1] * y + theta[0, 2]
        sy = theta[1, 0] * x + theta[1, 1] * y + theta[1, 2]
        px = np.clip(((sx + 1) * S - 1) / 2, 0, S - 1)
        py = np.clip(((sy + 1) * S - 1) / 2, 0, S - 1)
        x0, y0 = np.floor(px).astype(int), np.floor(py).astype(int)
        x1, y1 = np.minimum(x0 + 1, S - 1), np.minimum(y0 + 1, S - 1)
        wx, wy = px - x0, py - y0
        return (image[:, y0, x0] * (1 - wx) * (1 - wy) + image[:, y0, x1] * wx * (1 - wy)
                + image[:, y1, x0] * (1 - wx) * wy + image[:, y1, x1] * wx * wy)

    torch.manual_seed(5)
    angle = (torch.rand(n) * 2 - 1).double().numpy() * math.radians(4.0)
    shift = (torch.rand(n, 2) * 2 - 1).double().numpy() * 0.08
    thetas = [np.array([[math.cos(a), -math.sin(a), s[0]], [math.sin(a), math.cos(a), s[1]]])
              for a, s in zip(angle, shift)]

    torch.manual_seed(5)
    torch.set_default_dtype(torch.bfloat16)  # as Lightning's bf16-true does in training
    images = torch.from_numpy(base).to(torch.bfloat16)
    out, moved = augment_batch(images, spec, masks=torch.from_numpy(masks))
    torch.set_default_dtype(torch.float32)
    out = out.float().numpy()
    print("finite", bool(np.isfinite(out).all()))
    error = max(np.abs(out[i] - reference(images[i].double().numpy(), t)).max()
                for i, t in enumerate(thetas))
    print("error", float(error))
    print("mask", int((moved.numpy() == 4).sum(axis=(1, 2)).min()),
          sorted(set(np.unique(moved.numpy()).tolist())))
    """
)


def test_bf16_augmentation_warps_like_a_float64_reference():
    done = subprocess.run(
        [sys.executable, "-c", CHILD], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, f"augment_batch crashed (rc {done.returncode}): {done.stderr}"
    lines = dict(line.split(" ", 1) for line in done.stdout.strip().splitlines())
    assert lines["finite"] == "True"
    # bfloat16 pixels carry 8 bits: a warp on the right grid is within a few 1/256 of the
    # reference; a bfloat16 grid samples up to a pixel away (differences of order 1).
    assert float(lines["error"]) < 0.02
    count, values = lines["mask"].split(" ", 1)
    assert int(count) >= 300 and values == "[0, 4]"  # the 40 x 10 mark moved, not lost
