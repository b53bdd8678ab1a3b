"""Test-time augmentation with turns on a tunnel model that measures colour and size.

The attribute head reads an item's width along a view's rows and its height down its columns
(the catalog: front/back show width x height), from upright photos (the tunnel trains with
mirrors only). A quarter-turned view swaps the two and a half turn shows the item upside down:
on a trained synthetic tunnel model the correct-size tall items' measured height was 1.94 cm
short with ``tta='dihedral'`` and 1.33 cm short with ``'flips'`` (0.03 cm without TTA, 0.06 with
the mirror), and their wrong_size score rose from 0.38 to 0.49 and 0.56. The measurement, the
wrong_color and wrong_size scores judged against it, must come from the view and its mirror; the
defect evidence still averages every transform."""

import pytest
import torch

from vision.catalog import REF_DIM
from vision.model import InspectionNet, ModelSpec

SIZE = 32


def _net(tta):
    torch.manual_seed(0)
    spec = ModelSpec(width=8, image_size=SIZE, head_dim=16, tta=tta, contrast=0)
    # classes: damage, wrong_color, wrong_size
    net = InspectionNet(spec, 3, 2, color_index=1, size_index=2).eval()
    # A catalog comparison that matters (it starts at zero).
    torch.nn.init.normal_(net.compare[2].weight, std=1.0)
    return net


def _inputs():
    g = torch.Generator().manual_seed(1)
    images = torch.rand(2, 2, 3, SIZE, SIZE, generator=g)
    images[..., 4:28, 10:22] += 1.0  # a tall bright item
    catalog = torch.rand(2, REF_DIM, generator=g)
    catalog[:, 0] = 1.0
    return images.clamp(0, 1), torch.ones(2, 2), catalog


def _upright_transforms(images):
    yield images
    yield images.flip(-1)


def _flips(images):
    # By hand: identity, mirror, half turn, half turn of the mirror (torch.rot90/flip).
    yield from _upright_transforms(images)
    yield torch.rot90(images, 2, (-2, -1))
    yield torch.rot90(images.flip(-1), 2, (-2, -1))


def _all_transforms(images):
    for k in range(4):
        for mirrored in (False, True):
            x = images.flip(-1) if mirrored else images
            yield torch.rot90(x, k, (-2, -1))


@pytest.mark.parametrize("mode,transforms", [("dihedral", _all_transforms), ("flips", _flips)])
def test_tta_with_turns_measures_on_the_view_and_its_mirror(mode, transforms):
    net = _net(mode)
    plain = _net("none")
    images, mask, catalog = _inputs()
    with torch.no_grad():
        item, _, _, attributes = net(images, mask, catalog)
        upright = [plain(x, mask, catalog) for x in _upright_transforms(images)]
        every = torch.stack([plain(x, mask, catalog)[0] for x in transforms(images)]).mean(0)
    torch.testing.assert_close(
        attributes, torch.stack([u[3] for u in upright]).mean(0), atol=1e-5, rtol=1e-5
    )
    # wrong_color and wrong_size (judged against the measurement) from the upright views, the
    # damage class from every transform.
    torch.testing.assert_close(
        item[:, 1:], torch.stack([u[0] for u in upright]).mean(0)[:, 1:], atol=1e-5, rtol=1e-5
    )
    torch.testing.assert_close(item[:, 0], every[:, 0], atol=1e-5, rtol=1e-5)


def test_the_mirror_alone_unchanged():
    net = _net("hflip")
    plain = _net("none")
    images, mask, catalog = _inputs()
    with torch.no_grad():
        item, _, _, attributes = net(images, mask, catalog)
        outs = [plain(x, mask, catalog) for x in _upright_transforms(images)]
    torch.testing.assert_close(item, torch.stack([o[0] for o in outs]).mean(0))
    torch.testing.assert_close(attributes, torch.stack([o[3] for o in outs]).mean(0))
