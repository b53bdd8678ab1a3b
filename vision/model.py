"""Multi-view inspection network: a shared backbone, per-view defect logits, fusion over views.

Its architecture is a :class:`~vision.config.ModelSpec` (torch-free, imported here too).

Inputs (fixed names, plain tensors, so the forward exports with a dynamic batch dimension):

* ``images`` ``float32 (batch, views, 3, H, W)`` in [0, 1], one slot per view name of the model;
* ``view_mask`` ``float32 (batch, views)``: 1 where the view was photographed and decoded, 0 for
  a missing slot (its pixels are ignored by the fusion);
* ``catalog`` ``float32 (batch, 7)``: the product's catalog reference (see ``vision.catalog``).

Outputs ``(item_logits (batch, K), view_logits (batch, views, K), heatmaps (batch, views, K, h,
w), attributes (batch, 6))``. ``heatmaps`` are class-activation maps: per-cell logits whose
pooled value is part of the view logit, so a heatmap shows where the evidence for a class came
from. ``attributes`` are the item's measured colour and dimensions in the units of the catalog
input (RGB in [0, 1], dimensions / the catalog size scale).

Defects (damage, packaging): per view, the backbone's feature map is projected, modulated (FiLM)
by an embedding of (catalog reference, view slot) and turned into per-cell logits, pooled with
mean + max so a small defect counts; with ``ModelSpec.contrast`` each cell's logits also get
the cell's maximum of a 1x1 convolution of the grey image's black and white top-hats (small
dark and bright marks: pits, thin cracks, scratches; see :func:`mark_evidence`), and of its
2x2 and 4x4 averages (faint blotches: ``ModelSpec.mark_scales``); a global head on the pooled
features adds whole-view evidence. Items fuse their valid views with a learned per-class mix
of max (a dent seen once is enough) and mean.

Colour and size are measured, then compared, as a tunnel's colour sensor and dimensioner would:
an attribute head that never sees the catalog estimates colour and dimensions from each view
(trained on good items against their catalog rows) and fuses them over views with learned
per-view weights; ``wrong_color`` and ``wrong_size`` get a learned term from the differences
between measurement and reference (per RGB channel; signed and absolute relative dimension
errors) through a small comparison network.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from vision.backbones import build_backbone
from vision.catalog import ATTRIBUTES, REF_DIM
from vision.config import ModelSpec

INPUT_NAMES = ("images", "view_mask", "catalog")
OUTPUT_NAMES = ("item_logits", "view_logits", "heatmaps", "attributes")
OBJECT_MAPS = 4
_MASKED = -1.0e4  # below any real logit; finite so fp16/bf16 and ONNX handle it
# ModelSpec.marks == "gain": top-hat values are fractions of the pixel range; a pit 0.3 deep
# reads 3 to the contrast head, so its default initialization gives it logits of the order of
# the other heads'.
CONTRAST_GAIN = 10.0
# ModelSpec.marks == "rms": keeps a flat image (no texture at all) from dividing by zero.
RMS_FLOOR = 1e-3


def catalog_class_indices(class_names) -> tuple[int, int]:
    """Indices of ``wrong_color`` and ``wrong_size`` in ``class_names`` (-1 when absent)."""
    names = list(class_names)
    return (
        names.index("wrong_color") if "wrong_color" in names else -1,
        names.index("wrong_size") if "wrong_size" in names else -1,
    )


class InspectionNet(nn.Module):
    """Backbone shared across views, catalog-conditioned defect heads, an attribute head that
    measures colour and size, and fusion over a view mask."""

    def __init__(
        self,
        spec: ModelSpec,
        num_classes: int,
        num_views: int,
        pretrained: str | None = None,
        color_index: int = -1,
        size_index: int = -1,
    ):
        super().__init__()
        if num_classes < 1 or num_views < 1:
            raise ValueError(f"need >= 1 class and view, got {num_classes} and {num_views}")
        for name, index in (("color_index", color_index), ("size_index", size_index)):
            if not -1 <= index < num_classes:
                raise ValueError(f"{name}: expected -1 or a class index, got {index}")
        self.spec = spec
        self.num_classes = num_classes
        self.num_views = num_views
        self.color_index, self.size_index = color_index, size_index
        self.register_buffer("pixel_mean", torch.tensor(spec.mean).view(1, 3, 1, 1))
        self.register_buffer("pixel_std", torch.tensor(spec.std).view(1, 3, 1, 1))
        onehot = torch.zeros(2, num_classes)
        if color_index >= 0:
            onehot[0, color_index] = 1.0
        if size_index >= 0:
            onehot[1, size_index] = 1.0
        self.register_buffer("catalog_onehot", onehot)
        self.backbone = build_backbone(spec.backbone, spec.width, spec.output_stride, pretrained)
        d, e = spec.head_dim, spec.embed_dim
        self.view_embed = nn.Embedding(num_views, e)
        # One embedding of (catalog reference, view): a view shows particular dimensions of the
        # product, so the two interact before they condition the defect heads.
        self.cond = nn.Sequential(
            nn.Linear(REF_DIM + e, 2 * e), nn.ReLU(), nn.Linear(2 * e, 2 * e), nn.ReLU()
        )
        self.reduce = nn.Sequential(
            nn.Conv2d(self.backbone.out_channels, d, 1, bias=False), nn.BatchNorm2d(d)
        )
        # Cell coordinates let heads relate where the item's edges are to where they should be.
        self.coord_proj = nn.Conv2d(2, d, 1, bias=False)
        self.film = nn.Linear(2 * e, 2 * d)
        # FiLM starts as the identity so early training is not disturbed by random modulation.
        nn.init.zeros_(self.film.weight)
        nn.init.zeros_(self.film.bias)
        self.local_head = nn.Conv2d(d, num_classes, 1)
        # A deep network fitted from scratch on a few hundred photos does not find a pit of a
        # few pixels among the part's edges and texture from image labels alone; the top-hat
        # transforms of the grey image make small dark and bright marks stand out, and their
        # per-cell maximum gives each class a short path from such a mark to its cell logit.
        self.contrast_head = nn.Conv2d(2, num_classes, 1) if spec.contrast > 0 else None
        # Coarser scales: the top-hats of the grey image averaged over 2x2, 4x4, ... pixels,
        # where a faint blotch wider than the structuring element is a mark, and the averaging
        # has smoothed away the texture and noise it hides in at full resolution.
        coarse = spec.mark_scales - 1 if spec.contrast > 0 else 0
        self.coarse_heads = nn.ModuleList([nn.Conv2d(2, num_classes, 1) for _ in range(coarse)])
        self.global_head = nn.Sequential(
            nn.Linear(d + 2 * e, d), nn.ReLU(), nn.Linear(d, num_classes)
        )
        self.fusion_mix = nn.Parameter(torch.zeros(num_classes))
        self.fusion_bias = nn.Parameter(torch.zeros(num_classes))
        # Measurement: pooled catalog-free features (mean, max, and first moments along x and y,
        # which track the item's extent) + the view slot -> colour and dimensions per view.
        # Objectness maps on the stride-4 stem features: their area and spatial moments measure
        # the item's extent four times finer than the last stage's cells.
        self.objectness = nn.Conv2d(self.backbone.stem_channels, OBJECT_MAPS, 1)
        self.attribute_head = nn.Sequential(
            nn.Linear(4 * d + 5 * OBJECT_MAPS + e, d), nn.ReLU(), nn.Linear(d, ATTRIBUTES)
        )
        self.attribute_view_logits = nn.Parameter(torch.zeros(num_views, ATTRIBUTES))
        # Measurement vs catalog -> colour and size evidence. Learned, because one property can
        # disturb the other's measurement (an unseen colour shifts the silhouette estimate).
        # Zero-initialised output: the comparison starts neutral.
        self.compare = nn.Sequential(nn.Linear(9, 32), nn.ReLU(), nn.Linear(32, 2))
        nn.init.zeros_(self.compare[2].weight)
        nn.init.zeros_(self.compare[2].bias)

    def forward(self, images: torch.Tensor, view_mask: torch.Tensor, catalog: torch.Tensor):
        transforms = tta_transforms(self.spec.tta)
        if self.training or len(transforms) == 1:
            return self._forward(images, view_mask, catalog)
        # Test-time augmentation: every transform of the batch in one pass, logits averaged,
        # heatmaps turned back to the view's orientation before they are averaged. A quarter
        # turn swaps height and width, so a non-square input runs the turned transforms in a
        # pass of their own (a square one, as exported, keeps the single pass).
        groups = [transforms]
        if images.shape[-2] != images.shape[-1]:
            groups = [[t for t in transforms if t[0] % 2 == odd] for odd in (0, 1)]
        logits, views, maps, attributes = [], [], [], []
        for group in filter(None, groups):
            n = len(group)
            stacked = torch.cat([apply_transform(images, k, f) for k, f in group], dim=0)
            out = self._forward(stacked, view_mask.repeat(n, 1), catalog.repeat(n, 1))
            for kept, x in zip((logits, views, attributes), (out[0], out[1], out[3])):
                kept.append(x.reshape(n, -1, *x.shape[1:]))
            chunks = out[2].chunk(n, dim=0)
            # The backbone's cells are counted from the top-left corner, the last one partial
            # where a side is not a multiple of the stride. A transform that moves that corner (a
            # flip, most turns) puts the partial cell first, so its map turned back is off by the
            # missing part of a cell: at 100 px and stride 32, a mark at x = 80 (cell 2) was
            # drawn half in cell 3 by the mirror, three quarters off by the eight symmetries.
            # Such sides take the heatmap from the transforms that keep the corner (the identity
            # and the transpose); the logits still average every transform.
            exact = all(side % self.spec.feature_stride == 0 for side in images.shape[-2:])
            turned_back = [
                invert_transform(m, k, f)
                for m, (k, f) in zip(chunks, group)
                if exact or keeps_corner(k, f)
            ]
            if turned_back:
                maps.append(torch.stack(turned_back))

        def mean(parts: list[torch.Tensor]) -> torch.Tensor:
            return torch.cat(parts).mean(dim=0)

        turned = [k != 0 for group in filter(None, groups) for k, _ in group]
        if not any(turned):
            return mean(logits), mean(views), mean(maps), mean(attributes)
        # The measurement reads width along the view's rows and height down its columns, from
        # photos taken upright: a quarter turn swaps the two (a tall item's height read as its
        # width) and a half turn puts the item upside down, neither of which the tunnel's
        # training shows. Colour and size, and the classes judged against them, are taken from
        # the transforms that keep the view's top at the top (itself and its mirror); the
        # other classes average every transform.
        upright = [i for i, t in enumerate(turned) if not t]
        every, measured = torch.cat(logits), torch.cat(attributes)
        catalog_classes = self.catalog_onehot.sum(dim=0) > 0
        item = torch.where(catalog_classes, every[upright].mean(dim=0), every.mean(dim=0))
        return item, mean(views), mean(maps), measured[upright].mean(dim=0)

    def _forward(self, images: torch.Tensor, view_mask: torch.Tensor, catalog: torch.Tensor):
        batch, views = images.shape[0], images.shape[1]
        # The catalog's presence flag is a flag, as view_mask is: an OIP client's 2 doubled
        # the colour and size terms and moved the heads' conditioning. An absent reference is
        # all zeros, as every item without one was in training (``no_reference``): the fields
        # an OIP client sends beside a flag of 0 (a product it chose not to check) moved the
        # heads' conditioning, and an item without a reference scored otherwise than the
        # station scores it.
        present = catalog[:, :1] > 0
        fields = torch.where(present, catalog[:, 1:], torch.zeros_like(catalog[:, 1:]))
        catalog = torch.cat([present.to(catalog.dtype), fields], dim=1)
        pixels = images.flatten(0, 1)
        x = (pixels - self.pixel_mean) / self.pixel_std
        view_emb = self.view_embed.weight.unsqueeze(0).expand(batch, -1, -1).flatten(0, 1)
        cond = self.cond(
            torch.cat([catalog.unsqueeze(1).expand(-1, views, -1).flatten(0, 1), view_emb], dim=-1)
        )
        stem, raw = self._features(x, view_mask)
        coords = cell_coordinates(raw)
        z = raw + self.coord_proj(coords)
        gamma, beta = self.film(cond).chunk(2, dim=-1)
        z = F.relu(z * (1 + gamma[..., None, None]) + beta[..., None, None])
        maps = self.local_head(z)
        if self.contrast_head is not None:
            grey = pixels.mean(dim=1, keepdim=True).to(x.dtype)  # x: after the buffers' promotion
            for level, head in enumerate((self.contrast_head, *self.coarse_heads)):
                scale = 2**level
                view = grey if scale == 1 else F.avg_pool2d(grey, scale, ceil_mode=True)
                marks = top_hats(view, self.spec.contrast)
                evidence = mark_evidence(head, marks, self.spec.marks, picture_pixels(view))
                maps = maps + cell_max(evidence, maps, self.spec.feature_stride // scale)
        local = 0.5 * (maps.mean(dim=(2, 3)) + maps.amax(dim=(2, 3)))
        glob = self.global_head(torch.cat([z.mean(dim=(2, 3)), cond], dim=-1))
        view_logits = (local + glob).view(batch, views, -1)
        item_logits = fuse_views(view_logits, view_mask, self.fusion_mix, self.fusion_bias)

        geometry = object_moments(torch.sigmoid(self.objectness(stem)))
        attributes = self._measure(F.relu(raw), coords, geometry, view_emb, view_mask, batch, views)
        item_logits = item_logits + self._catalog_terms(attributes, catalog)
        heatmaps = maps.view(batch, views, maps.shape[1], maps.shape[2], maps.shape[3])
        return item_logits, view_logits, heatmaps, attributes

    def _features(self, x: torch.Tensor, view_mask: torch.Tensor):
        """Stem and reduced last-stage features of the normalized views ``x``.

        In training, only the views present go through the backbone: a missing slot's pixels
        (zeros, or the augmentation's noise) would otherwise enter every BatchNorm's batch
        statistics, and with them the running statistics scoring uses, and change the other
        items' outputs. Its features are zeros; the fusion, the losses and the attribute
        weights ignore it."""
        present = view_mask.flatten() > 0
        if self.training and not bool(present.all()) and bool(present.any()):
            stem_kept = self.backbone.forward_stem(x[present])
            raw_kept = self.reduce(self.backbone.forward_body(stem_kept))
            stem = stem_kept.new_zeros(x.shape[0], *stem_kept.shape[1:])
            raw = raw_kept.new_zeros(x.shape[0], *raw_kept.shape[1:])
            stem[present] = stem_kept
            raw[present] = raw_kept
            return stem, raw
        stem = self.backbone.forward_stem(x)
        return stem, self.reduce(self.backbone.forward_body(stem))

    def _measure(self, feats, coords, geometry, view_emb, view_mask, batch: int, views: int):
        pooled = torch.cat(
            [
                feats.mean(dim=(2, 3)),
                feats.amax(dim=(2, 3)),
                (feats * coords[:, :1].abs()).mean(dim=(2, 3)),
                (feats * coords[:, 1:].abs()).mean(dim=(2, 3)),
                geometry,
            ],
            dim=-1,
        )
        per_view = self.attribute_head(torch.cat([pooled, view_emb], dim=-1)).view(batch, views, -1)
        # Each attribute trusts the views that show it (learned), among the views present.
        present = view_mask > 0
        if self.training:
            present = _measurement_dropout(present)
        logits = self.attribute_view_logits.unsqueeze(0).expand(batch, -1, -1)
        logits = logits.masked_fill(~present.unsqueeze(-1), _MASKED)
        weights = torch.softmax(logits, dim=1)
        return (per_view * weights).sum(dim=1)

    def _catalog_terms(self, attributes: torch.Tensor, catalog: torch.Tensor) -> torch.Tensor:
        has_reference = catalog[:, :1]
        reference = catalog[:, 1:]
        color_error = (attributes[:, :3] - reference[:, :3]).abs()
        size_error = (attributes[:, 3:] - reference[:, 3:]) / reference[:, 3:].clamp_min(0.02)
        terms = self.compare(torch.cat([color_error, size_error.abs(), size_error], dim=-1))
        return has_reference * (terms @ self.catalog_onehot)


def _measurement_dropout(present: torch.Tensor) -> torch.Tensor:
    """The views the measurement is fused from in a training step: for half of the items, each
    present view kept with probability one half (at least one kept).

    Trained only on all of an item's views, the weighted sum was right and the per-view
    estimates were not (one view's width could be twice it, another's near zero): an item
    scored with a view missing, or with one view, was measured centimetres off (a negative
    depth from the top alone) and rejected as ``wrong_size`` or ``wrong_color``. Fusing random
    subsets makes each view's estimate stand on its own."""
    item = torch.rand(present.shape[0], 1, device=present.device) < 0.5
    kept = present & ((torch.rand(present.shape, device=present.device) < 0.5) | ~item)
    return torch.where(kept.any(dim=1, keepdim=True), kept, present)


def tta_transforms(mode: str) -> list[tuple[int, bool]]:
    """``(quarter turns, horizontal flip)`` pairs of a ``schema.TTA_MODES`` mode (``auto`` and
    ``none``: the identity only)."""
    if mode == "hflip":
        return [(0, False), (0, True)]
    if mode == "flips":  # a half turn of a mirrored image is its vertical flip
        return [(0, False), (0, True), (2, False), (2, True)]
    if mode == "dihedral":
        return [(k, f) for f in (False, True) for k in range(4)]
    return [(0, False)]


def quarter_turns(x: torch.Tensor, turns: int) -> torch.Tensor:
    """``torch.rot90(x, turns, (-2, -1))`` from flips and a transpose, which export to ONNX
    (``aten::rot90`` does not)."""
    turns %= 4
    if turns == 1:
        return x.flip(-1).transpose(-2, -1)
    if turns == 2:
        return x.flip(-2, -1)
    if turns == 3:
        return x.flip(-2).transpose(-2, -1)
    return x


def apply_transform(x: torch.Tensor, turns: int, flip: bool) -> torch.Tensor:
    """Mirror (last axis), then turn by ``turns`` quarter turns in the last two axes."""
    if flip:
        x = x.flip(-1)
    return quarter_turns(x, turns)


def keeps_corner(turns: int, flip: bool) -> bool:
    """Whether :func:`apply_transform` leaves the top-left pixel where it is (the identity and
    the transpose, a mirror then a quarter turn), so a cell grid counted from that corner maps
    onto itself whatever the side."""
    return (turns % 4, bool(flip)) in ((0, False), (1, True))


def invert_transform(x: torch.Tensor, turns: int, flip: bool) -> torch.Tensor:
    """The inverse of :func:`apply_transform`."""
    x = quarter_turns(x, -turns)
    return x.flip(-1) if flip else x


def cell_coordinates(features: torch.Tensor) -> torch.Tensor:
    """``(1, 2, h, w)`` x/y coordinates of the cell centres in [-1, 1] for a feature map."""
    h, w = features.shape[-2], features.shape[-1]
    ys = (torch.arange(h, device=features.device, dtype=features.dtype) + 0.5) / h * 2 - 1
    xs = (torch.arange(w, device=features.device, dtype=features.dtype) + 0.5) / w * 2 - 1
    grid_y = ys.view(1, 1, h, 1).expand(1, 1, h, w)
    grid_x = xs.view(1, 1, 1, w).expand(1, 1, h, w)
    return torch.cat([grid_x, grid_y], dim=1)


def grey_dilate(x: torch.Tensor, size: int) -> torch.Tensor:
    """Grey-level dilation by a ``size`` x ``size`` square (a maximum over rows, then columns,
    which is exact for a square and costs 2 x size comparisons a pixel, not size^2)."""
    half = size // 2
    x = F.max_pool2d(x, (1, size), stride=1, padding=(0, half))
    return F.max_pool2d(x, (size, 1), stride=1, padding=(half, 0))


def top_hats(grey: torch.Tensor, size: int) -> torch.Tensor:
    """``(N, 2, H, W)``: the black top-hat (closing minus image: dark marks narrower than
    ``size`` pixels) and the white top-hat (image minus opening: bright ones) of ``(N, 1, H,
    W)`` grey images. Beyond the border the image is unconstrained (max-pooling pads with
    -inf), so the frame's edge is no mark."""
    closing = -grey_dilate(-grey_dilate(grey, size), size)
    opening = grey_dilate(-grey_dilate(-grey, size), size)
    return torch.cat([closing - grey, grey - opening], dim=1)


def _flat_run(flat: torch.Tensor) -> torch.Tensor:
    """How many entries of ``flat`` (bool, last axis) are True before the first False."""
    return (torch.cumsum((~flat).to(torch.int64), dim=-1) == 0).sum(dim=-1, keepdim=True)


def picture_pixels(grey: torch.Tensor) -> torch.Tensor:
    """``(N, 1, H, W)`` weights of the pixels of ``grey`` ``(N, 1, H, W)`` that belong to the
    photo: 0 on a letterbox margin, 1 elsewhere.

    :func:`vision.images.letterbox` centres the scaled photo and fills each margin with one
    colour, so the margins are flat rows at the top and bottom (or columns left and right),
    as many on either side or one more on one (a flip of the canvas swaps the two). Flat bands
    of any other shape (a flat picture, an overexposed top edge) are the picture's own."""
    weights = torch.ones_like(grey)
    for axis in (-1, -2):  # flat rows (constant along a row), then flat columns
        flat = grey.amax(dim=axis) == grey.amin(dim=axis)  # (N, 1, L)
        start, end = _flat_run(flat), _flat_run(flat.flip(-1))
        length = flat.shape[-1]
        margins = (start > 0) & ((start - end).abs() <= 1) & (start + end < length)
        index = torch.arange(length, device=grey.device)
        outside = margins & ((index < start) | (index >= length - end))  # (N, 1, L)
        inside = (~outside).to(grey.dtype)
        weights = weights * (inside.unsqueeze(-1) if axis == -1 else inside.unsqueeze(-2))
    return weights


def mark_evidence(
    head: nn.Conv2d, marks: torch.Tensor, mode: str, weights: torch.Tensor | None = None
) -> torch.Tensor:
    """Per-class evidence ``(N, K, H, W)`` of the top-hats ``marks`` ``(N, 2, H, W)`` through
    the 1x1 convolution ``head``, as ``ModelSpec.marks`` says. ``weights`` ``(N, 1, H, W)``:
    the pixels of the photo (:func:`picture_pixels`), whose top-hats the root mean square is
    taken over (default: every pixel).

    ``"rms"`` divides each image's black and white top-hat by its root mean square and keeps the
    class weights non-negative (softplus of the stored ones). In units of the image's own
    texture a thin scratch reads several times its surroundings from the first step; as raw
    fractions of the pixel range (``"gain"``) it read about 0.1, and the cell maximum over
    flat ground, which every texture has, left the weights too little gradient to grow that in
    a short schedule. Signed weights also let a class settle on a negative one, where the cell
    maximum sits on flat ground and its gradient is zero: on the synthetic parts the scratch
    class's bright-mark weight ended at -0.45 and never read bright lines.
    """
    if mode == "gain":
        return head(CONTRAST_GAIN * marks)
    if weights is None:
        rms = marks.square().mean(dim=(2, 3), keepdim=True).sqrt()
    else:
        # Over the photo only: a letterbox margin is flat, its top-hats 0, and counted in the
        # mean it shrank the RMS by the root of the photo's share of the canvas, so the same
        # pit in the same texture read 11.8 in a square photo, 15.7 in a 16:9 one and 21.9 in
        # a 4:1 strip (and every texture peak with it).
        count = weights.sum(dim=(2, 3), keepdim=True).clamp_min(1.0)
        rms = ((marks.square() * weights).sum(dim=(2, 3), keepdim=True) / count).sqrt()
    return F.conv2d(marks / (rms + RMS_FLOOR), F.softplus(head.weight), head.bias)


def cell_max(evidence: torch.Tensor, maps: torch.Tensor, stride: int) -> torch.Tensor:
    """The maximum of ``evidence`` over each cell of ``maps``, the backbone's grid, whose cells
    are ``stride`` pixels of ``evidence`` across (every stage rounds up, so the grid is the
    evidence's size over the stride, rounded up)."""
    pooled = F.max_pool2d(evidence, stride, stride=stride, ceil_mode=True)
    return pooled[..., : maps.shape[-2], : maps.shape[-1]]


def object_moments(maps: torch.Tensor) -> torch.Tensor:
    """Area, mean |x|, mean |y|, mean x^2 and mean y^2 of each map (weights in [0, 1])."""
    coords = cell_coordinates(maps)
    x, y = coords[:, :1], coords[:, 1:]
    return torch.cat(
        [
            maps.mean(dim=(2, 3)),
            (maps * x.abs()).mean(dim=(2, 3)),
            (maps * y.abs()).mean(dim=(2, 3)),
            (maps * x * x).mean(dim=(2, 3)),
            (maps * y * y).mean(dim=(2, 3)),
        ],
        dim=-1,
    )


def fuse_views(
    view_logits: torch.Tensor, view_mask: torch.Tensor, mix: torch.Tensor, bias: torch.Tensor
) -> torch.Tensor:
    """Per class, ``sigmoid(mix)`` x max + the rest x mean over the valid views, plus ``bias``.

    A view is valid where ``view_mask`` is above 0, as the backbone's training pass and the
    attribute weights read it: a mask value is a flag, not a weight (an OIP client's -1 for a
    missing view was subtracted from the mean, a 2 counted twice, a NaN made every score NaN)."""
    weight = (view_mask > 0).to(view_logits.dtype).unsqueeze(-1)
    count = weight.sum(dim=1).clamp_min(1.0)
    mean = (view_logits * weight).sum(dim=1) / count
    top = view_logits.masked_fill(weight <= 0, _MASKED).amax(dim=1)
    alpha = torch.sigmoid(mix)
    return alpha * top + (1 - alpha) * mean + bias
