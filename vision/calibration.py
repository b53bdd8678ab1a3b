"""Per-class thresholds for a target false-reject rate, a review band, and item verdicts.

A good item (no defect label) is *falsely rejected* when any class score exceeds its threshold.
The thresholds share one tail level across classes: each good calibration item gets the highest
per-class rank of its scores, and the reject level is the conformal quantile of those ranks, so
fresh good items are rejected at no more than ``target_frr`` (in expectation over calibration
sets), whatever the number of classes. With several classes the level is one rank above that
quantile: the ranks are counted among the calibration items, and a fresh item can lift one of
them by one in any class, so without the extra rank each class adds about ``1 / (n + 1)`` of false
rejects (4 classes, 120 good items, a 1% target: 3.3% of fresh good items rejected). It costs
items: a rate ``r`` over ``k`` classes needs :func:`good_items_needed` of them, ``(k + 1) / r - 1``
or so (499 for 1% over four classes), where one class needs ``1 / r - 1`` (99).

The review band lies below the reject thresholds: thresholds found the same way for
``target_frr + review_rate`` send that extra share of good items, and the borderline defects
beside them, to a person.

Verdict per item: ``reject`` if any class score > its reject threshold; else ``review`` if any
score > its review threshold, or the item could not be inspected completely (a view missing or
unreadable, no catalog reference); else ``pass``.
"""

from __future__ import annotations

import math
import numbers
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from vision.metrics import binomial_se
from vision.schema import PASS, REJECT, REVIEW


@dataclass
class Thresholds:
    """Calibrated per-class thresholds (probabilities) and how they were obtained."""

    class_names: tuple[str, ...]
    reject: np.ndarray
    review: np.ndarray
    target_frr: float
    review_rate: float
    n_good: int
    calibration_frr: float
    calibration_review_rate: float
    achievable: bool = True
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        # Verdicts compare scores (probabilities) with these: a NaN threshold is never exceeded,
        # so its class passed every item, and one below 0 rejected every item.
        self.class_names = tuple(self.class_names)
        for name in ("reject", "review"):
            values = np.asarray(getattr(self, name), dtype=np.float64)
            if values.shape != (len(self.class_names),):
                raise ValueError(
                    f"thresholds: {name}: expected one value per class "
                    f"{list(self.class_names)}, got shape {values.shape}"
                )
            bad = ~(np.isfinite(values) & (values >= 0) & (values <= 1))
            if bad.any():
                k = int(np.flatnonzero(bad)[0])
                raise ValueError(
                    f"thresholds: {name} of class {self.class_names[k]!r}: expected a "
                    f"probability in [0, 1], got {float(values[k])!r}"
                )
            setattr(self, name, values)

    def to_dict(self) -> dict[str, Any]:
        return {
            "target_frr": self.target_frr,
            "review_rate": self.review_rate,
            "n_good": self.n_good,
            "calibration_frr": self.calibration_frr,
            "calibration_review_rate": self.calibration_review_rate,
            "frr_standard_error": binomial_se(self.target_frr, self.n_good),
            "achievable": self.achievable,
            "notes": list(self.notes),
            "classes": {
                name: {"reject": float(self.reject[k]), "review": float(self.review[k])}
                for k, name in enumerate(self.class_names)
            },
        }

    def for_classes(self, class_names: Sequence[str]) -> Thresholds:
        """These thresholds in the order of a model's ``class_names`` (its score columns):
        verdicts compare scores with thresholds by position, so thresholds listing the same
        classes in another order would hold each class to another's threshold. Classes that
        differ are refused."""
        names = tuple(class_names)
        if names == tuple(self.class_names):
            return self
        if sorted(names) != sorted(self.class_names) or len(set(names)) != len(names):
            raise ValueError(
                f"thresholds: classes {list(self.class_names)} are not the model's classes "
                f"{list(names)}"
            )
        order = [self.class_names.index(c) for c in names]
        return replace(
            self, class_names=names, reject=self.reject[order], review=self.review[order]
        )

    @classmethod
    def from_dict(cls, values: dict[str, Any], class_names: Sequence[str]) -> Thresholds:
        classes = values.get("classes", {})
        missing = [c for c in class_names if c not in classes]
        if missing:
            raise ValueError(f"thresholds: no threshold for classes {missing}")

        def value(name: str, kind: str) -> float:
            given = classes[name][kind]
            # null read as NaN (never exceeded), true as 1 and "0.5" as 0.5
            if isinstance(given, bool) or not isinstance(given, numbers.Real):
                raise ValueError(
                    f"thresholds: {kind} of class {name!r}: expected a number, got {given!r}"
                )
            return float(given)

        return cls(
            class_names=tuple(class_names),
            reject=np.array([value(c, "reject") for c in class_names], dtype=np.float64),
            review=np.array([value(c, "review") for c in class_names], dtype=np.float64),
            target_frr=float(values["target_frr"]),
            review_rate=float(values["review_rate"]),
            n_good=int(values["n_good"]),
            calibration_frr=float(values["calibration_frr"]),
            calibration_review_rate=float(values["calibration_review_rate"]),
            achievable=bool(values.get("achievable", True)),
            notes=list(values.get("notes", [])),
        )


