"""Forecasts from a model package through onnxruntime: the same table as the PyTorch path.

The table is validated and laid on its grid by the same torch-free code the store uses
(:mod:`forecasting.validate`, :mod:`forecasting.grid`), windows are cut with NumPy, and the
graph does the rest (scaling, calendar, vocabularies, network). Large tables go through in
chunks of windows.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from forecasting.grid import (
    NO_ROW,
    PanelGrid,
    build_grid,
    dates_before,
    days_since_epoch,
    ended_early,
    ffill_time,
    forecast_origins,
    group_prior,
    history_stop,
    horizon_rows,
    known_rows_until,
    known_until,
    launch_origin,
    process_reals,
    standardize_history,
    standardize_static,
)
from forecasting.grid import check_horizon as check_grid_horizon
from forecasting.io import map_columns, read_panel
from forecasting.spec import DATE, ITEM, LOCATION, PanelSpec
from forecasting.tables import check_cumulative, cumulative_frame, forecast_frame
from forecasting.validate import (
    missing_as_saved,
    period_index,
    unseen_message,
    validate_panel,
)
from kernels.io import FileError
from serving.package import read_package
from serving.runtime.session import OnnxModel, open_model


class GridTooLarge(ValueError):
    """A table whose grid (its series x the periods from its first date to the horizon) holds
    more cells than the caller allows."""


@dataclass
class ForecastJob:
    """A validated table cut into windows: the graph's ``feeds`` and how to read its output."""

    grid: PanelGrid
    series: np.ndarray
    origins: np.ndarray
    cumulative: int | None
    feeds: dict[str, np.ndarray]
    warnings: list[str] = field(default_factory=list)  # e.g. levels unseen in training

    @property
    def n_windows(self) -> int:
        return len(self.series)

    @property
    def output(self) -> str:
        return "cumulative" if self.cumulative else "quantiles"


class PackagedForecast:
    """What every forecast package reads from its manifest's preprocessing (``self.pre``)."""

    pre: dict

    @property
    def horizon(self) -> int:
        return int(self.pre["horizon"])

    @property
    def quantiles(self) -> tuple[float, ...]:
        return tuple(self.pre["quantiles"])


