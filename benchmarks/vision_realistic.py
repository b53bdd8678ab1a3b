"""Class-folder inspection on realistic data, before and after the training recipe.

What a station relies on, measured on a stratified held-out quarter that neither training nor
calibration sees: the any-defect AUROC (``1 - prod(1 - p_class)`` against "has any defect"), the
share of defective parts that *pass* at the calibrated thresholds (target false-reject rate 1%
on good parts, set on the validation split), and the share of good parts rejected.

Data, written as class folders (``good/`` plus one folder per defect class) in a temporary
folder, as a user would hand them to ``stockcast inspect train --data ROOT``:

* ``parts``: :mod:`vision.synthetic_parts`, grey photos of small parts of varying sizes and
  aspect ratios (longer side 192-448 px) with five classes of small defects (1-2 px cracks,
  pits of a few pixels, thin scratches, faint stains, chipped edges);
* ``elpv``: the 2,624 ELPV solar cells (``pip install 'stockcast[elpv]'``; read from the
  installed package, never copied into this tree): ``good`` (defect probability 0 or 1/3),
  ``likely_defect`` (2/3) and ``defect`` (1), i.e. Deitsch et al.'s binary split.

Recipes (the same backbone width on both sides, ``--width``, to fit a CPU budget):

* ``before``: the class-folder defaults up to this recipe: every image squashed to 128 x 128,
  no top-hat contrast path, per-class BCE ``pos_weight``, mirror/shift/brightness
  augmentation, 30 epochs with checkpoints on the validation loss (patience 6), no weight
  averaging, no test-time augmentation;
* ``after``: today's defaults: letterboxed to a size chosen from the data, the top-hat
  contrast path for small marks (``ModelSpec.contrast``, since 2026-12-04), class-balanced
  batches, flips/quarter turns/small rotations/brightness/contrast, up to 60 epochs with
  checkpoints and early stopping on the any-defect validation AUROC (patience 15), an
  exponential moving average of the weights, test-time augmentation over the eight
  flips/quarter turns.

    python benchmarks/vision_realistic.py [--datasets parts elpv] [--width 16]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

import _harness as harness  # benchmarks/ is on sys.path when run as a script
import numpy as np

from vision.config import ModelSpec
from vision.schema import MARK_MODES

sys.path.insert(0, str(harness.ROOT))

RESULT = Path(__file__).parent / "results" / "vision_realistic.json"
RECIPES = ("before", "after")


def split_folders(source: Path, train_root: Path, test_root: Path, seed: int) -> None:
    """Hard-link (or copy) a class-folder set into train and a stratified quarter test set."""
    import shutil

    rng = np.random.default_rng(seed)
    for class_dir in sorted(p for p in source.iterdir() if p.is_dir()):
        files = sorted(class_dir.iterdir())
        order = rng.permutation(len(files))
        n_test = int(round(len(files) * 0.25))
        for target, chosen in ((test_root, order[:n_test]), (train_root, order[n_test:])):
            (target / class_dir.name).mkdir(parents=True, exist_ok=True)
            for i in chosen:
                dest = target / class_dir.name / files[i].name
                try:
                    os.link(files[i], dest)
                except OSError:
                    shutil.copy2(files[i], dest)


def write_elpv_folders(root: Path, limit: int | None) -> None:
    from elpv_dataset.utils import load_dataset
    from PIL import Image

    images, probs, _ = load_dataset()
    level = np.rint(probs * 3).astype(int)
    names = {0: "good", 1: "good", 2: "likely_defect", 3: "defect"}
    index = np.arange(len(images))
    if limit is not None and limit < len(images):
        index = np.sort(np.random.default_rng(0).choice(len(images), limit, replace=False))
    for name in set(names.values()):
        (root / name).mkdir(parents=True)
    for i in index:
        Image.fromarray(images[i]).save(root / names[int(level[i])] / f"cell_{i:04d}.png")


def recipe_settings(
    name: str,
    width: int,
    epochs: int | None,
    max_image_size: int,
    contrast: int,
    seed: int,
    marks: str,
    mark_scales: int,
) -> dict:
    """``Inspector`` keyword arguments of a recipe."""
    from training.config import ImageTrainConfig
    from vision.augment import AugmentSpec
    from vision.config import DataConfig, ModelSpec

    common = {"accelerator": "cpu", "progress_bar": sys.stderr.isatty(), "seed": seed}
    if name == "before":
        return {
            "model": ModelSpec(
                width=width, image_size=128, resize="squash", tta="none", contrast=0
            ),
            "data": DataConfig(imbalance="pos_weight"),
            "train": ImageTrainConfig(
                max_epochs=epochs or 30,
                early_stopping_patience=6,
                ema_decay=0.0,
                select_on="loss",
                **common,
            ),
            "augment": AugmentSpec(hflip=0.5, translate=0.04, brightness=0.05),
        }
    train = ImageTrainConfig(**common)
    if epochs is not None:
        train = ImageTrainConfig(max_epochs=epochs, **common)
    return {
        "model": ModelSpec(width=width, contrast=contrast, marks=marks, mark_scales=mark_scales),
        "data": DataConfig(max_image_size=max_image_size),
        "train": train,
    }


def evaluate(inspector, test_root: Path) -> dict:
    """Any-defect AUROC, defects passed and good parts rejected on the held-out quarter."""
    from vision.datasets import read_items
    from vision.metrics import auroc, per_class_auroc
    from vision.schema import score_column

    item_set = read_items(test_root, layout="classes", good_class="good")
    items, _ = inspector.score(item_set, heatmaps=False, progress=False)
    labels = item_set.label_matrix()
    by_id = {it.item_id: k for k, it in enumerate(item_set.items)}
    labels = labels[[by_id[i] for i in items["item_id"]]]
    defective = (labels >= 0.5).any(axis=1)
    verdict = items["verdict"].to_numpy()
    scores = items[[score_column(c) for c in item_set.class_names]].to_numpy()
    passed_by_class = {
        c: round(float((verdict[labels[:, k] >= 0.5] == "pass").mean()), 4)
        for k, c in enumerate(item_set.class_names)
        if (labels[:, k] >= 0.5).any()
    }
    return {
        "n_test": int(len(items)),
        "n_defective": int(defective.sum()),
        "any_defect_auroc": round(auroc(defective, items["any_defect"].to_numpy()), 4),
        "defects_passed": round(float((verdict[defective] == "pass").mean()), 4),
        "good_rejected": round(float((verdict[~defective] == "reject").mean()), 4),
        "good_reviewed": round(float((verdict[~defective] == "review").mean()), 4),
        "defects_passed_by_class": passed_by_class,
        "auroc_by_class": {
            c: round(v, 4) for c, v in per_class_auroc(labels, scores, item_set.class_names).items()
        },
    }


def run_dataset(name: str, args, scratch: Path) -> dict:
    from training.inspector import Inspector

    source = scratch / f"{name}-all"
    if name == "parts":
        from vision.synthetic_parts import write_parts_dataset

        write_parts_dataset(source, args.parts_items, seed=0)
    else:
        write_elpv_folders(source, args.elpv_items)
    train_root, test_root = scratch / f"{name}-train", scratch / f"{name}-test"
    split_folders(source, train_root, test_root, seed=0)
    out = {}
    for recipe in args.recipes:
        settings = recipe_settings(
            recipe,
            args.width,
            args.epochs if recipe == "after" else None,
            args.max_image_size,
            args.contrast,
            args.seed,
            args.marks,
            args.mark_scales,
        )
        start = time.perf_counter()
        inspector = Inspector(**settings).fit(train_root)
        minutes = (time.perf_counter() - start) / 60
        result = evaluate(inspector, test_root)
        result.update(
            train_minutes=round(minutes, 2),
            epochs=inspector.training["epochs"],
            image_size=inspector.model.image_size,
            resize=inspector.model.resize,
            tta=inspector.model.tta,
            selected_on=inspector.training["selected_on"],
            validation_any_defect_auroc=(inspector.metrics.get("calibration") or {}).get(
                "any_defect_auroc"
            ),
        )
        out[recipe] = result
        print(
            f"{name:<6} {recipe:<7} any-defect AUROC {result['any_defect_auroc']:.3f}, "
            f"defects passed {result['defects_passed']:.1%}, good rejected "
            f"{result['good_rejected']:.1%} ({minutes:.1f} min, {result['epochs']} epochs, "
            f"{result['image_size']} px {result['resize']})",
            flush=True,
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--datasets", nargs="+", choices=("parts", "elpv"), default=["parts"])
    parser.add_argument("--recipes", nargs="+", choices=RECIPES, default=list(RECIPES))
    parser.add_argument("--width", type=int, default=16, help="resnet18 width, both recipes")
    parser.add_argument("--epochs", type=int, help="maximum epochs of the new recipe")
    parser.add_argument("--max-image-size", type=int, default=256)
    parser.add_argument(
        "--contrast",
        type=int,
        default=-1,
        help="the new recipe's top-hat contrast path (ModelSpec.contrast; -1: its default)",
    )
    parser.add_argument(
        "--marks",
        choices=MARK_MODES,
        default=ModelSpec.marks,
        help="the new recipe's ModelSpec.marks (gain: the contrast path's first version)",
    )
    parser.add_argument(
        "--mark-scales",
        type=int,
        default=ModelSpec.mark_scales,
        help="the new recipe's ModelSpec.mark_scales",
    )
    parser.add_argument("--parts-items", type=int, default=800)
    parser.add_argument("--elpv-items", type=int, help="a random subset of ELPV cells")
    parser.add_argument("--seed", type=int, default=0, help="training seed (the split stays)")
    parser.add_argument("--out", type=Path, default=RESULT)
    args = parser.parse_args(argv)
    if "elpv" in args.datasets:
        try:
            import elpv_dataset  # noqa: F401
        except ImportError:
            print("elpv-dataset is not installed (pip install 'stockcast[elpv]'): skipping elpv")
            args.datasets = [d for d in args.datasets if d != "elpv"]
    import torch

    results: dict = {
        "setup": {
            "width": args.width,
            "max_image_size": args.max_image_size,
            "parts_items": args.parts_items,
            "elpv_items": args.elpv_items,
            "contrast": args.contrast,
            "marks": args.marks,
            "mark_scales": args.mark_scales,
            "seed": args.seed,
            "threads": torch.get_num_threads(),
            "target_frr": 0.01,
            "test_split": "stratified quarter per class folder, seed 0",
        }
    }
    with tempfile.TemporaryDirectory(prefix="vision-realistic-") as scratch:
        for name in args.datasets:
            results[name] = run_dataset(name, args, Path(scratch))
    results["setup"]["load_average_1min_at_end"] = round(os.getloadavg()[0], 2)
    print()
    print(
        f"{'data':<7}{'recipe':<8}{'any-defect AUROC':>17}{'defects passed':>16}"
        f"{'good rejected':>15}{'minutes':>9}"
    )
    for name in args.datasets:
        for recipe, row in results[name].items():
            print(
                f"{name:<7}{recipe:<8}{row['any_defect_auroc']:>17.3f}"
                f"{row['defects_passed']:>16.1%}{row['good_rejected']:>15.1%}"
                f"{row['train_minutes']:>9.1f}"
            )
    harness.write_json(results, args.out)
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
