"""The inspection network as an ONNX graph that takes what a camera tunnel has.

Inputs (B items, V the model's named view slots, S its image size):

* ``images`` ``uint8 (B, V, S, S, 3)``: each view decoded, resized to S x S and in RGB (grey
  sources replicated), channels last, as an image library hands them over;
* ``view_mask`` ``float32 (B, V)``: 1 where the slot's view was photographed and decoded, 0
  for a missing one (its pixels are ignored); any subset of the slots may be present;
* ``catalog`` ``float32 (B, 7)``: the product's catalog reference (:mod:`vision.catalog`), all
  zeros without one.

In the graph: uint8 -> float / 255, channels first, the network's normalization, the shared
backbone and per-view heads, the fusion over the views present and sigmoid scores. Outputs:
``item_scores`` ``(B, K)`` and ``view_scores`` ``(B, V, K)`` (probabilities, float64 as the
PyTorch path computes them), ``heatmaps``
``(B, V, K, h, w)`` (class-activation logits per cell) and ``attributes`` ``(B, 6)`` (measured
colour and dimensions). The batch is dynamic; the views axis is the model's slots.

``export_inspection`` writes ``model.onnx`` (and ``catalog.csv`` for a catalog model) after a
parity check against PyTorch, and with ``quantize`` also ``model.int8.onnx``: onnxruntime static
int8 quantization (QDQ, per-channel weights) calibrated on images of the run's own data, with
its accuracy change against fp32 measured on held-out items.
"""

from __future__ import annotations

import copy
import shutil
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import onnx
import torch
from torch import nn

from kernels.io import FileError
from kernels.runfolder import read_manifest
from serving.export import onnx as onnx_io
from serving.export.forecast import ExportError, io_description
from vision.calibration import Thresholds, verdicts
from vision.catalog import REF_DIM
from vision.images import ACCEPTED_MODES, DECODING
from vision.items import (
    CatalogHandling,
    ItemLoader,
    ItemSet,
    copy_groups,
    inspected_completely,
    read_items,
    stratified_split,
)
from vision.metrics import per_class_auroc
from vision.run import CATALOG, TASK, read_model

INPUTS = ("images", "view_mask", "catalog")
OUTPUTS = ("item_scores", "view_scores", "heatmaps", "attributes")
MODEL_FILE = "model.onnx"
INT8_FILE = "model.int8.onnx"
PARITY_BATCHES = (1, 8)
#: Heatmaps are logits of many cells computed through the whole backbone; fp32 rounding alone
#: moves them by about 1e-4 of their scale (torch fp32 against float64), so they are held to this.
HEATMAP_RTOL = 1e-3
#: Items the int8 graph is calibrated on, and the most held-out items its accuracy is measured on.
CALIBRATION_ITEMS = 64
EVALUATION_ITEMS = 512


