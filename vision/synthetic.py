"""A synthetic camera tunnel: products photographed from six views, rendered with numpy and PIL.

Products come in three shapes (``box``, ``cylinder``, ``pouch``) with a catalog colour and size.
Each item is drawn with lighting (gain, colour temperature, a gradient per view), pose jitter
(in-plane rotation, offset, camera scale) and manufacturing tolerance on its dimensions, over a
belt background with a shadow and sensor noise. Defects, each class independent:

* ``damage``: dents, scratches and tears on one or two faces;
* ``packaging``: a crushed corner, an open flap or torn tape/seal;
* ``wrong_color``: another catalog colour or a large hue shift;
* ``wrong_size``: one or all dimensions scaled well outside the tolerance.

Every view gets a defect mask (one bit per class, ``schema.MASK_BITS``); ``wrong_color`` and
``wrong_size`` mark the silhouette in the views where they show. Everything is drawn from
``numpy.random.default_rng([seed, item_index])``, so a seed fixes the dataset and the first items
of a larger set equal a smaller one. The camera frame spans :data:`FIELD_OF_VIEW_CM`.
"""

from __future__ import annotations

import colorsys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from PIL import Image, ImageDraw

from kernels.io import write_table
from kernels.runfolder import building
from vision.catalog import Catalog, hex_to_rgb, rgb_to_hex
from vision.config import SyntheticConfig
from vision.schema import (
    CATALOG_FILE,
    CLASS_NAMES,
    ITEMS_DIR,
    LABELS_FILE,
    MASK_BITS,
    MASKS_DIR,
    VIEW_NAMES,
)

FIELD_OF_VIEW_CM = 26.0
SUPERSAMPLE = 2
SHAPES = ("box", "cylinder", "pouch")
DAMAGE_KINDS = ("dent", "scratch", "tear")
PACKAGING_KINDS = ("crushed_corner", "open_flap", "torn_tape")

PALETTE: dict[str, tuple[int, int, int]] = {
    "red": (200, 40, 40),
    "green": (40, 150, 60),
    "blue": (40, 70, 190),
    "yellow": (230, 200, 40),
    "orange": (235, 120, 30),
    "purple": (120, 60, 160),
    "brown": (140, 90, 50),
    "white": (228, 228, 218),
    "black": (45, 45, 50),
    "teal": (30, 150, 150),
    "pink": (230, 120, 170),
    "grey": (130, 130, 135),
}

# Which catalog dimensions each view shows: (horizontal, vertical) in the image.
_FACE_DIMS = {
    "front": ("width_cm", "height_cm"),
    "back": ("width_cm", "height_cm"),
    "left": ("depth_cm", "height_cm"),
    "right": ("depth_cm", "height_cm"),
    "top": ("width_cm", "depth_cm"),
    "bottom": ("width_cm", "depth_cm"),
}
_FACE_LIGHT = {"front": 1.0, "back": 0.93, "left": 0.95, "right": 0.89, "top": 1.08, "bottom": 0.8}
_SIDE_VIEWS = ("front", "back", "left", "right")
_CAP_VIEWS = ("top", "bottom")
_CARDBOARD = np.array([0.78, 0.66, 0.48])
_TAPE = np.array([0.80, 0.68, 0.45])
_SEAL = np.array([0.82, 0.82, 0.85])


VARIANTS_PER_FAMILY = 4
# A colour counts as clearly other than the catalog's beyond this L1 distance (0..765) in RGB,
# a size beyond this ratio in a dimension (the tolerance is +-2.5%).
_CLEAR_COLOR_L1 = 120
_CLEAR_SIZE_RATIO = 1.2


