"""The attribute head is fitted on random subsets of an item's views, not only on all of them.

Trained on the fused measurement of all six views alone, the per-view estimates were free to be
anything whose weighted sum was right: scored with the front view only, a small tunnel model
measured heights 6.8 cm off (0.65 cm with six views), a negative depth from the top alone, and
rejected 113 of 120 items as ``wrong_size`` (27 with every view). Training fuses a random
subset of the views present for half of the items, so each view's estimate stands on its own.
"""

from __future__ import annotations

import itertools

import torch

from vision.catalog import REF_DIM
from vision.model import InspectionNet, ModelSpec

SIZE, VIEWS, COPIES = 32, 6, 64


def _measure_inputs(net: InspectionNet, view_mask: torch.Tensor):
    """The arguments ``_forward`` passes to ``_measure`` for ``COPIES`` copies of one item."""
    captured = {}
    measure = net._measure

    def spy(*args):
        captured["args"] = args
        return measure(*args)

    g = torch.Generator().manual_seed(1)
    images = torch.rand(1, VIEWS, 3, SIZE, SIZE, generator=g).expand(COPIES, -1, -1, -1, -1)
    catalog = torch.rand(1, REF_DIM, generator=g).expand(COPIES, -1)
    net._measure = spy
    with torch.no_grad():
        net._forward(images.contiguous(), view_mask, catalog.contiguous())
    del net._measure
    return captured["args"]


def test_training_fuses_the_measurement_over_subsets_of_the_views_present():
    torch.manual_seed(0)
    net = InspectionNet(ModelSpec(width=8, image_size=SIZE, head_dim=16), 4, VIEWS).eval()
    with torch.no_grad():  # distinct per-view trust, so that every subset fuses to its own value
        net.attribute_view_logits.copy_(torch.randn(VIEWS, 6))
    present = torch.tensor([1.0, 1, 1, 1, 1, 0])  # the last view is missing
    mask = present.expand(COPIES, -1).contiguous()
    feats, coords, geometry, view_emb, _, batch, views = _measure_inputs(net, mask)

    def fused(subset: torch.Tensor, training: bool) -> torch.Tensor:
        net.train(training)
        with torch.no_grad():
            return net._measure(feats, coords, geometry, view_emb, subset, batch, views)

    torch.manual_seed(0)
    trained = fused(mask, training=True)
    every = fused(mask, training=False)
    # Scoring fuses every view present, the same for every copy.
    torch.testing.assert_close(every, every[:1].expand_as(every))
    # Training: each copy's measurement is the fusion of a non-empty subset of the views present
    # (never the missing one), sometimes all of them and often fewer.
    subsets = [
        torch.tensor([float(v in kept) for v in range(VIEWS)])
        for n in range(1, 6)
        for kept in itertools.combinations(range(5), n)
    ]
    references = torch.stack([fused(s.expand(COPIES, -1), training=False)[0] for s in subsets])
    distance = (trained[:, None, :] - references[None]).abs().amax(dim=-1)
    match = distance.argmin(dim=1)
    assert bool((distance.min(dim=1).values < 1e-5).all()), distance.min(dim=1).values.max()
    sizes = torch.stack(subsets).sum(dim=1)[match]
    assert int((sizes == 5).sum()) >= COPIES // 4
    assert int((sizes < 5).sum()) >= COPIES // 4