class ForecastPackage(PackagedForecast):
    """A forecasting model package, opened for prediction.

    ``requested`` overrides the provider order (default CUDA then CPU); ``threads`` the
    intra-op threads. ``provider`` says what the session actually runs on.
    """

    def __init__(
        self,
        folder: str | Path,
        *,
        requested: list[str] | None = None,
        threads: int | None = None,
    ):
        self.folder = Path(folder)
        self.manifest = read_package(self.folder, task="forecast")
        where = self.folder / "manifest.json"
        try:
            self.pre = self.manifest["preprocessing"]
            self.spec = PanelSpec.from_dict(self.pre["spec"])
            file = self.manifest["model"]["file"]
            expected = {
                "history": [int(self.pre["encoder_length"])],
                "quantiles": [int(self.pre["horizon"]), len(self.pre["quantiles"])],
            }
        except (KeyError, TypeError, ValueError) as exc:
            raise FileError(
                f"{where}: not a forecast package ({type(exc).__name__}: {exc})"
            ) from None
        if file not in self.manifest["files"]:
            raise FileError(f"{where}: model file {file!r} is not among the files it checks")
        self.model: OnnxModel = open_model(self.folder / file, requested=requested, threads=threads)
        # The graph's fixed sizes must be what the manifest says the table is read and labelled
        # with (an encoder length, a horizon and quantile levels edited there would cut the
        # windows wrong or name each quantile column after another level).
        session = self.model.session
        args = [*session.get_inputs(), *session.get_outputs()]
        shapes = {a.name: list(a.shape[1:]) for a in args}
        for name, sizes in expected.items():
            found = shapes.get(name, sizes)
            # An axis the exporter left symbolic (a name, not a number) is not checked.
            wrong = [a != b for a, b in zip(found, sizes, strict=False) if isinstance(a, int)]
            if len(found) != len(sizes) or any(wrong):
                raise FileError(
                    f"{where}: {name} of the graph is {found} per window, the manifest's "
                    f"preprocessing says {sizes} (encoder_length; horizon, quantiles)"
                )

    @property
    def provider(self) -> str:
        """The onnxruntime provider the graph runs on now (see :attr:`OnnxModel.provider`)."""
        return self.model.provider

    def predict(
        self,
        data: pd.DataFrame | str | Path,
        cumulative: int | None = None,
        batch_size: int = 1024,
        progress: bool = False,
    ) -> pd.DataFrame:
        """Forecast the horizon after each series' last observed period (new series with only
        future rows from their first row), as :meth:`forecasting.Forecaster.predict` does."""
        job = self.prepare(data, cumulative)
        parts = []
        chunks = range(0, job.n_windows, batch_size)
        for lo in tqdm(chunks, desc="forecast", disable=not progress or len(chunks) < 2):
            feeds = {k: v[lo : lo + batch_size] for k, v in job.feeds.items()}
            parts.append(self.model.run(feeds)[job.output])
        return self.finish(job, parts)

    def prepare(
        self,
        data: pd.DataFrame | str | Path,
        cumulative: int | None = None,
        max_cells: int | None = None,
    ) -> ForecastJob:
        """Validate a table and cut its windows into the graph's inputs (no inference yet);
        the service batches the feeds of several requests into one run. ``max_cells``: the
        most cells (series x periods) the table's grid may hold, else :class:`GridTooLarge`
        before it is built (every series is laid over the whole table's dates: one row dated
        a century earlier makes each series a century long)."""
        clean = read_request(data, self.spec, self.horizon, cumulative, max_cells)
        grid = build_grid(clean, self.spec, extra_periods=self.horizon)
        unseen = unseen_note(grid, self.pre)
        # Every series of the table is forecast, a new item whose first row is the table's
        # first period too (its origin is 0).
        origins = forecast_origins(grid.end, grid.first_row)
        series = np.arange(len(origins))
        features = self._features(grid, origins)
        check_grid_horizon(
            grid.keys,
            features["until"],
            grid.target.shape[1],
            self.spec,
            series,
            origins,
            cumulative or self.horizon,
            dates=grid.dates,
        )
        if self.spec.known_categoricals:
            check_grid_horizon(
                grid.keys,
                known_rows_until(grid),
                grid.target.shape[1],
                self.spec,
                series,
                origins,
                cumulative or self.horizon,
                columns=", ".join(self.spec.known_categoricals),
                dates=grid.dates,
            )
        # Series whose demand stops before the table's last period are named (a client of
        # the service reads it with the forecast, as it reads unseen levels).
        ended = ended_early(grid.keys, grid.dates, grid.end, grid.first_row, cumulative=cumulative)
        prior = group_prior(
            grid.target,
            grid.keys,
            self.spec.static_categoricals,
            cutoff=int(origins.max()) if len(origins) else None,
            fallback=float(self.pre["prior_scale"]),
        )
        feeds = self._windows(grid, features, prior, series, origins)
        notes = [note for note in (unseen, ended) if note]
        return ForecastJob(grid, series, origins, cumulative, feeds, notes)

    def finish(self, job: ForecastJob, outputs: list[np.ndarray]) -> pd.DataFrame:
        """The forecast table from the graph's outputs for ``job``'s windows (in order)."""
        q = len(self.quantiles)
        values = np.concatenate(outputs) if outputs else np.zeros((0, self.horizon, q), np.float32)
        grid = job.grid
        if job.cumulative:
            return cumulative_frame(
                grid.keys,
                job.series,
                values[:, : job.cumulative],
                self.quantiles,
                self.spec.frequency,
                grid.dates,
                job.origins,
                # A launch after the origin is shifted by it (the table has no dates).
                origin=launch_origin(grid.end, grid.first_row),
            )
        freq = self.spec.frequency
        return forecast_frame(
            grid.keys, grid.dates, freq, job.series, job.origins, values, self.quantiles
        )

    def _features(self, grid: PanelGrid, origins: np.ndarray) -> dict:
        """Real covariates as the store processes them, and how far the known ones reach from
        each series' forecast start (``origins``)."""
        out: dict = {"until": None}
        known = grid.known_real
        if known.shape[2]:
            filled = ffill_time(known, limit=grid.end)
            out["until"] = known_until(filled, origins)
            known = standardize_history(filled, history_stop(grid.end, filled.shape[1]))
        out["known_real"] = known
        observed = grid.observed_real
        out["observed_real"] = process_reals(observed, grid.end) if observed.shape[2] else observed
        statics = grid.static_real
        out["static_real"] = (
            standardize_static(statics, self.pre.get("static_stats"))
            if statics is not None
            else np.zeros((grid.n_series, 0), np.float32)
        )
        out["days"] = days_since_epoch(grid.dates)
        return out

    def _windows(self, grid, features, prior, series, origins) -> dict[str, np.ndarray]:
        length = int(self.pre["encoder_length"])
        n_periods = grid.target.shape[1]
        positions = origins[:, None] + np.arange(-length, self.horizon)[None, :]
        inside = (positions >= 0) & (positions < n_periods)
        safe = positions.clip(0, n_periods - 1)
        rows = series[:, None]
        history = grid.target[rows, safe[:, :length]].astype(np.float32)
        history[~inside[:, :length]] = np.nan
        # Positions before the table's first period: the calendar of their own dates, no
        # covariates (as the store cuts them).
        days = features["days"]
        if length:
            before = dates_before(grid.dates[0], length, self.spec.frequency)
            days = np.concatenate([days_since_epoch(before), days])
        known_real = features["known_real"][rows, safe].astype(np.float32)
        known_real[~inside] = 0.0
        observed_real = features["observed_real"][rows, safe[:, :length]].astype(np.float32)
        observed_real[~inside[:, :length]] = 0.0
        feeds = {
            "history": history,
            "prior": prior[series].astype(np.float32),
            "days": days[(positions + length).clip(0, len(days) - 1)],
            "known_real": known_real,
            "observed_real": observed_real,
            "static_real": features["static_real"][series].astype(np.float32),
        }
        vocab = self.pre["vocab"]
        for k, name in enumerate(self.pre["known_categoricals"]):
            levels = grid.known_levels(k, (rows, safe), no_row=NO_ROW)
            levels[~inside] = NO_ROW
            feeds[f"known.{name}"] = missing_as_saved(levels, vocab[name]).astype(levels.dtype)
        for name in self.pre["static_categoricals"]:
            levels = grid.keys[name].to_numpy(dtype=object)[series]
            feeds[f"static.{name}"] = missing_as_saved(levels, vocab[name])
        return feeds


