"""Forecasting networks (LSTM, TFT) as ONNX graphs that take what a caller has.

The graph holds the whole forward pass that happens around the network in torch:

* target scaling: the window's level is its mean demand over the observed encoder periods,
  shrunk toward the peer level ``prior`` by one pseudo-observation; the network reads demand
  divided by it and ``log1p(level)``, and its quantiles are multiplied back and floored at 0;
* calendar features (day of week, day of month, month; ISO week for weekly panels) computed
  from dates given as int64 days since 1970-01-01;
* every categorical mapped through its training vocabulary, unseen levels to the unknown code
  (``ai.onnx.ml`` LabelEncoder on string inputs);
* the network with its non-crossing quantile heads, per step and cumulative.

Inputs (B windows, L encoder periods, H horizon, W = L + H):
``history`` (B, L) float32 demand, NaN where not observed; ``prior`` (B,) float32 peer level;
``days`` (B, W) int64; ``known_real`` (B, W, Fk) and ``observed_real`` (B, L, Fo) float32, each
series' values z-scored over its history alone (:func:`forecasting.grid.standardize_history`,
:func:`forecasting.grid.process_reals`: rows past the origin never move the scaling, and an
observed real is blank from the origin on); ``known.<name>`` (B, W) and ``static.<name>`` (B,)
strings; ``static_real`` (B, R) float32 z-scored with the training table's ``static_stats``.
Outputs: ``quantiles`` and ``cumulative``, (B, H, Q) demand units.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import onnx
import pandas as pd
import torch
from torch import nn

from forecasting.grid import calendar_features
from forecasting.models.heads import gives_counts, snap_counts
from serving.export import onnx as onnx_io

OUTPUTS = ("quantiles", "cumulative")


def _div(a: torch.Tensor, b: int) -> torch.Tensor:
    return torch.div(a, b, rounding_mode="floor")


def civil_from_days(days: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """(year, month, day) of int64 days since 1970-01-01 (H. Hinnant's algorithm; integer ops
    only, so it exports to ONNX; exact for dates after 0000-03-01)."""
    z = days + 719468
    era = _div(z, 146097)
    doe = z - era * 146097
    yoe = _div(doe - _div(doe, 1460) + _div(doe, 36524) - _div(doe, 146096), 365)
    doy = doe - (365 * yoe + _div(yoe, 4) - _div(yoe, 100))
    mp = _div(5 * doy + 2, 153)
    day = doy - _div(153 * mp + 2, 5) + 1
    month = torch.where(mp < 10, mp + 3, mp - 9)
    year = yoe + era * 400 + (month <= 2).to(days.dtype)
    return year, month, day


def days_from_january_first(year: torch.Tensor) -> torch.Tensor:
    """Days since 1970-01-01 of January 1st of ``year``."""
    y = year - 1  # January counts in the previous March-based year
    era = _div(y, 400)
    yoe = y - era * 400
    doe = yoe * 365 + _div(yoe, 4) - _div(yoe, 100) + 306
    return era * 146097 + doe - 719468


def calendar_codes(days: torch.Tensor, freq: str) -> torch.Tensor:
    """The codes of :func:`forecasting.grid.calendar_features` for int64 days (..., K)."""
    _, month, day = civil_from_days(days)
    if freq == "D":
        weekday = torch.remainder(days + 3, 7) + 1  # 1970-01-01 was a Thursday (pandas: 3)
        return torch.stack([weekday, day, month], dim=-1)
    if freq == "W":
        thursday = days - torch.remainder(days + 3, 7) + 3  # ISO weeks belong to their Thursday
        year, _, _ = civil_from_days(thursday)
        week = torch.div(thursday - days_from_january_first(year), 7, rounding_mode="floor") + 1
        return torch.stack([week.clamp(max=52), month], dim=-1)  # week 53 reads week 52
    return month.unsqueeze(-1)


class ForecastGraph(nn.Module):
    """A fitted network with its preprocessing and postprocessing (see the module docstring)."""

    def __init__(self, net: nn.Module, encoder_length: int, freq: str, calendar: bool):
        super().__init__()
        self.net = net.eval()
        self.encoder_length = encoder_length
        self.freq = freq
        self.calendar = calendar

    def forward(
        self,
        history: torch.Tensor,
        prior: torch.Tensor,
        days: torch.Tensor,
        known_real: torch.Tensor,
        known_cat: torch.Tensor,
        observed_real: torch.Tensor,
        static_cat: torch.Tensor,
        static_real: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        length = self.encoder_length
        mask = torch.isfinite(history)
        values = torch.where(mask, history, torch.zeros_like(history))
        count = mask.sum(dim=1).to(history.dtype)
        scale = ((values.sum(dim=1) + prior) / (count + 1.0)).clamp(min=1e-3)
        if self.calendar:
            known_cat = torch.cat([known_cat, calendar_codes(days, self.freq)], dim=2)
        encoder_real = torch.cat([known_real[:, :length], observed_real], dim=2)
        steps, cumulative = self.net(
            values / scale[:, None],
            mask.to(history.dtype),
            encoder_real,
            known_cat[:, :length],
            known_real[:, length:],
            known_cat[:, length:],
            static_cat,
            torch.cat([static_real, torch.log1p(scale)[:, None]], dim=1),
        )
        factor = scale[:, None, None]
        steps = (steps * factor).clamp(min=0.0)
        if gives_counts(self.net):  # whole counts stay whole (see snap_counts)
            steps = snap_counts(steps)
        return steps, (cumulative * factor).clamp(min=0.0)


def example_inputs(
    manifest_like: dict[str, Any], batch: int, rng: np.random.Generator
) -> dict[str, np.ndarray]:
    """Fresh valid inputs for a package (string categoricals, unseen levels included)."""
    pre = manifest_like
    length, horizon = pre["encoder_length"], pre["horizon"]
    width = length + horizon
    history = rng.gamma(1.5, 4.0, size=(batch, length)).astype(np.float32)
    for b in range(batch):  # some windows start after launch; one has no history at all
        history[b, : rng.integers(0, length + 1) if b else length] = np.nan
    start = rng.integers(16_000, 22_000, size=(batch, 1))  # 2013 .. 2030
    step = {"D": 1, "W": 7, "M": 30}[pre["freq"]]
    feeds = {
        "history": history,
        "prior": rng.uniform(0.1, 20.0, size=batch).astype(np.float32),
        "days": (start + step * np.arange(width)[None, :]).astype(np.int64),
        "known_real": rng.normal(size=(batch, width, len(pre["known_reals"]))).astype(np.float32),
        "observed_real": rng.normal(size=(batch, length, len(pre["observed_reals"]))).astype(
            np.float32
        ),
        "static_real": rng.normal(size=(batch, len(pre["static_reals"]))).astype(np.float32),
    }
    vocab = pre["vocab"]
    for name in pre["known_categoricals"]:
        feeds[f"known.{name}"] = _levels(rng, vocab[name], (batch, width))
    for name in pre["static_categoricals"]:
        feeds[f"static.{name}"] = _levels(rng, vocab[name], (batch,))
    return feeds


EDGE_BATCH = 4  # windows per edge path: cheap, and more than one row per batch
LARGE_BATCH = 300
UNSEEN = "<never seen>"


def cutoff_day(model) -> int:
    """Days since 1970-01-01 of the run's training cutoff (its windows' dates); 2020-01-01 for
    a run that did not record it."""
    cutoff = (getattr(model, "info", None) or {}).get("cutoff")
    try:
        return int(pd.Timestamp(cutoff).value // 86_400_000_000_000)
    except (TypeError, ValueError):
        return 18_262


def edge_inputs(
    manifest_like: dict[str, Any], rng: np.random.Generator, cutoff: int
) -> dict[str, dict[str, np.ndarray]]:
    """Windows on the paths :func:`example_inputs` never (or only by chance) reaches, by name.

    Each is a few fresh windows of the run (its vocabularies, encoder length, horizon,
    frequency) ending at its training cutoff, with one kind of input substituted: a batch of
    300 (and 1, among the batch sizes), histories all empty and all observed, zero demand (a
    zero peer level too), every categorical at its vocabulary's last code and at the unknown
    code, real covariates at +-1e6, and dates a century before and after the cutoff.
    """
    pre = manifest_like
    length = pre["encoder_length"]
    step = {"D": 1, "W": 7, "M": 30}[pre["freq"]]

    def windows(batch: int = EDGE_BATCH, origin: int = cutoff) -> dict[str, np.ndarray]:
        feeds = example_inputs(pre, batch, rng)
        width = feeds["days"].shape[1]
        feeds["days"] = (origin + step * (np.arange(width) - length))[None, :].repeat(batch, 0)
        return feeds

    def categoricals(feeds: dict[str, np.ndarray], level) -> dict[str, np.ndarray]:
        for name in (*pre["known_categoricals"], *pre["static_categoricals"]):
            for kind in ("known", "static"):
                key = f"{kind}.{name}"
                if key in feeds:
                    feeds[key] = np.full(feeds[key].shape, level(name), dtype=object)
        return feeds

    cases: dict[str, dict[str, np.ndarray]] = {f"batch {LARGE_BATCH}": windows(LARGE_BATCH)}
    empty = windows()
    empty["history"][:] = np.nan
    cases["empty history"] = empty
    full = windows()
    full["history"] = rng.gamma(1.5, 4.0, size=full["history"].shape).astype(np.float32)
    cases["full history"] = full
    zero = windows()
    zero["history"][:] = 0.0
    zero["prior"][:] = 0.0
    cases["zero demand"] = zero
    cases["last category code"] = categoricals(windows(), lambda n: pre["vocab"][n][-1])
    cases["unknown category code"] = categoricals(windows(), lambda n: UNSEEN)
    large = windows()
    sign = np.where(np.arange(EDGE_BATCH) % 2, -1.0, 1.0).astype(np.float32)
    for key in ("known_real", "observed_real", "static_real"):
        large[key] = np.broadcast_to(
            sign.reshape(-1, *[1] * (large[key].ndim - 1)) * 1e6, large[key].shape
        ).astype(np.float32)
    cases["covariates at 1e6"] = large
    far = windows()
    century = 36_525
    origins = cutoff + np.where(np.arange(EDGE_BATCH) % 2, century, -century)
    width = far["days"].shape[1]
    far["days"] = origins[:, None] + step * (np.arange(width) - length)[None, :]
    cases["dates a century away"] = far
    return {name: {k: np.ascontiguousarray(v) for k, v in f.items()} for name, f in cases.items()}


def _levels(rng: np.random.Generator, levels: list[str], shape) -> np.ndarray:
    choices = np.array([*levels, UNSEEN], dtype=object)
    return choices[rng.integers(0, len(choices), size=shape)]


def codes_of(feeds: dict[str, np.ndarray], pre: dict[str, Any]) -> dict[str, torch.Tensor]:
    """The torch graph's inputs for ``feeds``: string levels looked up in the vocabulary."""
    vocab = pre["vocab"]

    def encode(values: np.ndarray, levels: list[str]) -> np.ndarray:
        index = {level: code for code, level in enumerate(levels, start=1)}
        return np.vectorize(lambda v: index.get(v, 0), otypes=[np.int64])(values)

    batch = feeds["history"].shape[0]
    width = feeds["days"].shape[1]
    known = [encode(feeds[f"known.{n}"], vocab[n]) for n in pre["known_categoricals"]]
    static = [encode(feeds[f"static.{n}"], vocab[n]) for n in pre["static_categoricals"]]
    tensors = {k: torch.from_numpy(np.ascontiguousarray(feeds[k])) for k in NUMERIC_INPUTS}
    tensors["known_cat"] = torch.from_numpy(
        np.stack(known, axis=2) if known else np.zeros((batch, width, 0), np.int64)
    )
    tensors["static_cat"] = torch.from_numpy(
        np.stack(static, axis=1) if static else np.zeros((batch, 0), np.int64)
    )
    return {name: tensors[name] for name in GRAPH_INPUTS}


