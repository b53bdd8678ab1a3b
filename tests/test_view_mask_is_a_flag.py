"""``view_mask`` says which view slots hold a photo. The network read it three ways in one
forward: the backbone's training pass and the attribute weights took a value above 0 as present,
the fusion's maximum a value above 0 as present, but the fusion's mean used the value itself as
a weight. A mask of -1 for a missing view (an OIP v2 client's "absent", which the service
accepts as FP32) left the view out of the maximum and the attributes and subtracted its
logits from the mean; a 2 counted a view twice in the mean only; a NaN made every score NaN
(null, with 200). A value is a flag: above 0 present, anything else absent."""

from __future__ import annotations

import numpy as np
import torch

from vision.config import ModelSpec
from vision.run import build_net

CLASSES = ["damage", "wrong_color", "wrong_size", "packaging"]
VIEWS = ["front", "back", "left", "right"]


def test_a_view_mask_value_is_read_as_present_or_absent_everywhere():
    net, images, _ = _net_with_four_views()
    with torch.no_grad():
        net.fusion_mix.fill_(0.0)  # half maximum, half mean
        catalog = torch.tensor([[1.0, 0.8, 0.2, 0.2, 0.4, 0.5, 0.3]])
        flags = torch.tensor([[1.0, 1.0, 0.0, 1.0]])
        reference = net(images, flags, catalog)
        for value, present in ((-1.0, 0.0), (float("nan"), 0.0), (2.0, 1.0), (0.5, 1.0)):
            mask = flags.clone()
            mask[0, 2], mask[0, 3] = value, value if present else 1.0
            expected = reference if present == 0.0 else net(images, (mask > 0).float(), catalog)
            out = net(images, mask, catalog)
            for name, got, want in zip(("item_logits", "attributes"), out[::3], expected[::3]):
                assert np.allclose(got.numpy(), want.numpy(), atol=1e-6), (value, name, got, want)


def _net_with_four_views():
    """A tiny network and one item's four views, all present."""
    torch.manual_seed(0)
    spec = ModelSpec(width=8, image_size=32, head_dim=16, tta="none", contrast=0)
    net = build_net(spec, CLASSES, VIEWS).eval()
    images = torch.rand(1, 4, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    return net, images, torch.ones(1, 4)


def test_the_catalog_presence_flag_is_a_flag_too():
    net, images, mask = _net_with_four_views()
    with torch.no_grad():
        catalog = torch.tensor([[1.0, 0.8, 0.2, 0.2, 0.4, 0.5, 0.3]])
        present = net(images, mask, catalog)[0]
        absent = net(images, mask, torch.cat([torch.zeros(1, 1), catalog[:, 1:]], 1))[0]
        assert not torch.allclose(present, absent)  # the reference moves the scores
        for value, want in ((2.0, present), (-1.0, absent)):
            flagged = torch.cat([torch.full((1, 1), value), catalog[:, 1:]], 1)
            assert torch.allclose(net(images, mask, flagged)[0], want, atol=1e-6), value


def test_an_absent_catalog_reference_scores_as_no_reference():
    # A flag of 0 or below says "no reference" (an OIP client's product it chose not to check):
    # the item must score as the station scores an item without one, all zeros
    # (``no_reference``), which is also all the network saw for such items in training. The
    # fields sent beside the flag moved the heads' conditioning (0.0014 on a tiny package).
    from serving.service.app import _flags_as_flags
    from vision.catalog import no_reference

    net, images, mask = _net_with_four_views()
    with torch.no_grad():
        none = torch.from_numpy(no_reference())[None]
        want = net(images, mask, none)
        for flag in (0.0, -1.0, float("nan")):
            sent = torch.tensor([[flag, 0.8, 0.2, 0.2, 0.4, 0.5, 0.3]])
            got = net(images, mask, sent)
            for name, g, w in zip(("item_logits", "attributes"), got[::3], want[::3]):
                assert torch.allclose(g, w, atol=1e-6), (flag, name, g, w)
    # Graphs exported before the network did this get the zeros from the service (OIP v2).
    fields = np.array([0.8, 0.2, 0.2, 0.4, 0.5, 0.3], np.float32)
    feeds = {"catalog": np.stack([np.r_[np.float32(-1), fields], np.r_[np.float32(2), fields]])}
    _flags_as_flags(feeds)
    np.testing.assert_array_equal(feeds["catalog"][0], no_reference())
    np.testing.assert_array_equal(feeds["catalog"][1], np.r_[np.float32(1), fields])