def _check_rate(name: str, value: float) -> float:
    if not 0.0 < value < 1.0:
        raise ValueError(f"{name}: expected a rate strictly between 0 and 1, got {value!r}")
    return float(value)


def good_items_needed(rate: float, classes: int) -> int:
    """The fewest good calibration items with which ``rate`` is sure to be resolved over
    ``classes`` classes: the conformal quantile must leave room above it for every class's
    highest score, plus the extra rank that several classes take. Fewer are reported as not
    achievable, whatever the scores (see :func:`_level_thresholds`)."""
    rate = _check_rate("rate", rate)
    room = classes if classes > 1 else 0
    n = max(1, math.ceil(1 / rate) - 1)
    while n - math.ceil((n + 1) * (1 - rate)) < room:
        n += 1
    return n


def _level_thresholds(good: np.ndarray, rate: float) -> tuple[np.ndarray, bool]:
    """Per-class thresholds such that about ``rate`` of good rows exceed some class threshold."""
    n, k = good.shape
    order = np.sort(good, axis=0)
    # Rank of each score within its class (1..n). Ties share the lowest rank: the thresholds of
    # level L are the L-th smallest scores, which a score exceeds iff at least L scores of its
    # class are below it, so a tie group falls together at the level its lowest member sets.
    ranks = np.stack(
        [np.searchsorted(order[:, j], good[:, j], side="left") + 1 for j in range(k)], 1
    )
    item_rank = np.sort(ranks.max(axis=1))
    j = math.ceil((n + 1) * (1 - rate))
    if n - j < (k if k > 1 else 0):
        # Too few good items to reach this rate (fewer than good_items_needed): nothing on the
        # calibration set may exceed. With several classes the level below can still land
        # inside the scores when the top ones tie or share an item, but only on some
        # calibration sets, and those reject more: tied tops (a saturated or quantized head)
        # put each class's threshold just above its largest good score, so 2 classes, 20 good
        # items and a 5% target rejected 7.8% of fresh good items while reported achieved.
        return _off_the_scores(order, order[-1]), False
    # The ranks are taken among the calibration items themselves; a fresh item can move every
    # calibration item's rank up by one in some class, so with several classes the level is
    # one rank higher for the conformal bound to hold (one class: the usual quantile).
    level = int(item_rank[j - 1]) + (1 if k > 1 else 0)
    if level > n:
        return _off_the_scores(order, order[-1]), False
    return _off_the_scores(order, order[level - 1]), True


#: How far above a class's tied good scores its threshold sits, in logits (about 10% in odds):
#: far above the float rounding that differs between engines, far below a defect's margin.
TIED_STEP = 0.1