GRAPH_INPUTS = (
    "history",
    "prior",
    "days",
    "known_real",
    "known_cat",
    "observed_real",
    "static_cat",
    "static_real",
)
NUMERIC_INPUTS = ("history", "prior", "days", "known_real", "observed_real", "static_real")


def preprocessing(forecaster) -> dict[str, Any]:
    """What a caller and the runtime need to feed the graph, from a fitted Forecaster."""
    model = forecaster.model_
    spec = forecaster.spec
    dims = model.dims
    static_names = list(dims.static_cat_names)
    known_names = list(spec.known_categoricals)
    calendar = list(calendar_features(pd.DatetimeIndex([]), spec.frequency)[1])
    return {
        "freq": spec.frequency,
        "spec": spec.to_dict(),
        "encoder_length": model.encoder_length,
        "horizon": forecaster.config.horizon,
        "quantiles": list(forecaster.config.quantiles),
        "prior_scale": model.prior_scale,
        "known_reals": list(spec.known_reals),
        "observed_reals": list(spec.observed_reals),
        "static_reals": list(spec.static_reals),
        **({"static_stats": model.static_stats} if model.static_stats else {}),
        "known_categoricals": known_names,
        "static_categoricals": static_names,
        "calendar": calendar if spec.calendar else [],
        "vocab": {n: model.vocab[n] for n in (*known_names, *static_names)},
        "real_covariates": "known and observed reals: forward-filled inside each series' "
        "history, then z-scored per series with the mean and std of that history alone (rows "
        "past the forecast origin never move them; a series without history: over the rows "
        "its forecast reads); observed reals are blank from the origin on; static reals: "
        "z-scored with static_stats (the training table's mean and std); missing -> 0",
        "dates": "int64 days since 1970-01-01",
    }