def read_request(
    data: pd.DataFrame | str | Path,
    spec: PanelSpec,
    horizon: int,
    cumulative: int | None = None,
    max_cells: int | None = None,
) -> pd.DataFrame:
    """A request's table validated in the run's vocabulary and cut to the periods a forecast
    reads (see :meth:`ForecastPackage.prepare` for ``max_cells``)."""
    if cumulative is not None:
        check_cumulative(cumulative, horizon)
    frame = read_panel(data, spec) if isinstance(data, str | Path) else data
    # A table of new items alone (only future rows) is forecast from the run's level.
    clean, _ = validate_panel(
        map_columns(frame, spec), spec, categories=True, history=False, trained=True
    )
    clean = horizon_rows(clean, spec, cumulative or horizon)
    if max_cells is not None and len(clean):
        periods = period_index(clean[DATE], spec.frequency)
        n_periods = int(periods.max() - periods.min()) + 1 + horizon
        n_series = len(clean[[ITEM, LOCATION]].drop_duplicates())
        if n_series * n_periods > max_cells:
            raise GridTooLarge(
                f"{n_series} series x {n_periods} periods ({clean[DATE].min().date()} .. "
                f"{clean[DATE].max().date()} and the horizon) = {n_series * n_periods:,} "
                f"grid cells, more than {max_cells:,}"
            )
    return clean


def unseen_note(grid: PanelGrid, pre: dict, warn: bool = True) -> str | None:
    """Name levels unseen in training, as the PyTorch path does (they get the unknown code);
    the message, for a caller that answers a client (the service), or ``None``. ``warn``:
    also as a :class:`UserWarning`."""
    vocab = pre["vocab"]
    unseen = {}
    for name in pre["static_categoricals"]:
        values = set(missing_as_saved(grid.keys[name].unique(), vocab[name])) - set(vocab[name])
        if values:
            unseen[name] = sorted(values)
    for k, name in enumerate(pre["known_categoricals"]):
        known = [str(v) for v in grid.known_cat_levels[k]]
        levels = missing_as_saved(np.asarray(known, dtype=object), vocab[name])
        values = set(levels) - set(vocab[name])
        if values:
            unseen[name] = sorted(values)
    if not unseen:
        return None
    message = unseen_message(unseen, vocab)
    if warn:
        warnings.warn(message, UserWarning, stacklevel=3)
    return message