class InspectionGraph(nn.Module):
    """A fitted :class:`~vision.model.InspectionNet` with its input and output processing."""

    def __init__(self, net: nn.Module):
        super().__init__()
        self.net = net.eval()

    def forward(
        self, images: torch.Tensor, view_mask: torch.Tensor, catalog: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        pixels = images.permute(0, 1, 4, 2, 3).to(torch.float32) / 255.0
        item_logits, view_logits, heatmaps, attributes = self.net(pixels, view_mask, catalog)
        # In float64, as the PyTorch path scores (vision.scoring): a float32 sigmoid is 1.0 for
        # every logit above ~17, so thresholds calibrated between confident scores would reject
        # every confident item here and only some of them there.
        scores = (torch.sigmoid(item_logits.double()), torch.sigmoid(view_logits.double()))
        return *scores, heatmaps, attributes


RESIZE_NOTES = {
    "pad": "scaled so the longer side is image_size, centred, each margin filled with the mean "
    "colour of the scaled image's edge pixels beside it",
    "squash": "stretched to image_size x image_size",
}


def example_inputs(size: int, views: int, batch: int, rng: np.random.Generator) -> dict:
    """Fresh valid inputs: random pictures (smooth colour fields with pixel noise, as photos
    are), random subsets of the view slots (the first item has every view, each item at least
    one), catalog references present or not."""
    from PIL import Image

    coarse = rng.integers(0, 256, size=(batch * views, 4, 4, 3), dtype=np.uint8)
    smooth = np.stack(
        [
            np.asarray(Image.fromarray(c, "RGB").resize((size, size), Image.Resampling.BILINEAR))
            for c in coarse
        ]
    ).astype(np.int16)
    noise = rng.integers(-12, 13, size=smooth.shape, dtype=np.int16)
    images = np.clip(smooth + noise, 0, 255).astype(np.uint8)
    mask = (rng.random((batch, views)) < 0.7).astype(np.float32)
    mask[0] = 1.0
    mask[np.arange(batch), rng.integers(0, views, size=batch)] = 1.0
    catalog = np.zeros((batch, REF_DIM), np.float32)
    present = rng.random(batch) < 0.7
    catalog[present, 0] = 1.0
    catalog[present, 1:4] = rng.random((int(present.sum()), 3))
    catalog[present, 4:] = rng.uniform(0.05, 0.7, size=(int(present.sum()), REF_DIM - 4))
    return {
        "images": images.reshape(batch, views, size, size, 3),
        "view_mask": mask,
        "catalog": catalog,
    }


def export_inspection(
    run_dir: str | Path,
    folder: Path,
    quantize: bool | str | Path | ItemSet = False,
    batch_sizes: Sequence[int] = PARITY_BATCHES,
) -> dict[str, Any]:
    """Write ``folder/model.onnx`` for an inspection run and check it against torch.

    Returns the manifest entries (model io, preprocessing, classes, views, thresholds, catalog,
    verdict rule, parity and, with ``quantize``, the int8 graph and its accuracy change).
    ``quantize`` is ``True`` (calibrate on the run's own data, which must still be where the run
    read it) or the data to calibrate on (a dataset folder or an :class:`~vision.items.ItemSet`
    with the model's classes). Raises ``ExportError`` when onnxruntime and torch disagree beyond
    the tolerance, and ``ValueError`` for a run without calibrated thresholds: nothing is
    written.
    """
    import onnxruntime as ort

    run_dir = Path(run_dir)
    run_manifest = read_manifest(run_dir, task=TASK)
    if not run_manifest.get("thresholds"):
        raise ValueError(
            f"{run_dir}: the model has no calibrated thresholds, so a package could not give "
            "verdicts; calibrate it first (`stockcast inspect calibrate`)"
        )
    model = read_model(run_dir, run_manifest)
    net = model.net.cpu().eval()
    size, views = net.spec.image_size, len(model.view_names)
    graph = InspectionGraph(net).eval()
    rng = np.random.default_rng(0)
    sample = {k: torch.from_numpy(v) for k, v in example_inputs(size, views, 2, rng).items()}
    dynamic = {name: {0: "batch"} for name in INPUTS}
    path = folder / MODEL_FILE
    onnx_model = onnx_io.export(graph, sample, OUTPUTS, dynamic, path)
    with torch.inference_mode():
        shapes = [tuple(t.shape) for t in graph(**sample)]
    _name_output_shapes(onnx_model, shapes)
    onnx.checker.check_model(onnx_model)
    onnx.save(onnx_model, str(path))

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    parity, scores, noise = _parity(graph, session, size, views, batch_sizes, rng)
    worst_scores = max(scores.values())
    worst_maps = max(errors["heatmaps"] for errors in parity.values())
    if not (worst_scores <= onnx_io.PARITY_RTOL and worst_maps <= HEATMAP_RTOL):
        path.unlink(missing_ok=True)
        raise ExportError(
            f"onnxruntime differs from torch by {worst_scores:.2e} on the scores and attributes "
            f"(relative; tolerance {onnx_io.PARITY_RTOL:g}) and {worst_maps:.2e} on the heatmaps "
            f"(tolerance {HEATMAP_RTOL:g}) at batch sizes {parity}: not written"
        )

    catalog_file = None
    if (run_dir / CATALOG).is_file():
        shutil.copyfile(run_dir / CATALOG, folder / CATALOG)
        catalog_file = CATALOG
    run_pre = run_manifest["preprocessing"]
    image_mode = model.image_mode
    entries: dict[str, Any] = {
        "model": {
            "file": path.name,
            "opset": onnx_io.opset(onnx_model),
            "inputs": io_description(session.get_inputs()),
            "outputs": io_description(session.get_outputs()),
            "views_axis": "the model's view slots in the order of `views`; any subset may be "
            "present (view_mask 1), the fusion uses only those",
            "scores": "item_scores and view_scores are probabilities (sigmoid in the graph); "
            "heatmaps are class-activation logits per cell; attributes as in `catalog`",
            "network": {k: v for k, v in run_manifest["model"].items() if k != "weights"},
        },
        "preprocessing": {
            "image_size": size,
            "image_mode": image_mode,
            "accepted_source_modes": list(ACCEPTED_MODES[image_mode]),
            "channels": "RGB, channels last; grey sources replicated to 3 channels",
            **DECODING,
            "resize": [size, size],
            "resize_mode": net.spec.resize,
            "resize_mode_note": RESIZE_NOTES[net.spec.resize],
            "test_time_augmentation": net.spec.tta,
            "resize_filter": "bilinear (Pillow Image.Resampling.BILINEAR, antialiased when "
            "shrinking)",
            "dtype": "uint8; / 255 in the graph",
            "normalization": {
                "mean": list(net.spec.mean),
                "std": list(net.spec.std),
                "applied": "inside the graph",
            },
            "min_view_size": int(run_pre["min_view_size"]),
        },
        "classes": list(model.class_names),
        "views": list(model.view_names),
        "thresholds": run_manifest["thresholds"],
        "catalog": {**run_manifest["catalog"], "file": catalog_file},
        "verdict_rule": run_manifest["verdict_rule"],
        "parity": {
            "max_relative_error": scores,
            "per_output": parity,
            "tolerance": onnx_io.PARITY_RTOL,
            "heatmap_tolerance": HEATMAP_RTOL,
            "heatmaps_torch_fp32_vs_fp64": noise,
            "dtype": "fp32",
            "measure": "max |ort - torch| / max(|torch|, 1% of the largest |torch|), per output; "
            "max_relative_error is over the scores and attributes (the heatmaps, logits shown "
            "as overlays, are held to heatmap_tolerance: torch's own fp32 result is about 1e-4 "
            "from float64 there, see heatmaps_torch_fp32_vs_fp64)",
        },
        "quantized": None,
    }
    if quantize is not False and quantize is not None:
        source = None if quantize is True else quantize
        scopes = [name for name, _ in net.backbone.named_children()]
        entries["quantized"] = quantize_package(
            folder, run_dir, run_manifest, model.catalog, source, scopes
        )
    return entries


def _name_output_shapes(model: onnx.ModelProto, shapes: Sequence[tuple[int, ...]]) -> None:
    """Write the outputs' fixed sizes into the graph (the exporter leaves generated names for
    some): everything but the batch axis is fixed by the model."""
    for output, shape in zip(model.graph.output, shapes, strict=True):
        dims = output.type.tensor_type.shape.dim
        for axis, dim in enumerate(dims):
            if axis == 0:
                dim.dim_param = "batch"
            else:
                dim.dim_value = int(shape[axis])


def _parity(
    graph: InspectionGraph,
    session: Any,
    size: int,
    views: int,
    batch_sizes: Sequence[int],
    rng: np.random.Generator,
) -> tuple[dict[str, dict[str, float]], dict[str, float], dict[str, float]]:
    """Per batch size: the error of every output, the worst over scores and attributes, and how
    far torch's own fp32 heatmaps are from float64 (the scale of fp32 rounding there)."""
    exact = copy.deepcopy(graph).double()
    parity, scores, noise = {}, {}, {}
    for n in batch_sizes:
        feeds = example_inputs(size, views, n, rng)
        tensors = {k: torch.from_numpy(v) for k, v in feeds.items()}
        with torch.inference_mode():
            expected = [t.numpy() for t in graph(**tensors)]
            wide = {k: v if v.dtype == torch.uint8 else v.double() for k, v in tensors.items()}
            exact_maps = exact(**wide)[2].numpy()
        got = session.run(list(OUTPUTS), feeds)
        parity[str(n)] = {
            name: onnx_io.max_relative_error(e, g)
            for name, e, g in zip(OUTPUTS, expected, got, strict=True)
        }
        scores[str(n)] = max(v for k, v in parity[str(n)].items() if k != "heatmaps")
        noise[str(n)] = onnx_io.max_relative_error(exact_maps, expected[2])
    return parity, scores, noise


# --------------------------------------------------------------------------- int8


def _run_items(run_dir: Path, run_manifest: dict[str, Any]) -> tuple[ItemSet, str]:
    data = (run_manifest.get("training") or {}).get("data") or {}
    root = data.get("root")
    if not root:
        raise FileError(
            f"{run_dir / 'manifest.json'}: the run does not record the data it was trained on; "
            "pass calibration data to quantize (export_run(..., quantize=DATA_FOLDER))"
        )
    if not Path(root).is_dir():
        raise FileError(
            f"{root}: the run's training data is not there, and int8 calibration needs its "
            "images; pass calibration data to quantize (export_run(..., quantize=DATA_FOLDER))"
        )
    layout = data.get("layout") or "auto"
    good = data.get("good_class") or "good"
    return read_items(root, layout=layout, good_class=good), f"the run's data ({root})"


def _split(
    item_set: ItemSet,
    loader: ItemLoader,
    run_manifest: dict[str, Any],
    own_data: bool,
) -> tuple[np.ndarray, np.ndarray, str]:
    """(calibration candidates, evaluation items, where the evaluation items come from).

    On the run's own data, the evaluation items are its validation split (reproduced as fitting
    made it: stratified by label combination over the usable items, with the run's seed); else
    a stratified half of the data. Calibration items come from the other part."""
    usable = np.array(
        [i for i in range(len(loader)) if loader.load(i)["view_mask"].sum() > 0], dtype=int
    )
    if len(usable) < 4:
        raise ValueError(
            f"{item_set.root}: {len(usable)} readable items; int8 calibration needs more"
        )
    if not item_set.labeled:
        order = np.random.default_rng(0).permutation(usable)
        half = len(order) // 2
        return np.sort(order[:half]), np.sort(order[half:]), "a random half"
    labels = item_set.label_matrix()[usable]
    config = run_manifest.get("config") or {}
    training = (run_manifest.get("training") or {}).get("data") or {}
    changed = ""
    if own_data:
        # The split is reproduced from the data as it is now: with labels or images edited
        # since training (same number of items) it drew other items, some of them trained on,
        # and still matched the recorded sizes. The run's fingerprint of its data says whether
        # this is the data training split. (Imported here: lightning is heavy to import.)
        from training.inspect_task import data_fingerprint

        recorded = run_manifest.get("data_fingerprint")
        if recorded and data_fingerprint(item_set) != recorded:
            changed = "; the data changed since training"
        else:
            fraction = float((config.get("data") or {}).get("val_fraction", 0.2))
            seed = int((config.get("train") or {}).get("seed", 0))
            groups, _ = copy_groups(item_set, loader.load, usable)
            keep, held = stratified_split(labels, fraction, seed, groups)
            if len(held) == training.get("n_val") and len(keep) == training.get("n_train"):
                return usable[keep], usable[held], "the validation split"
    keep, held = stratified_split(labels, 0.5, 0)
    return usable[keep], usable[held], f"a stratified half (not the validation split{changed})"


def _subsample(indices: np.ndarray, labels: np.ndarray | None, limit: int) -> np.ndarray:
    """At most ``limit`` of ``indices``, stratified by label combination when labelled."""
    if len(indices) <= limit:
        return indices
    if labels is None:
        return np.sort(np.random.default_rng(0).choice(indices, limit, replace=False))
    _, held = stratified_split(labels[indices], limit / len(indices), 0)
    return indices[held][:limit]


def _feeds(loader: ItemLoader, indices: np.ndarray, batch: int) -> Iterator[dict[str, np.ndarray]]:
    for lo in range(0, len(indices), batch):
        samples = [loader.load(int(i)) for i in indices[lo : lo + batch]]
        yield {
            "images": np.stack([s["images"] for s in samples]),
            "view_mask": np.stack([s["view_mask"] for s in samples]),
            "catalog": np.stack([s["catalog"] for s in samples]),
        }


def _backbone_nodes(model: onnx.ModelProto, scopes: Sequence[str]) -> tuple[list[str], str]:
    """The nodes of the backbone (named ``/net/<backbone child>/...`` by the exporter) and what
    is quantized: the backbone, where the heads, the fusion and the scores stay in float (8-bit
    scores could not sit between calibrated thresholds); every Conv when the names are not
    the exporter's usual ones."""
    wanted = {f"/net/{scope}/" for scope in scopes}
    nodes = [n.name for n in model.graph.node if any(n.name.startswith(w) for w in wanted)]
    if nodes:
        return nodes, "the backbone's operators; heads, fusion and scores in float"
    return [], "every Conv operator"


def quantize_package(
    folder: Path,
    run_dir: Path,
    run_manifest: dict[str, Any],
    catalog: CatalogHandling,
    data: str | Path | ItemSet | None = None,
    backbone_scopes: Sequence[str] = (),
) -> dict[str, Any]:
    """Write ``folder/model.int8.onnx`` from ``folder/model.onnx`` and measure it; returns the
    manifest's ``quantized`` entry.

    Static int8 (onnxruntime, QDQ format, per-channel weights, MinMax calibration) on up to
    :data:`CALIBRATION_ITEMS` items of ``data`` (default: the run's own data); then fp32 and
    int8 score up to :data:`EVALUATION_ITEMS` other items (the run's validation split when
    ``data`` is the run's): per-class AUROC, verdict agreement and any-defect accuracy (reject
    vs. a defect label) of both, and how much the scores moved.
    """
    import onnxruntime as ort
    from onnxruntime.quantization import (
        CalibrationDataReader,
        CalibrationMethod,
        QuantFormat,
        QuantType,
        quantize_static,
    )
    from onnxruntime.quantization.shape_inference import quant_pre_process

    own = data is None
    classes = tuple(run_manifest["classes"])
    if data is None:
        item_set, source = _run_items(run_dir, run_manifest)
    elif isinstance(data, ItemSet):
        item_set, source = data, str(data.root)
    else:
        # Read as the run's settings read data, class folders labelled against the model's
        # classes: a folder of good photos alone, or one without a rare class, calibrates too.
        settings = (run_manifest.get("config") or {}).get("data") or {}
        item_set = read_items(
            data,
            layout=settings.get("layout") or "auto",
            good_class=settings.get("good_class") or "good",
            class_names=classes,
        )
        source = str(data)
    if item_set.labeled and tuple(item_set.class_names) != classes:
        raise ValueError(
            f"{item_set.root}: classes {list(item_set.class_names)} are not the model's "
            f"{list(classes)}"
        )
    loader = ItemLoader(
        item_set,
        run_manifest["views"],
        int(run_manifest["model"]["image_size"]),
        run_manifest["model"]["image_mode"],
        catalog.for_items(item_set.catalog),
        classes,
        int(run_manifest["preprocessing"]["min_view_size"]),
        run_manifest["model"].get("resize", "squash"),
    )
    candidates, evaluation, held_out = _split(item_set, loader, run_manifest, own)
    labels = item_set.label_matrix() if item_set.labeled else None
    calibration = _subsample(candidates, labels, CALIBRATION_ITEMS)
    evaluation = _subsample(evaluation, labels, EVALUATION_ITEMS)

    class Reader(CalibrationDataReader):
        def __init__(self) -> None:
            self.batches = _feeds(loader, calibration, 8)

        def get_next(self) -> dict[str, np.ndarray] | None:
            return next(self.batches, None)

    fp32 = folder / MODEL_FILE
    int8 = folder / INT8_FILE
    prepared = folder / ".model.prepared.onnx"
    try:
        quant_pre_process(str(fp32), str(prepared), skip_symbolic_shape=True)
        nodes, scope = _backbone_nodes(onnx.load(str(prepared)), backbone_scopes)
        quantize_static(
            str(prepared),
            str(int8),
            Reader(),
            quant_format=QuantFormat.QDQ,
            per_channel=True,
            activation_type=QuantType.QUInt8,
            weight_type=QuantType.QInt8,
            calibrate_method=CalibrationMethod.MinMax,
            nodes_to_quantize=nodes,
            op_types_to_quantize=None if nodes else ["Conv"],
            extra_options={"ActivationSymmetric": False, "WeightSymmetric": True},
        )
    finally:
        prepared.unlink(missing_ok=True)
    onnx.checker.check_model(str(int8))

    sessions = {
        name: ort.InferenceSession(str(p), providers=["CPUExecutionProvider"])
        for name, p in (("fp32", fp32), ("int8", int8))
    }
    scores: dict[str, list[np.ndarray]] = {"fp32": [], "int8": []}
    complete = []
    for feeds in _feeds(loader, evaluation, 32):
        for name, session in sessions.items():
            scores[name].append(session.run(["item_scores"], feeds)[0].astype(np.float64))
    for i in evaluation:
        sample = loader.load(int(i))
        complete.append(inspected_completely(sample["errors"]))
    probs = {name: np.concatenate(parts) for name, parts in scores.items()}
    thresholds = Thresholds.from_dict(run_manifest["thresholds"], classes)
    verdict = {
        name: np.array(verdicts(p, thresholds, np.array(complete))[0]) for name, p in probs.items()
    }
    change = np.abs(probs["int8"] - probs["fp32"])
    measured: dict[str, Any] = {
        "items": int(len(evaluation)),
        "source": f"{held_out} of {source}",
        "verdict_agreement": float((verdict["fp32"] == verdict["int8"]).mean()),
        "score_change": {"max_abs": float(change.max()), "mean_abs": float(change.mean())},
    }
    if labels is not None:
        truth = labels[evaluation]
        defect = (truth >= 0.5).any(axis=1)
        raw = {name: per_class_auroc(truth, p, classes) for name, p in probs.items()}
        auroc: dict[str, dict[str, float | None]] = {
            name: {c: (v if np.isfinite(v) else None) for c, v in values.items()}
            for name, values in raw.items()
        }
        auroc["change"] = {
            c: (float(raw["int8"][c] - raw["fp32"][c]) if np.isfinite(raw["fp32"][c]) else None)
            for c in classes
        }
        accuracy = {name: float(((v == "reject") == defect).mean()) for name, v in verdict.items()}
        measured["auroc"] = auroc
        measured["any_defect_accuracy"] = {
            **accuracy,
            "change_points": 100.0 * (accuracy["int8"] - accuracy["fp32"]),
            "rule": "verdict reject <=> some defect label",
        }
    return {
        "file": INT8_FILE,
        "method": "onnxruntime static quantization: QDQ, int8 weights per channel "
        "(symmetric), uint8 activations, MinMax calibration",
        "quantized": scope,
        "onnxruntime": ort.__version__,
        "providers": ["CPUExecutionProvider"],
        "calibration": {"items": int(len(calibration)), "source": source},
        "evaluation": measured,
    }