def export_forecaster(forecaster, folder: Path, batch_sizes=(1, 16)) -> dict[str, Any]:
    """Write ``folder/model.onnx`` for a fitted network and check it against torch.

    Returns the manifest entries (model io, preprocessing, parity). Raises ``ExportError`` when
    onnxruntime and torch disagree beyond the tolerance: a package that fails parity is never
    written.
    """
    import onnxruntime as ort

    pre = preprocessing(forecaster)
    model = forecaster.model_
    graph = ForecastGraph(
        model.net.cpu(), pre["encoder_length"], pre["freq"], bool(pre["calendar"])
    )
    rng = np.random.default_rng(0)
    sample = codes_of(example_inputs(pre, 3, rng), pre)
    dynamic = {name: {0: "batch"} for name in GRAPH_INPUTS}
    path = folder / "model.onnx"
    onnx_model = onnx_io.export(graph, sample, OUTPUTS, dynamic, path)
    # Every package takes the same numeric inputs, read by its network or not, and a string
    # input per categorical; a run without categoricals of a kind gets its (empty) code tensor
    # from inside the graph, shaped like one column: ``days`` (B, W) or ``prior`` (B,).
    onnx_io.declare_inputs(onnx_model, sample, dynamic)
    known = [(n, pre["vocab"][n]) for n in pre["known_categoricals"]]
    onnx_io.lookup_inputs(onnx_model, "known_cat", known, 2, "known.", shape_of="days")
    static = [(n, pre["vocab"][n]) for n in pre["static_categoricals"]]
    onnx_io.lookup_inputs(onnx_model, "static_cat", static, 1, "static.", shape_of="prior")
    onnx.checker.check_model(onnx_model)
    onnx.save(onnx_model, str(path))

    session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    # Random windows at each batch size (drawn first: their figures are what they were), then
    # the paths random windows never reach (edge_inputs): a graph that breaks on one is refused.
    random = {str(size): example_inputs(pre, size, rng) for size in batch_sizes}
    edges = edge_inputs(pre, rng, cutoff_day(model))
    parity = {name: _parity_error(graph, session, feeds, pre) for name, feeds in random.items()}
    paths = {name: _parity_error(graph, session, feeds, pre) for name, feeds in edges.items()}
    failed = {n: e for n, e in {**parity, **paths}.items() if not e <= onnx_io.PARITY_RTOL}
    if failed:
        path.unlink(missing_ok=True)
        where = ", ".join(
            f"{n if n in paths else 'batch size ' + n} ({e:.2e})" for n, e in failed.items()
        )
        raise ExportError(
            f"onnxruntime differs from torch beyond the tolerance ({onnx_io.PARITY_RTOL:g}, "
            f"relative) on the windows: {where}: not written"
        )
    return {
        "model": {
            "file": path.name,
            "opset": onnx_io.opset(onnx_model),
            "inputs": io_description(session.get_inputs()),
            "outputs": io_description(session.get_outputs()),
        },
        "preprocessing": pre,
        "parity": {
            "max_relative_error": parity,
            "paths": paths,
            "tolerance": onnx_io.PARITY_RTOL,
            "dtype": "fp32",
            "measure": "max |ort - torch| / max(|torch|, 1% of the largest |torch|), both outputs",
        },
    }


def _parity_error(graph, session, feeds: dict[str, np.ndarray], pre: dict[str, Any]) -> float:
    """The worst relative error of onnxruntime against torch over both outputs (NaN where
    either gives a NaN: never within the tolerance)."""
    with torch.inference_mode():
        expected = [t.numpy() for t in graph(**codes_of(feeds, pre))]
    got = session.run(list(OUTPUTS), feeds)
    errors = [onnx_io.max_relative_error(e, g) for e, g in zip(expected, got, strict=True)]
    nan = any(np.isnan(e).any() != np.isnan(g).any() for e, g in zip(expected, got, strict=True))
    return float("nan") if nan else max(errors)


class ExportError(ValueError):
    """An export that does not reproduce its PyTorch model; nothing is written."""


def io_description(args) -> list[dict[str, Any]]:
    return [
        {
            "name": a.name,
            "shape": [d if isinstance(d, int) else str(d) for d in a.shape],
            "dtype": a.type,
        }
        for a in args
    ]