def _off_the_scores(order: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Per class, a threshold that the sorted good scores ``order`` exceed as they exceed ``at``
    but that is no good score itself: a tenth of the way to the class's next larger score, or
    above its largest by a tenth of the gap below it (in logits, so it stays under 1), or by
    :data:`TIED_STEP` logits where no good score of the class lies below it.

    A threshold equal to a calibration item's score leaves that item's verdict to float
    rounding, which differs between torch, onnxruntime and the int8 graph; a tenth of a gap is
    far above that rounding and moves the conformal rate by a tenth of a rank at most."""
    above = np.where(order > at, order, np.inf).min(axis=0)
    below = np.where(order < at, order, -np.inf).max(axis=0)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        top = np.log(at) - np.log1p(-at)
        gap = top - (np.log(below) - np.log1p(-below))
        # Every good score of the class tied (a constant or saturated head, copies of one
        # photo): there is no gap below to take a tenth of, and the threshold fell on the tied
        # score itself, so rounding rejected every good item; and below it only 0.0, an
        # infinite gap that put the threshold at 1. A fixed step in logits instead.
        step = np.where(np.isfinite(gap), 0.1 * gap, TIED_STEP)
        top = 1.0 / (1.0 + np.exp(-(top + step)))
    top = np.where(np.isfinite(top) & (top > at), top, at)
    return np.where(np.isfinite(above), at + (above - at) / 10, top)


def calibrate_thresholds(
    scores: np.ndarray,
    labels: np.ndarray,
    class_names: Sequence[str],
    target_frr: float = 0.01,
    review_rate: float = 0.04,
) -> Thresholds:
    """Thresholds from calibration ``scores`` ``(items, classes)`` and 0/1 ``labels``.

    Only items with no positive label (good items) set the thresholds. Items with non-finite
    scores (not inspected) or a NaN (unknown) label are left out: an unknown label is not good.
    """
    target_frr = _check_rate("target_frr", target_frr)
    if not (review_rate >= 0 and target_frr + review_rate < 1):
        raise ValueError(
            f"review_rate: expected >= 0 with target_frr + review_rate < 1, got {review_rate!r}"
        )
    scores = np.asarray(scores, dtype=np.float64)
    labels = np.asarray(labels, dtype=np.float64)
    if scores.shape != labels.shape or scores.ndim != 2 or scores.shape[1] != len(class_names):
        raise ValueError(
            f"scores {scores.shape} and labels {labels.shape} must both be "
            f"(items, {len(class_names)})"
        )
    # NaN < 0.5 is False: an item with an unknown label is not taken as good.
    good = scores[(labels < 0.5).all(axis=1) & np.isfinite(scores).all(axis=1)]
    if len(good) < 2:
        raise ValueError(f"calibration needs good (defect-free) items; found {len(good)}")
    notes = []
    reject, ok_reject = _level_thresholds(good, target_frr)
    if review_rate > 0:
        review, ok_review = _level_thresholds(good, target_frr + review_rate)
        review = np.minimum(review, reject)
    else:
        review, ok_review = reject.copy(), True
    if not ok_reject:
        need = good_items_needed(target_frr, good.shape[1])
        # The bound k / (n + 1) passes 1 when the classes outnumber the good items: "up to about
        # 4 in 3 fresh good items" read as nonsense, where it means no bound at all.
        bound = (
            f"up to about {good.shape[1]} in {len(good) + 1} fresh good items"
            if good.shape[1] < len(good) + 1
            else "a share of fresh good items these few cannot bound (up to all of them)"
        )
        notes.append(
            f"{len(good)} good items cannot resolve a false-reject rate of {target_frr} over "
            f"{good.shape[1]} classes: need {need}; thresholds set above every good item's "
            f"score, which rejects {bound}"
        )
    if not ok_review:
        notes.append(f"{len(good)} good items cannot resolve a review rate of {review_rate}")
    rejected = (good > reject).any(axis=1)
    flagged = (good > review).any(axis=1)
    return Thresholds(
        class_names=tuple(class_names),
        reject=reject,
        review=review,
        target_frr=target_frr,
        review_rate=float(review_rate),
        n_good=len(good),
        calibration_frr=float(rejected.mean()),
        calibration_review_rate=float((flagged & ~rejected).mean()),
        achievable=ok_reject,
        notes=notes,
    )


def verdicts(
    scores: np.ndarray, thresholds: Thresholds, complete: np.ndarray | None = None
) -> tuple[list[str], list[str]]:
    """Verdict and reasons per item for ``scores`` ``(items, classes)``.

    ``complete[i]`` False (a view or the catalog reference missing) turns a pass into review.
    Items with non-finite scores are sent to review. Reasons list the classes that fired.
    """
    scores = np.asarray(scores, dtype=np.float64)
    names = thresholds.class_names
    # Compared by position: one score column would be held to every class's threshold, one
    # item's score vector read as one item per class, a short ``complete`` cut the items short.
    if scores.ndim != 2 or scores.shape[1] != len(names):
        raise ValueError(
            f"verdicts: scores of shape {scores.shape}, expected (items, {len(names)}): one "
            f"column per class {list(names)}"
        )
    complete = np.ones(len(scores), dtype=bool) if complete is None else np.asarray(complete, bool)
    if complete.shape != (len(scores),):
        raise ValueError(
            f"verdicts: complete of shape {complete.shape}, expected one value per item "
            f"({len(scores)})"
        )
    out, reasons = [], []
    for row, whole in zip(scores, complete):
        if not np.isfinite(row).all():
            out.append(REVIEW)
            reasons.append("not inspected")
            continue
        over = [names[k] for k in np.flatnonzero(row > thresholds.reject)]
        near = [
            names[k] for k in np.flatnonzero((row > thresholds.review) & ~(row > thresholds.reject))
        ]
        if over:
            out.append(REJECT)
            reasons.append(";".join(over))
        elif near or not whole:
            out.append(REVIEW)
            reasons.append(";".join(near + ([] if whole else ["incomplete inspection"])))
        else:
            out.append(PASS)
            reasons.append("")
    return out, reasons