def make_catalog(n_products: int = 12, seed: int = 0) -> Catalog:
    """A catalog of ``n_products`` products in families of colour and size variants.

    Each family has one shape and base dimensions and up to four variants: two colours x two
    sizes (the larger 35-50% bigger), as a real catalog lists a product in colours and sizes. An
    item's shape and size therefore do not reveal its expected colour, nor its colour the expected
    size: the catalog reference is needed to call ``wrong_color`` and ``wrong_size``.
    """
    if n_products < 1:
        raise ValueError(f"n_products: expected >= 1, got {n_products}")
    rng = np.random.default_rng([seed, 10_000_019])
    colors = [PALETTE[name] for name in rng.permutation(list(PALETTE))]
    rows = []
    families = -(-n_products // VARIANTS_PER_FAMILY)
    for family in range(families):
        shape = SHAPES[family % len(SHAPES)]
        width = float(rng.uniform(7, 12))
        height = float(rng.uniform(7, 13))
        depth = {
            "box": float(rng.uniform(4, 10)),
            "cylinder": width,
            "pouch": float(rng.uniform(2.5, 4)),
        }[shape]
        first = colors[(2 * family) % len(colors)]
        # The sibling colour is the next unused palette colour clearly distinct from the first.
        second = next(
            c
            for c in colors[(2 * family + 1) % len(colors) :] + colors
            if sum(abs(a - b) for a, b in zip(c, first)) > 120
        )
        pair = (first, second)
        large = float(rng.uniform(1.35, 1.5))
        for variant in range(VARIANTS_PER_FAMILY):
            if len(rows) == n_products:
                break
            scale = large if variant >= 2 else 1.0
            rows.append(
                {
                    "product_id": f"P{len(rows) + 1:04d}",
                    "color": rgb_to_hex(pair[variant % 2]),
                    "width_cm": round(width * scale, 1),
                    "height_cm": round(height * scale, 1),
                    "depth_cm": round(depth * scale, 1),
                    "shape": shape,
                    "family": f"F{family + 1:02d}",
                }
            )
    return Catalog(pd.DataFrame(rows), source="synthetic catalog")


@dataclass
class Defect:
    """One drawn defect: its class, kind, the views it shows in and its per-view geometry."""

    class_name: str
    kind: str
    views: tuple[str, ...]
    params: dict[str, dict] = field(default_factory=dict)


@dataclass
class SyntheticItem:
    """Everything needed to render one item (and to check its labels)."""

    item_id: str
    product_id: str
    shape: str
    color: np.ndarray  # actual RGB in [0, 1]
    dims: dict[str, float]  # actual width/height/depth in cm
    catalog_dims: dict[str, float]  # what the catalog says
    labels: dict[str, int]
    defects: list[Defect]
    size_views: tuple[str, ...]  # views in which a wrong size shows
    light_gain: float
    light_tint: float
    seed: int


def _wrong_color(rgb: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """A colour clearly off the catalog one: another palette colour or a large hue shift."""
    h, s, v = colorsys.rgb_to_hsv(*rgb)
    if s > 0.35 and rng.random() < 0.4:
        shift = rng.uniform(0.17, 0.5) * rng.choice([-1, 1])
        candidate = np.array(colorsys.hsv_to_rgb((h + shift) % 1.0, s, v))
        if np.abs(candidate - rgb).sum() * 255 > 120:
            return candidate
    others = [
        np.array(c) / 255
        for c in PALETTE.values()
        if np.abs(np.array(c) / 255 - rgb).sum() * 255 > 120
    ]
    return others[int(rng.integers(len(others)))]


def _size_change(shape: str, dims: dict[str, float], rng: np.random.Generator):
    factor = rng.uniform(0.6, 0.75) if rng.random() < 0.5 else rng.uniform(1.3, 1.5)
    if rng.random() < 0.5:
        changed = ["width_cm", "height_cm", "depth_cm"]
    else:
        options = (
            ["width_cm", "height_cm"] if shape == "pouch" else ["width_cm", "height_cm", "depth_cm"]
        )
        changed = [str(rng.choice(options))]
        if shape == "cylinder" and changed[0] in ("width_cm", "depth_cm"):
            changed = ["width_cm", "depth_cm"]  # the diameter is both
    new = dict(dims)
    for key in changed:
        new[key] = dims[key] * factor
    views = tuple(v for v in VIEW_NAMES if set(_FACE_DIMS[v]) & set(changed))
    return new, views


def _face_weights(dims: dict[str, float], exclude: str | None = None) -> np.ndarray:
    """Probability of each view's face being hit: proportional to its area, as for real knocks."""
    areas = np.array(
        [
            0.0 if v == exclude else dims[_FACE_DIMS[v][0]] * dims[_FACE_DIMS[v][1]]
            for v in VIEW_NAMES
        ]
    )
    return areas / areas.sum()


def _damage(dims: dict[str, float], rng: np.random.Generator) -> list[Defect]:
    defects = []
    weights = _face_weights(dims)
    for _ in range(1 if rng.random() < 0.7 else 2):
        kind = str(rng.choice(DAMAGE_KINDS))
        view = str(rng.choice(VIEW_NAMES, p=weights))
        defects.append(
            Defect(
                "damage",
                kind,
                (view,),
                {
                    view: {
                        "center": rng.uniform(-0.28, 0.28, size=2),
                        "size": float(rng.uniform(0.16, 0.26)),
                        "angle": float(rng.uniform(0, np.pi)),
                        "count": int(rng.integers(1, 4)),
                        "seed": int(rng.integers(2**31)),
                    }
                },
            )
        )
    return defects


def _packaging(shape: str, dims: dict[str, float], rng: np.random.Generator) -> Defect:
    kind = str(rng.choice(PACKAGING_KINDS))
    if kind == "crushed_corner":
        first = str(rng.choice(VIEW_NAMES, p=_face_weights(dims)))
        views = (
            (first,)
            if rng.random() < 0.5
            else (first, str(rng.choice(VIEW_NAMES, p=_face_weights(dims, exclude=first))))
        )
    elif kind == "open_flap":
        side = _face_weights(dims)[: len(_SIDE_VIEWS)]
        views = ("top", str(rng.choice(_SIDE_VIEWS, p=side / side.sum())))
    else:
        options = _tape_views(shape)
        views = tuple(
            rng.choice(
                options, size=min(len(options), int(rng.integers(1, 3))), replace=False
            ).tolist()
        )
    params = {}
    for view in views:
        params[view] = {
            "corner": (float(rng.choice([-0.5, 0.5])), float(rng.choice([-0.5, 0.5]))),
            "rim_angle": float(rng.uniform(0, 2 * np.pi)),
            "size": float(rng.uniform(0.28, 0.4)),
            "offset": float(rng.uniform(-0.2, 0.2)),
            "side": float(rng.choice([-1.0, 1.0])),
            "tilt": float(rng.uniform(-0.2, 0.2)),
            "seed": int(rng.integers(2**31)),
        }
    return Defect("packaging", kind, tuple(views), params)


def sample_item(
    catalog: Catalog, index: int, seed: int, defect_rates: dict[str, float]
) -> SyntheticItem:
    """Draw item ``index`` of the set ``seed`` (independent of how many items the set has)."""
    rng = np.random.default_rng([seed, index])
    row = catalog.table.iloc[int(rng.integers(len(catalog)))]
    shape = str(row.get("shape", "box")) if str(row.get("shape", "box")) in SHAPES else "box"
    labels = {c: int(rng.random() < defect_rates.get(c, 0.0)) for c in CLASS_NAMES}
    dim_keys = ("width_cm", "height_cm", "depth_cm")
    base = np.array(hex_to_rgb(row["color"])) / 255.0
    catalog_dims = {k: float(row[k]) for k in dim_keys}
    # Half of the mix-ups are a sibling variant: the same product in its other colour or size.
    family = catalog.table[
        catalog.table.get("family", catalog.table["product_id"])
        == row.get("family", row["product_id"])
    ]
    # Only siblings that clearly differ stand in for a wrong one: a user catalog may list
    # variants a few units of colour or a few millimetres apart, which the photos cannot show
    # (the same bar as _wrong_color and _size_change set for drawn mix-ups).
    family_rgb = np.array([hex_to_rgb(c) for c in family["color"]], dtype=float).reshape(-1, 3)
    color_gap = np.abs(family_rgb - np.array(hex_to_rgb(row["color"]))).sum(axis=1)
    other_colors = family[color_gap > _CLEAR_COLOR_L1]
    size_ratio = family[list(dim_keys)].to_numpy(float) / np.array(
        [float(row[k]) for k in dim_keys]
    )
    clear_size = (np.abs(np.log(size_ratio)) >= np.log(_CLEAR_SIZE_RATIO)).any(axis=1)
    other_sizes = family[(color_gap == 0) & clear_size]
    color = base
    if labels["wrong_color"]:
        if len(other_colors) and rng.random() < 0.5:
            color = np.array(hex_to_rgb(other_colors["color"].iloc[0])) / 255.0
        else:
            color = _wrong_color(base, rng)
    size_views: tuple[str, ...] = ()
    actual = catalog_dims
    if labels["wrong_size"] and len(other_sizes) and rng.random() < 0.5:
        actual = {k: float(other_sizes[k].iloc[0]) for k in dim_keys}
        # The wrong size shows only in the views of the dimensions that differ.
        changed = {
            k
            for k in dim_keys
            if abs(np.log(actual[k] / catalog_dims[k])) >= np.log(_CLEAR_SIZE_RATIO)
        }
        size_views = tuple(v for v in VIEW_NAMES if set(_FACE_DIMS[v]) & changed)
    dims = {k: v * (1 + rng.uniform(-0.025, 0.025)) for k, v in actual.items()}
    if shape == "cylinder":
        dims["depth_cm"] = dims["width_cm"]
    if labels["wrong_size"] and not size_views:
        dims, size_views = _size_change(shape, dims, rng)
    defects: list[Defect] = []
    if labels["damage"]:
        defects += _damage(dims, rng)
    if labels["packaging"]:
        defects.append(_packaging(shape, dims, rng))
    return SyntheticItem(
        item_id=f"s{seed}-{index:05d}",
        product_id=str(row["product_id"]),
        shape=shape,
        color=np.asarray(color, dtype=float),
        dims=dims,
        catalog_dims=catalog_dims,
        labels=labels,
        defects=defects,
        size_views=size_views,
        light_gain=float(rng.uniform(0.93, 1.07)),
        light_tint=float(rng.uniform(-0.03, 0.03)),
        seed=int(rng.integers(2**31)),
    )


class _View:
    """Pixel grid of one view mapped to face coordinates (u, v in [-0.5, 0.5] across the face)."""

    def __init__(self, n: int, face_w: float, face_h: float, pose: tuple[float, float, np.ndarray]):
        self.n = n
        self.face = (face_w, face_h)
        self.pose = pose
        scale, self.theta, offset = pose
        self.ppc = n / FIELD_OF_VIEW_CM * scale
        self.center = n / 2 + offset * n
        y, x = np.mgrid[0:n, 0:n] + 0.5
        px, py = x - self.center[0], y - self.center[1]
        c, s = np.cos(self.theta), np.sin(self.theta)
        self.xc = (c * px + s * py) / self.ppc  # cm along the face's horizontal axis
        self.yc = (-s * px + c * py) / self.ppc
        self.u = self.xc / face_w
        self.v = self.yc / face_h

    @staticmethod
    def draw_pose(rng: np.random.Generator) -> tuple[float, float, np.ndarray]:
        """Camera scale, in-plane rotation and offset of one photograph."""
        return (
            1 + rng.uniform(-0.015, 0.015),
            rng.uniform(-0.07, 0.07),
            rng.uniform(-0.04, 0.04, size=2),
        )

    def to_pixels(self, points_uv: np.ndarray) -> list[tuple[float, float]]:
        """Face coordinates -> pixel coordinates (for PIL polygons)."""
        xc = points_uv[:, 0] * self.face[0] * self.ppc
        yc = points_uv[:, 1] * self.face[1] * self.ppc
        c, s = np.cos(self.theta), np.sin(self.theta)
        x = c * xc - s * yc + self.center[0]
        y = s * xc + c * yc + self.center[1]
        return list(zip(x.tolist(), y.tolist()))

    def polygon(self, points_uv: np.ndarray) -> np.ndarray:
        canvas = Image.new("L", (self.n, self.n), 0)
        ImageDraw.Draw(canvas).polygon(self.to_pixels(points_uv), fill=1)
        return np.asarray(canvas, dtype=bool)


def _silhouette(shape: str, view: str, g: _View) -> np.ndarray:
    u, v = g.u, g.v
    if shape == "cylinder" and view in _CAP_VIEWS or shape == "pouch" and view in _CAP_VIEWS:
        return (2 * u) ** 2 + (2 * v) ** 2 <= 1.0
    if shape == "pouch" and view in ("left", "right"):
        lens = 0.15 + 0.85 * np.sqrt(np.clip(1 - (2 * v) ** 2, 0, 1))
        return (np.abs(v) <= 0.5) & (np.abs(2 * u) <= lens)
    if shape == "pouch":
        rounded = (2 * u) ** 4 + (2 * v) ** 4 <= 1.0
        seal = (np.abs(u) <= 0.5) & (v >= -0.5) & (v <= -0.3)
        return rounded | seal
    return (np.abs(u) <= 0.5) & (np.abs(v) <= 0.5)


def _shading(shape: str, view: str, g: _View, rng: np.random.Generator) -> np.ndarray:
    direction = rng.normal(size=2)
    direction /= np.linalg.norm(direction) + 1e-9
    shade = _FACE_LIGHT[view] * (1 + 0.08 * (direction[0] * g.u + direction[1] * g.v))
    if shape == "cylinder" and view in _SIDE_VIEWS:
        shade = shade * (0.72 + 0.28 * np.sqrt(np.clip(1 - (2 * g.u) ** 2, 0, 1)))
    elif shape == "pouch":
        shade = shade * (0.86 + 0.14 * np.clip(1 - (2 * g.u) ** 2, 0, 1))
    return shade


# Tape and seals are straight strips: (axis the strip runs along, centre and half-width across it,
# extent along it), in face coordinates. Boxes are taped over the top and down the front/back;
# cylinders have a seal band under the lid and a tear strip on it; pouches a seal at the top.
_TAPES: dict[tuple[str, str], tuple[str, float, float, float, float]] = {
    ("box", "top"): ("v", 0.0, 0.09, -0.5, 0.5),
    ("box", "front"): ("v", 0.0, 0.09, -0.5, -0.26),
    ("box", "back"): ("v", 0.0, 0.09, -0.5, -0.26),
    **{("cylinder", view): ("u", -0.44, 0.06, -0.5, 0.5) for view in _SIDE_VIEWS},
    ("cylinder", "top"): ("u", 0.0, 0.08, -0.5, 0.5),
    ("pouch", "front"): ("u", -0.41, 0.09, -0.5, 0.5),
    ("pouch", "back"): ("u", -0.41, 0.09, -0.5, 0.5),
    ("pouch", "top"): ("u", 0.0, 0.1, -0.5, 0.5),
}


def _tape_views(shape: str) -> tuple[str, ...]:
    return tuple(view for (s, view) in _TAPES if s == shape)


def _tape_region(shape: str, view: str, g: _View) -> tuple[np.ndarray, np.ndarray]:
    """Where the tape/seal is drawn and the coordinate running along it."""
    spec = _TAPES.get((shape, view))
    if spec is None:
        return np.zeros_like(g.u, dtype=bool), g.u
    axis, center, half, lo, hi = spec
    along, across = (g.v, g.u) if axis == "v" else (g.u, g.v)
    return (np.abs(across - center) <= half) & (along >= lo) & (along <= hi), along


def _mix(image: np.ndarray, region: np.ndarray, color, amount: float) -> None:
    image[region] = image[region] * (1 - amount) + np.asarray(color) * amount


def _draw_damage(
    defect: Defect, view: str, g: _View, image, inside, mask, base_color: np.ndarray
) -> None:
    p = defect.params[view]
    # Scratches expose a substrate that contrasts with the print: light on dark, dark on light.
    substrate = (0.28, 0.27, 0.25) if base_color.mean() > 0.6 else (0.93, 0.93, 0.9)
    face_w, face_h = g.face
    cx, cy = p["center"][0] * face_w, p["center"][1] * face_h
    # Defects are at least a few output pixels wide, so they survive the resize to the model size.
    min_cm = 2.0 * SUPERSAMPLE / g.ppc
    radius = max(p["size"] * min(face_w, face_h), 2.5 * min_cm)
    dx, dy = g.xc - cx, g.yc - cy
    if defect.kind == "dent":
        rho = np.sqrt(dx**2 + dy**2) / radius
        region = (rho < 1.0) & inside
        image[region] *= (1 - 0.5 * (1 - rho[region] ** 2))[:, None]
        lit = (
            (rho >= 0.65)
            & (rho < 1.15)
            & ((dx * np.cos(p["angle"]) + dy * np.sin(p["angle"])) > 0.3 * radius)
            & inside
        )
        _mix(image, lit, (0.97, 0.97, 0.95), 0.55)
        mask[(rho < 1.15) & inside] |= MASK_BITS["damage"]
    elif defect.kind == "scratch":
        srng = np.random.default_rng(p["seed"])
        width = max(0.45, 1.2 * min_cm)
        for _ in range(p["count"]):
            angle = p["angle"] + srng.uniform(-0.4, 0.4)
            length = srng.uniform(0.4, 0.75) * max(face_w, face_h)
            ox, oy = cx + srng.uniform(-0.1, 0.1) * face_w, cy + srng.uniform(-0.1, 0.1) * face_h
            ux, uy = np.cos(angle), np.sin(angle)
            t = np.clip((g.xc - ox) * ux + (g.yc - oy) * uy, -length / 2, length / 2)
            dist = np.hypot(g.xc - (ox + t * ux), g.yc - (oy + t * uy))
            line = (dist < width / 2) & inside
            _mix(image, line, substrate, 0.8)
            mask[(dist < width / 2 + min_cm / 2) & inside] |= MASK_BITS["damage"]
    elif defect.kind == "tear":
        trng = np.random.default_rng(p["seed"])
        k = 11
        angles = np.sort(trng.uniform(0, 2 * np.pi, k))
        radii = radius * trng.uniform(0.55, 1.15, k)
        pts = np.stack([cx + radii * np.cos(angles), cy + radii * np.sin(angles)], 1)
        uv = pts / np.array([face_w, face_h])
        hole = g.polygon(uv) & inside
        rim = g.polygon((uv - uv.mean(0)) * 1.25 + uv.mean(0)) & inside & ~hole
        _mix(image, rim, (0.92, 0.9, 0.85), 0.75)
        image[hole] = np.array([0.13, 0.11, 0.09])
        mask[(hole | rim)] |= MASK_BITS["damage"]


def _draw_packaging(
    defect: Defect,
    view: str,
    shape: str,
    g: _View,
    image,
    inside,
    mask,
    base_color: np.ndarray,
    background: np.ndarray,
) -> np.ndarray:
    """Draw a packaging defect; returns the (possibly changed) silhouette."""
    p = defect.params[view]
    u, v = g.u, g.v
    bit = MASK_BITS["packaging"]
    if defect.kind == "crushed_corner":
        if shape in ("cylinder", "pouch") and view in _CAP_VIEWS:
            direction = np.array([np.cos(p["rim_angle"]), np.sin(p["rim_angle"])])
        else:
            direction = np.sign(np.array(p["corner"]))
        # The crushed point is where the silhouette reaches furthest towards that corner, so
        # rounded shapes (pouches, can rims) are dented where they really are.
        reach = np.where(inside, direction[0] * u + direction[1] * v, -np.inf)
        at = np.unravel_index(np.argmax(reach), reach.shape)
        corner = np.array([u[at], v[at]])
        a = p["size"]
        dist = np.abs(u - corner[0]) / a + np.abs(v - corner[1]) / a
        cut = (dist < 1.0) & inside
        crumple = (dist >= 1.0) & (dist < 1.6) & inside
        stripes = 0.55 + 0.25 * np.sin(40 * (u * 0.7 + v * 1.3))
        image[crumple] *= stripes[crumple][:, None]
        image[cut] = background[cut]
        mask[cut | crumple] |= bit
        return inside & ~cut
    if defect.kind == "open_flap":
        if view in _CAP_VIEWS:
            side = p["side"]
            region = inside & (side * u > 0.06) & (np.abs(v) < 0.42)
            edge = inside & (side * u > 0.06) & (np.abs(np.abs(v) - 0.42) < 0.05)
            image[region] = image[region] * 0.15 + 0.05
            _mix(image, edge, _CARDBOARD, 0.8)
            mask[region | edge] |= bit
            return inside
        width = p["size"] * 1.6
        u0 = p["offset"]
        height = p["size"] * 0.9
        quad = np.array(
            [
                [u0 - width / 2, -0.5],
                [u0 + width / 2, -0.5],
                [u0 + width / 2 + p["tilt"], -0.5 - height],
                [u0 - width / 2 + p["tilt"], -0.5 - height],
            ]
        )
        flap = g.polygon(quad)
        hinge = g.polygon(
            np.array(
                [
                    [u0 - width / 2, -0.53],
                    [u0 + width / 2, -0.53],
                    [u0 + width / 2, -0.45],
                    [u0 - width / 2, -0.45],
                ]
            )
        )
        image[flap] = (0.55 * base_color + 0.45 * _CARDBOARD) * 0.8
        image[hinge] = np.array([0.1, 0.09, 0.08])
        mask[flap | hinge] |= bit
        return inside | flap | hinge
    # torn_tape: a gap with ragged ends and a lifted, brighter piece of tape beside it.
    tape, along = _tape_region(shape, view, g)
    tape &= inside
    axis, center, half, lo, hi = _TAPES[(shape, view)]
    trng = np.random.default_rng(p["seed"])
    start = lo + (hi - lo) * trng.uniform(0.05, 0.45)
    gap_len = (hi - lo) * trng.uniform(0.3, 0.45)
    ragged = 0.03 * np.sin(37 * (u + v) + trng.uniform(0, 6))
    gap = tape & (along > start + ragged) & (along < start + gap_len + ragged)
    image[gap] = image[gap] * 0.4
    side = p["side"]
    piece = np.array(
        [
            [start, center + side * half],
            [start + 0.07, center + side * half],
            [start + 0.22, center + side * (half + 0.22)],
        ]
    )
    lifted = g.polygon(piece if axis == "u" else piece[:, ::-1])
    _mix(image, lifted, (0.97, 0.94, 0.86), 0.9)
    mask[gap | lifted] |= bit
    return inside | lifted


def render_item(
    item: SyntheticItem, image_size: int, views: Sequence[str] = VIEW_NAMES
) -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Render ``item``: view name -> (RGB ``uint8`` image, ``uint8`` defect-bit mask)."""
    n = image_size * SUPERSAMPLE
    out = {}
    for view_index, view in enumerate(views):
        if view not in _FACE_DIMS:
            raise ValueError(f"view {view!r}: the synthetic tunnel renders {VIEW_NAMES}")
        rng = np.random.default_rng([item.seed, view_index])
        horizontal, vertical = _FACE_DIMS[view]
        pose = _View.draw_pose(rng)
        g = _View(n, item.dims[horizontal], item.dims[vertical], pose)
        # Belt background: grey with faint stripes, plus the item's shadow.
        mask = np.zeros((n, n), dtype=np.uint8)
        level = rng.uniform(0.3, 0.4)
        stripes = 0.02 * np.sin(2 * np.pi * np.arange(n) / (n / 9))[None, :]
        background = np.repeat((level + stripes + 0 * g.u)[..., None], 3, axis=2)
        inside = _silhouette(item.shape, view, g)
        if view in item.size_views:
            # A wrong size shows where the item and the catalog outline (same pose) disagree.
            expected = _View(n, item.catalog_dims[horizontal], item.catalog_dims[vertical], pose)
            mask[inside ^ _silhouette(item.shape, view, expected)] |= MASK_BITS["wrong_size"]
        shift = max(1, n // 40)
        shadow = np.zeros_like(inside)
        shadow[shift:, shift:] = inside[:-shift, :-shift]
        background[shadow] *= 0.62
        image = background.copy()
        color = item.color * _shading(item.shape, view, g, rng)[..., None]
        image[inside] = color[inside]
        tape, _ = _tape_region(item.shape, view, g)
        tape &= inside
        _mix(image, tape, _TAPE if item.shape == "box" else _SEAL, 0.75)
        if item.shape == "box" and view == "front":
            label = inside & (np.abs(g.u) < 0.3) & (g.v > -0.05) & (g.v < 0.3)
            _mix(image, label, (0.95, 0.95, 0.93), 0.7)
        for defect in item.defects:
            if view not in defect.views:
                continue
            if defect.class_name == "damage":
                _draw_damage(defect, view, g, image, inside, mask, item.color)
            else:
                inside = _draw_packaging(
                    defect, view, item.shape, g, image, inside, mask, item.color, background
                )
        if item.labels["wrong_color"]:
            mask[inside] |= MASK_BITS["wrong_color"]
        tint = np.array([1 + item.light_tint, 1.0, 1 - item.light_tint])
        image = image * item.light_gain * tint
        image = image + rng.normal(0, 0.012, size=image.shape)
        # Box-filter the supersampled canvas down to the output size (antialiasing).
        image = image.reshape(image_size, SUPERSAMPLE, image_size, SUPERSAMPLE, 3).mean((1, 3))
        pixels = np.clip(np.round(image * 255), 0, 255).astype(np.uint8)
        small_mask = np.bitwise_or.reduce(
            np.bitwise_or.reduce(mask.reshape(image_size, SUPERSAMPLE, image_size, SUPERSAMPLE), 3),
            1,
        )
        out[view] = (pixels, small_mask.astype(np.uint8))
    return out


def generate_items(
    catalog: Catalog, n_items: int, seed: int, defect_rate: float | dict[str, float] = 0.2
) -> list[SyntheticItem]:
    """Draw ``n_items`` item descriptions for the set ``seed``."""
    if n_items < 1:
        raise ValueError(f"n_items: expected >= 1, got {n_items}")
    rates = (
        defect_rate if isinstance(defect_rate, dict) else dict.fromkeys(CLASS_NAMES, defect_rate)
    )
    unknown = sorted(set(rates) - set(CLASS_NAMES))
    if unknown:
        raise ValueError(f"defect_rate: unknown classes {unknown}; expected {CLASS_NAMES}")
    for name, rate in rates.items():
        if not 0.0 <= float(rate) <= 1.0:
            raise ValueError(f"defect_rate[{name}]: expected a rate in [0, 1], got {rate!r}")
    # A product past the camera frame fills it: an oversize item would look like a good one.
    largest = catalog.table[["width_cm", "height_cm", "depth_cm"]].max(axis=1)
    if (largest > FIELD_OF_VIEW_CM).any():
        names = catalog.table.loc[largest > FIELD_OF_VIEW_CM, "product_id"].head(5).tolist()
        raise ValueError(
            f"catalog: products {names} are larger than the synthetic camera's "
            f"{FIELD_OF_VIEW_CM:g} cm field of view"
        )
    return [sample_item(catalog, i, seed, rates) for i in range(n_items)]


def write_synthetic_dataset(
    root: str | Path,
    n_items: int | None = None,
    *,
    catalog: Catalog | None = None,
    overwrite: bool = False,
    config: SyntheticConfig | None = None,
    **settings,
) -> Path:
    """Render a tunnel-layout dataset of ``n_items`` items into the new folder ``root``.

    ``settings`` are fields of :class:`~vision.config.SyntheticConfig` (``seed``,
    ``image_size``, ``defect_rate``, ``products``, ``catalog_seed``, ``progress``), over
    ``config`` when given. The catalog comes from ``catalog_seed`` unless given, so sets drawn
    with different ``seed`` share products. ``labels.csv`` also lists the drawn defect kinds per
    item in ``defects``. The folder is built under a temporary name and appears whole or not at
    all; an existing one is an error unless ``overwrite``.
    """
    from tqdm.auto import tqdm

    values = {**(config.to_dict() if config is not None else {}), **settings}
    if n_items is not None:
        values["items"] = n_items
    config = SyntheticConfig.from_dict(values)
    catalog = catalog if catalog is not None else make_catalog(config.products, config.catalog_seed)
    items = generate_items(catalog, config.items, config.seed, config.defect_rate)
    with building(root, overwrite=overwrite) as tmp:
        rows = []
        for item in tqdm(items, desc="rendering items", disable=not config.progress):
            (tmp / ITEMS_DIR / item.item_id).mkdir(parents=True)
            (tmp / MASKS_DIR / item.item_id).mkdir(parents=True)
            for view, (pixels, mask) in render_item(item, config.image_size).items():
                Image.fromarray(pixels, "RGB").save(tmp / ITEMS_DIR / item.item_id / f"{view}.png")
                Image.fromarray(mask, "L").save(tmp / MASKS_DIR / item.item_id / f"{view}.png")
            rows.append(
                {
                    "item_id": item.item_id,
                    "product_id": item.product_id,
                    **item.labels,
                    "defects": ";".join(f"{d.kind}@{'+'.join(d.views)}" for d in item.defects),
                }
            )
        write_table(pd.DataFrame(rows), tmp / LABELS_FILE)
        catalog.write(tmp / CATALOG_FILE)
    return Path(root)
