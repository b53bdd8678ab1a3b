"""Ranking and rate metrics for inspection scores (numpy/scipy only)."""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata


def auroc(labels: np.ndarray, scores: np.ndarray) -> float:
    """Area under the ROC curve (Mann-Whitney U; ties count one half). NaN without both classes.

    Items with a NaN score or a NaN (unknown) label are left out; an infinite score ranks as
    the highest or lowest there is."""
    labels = np.asarray(labels).ravel()
    scores = np.asarray(scores, dtype=np.float64).ravel()
    keep = ~np.isnan(scores)
    if labels.dtype.kind == "f":
        keep &= ~np.isnan(labels)
    labels, scores = labels[keep].astype(bool), scores[keep]
    n_pos = int(labels.sum())
    n_neg = labels.size - n_pos
    if n_pos == 0 or n_neg == 0:
        return float("nan")
    ranks = rankdata(scores)
    return float((ranks[labels].sum() - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg))


def any_defect(probs: np.ndarray) -> np.ndarray:
    """The probability that an item has at least one defect, from its per-class scores
    ``(items, classes)``: ``1 - prod(1 - p_k)`` (noisy-OR): one score per item whatever the
    defect, to rank items by and report an AUROC for (the station's verdict comes from the
    per-class thresholds, :func:`vision.calibration.verdicts`); NaN rows (items not inspected)
    stay NaN."""
    probs = np.clip(np.asarray(probs, dtype=np.float64), 0.0, 1.0)
    return -np.expm1(np.log1p(-np.minimum(probs, 1 - 1e-15)).sum(axis=-1))


def per_class_auroc(labels: np.ndarray, scores: np.ndarray, class_names) -> dict[str, float]:
    """:func:`auroc` for every column, keyed by class name (a label of at least 0.5 is a
    positive; a NaN label, unknown, leaves the item out of its class)."""
    labels = np.asarray(labels, dtype=np.float64)
    scores = np.asarray(scores)
    positive = np.where(np.isnan(labels), np.nan, labels >= 0.5)
    return {name: auroc(positive[:, k], scores[:, k]) for k, name in enumerate(class_names)}


def binomial_se(rate: float, n: int) -> float:
    """Standard error of an observed rate over ``n`` independent trials."""
    return float(np.sqrt(max(rate * (1 - rate), 0.0) / max(n, 1)))
