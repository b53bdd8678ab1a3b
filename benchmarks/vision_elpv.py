"""Real-data check of the inspection model: ELPV solar-cell defects, trained from scratch on CPU.

Data: the 2,624 electroluminescence images of the ``elpv-dataset`` package (optional extra
``pip install 'stockcast[elpv]'``; CC-BY-NC-SA-4.0, read from the installed package, never copied
into this tree). Each cell has a defect probability in {0, 1/3, 2/3, 1} and a type (mono/poly).
``--save-images FILE`` writes the resized cells to an npz and ``--images FILE`` reads them back,
for a machine without the package (the GPU runs of ``results/vision_elpv_h200.json``:
``--accelerator cuda``).

Protocol (as in Deitsch et al., Solar Energy 2019): a stratified 75/25 train/test split (by
defect probability and cell type, seed 0). The 75% part is split again (85/15, stratified) into
training and a validation part that alone drives early stopping and checkpoint choice; the test
split is scored once at the end.

Model (the defaults of this script, which wrote ``results/vision_elpv.json``):
``vision.model.InspectionNet`` (resnet18 trunk at width 32, output stride 16, 128 px) with one
view and three cumulative ordinal outputs ``P(p >= 1/3)``, ``P(p >= 2/3)``, ``P(p = 1)``;
their mean is the predicted defect probability (the expected value of p). Trained from scratch
through ``training.inspect_task.fit_inspector`` for 300 epochs with flips and quarter turns (the
cells are square and symmetric) and evaluated with the 8 flip/rotation views averaged.

Options for the recipe of the inspection issue: ``--target regression`` (one output fitted to
p, BCE on the soft target, as Deitsch et al. regress p), ``--ema DECAY`` (moving average of
the weights), ``--weight-decay``, ``--rotate DEG`` (small rotations), ``--balanced``
(level-balanced batches), ``--ensemble N`` (seeds averaged), ``--output-stride 32`` (about
1.4x faster here), ``--no-quarter-turns`` (flips only, in training and test-time augmentation:
the busbars stay horizontal, as in 94% of the cells), ``--ssl-epochs N`` (SimCLR on the
training images before each member), ``--precision bf16-mixed`` (autocast; 1.3x per epoch
on the AVX-512 BF16 EPYC), ``--contrast 7`` (the top-hat path that class folders get by
default; off here, as in every recorded run). The cut on the predicted p is the one with the best
validation accuracy (``binary_accuracy``); ``binary_accuracy_at_0.5`` is beside it, and each
seed's own at 0.5 in ``member_binary_accuracy_at_0.5``.

Reported: ``binary_accuracy``, ``accuracy_by_level``, ``four_class_accuracy`` (the most
probable of the four levels under the ordinal model, p rounded to a third under regression),
``auroc`` = ``any_defect_auroc`` (predicted probability against p >= 0.5),
``train_binary_accuracy`` (the training cells at the same cut: how far the recipe is from
fitting what it saw) and ``train_minutes``, beside the published 88.42% average accuracy of
the CNN of Deitsch et al. (fine-tuned VGG-19, ImageNet-pretrained).

    python benchmarks/vision_elpv.py [--image-size 128 --width 32 --epochs 300]

Settings tried on a CPU (test split, seed 0): 128 px / 40 epochs 81.4%, 224 px / 50 epochs
81.4%, 300 px / 60 epochs 80.4% (48 minutes), 128 px / 80 epochs 82.0% (at a 0.5 cut;
``results/vision_elpv_80.json``, 11.4 minutes); regression + EMA 0.998 + weight decay 0.05 +
5-degree rotations + output stride 32, 32 epochs: 80.6% for one seed (18.5 minutes). 128 px /
300 epochs, the default since 2026-12-04: 85.0% at the validation cut (85.2% at 0.5) in 44
minutes on the project's 2-core AMD EPYC machine (``results/vision_elpv.json``); with ``--seed
1`` (another split) 80.7% (``results/vision_elpv_seed1.json``). The 2-core Xeon
of 2026-12-03 was about 3.4x slower (40 epochs at output stride 32: 15.8 minutes there, 4.6
on the EPYC), so there this default needs well over the hour.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

RESULT = Path(__file__).parent / "results" / "vision_elpv.json"
PUBLISHED_ACCURACY = 0.8842
LEVELS = np.array([0.0, 1 / 3, 2 / 3, 1.0])
CLASS_NAMES = ("p_ge_1_3", "p_ge_2_3", "p_eq_1")


def load_elpv(image_size: int):
    """Images resized to ``image_size`` (uint8), defect probabilities and cell types."""
    from elpv_dataset.utils import load_dataset
    from PIL import Image

    images, probs, types = load_dataset()
    resized = np.stack(
        [
            np.asarray(
                Image.fromarray(im).resize((image_size, image_size), Image.Resampling.BILINEAR)
            )
            for im in images
        ]
    )
    return resized, probs.astype(np.float64), np.asarray(types)


def write_npz(path: Path, **arrays: np.ndarray) -> None:
    """``np.savez_compressed`` through a temporary file: never a partial file at ``path``."""
    from kernels.io import atomic_write

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as handle:  # a handle: savez would append ".npz" to a name
            np.savez_compressed(handle, **arrays)

    atomic_write(path, write)


def ordinal_targets(probs: np.ndarray) -> np.ndarray:
    level = np.rint(probs * 3).astype(int)
    return np.stack([level >= k for k in (1, 2, 3)], axis=1).astype(np.float32)


def ordinal_level(outputs: np.ndarray) -> np.ndarray:
    """Most probable level 0..3 from cumulative P(p >= k/3): P(level k) = P(>= k) - P(>= k+1)."""
    cumulative = np.concatenate(
        [
            np.ones((len(outputs), 1)),
            np.minimum.accumulate(outputs, axis=1),
            np.zeros((len(outputs), 1)),
        ],
        axis=1,
    )
    return np.argmax(cumulative[:, :-1] - cumulative[:, 1:], axis=1)


def choose_threshold(predicted: np.ndarray, defective: np.ndarray) -> float:
    """The cut on the predicted defect probability with the best validation accuracy (the
    midpoint between neighbouring scores; ties go to the cut nearest 0.5)."""
    order = np.unique(predicted)
    cuts = np.concatenate([[0.5], (order[1:] + order[:-1]) / 2])
    accuracy = np.array([((predicted >= c) == defective).mean() for c in cuts])
    best = np.flatnonzero(accuracy >= accuracy.max() - 1e-12)
    return float(cuts[best[np.argmin(np.abs(cuts[best] - 0.5))]])


def symmetric_predict(
    model,
    images: torch.Tensor,
    quarter_turns: bool = True,
    batch_size: int = 64,
    device: str = "cpu",
) -> np.ndarray:
    """Mean sigmoid outputs over the flips (and, with ``quarter_turns``, the quarter turns) of
    each image: the 8 views of the square's symmetries, or the 4 that keep the busbars
    horizontal (the transforms of the model's own test-time augmentation, whose logit mean
    this probability mean stands beside)."""
    from vision.model import apply_transform, tta_transforms

    model.to(device).eval()
    transforms = tta_transforms("dihedral" if quarter_turns else "flips")
    outputs = []
    with torch.inference_mode():
        for start in range(0, len(images), batch_size):
            x = images[start : start + batch_size].to(device).float().div(255)
            x = x.expand(-1, -1, 3, -1, -1)
            mask = torch.ones(x.shape[0], 1, device=device)
            catalog = torch.zeros(x.shape[0], 7, device=device)
            total = 0
            for turns, flip in transforms:
                view = apply_transform(x, turns, flip).contiguous()
                total = total + torch.sigmoid(model(view, mask, catalog)[0].float())
            outputs.append((total / len(transforms)).cpu().numpy())
    model.cpu()
    return np.concatenate(outputs)


def main(argv: list[str] | None = None) -> int:
    from vision.schema import OPTIMIZERS

    parser = argparse.ArgumentParser(description="ELPV benchmark (from scratch, CPU)")
    parser.add_argument("--image-size", type=int, default=128)
    parser.add_argument("--backbone", default="resnet18")
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--epochs", type=int, default=300)
    parser.add_argument(
        "--patience", type=int, help="early-stopping patience in epochs (default: off)"
    )
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--lr", type=float, default=2e-3)
    parser.add_argument("--output-stride", type=int, choices=(16, 32), default=16)
    parser.add_argument(
        "--contrast", type=int, default=0, help="top-hat contrast path size (ModelSpec.contrast)"
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--accelerator", default="cpu")
    parser.add_argument(
        "--precision",
        default="auto",
        help="training precision (TrainConfig.precision; bf16-mixed: autocast, also on a CPU)",
    )
    parser.add_argument(
        "--target",
        choices=("ordinal", "regression"),
        default="ordinal",
        help="three cumulative ordinal outputs, or one output fitted to p (BCE on soft targets)",
    )
    parser.add_argument(
        "--optimizer",
        choices=OPTIMIZERS,
        default="adamw",
        help="AdamW, or Nesterov SGD (momentum 0.9, no decay on norm scales and biases; give it "
        "a peak --lr about 25x AdamW's)",
    )
    parser.add_argument("--ema", type=float, default=None, help="EMA decay of the weights")
    parser.add_argument("--weight-decay", type=float, default=5e-4)
    parser.add_argument("--rotate", type=float, default=0.0, help="small rotations, degrees")
    parser.add_argument("--balanced", action="store_true", help="level-balanced batches")
    parser.add_argument(
        "--quarter-turns",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="augment and average over quarter turns too (off: flips only, which keep the "
        "cells' busbars horizontal, as in 94%% of the images)",
    )
    parser.add_argument("--ensemble", type=int, default=1, help="seeds averaged")
    parser.add_argument(
        "--ssl-epochs",
        type=int,
        default=0,
        help="SimCLR pretraining of the backbone on the training images first (0: off)",
    )
    parser.add_argument("--dump", type=Path, help="save test predictions (npz)")
    parser.add_argument(
        "--save-images",
        type=Path,
        help="write the resized cells, their defect probabilities and types to this npz and stop",
    )
    parser.add_argument(
        "--images",
        type=Path,
        help="read the cells from an npz of --save-images (at --image-size) instead of the "
        "elpv-dataset package: for a machine without it, such as a GPU machine with no network",
    )
    parser.add_argument("--out", type=Path, default=RESULT)
    args = parser.parse_args(argv)
    if args.images is None:
        try:
            import elpv_dataset  # noqa: F401
        except ImportError:
            print("skipped: elpv-dataset is not installed (pip install 'stockcast[elpv]')")
            return 0

    from kernels.io import write_json
    from training.config import TrainConfig
    from training.devices import select_device
    from training.inspect_task import fit_inspector
    from training.pretrain import pretrain_backbone
    from vision.augment import AugmentSpec
    from vision.datasets import TensorItems, stratified_split
    from vision.metrics import auroc
    from vision.model import ModelSpec

    if args.images is not None:
        with np.load(args.images, allow_pickle=False) as saved:
            images, probs, types = saved["images"], saved["probs"], saved["types"]
        if images.shape[1:] != (args.image_size, args.image_size):
            sys.exit(
                f"{args.images}: cells of {images.shape[1]} x {images.shape[2]} px, but "
                f"--image-size is {args.image_size}"
            )
    else:
        images, probs, types = load_elpv(args.image_size)
    if args.save_images is not None:
        write_npz(args.save_images, images=images, probs=probs, types=types)
        print(f"wrote {len(images)} cells to {args.save_images}")
        return 0
    level = np.rint(probs * 3).astype(int)
    strata = np.array([f"{lv}-{t}" for lv, t in zip(level, types)])
    train_all, test = stratified_split(strata, 0.25, seed=args.seed)
    fit_part, val_part = stratified_split(strata[train_all], 0.15, seed=args.seed + 1)
    train, val = train_all[fit_part], train_all[val_part]
    if args.target == "ordinal":
        targets, class_names = ordinal_targets(probs), CLASS_NAMES
    else:
        targets, class_names = probs[:, None].astype(np.float32), ("defect_probability",)
    tensor = torch.from_numpy(images).view(len(images), 1, 1, args.image_size, args.image_size)

    def subset(index):
        return TensorItems(tensor[index], torch.from_numpy(targets[index]))

    print(
        f"ELPV: {len(images)} cells -> train {len(train)}, validation {len(val)}, "
        f"test {len(test)} ({args.image_size}px, {args.backbone} width {args.width}, "
        f"{torch.get_num_threads()} CPU threads)",
        flush=True,
    )
    spec = ModelSpec(
        backbone=args.backbone,
        width=args.width,
        image_size=args.image_size,
        output_stride=args.output_stride,
        contrast=args.contrast,
        head_dim=64,
    )
    augment = AugmentSpec(
        hflip=0.5,
        vflip=0.5,
        rot90=args.quarter_turns,
        rotate_deg=args.rotate,
        brightness=0.1,
        contrast=0.1,
        noise=0.01,
    )
    sample_weights = None
    if args.balanced:
        # Each defect level drawn as often as the others (the intermediate levels are rare).
        counts = np.bincount(level[train], minlength=4)
        sample_weights = 1.0 / counts[level[train]]
    device = select_device(args.accelerator).type
    start = time.perf_counter()
    train_outputs, val_outputs, test_outputs, fits, member_accuracy = [], [], [], [], []
    for member in range(args.ensemble):
        initial_state = None
        if args.ssl_epochs:
            # Labels unused: only the training split's images, each member its own seed.
            initial_state, ssl_losses = pretrain_backbone(
                subset(train),
                spec,
                args.ssl_epochs,
                batch_size=64,
                seed=args.seed + member,
                progress=sys.stderr.isatty(),
            )
            print(
                f"member {member}: SimCLR loss {ssl_losses[0]:.3f} -> {ssl_losses[-1]:.3f} "
                f"({(time.perf_counter() - start) / 60:.1f} min so far)",
                flush=True,
            )
        cfg = TrainConfig(
            max_epochs=args.epochs,
            batches_per_epoch=None,
            batch_size=args.batch_size,
            learning_rate=args.lr,
            weight_decay=args.weight_decay,
            early_stopping_patience=args.patience or args.epochs,
            accelerator=args.accelerator,
            precision=args.precision,
            seed=args.seed + member,
            progress_bar=sys.stderr.isatty(),
        )
        with tempfile.TemporaryDirectory(prefix="elpv-run-") as run_dir:
            fitted = fit_inspector(
                subset(train),
                subset(val),
                spec=spec,
                class_names=class_names,
                view_names=("image",),
                cfg=cfg,
                run_dir=run_dir,
                augment=augment,
                pos_weight=None,
                sample_weights=sample_weights,
                ema_decay=args.ema,
                val_labels=(targets[val] >= 0.5).astype(np.float32),
                # The regression's one output is the binary task's score, so its validation
                # AUROC is the one to follow; the ordinal outputs' any-defect AUROC would be
                # that of p >= 1/3, so they keep the validation loss.
                select_on="auroc" if args.target == "regression" else "loss",
                initial_state=initial_state,
                optimizer=args.optimizer,
            )
        fits.append(fitted)
        for outputs, index in ((train_outputs, train), (val_outputs, val), (test_outputs, test)):
            outputs.append(
                symmetric_predict(fitted.model, tensor[index], args.quarter_turns, device=device)
            )
        member_test = test_outputs[-1].mean(axis=1)
        member_accuracy.append(float(((member_test >= 0.5) == (probs[test] >= 0.5)).mean()))
        print(
            f"member {member}: {fitted.result.epochs} epochs, test binary accuracy "
            f"{member_accuracy[-1]:.2%} "
            f"({(time.perf_counter() - start) / 60:.1f} min so far)",
            flush=True,
        )
    train_minutes = (time.perf_counter() - start) / 60

    outputs = np.mean(test_outputs, axis=0)
    predicted = outputs.mean(axis=1)  # E[p] = mean of P(p >= k/3), k = 1..3 (or p itself)
    val_predicted = np.mean(val_outputs, axis=0).mean(axis=1)
    threshold = choose_threshold(val_predicted, probs[val] >= 0.5)
    if args.target == "ordinal":
        level_pred = ordinal_level(outputs)
    else:
        level_pred = np.rint(predicted * 3).astype(int)
    truth = probs[test]
    true_level = np.rint(truth * 3).astype(int)
    defective = truth >= 0.5
    binary = float(((predicted >= threshold) == defective).mean())
    binary_at_half = float(((predicted >= 0.5) == defective).mean())
    # How well the network fits its own training cells (same cut): far below 100% means the
    # recipe underfits (more steps, resolution or capacity), not that it memorizes.
    train_predicted = np.mean(train_outputs, axis=0).mean(axis=1)
    train_binary = float(((train_predicted >= threshold) == (probs[train] >= 0.5)).mean())
    four = float((level_pred == true_level).mean())
    area = auroc(defective, predicted)
    by_level = {
        f"p={k}/3": round(float(((predicted[true_level == k] >= threshold) == (k >= 2)).mean()), 4)
        for k in range(4)
    }
    if args.dump:
        write_npz(
            args.dump,
            predicted=predicted,
            truth=truth,
            types=types[test],
            outputs=outputs,  # every output (the three P(p >= k/3) of the ordinal target)
            val_outputs=np.mean(val_outputs, axis=0),
            val_truth=probs[val],
        )
    by_type = {}
    for cell_type in ("mono", "poly"):
        sel = types[test] == cell_type
        by_type[cell_type] = {
            "n": int(sel.sum()),
            "binary_accuracy": round(
                float(((predicted[sel] >= threshold) == defective[sel]).mean()), 4
            ),
            "four_class_accuracy": round(float((level_pred[sel] == true_level[sel]).mean()), 4),
        }
    result = {
        "binary_accuracy": round(binary, 4),
        "four_class_accuracy": round(four, 4),
        "auroc": round(area, 4),
        "any_defect_auroc": round(area, 4),
        "binary_accuracy_at_0.5": round(binary_at_half, 4),
        "member_binary_accuracy_at_0.5": [round(a, 4) for a in member_accuracy],
        "train_binary_accuracy": round(train_binary, 4),
        "threshold": round(float(threshold), 4),
        "accuracy_by_level": by_level,
        "train_minutes": round(train_minutes, 2),
        "published_accuracy_deitsch_2019": PUBLISHED_ACCURACY,
        "meets_published": bool(binary >= PUBLISHED_ACCURACY),
        "by_type": by_type,
        "n_train": int(len(train)),
        "n_validation": int(len(val)),
        "n_test": int(len(test)),
        "epochs": [f.result.epochs for f in fits],
        "stopped_early": [f.result.stopped_early for f in fits],
        "setup": {
            "image_size": args.image_size,
            "backbone": args.backbone,
            "width": args.width,
            "output_stride": args.output_stride,
            "contrast": args.contrast,
            "max_epochs": args.epochs,
            "patience": args.patience,
            "batch_size": args.batch_size,
            "learning_rate": args.lr,
            "weight_decay": args.weight_decay,
            "target": args.target,
            "optimizer": args.optimizer,
            "ema_decay": args.ema,
            "rotate_deg": args.rotate,
            "balanced": args.balanced,
            "ensemble": args.ensemble,
            "quarter_turns": args.quarter_turns,
            "ssl_epochs": args.ssl_epochs,
            "augment": augment.to_dict(),
            "seed": args.seed,
            "precision": args.precision,
            "device": device,
            "threads": torch.get_num_threads(),
            "load_average_1min_at_end": round(os.getloadavg()[0], 2),
        },
    }
    print()
    print(f"{'metric':<22} {'this model':>11} {'Deitsch et al. 2019':>20}")
    print(f"{'binary accuracy':<22} {binary:>11.2%} {PUBLISHED_ACCURACY:>20.2%}")
    print(f"{'4-class accuracy':<22} {four:>11.2%} {'-':>20}")
    print(f"{'AUROC':<22} {area:>11.4f} {'-':>20}")
    print(f"{'accuracy at 0.5':<22} {binary_at_half:>11.2%} {'-':>20}")
    print(f"{'training cells':<22} {train_binary:>11.2%} {'-':>20}")
    print(f"threshold chosen on validation: {threshold:.3f}; accuracy by level {by_level}")
    print(f"{'train minutes (CPU)':<22} {train_minutes:>11.1f} {'-':>20}")
    for cell_type, row in by_type.items():
        print(
            f"  {cell_type}: n={row['n']}, binary {row['binary_accuracy']:.2%}, "
            f"4-class {row['four_class_accuracy']:.2%}"
        )
    verdict = "meets" if result["meets_published"] else "does not meet"
    print(f"binary accuracy {verdict} the published {PUBLISHED_ACCURACY:.2%}")
    write_json(result, args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
