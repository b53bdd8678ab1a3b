"""Forecast monitoring: accuracy per segment against actuals, and which segments to retrain.

Forecast rows (``item_id, location_id, date, step, q...``, as ``stockcast forecast predict``
writes them, possibly concatenated over several forecast origins) are joined with actual demand.
Each segment's recent accuracy — over each series' own latest scored origin, so that series
forecast on different days (A on Mondays, B on Tuesdays) all count — is compared with a
reference: the segment's metrics in a backtest ``metrics.json`` when given, otherwise the mean
over the origins of the segment's other rows (a series' latest run is never its baseline):

* WAPE worse than the reference by more than ``wape_threshold`` (relative, default 15%) -> flag;
* coverage of a central interval further than ``coverage_tolerance`` from its nominal level,
  having moved more than half the tolerance from the reference -> flag.

Flagged segments are the ones to retrain first.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from forecasting.config import MonitorConfig
from forecasting.plots import plt, save_figure
from forecasting.spec import DATE, DEMAND, ITEM, LOCATION
from forecasting.validate import (
    MISSING_LEVEL,
    PanelError,
    _parse_dates,
    _text_column,
    _true_false,
    infer_frequency,
    period_index,
    text_levels,
)
from kernels.io import write_json

KEY = [ITEM, LOCATION, DATE]
ROUNDING = 1e-9
"""Margin of the flags' comparisons: a coverage of 7 of 10 is 0.10 from 0.8 (0.1000...09 in
floats) and must not pass a 0.10 tolerance."""


@dataclass
class MonitorReport:
    """Per (segment, origin) accuracy, the flags and the recommendation."""

    table: pd.DataFrame  # segment_type, segment, origin, wape, bias, coverage_*, n_rows
    # one row per segment: recent vs reference, flags; origin and first_origin are the latest
    # and earliest origin of the series' latest runs (one date where the series share a cadence)
    checks: pd.DataFrame
    wape_threshold: float
    coverage_tolerance: float
    notes: list[str] = field(default_factory=list)

    @property
    def flagged(self) -> pd.DataFrame:
        return self.checks[self.checks["flagged"]]

    def recommendation(self) -> str:
        if self.flagged.empty:
            return "no segment drifted past the thresholds: no retraining needed"
        names = [f"{r.segment_type}={r.segment}" for r in self.flagged.itertuples()]
        noun = "segment" if len(names) == 1 else "segments"
        return f"retrain for {len(names)} drifted {noun}: " + ", ".join(names)

    def to_dict(self) -> dict:
        return {
            "wape_threshold": self.wape_threshold,
            "coverage_tolerance": self.coverage_tolerance,
            "retrain": bool(len(self.flagged)),
            "recommendation": self.recommendation(),
            "flagged": self.flagged.to_dict(orient="records"),
            "checks": self.checks.to_dict(orient="records"),
            "by_origin": self.table.assign(origin=self.table["origin"].astype(str)).to_dict(
                orient="records"
            ),
            "notes": self.notes,
        }

    def save(self, out_dir: str | Path) -> dict[str, Path]:
        """``monitor.json`` and ``monitor.png`` (WAPE per segment over origins)."""
        out_dir = Path(out_dir)
        return {
            "json": write_json(self.to_dict(), out_dir / "monitor.json"),
            "plot": self.plot(out_dir / "monitor.png"),
        }

    def plot(self, path: str | Path) -> Path:
        types = [t for t in self.table["segment_type"].unique()]
        fig, axes = plt.subplots(1, len(types), figsize=(5.5 * len(types), 3.6), squeeze=False)
        flagged = set(zip(self.flagged["segment_type"], self.flagged["segment"], strict=True))
        for ax, kind in zip(axes[0], types, strict=True):
            part = self.table[self.table["segment_type"] == kind]
            groups = list(part.groupby("segment", sort=True))
            # One colour per segment (past 10 segments tab10 repeats: two lines would read as
            # one), and a marker on every line: a single origin is a single point, which a line
            # without markers does not draw. Drifted segments get a larger, filled marker.
            colors = plt.get_cmap("tab10" if len(groups) <= 10 else "tab20")
            lines, labels = [], []
            infinite = None
            for k, (segment, rows) in enumerate(groups):
                drift = (kind, segment) in flagged
                labels.append(f"{segment} (drift)" if drift else str(segment))
                lines += ax.plot(rows["origin"], rows["wape"], "-o" if drift else "-s",
                                 label=labels[-1], lw=1.5, ms=5 if drift else 3,
                                 color=colors(k % colors.N))  # fmt: skip
                # An infinite WAPE (demand vanished under a forecast of some: the worst drift)
                # is no point matplotlib draws: the line ended at the origin before, on the
                # scale of the finite ones, and the drifted segment looked fine. Drawn as a
                # triangle at the top edge, in the segment's colour.
                endless = np.isinf(rows["wape"].to_numpy(dtype=float))
                if endless.any():
                    ax.plot(rows["origin"][endless], np.full(endless.sum(), 0.97), "^", ms=7,
                            color=colors(k % colors.N), clip_on=False,
                            transform=ax.get_xaxis_transform())  # fmt: skip
                    infinite = True
            if infinite:
                lines += ax.plot([], [], "^", ms=7, color="0.4")  # the legend's key only
                labels.append("WAPE infinite (no demand)")
            # Segments and column names are text, not TeX ("$" started math mode or failed to
            # parse), and given by hand: a label starting with "_" is left out of a legend
            # that collects them.
            ax.set_title(f"WAPE by {kind}", parse_math=False)
            ax.set_ylabel("WAPE")
            ax.set_xlabel("forecast origin")
            ax.tick_params(axis="x", labelsize=7, rotation=30)
            origins = pd.DatetimeIndex(part["origin"].unique())
            if len(origins) == 1:
                # One origin is one point: matplotlib's autoscale spread it over a multi-year
                # axis (2022 to 2026 for one run in 2024). A week either side, its date the
                # only tick.
                ax.set_xlim(origins[0] - pd.Timedelta(days=7), origins[0] + pd.Timedelta(days=7))
                ax.set_xticks(origins, [str(origins[0].date())])
            for text in ax.legend(lines, labels, fontsize=7).get_texts():
                text.set_parse_math(False)
        return save_figure(fig, path)


def _quantile_columns(frame: pd.DataFrame) -> dict[float, str]:
    found = {}
    for column in frame.columns:
        if column.startswith("q"):
            try:
                level = float(column[1:])
            except ValueError:
                continue
            # Two spellings of one level (q0.5 and q0.50): the dict kept the later column and
            # scored it without a word, the other one unread.
            if level in found:
                raise PanelError(
                    column,
                    f"column of the forecasts table reads as quantile level {level:g}, as "
                    f"{found[level]!r} does; keep one of them",
                )
            found[level] = column
    return dict(sorted(found.items()))


def _latest_runs(joined: pd.DataFrame, column: str | None) -> np.ndarray:
    """Whether each row is of its series' latest scored run: the latest origin among the
    series' joined rows (in each level of ``column``; all rows for None). A segment's latest
    origin alone was no recent accuracy where series are forecast on different days (item A
    on Mondays, B on Tuesdays): it held only B, and A's run 3x over went unflagged.

    A series forecast again by the segment's latest origin, whose later runs have no actual
    (a discontinued SKU), is a run behind: its last scored run is left to the baseline, as the
    segment's latest origin left it, not counted as recent week after week."""
    keys = [joined[ITEM], joined[LOCATION]]
    if column is not None:
        keys.insert(0, joined[column])
    origin = joined["origin"]
    latest = origin.groupby(keys, sort=False, observed=True).transform("max")
    newest = origin.max() if column is None else origin.groupby(joined[column]).transform("max")
    behind = joined["_next_origin"] <= newest  # NaT (no later run) compares False
    return ((origin == latest) & ~behind).to_numpy(dtype=bool)


def _segment_metrics(
    joined: pd.DataFrame,
    levels: dict[float, str],
    kind: str,
    column: str | None,
    by_origin: bool = True,
) -> pd.DataFrame:
    """WAPE, bias and interval coverage of the median and quantiles per origin, and per level of
    ``column`` (all rows for None), for all groups at once: scored group by group, a segment
    column with a level per SKU took 0.2 ms a group (a minute for 100,000 SKUs at a few
    origins). Without ``by_origin`` the rows of a level are scored together, ``origin`` being
    the latest of their origins and ``first_origin`` the earliest."""
    actual = joined[DEMAND].to_numpy(dtype=float)
    median = joined[levels[0.5]].to_numpy(dtype=float)
    parts = {"_error": np.abs(actual - median), "_signed": median - actual, "_total": actual}
    for q, name in levels.items():
        upper = levels.get(round(1 - q, 6))
        if q < 0.5 and upper is not None:
            inside = (actual >= joined[name].to_numpy()) & (actual <= joined[upper].to_numpy())
            parts[f"coverage_{round(100 * (1 - 2 * q))}"] = inside.astype(float)
    keys = [] if column is None else [joined[column]]
    if by_origin:
        keys.append(joined["origin"])
    elif column is None:
        keys.append(pd.Series(0, index=joined.index))  # one group of all rows
    grouped = pd.DataFrame(parts, index=joined.index).groupby(keys, sort=True, observed=True)
    sums = grouped.sum()
    coverage = [c for c in parts if c.startswith("coverage_")]
    n_rows = grouped.size().to_numpy()
    if by_origin:
        origins = {"origin": sums.index.get_level_values(-1)}
    else:
        span = joined["origin"].groupby(keys, sort=True, observed=True).agg(["max", "min"])
        origins = {"origin": span["max"].to_numpy(), "first_origin": span["min"].to_numpy()}
    out = pd.DataFrame(
        {
            "segment_type": kind,
            "segment": "all" if column is None else sums.index.get_level_values(0).astype(str),
            **origins,
            "wape": _per_demand_all(sums["_error"].to_numpy(), sums["_total"].to_numpy()),
            "bias": _per_demand_all(sums["_signed"].to_numpy(), sums["_total"].to_numpy()),
            **{c: sums[c].to_numpy() / n_rows for c in coverage},
            "n_rows": n_rows,
        }
    )
    return out


def _per_demand_all(error: np.ndarray, total: np.ndarray) -> np.ndarray:
    """``error`` over the demand ``total``, element by element. A segment that sold nothing has
    none (NaN) when its forecast said so too, and an infinite one when the forecast expected
    demand: the worst drift there is, which a NaN WAPE never flagged (a department whose demand
    vanished passed whenever its intervals happened to cover the zeros)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        none = np.where(error != 0, np.sign(error) * np.inf, np.nan)
        return np.where(total > 0, error / total, none)


REFERENCE_COLUMNS = ("segment_type", "segment", "wape")
"""The columns of a reference metrics table that :func:`monitor` reads (a backtest's
``metrics.json`` rows have them, and ``coverage_*`` columns it compares when present)."""


def check_reference(reference: pd.DataFrame, model: str | None = None) -> pd.DataFrame:
    """The reference metrics table with its scores as numbers, the rows of ``model`` only; a
    :class:`PanelError` naming the missing or non-numeric columns otherwise.

    A backtest's metrics hold a row per model and segment: its own model first, then the
    baselines or the other models it compared. ``model`` picks the monitored one's rows; by
    default the first model's (the backtest's own), never a mixture of several.
    """
    missing = [c for c in REFERENCE_COLUMNS if c not in reference.columns]
    if missing:
        raise PanelError(
            ", ".join(missing),
            f"missing in the reference metrics (a backtest metrics.json has "
            f"{', '.join(REFERENCE_COLUMNS)}); columns present: "
            f"{list(map(str, reference.columns))}",
        )
    if "model" in reference.columns:
        names = reference["model"].astype(str)
        models = list(dict.fromkeys(names))
        if model is not None and model not in models:
            raise PanelError("model", f"no {model!r} rows in the reference metrics: {models}")
        reference = reference[names == (models[0] if model is None else model)]
    elif model is not None:
        raise PanelError("model", f"the reference metrics have no model column to find {model!r}")
    reference = reference.copy()
    for column in ["wape", *(c for c in reference.columns if str(c).startswith("coverage_"))]:
        values = pd.to_numeric(reference[column], errors="coerce")
        if (values.isna() & reference[column].notna()).any():
            raise PanelError(column, "non-numeric values in the reference metrics")
        reference[column] = values.astype(float)
    return reference


def text_columns(frame: pd.DataFrame, exclude: Sequence[str]) -> list[str]:
    """The columns of ``frame`` outside ``exclude`` that hold text or categories: the segments
    the monitor scores when none are named."""
    return [
        c
        for c in frame.columns
        if c not in exclude
        and (_holds_text(frame[c]) or isinstance(frame[c].dtype, pd.CategoricalDtype))
    ]


def _holds_text(column: pd.Series) -> bool:
    if pd.api.types.is_string_dtype(column):
        return True
    # Objects, text and missing cells: pandas 2.x (the newest that Python 3.10 installs) reads
    # a CSV's text column with an empty or "NA" cell so, not as pandas 3's str, and the
    # segment was left out without a word.
    present = column.dropna()
    return column.dtype == object and len(present) > 0 and pd.api.types.is_string_dtype(present)


def _check_key_spellings(forecasts: pd.DataFrame, actuals: pd.DataFrame) -> None:
    """Refuse actuals whose series are the forecasts' spelled another way: an actual series no
    forecast has, whose keys read as a forecast series' but for spaces, case, Unicode form or
    leading zeros (an ERP's ``42`` for the forecasts' ``0042``, as a spreadsheet saves it), with
    rows on that series' forecast dates its own actuals lack. Those rows were left out without
    a word: the forecast rows counted as having "no actual yet" (or, between observed ones,
    were scored against 0) and the other series decided. Two series that both have their own
    actuals (stores ``01`` and ``1``) are two series."""
    from kernels.tables import _loose_key

    keyed = [ITEM, LOCATION]
    forecast_keys = set(forecasts[keyed].drop_duplicates().itertuples(index=False, name=None))
    actual_keys = set(actuals[keyed].drop_duplicates().itertuples(index=False, name=None))
    unused = actual_keys - forecast_keys
    if not unused:
        return
    loose: dict[tuple[str, ...], list[tuple]] = {}
    for key in sorted(forecast_keys):
        loose.setdefault(_loose_key(key), []).append(key)
    pairs = sorted((f, k) for k in unused for f in loose.get(_loose_key(k), []))
    if not pairs:
        return
    wanted = {k for pair in pairs for k in pair}

    def dates(frame: pd.DataFrame) -> dict[tuple, set]:
        rows = frame[[*keyed, DATE]].itertuples(index=False, name=None)
        out: dict[tuple, set] = {}
        for item, location, day in rows:
            if (item, location) in wanted:
                out.setdefault((item, location), set()).add(day)
        return out

    forecast_dates, actual_dates = dates(forecasts), dates(actuals)
    clashes = [
        (f, a)
        for f, a in pairs
        if (forecast_dates[f] & actual_dates[a]) - actual_dates.get(f, set())
    ]
    if clashes:
        shown = ", ".join(f"{a} for forecast {f}" for f, a in clashes[:5])
        more = f" and {len(clashes) - 5} more" if len(clashes) > 5 else ""
        raise PanelError(
            ITEM if any(f[0] != a[0] for f, a in clashes) else LOCATION,
            f"actuals of {len(clashes)} series match no forecast but are spelled like forecast "
            f"series whose forecast dates they cover: {shown}{more} (spaces, case, Unicode "
            "form or leading zeros differ); spell the keys as the forecasts do",
        )


def monitor(
    forecasts: pd.DataFrame,
    actuals: pd.DataFrame,
    segments: Sequence[str] | None = None,
    reference: pd.DataFrame | None = None,
    wape_threshold: float = 0.15,
    coverage_tolerance: float = 0.10,
    reference_model: str | None = None,
    reference_frequency: str | None = None,
) -> MonitorReport:
    """Score ``forecasts`` against ``actuals`` per segment and flag drifted segments.

    ``actuals`` has ``item_id, location_id, date, demand`` and the segment columns;
    ``reference`` is a backtest metrics table (``segment_type, segment, wape, coverage_*``,
    and ``model``: ``reference_model`` picks the monitored model's rows where it holds several);
    ``reference_frequency`` the frequency of its backtest (``D``, ``W`` or ``M``; a backtest's
    ``metrics.json`` records it), which must be the forecasts'. A segment is flagged as
    :class:`~forecasting.config.MonitorConfig` says: its WAPE worse than the reference's by more
    than ``wape_threshold`` (relative), or an interval coverage off its level by more than
    ``coverage_tolerance``.
    """
    # The settings' own checks, as the command line's: only ``<= 0`` was refused here, and a NaN
    # threshold (or tolerance) never flagged its WAPE (coverage), a NaN comparing False, while a
    # negative tolerance flagged every interval, also one right on its level.
    MonitorConfig(wape_threshold=wape_threshold, coverage_tolerance=coverage_tolerance)
    for name, frame, needed in (
        ("forecasts", forecasts, [*KEY, "step"]),
        ("actuals", actuals, [*KEY, DEMAND]),
    ):
        missing = [c for c in needed if c not in frame.columns]
        if missing:
            raise PanelError(missing[0], f"missing column in the {name} table")
    if reference is not None:
        reference = check_reference(reference, reference_model)
    levels = _quantile_columns(forecasts)
    if 0.5 not in levels:
        # WAPE and bias score the median; another quantile would read as a drift.
        found = ", ".join(levels.values()) or "none"
        raise PanelError(
            "q0.5", f"missing column in the forecasts table: the median (quantile columns: {found})"
        )
    segments = list(
        segments if segments is not None else text_columns(actuals, exclude=(*KEY, DEMAND))
    )
    for segment in segments:
        if segment not in actuals.columns:
            raise PanelError(segment, "segment column not found in the actuals table")
        if segment == "all":
            # Its rows would be read as more overall rows (segment_type "all"), as a backtest
            # refuses the name too.
            raise PanelError(
                segment, "a segment column has the name the monitor gives its overall rows"
            )

    # The forecasts' own columns, and each segment under a column name of its own: the
    # segments are the actuals' (a forecasts table carrying a column of the same name, or a
    # demand column, left two suffixed copies and neither), and a segment named like a key
    # (location_id: accuracy per FC) or like a column the monitor adds (origin, step) was
    # a second column of that name.
    forecasts = forecasts[[*KEY, "step", *levels.values()]].copy()
    columns = {f"_segment_{k}": segment for k, segment in enumerate(segments)}
    actuals = actuals[[*KEY, DEMAND]].assign(
        **{column: actuals[segment] for column, segment in columns.items()}
    )
    # Segment levels as text by the rule training and backtests use (a float column of whole
    # numbers reads 1.0 as "1", a missing cell is a level of its own), so that they match a
    # backtest's metrics.json.
    for column in columns:
        codes, text = text_levels(actuals[column])
        actuals[column] = np.asarray(_text_column(text, codes, MISSING_LEVEL, False), dtype=object)
    for name, frame in (("forecasts", forecasts), ("actuals", actuals)):
        for key in (ITEM, LOCATION):
            # As text by the rule forecasts key series by (an actuals column of whole floats
            # reads 7.0 as "7", the forecast's item; astype(str) made it "7.0" and no row met)
            codes, text = text_levels(frame[key])
            frame[key] = np.array([*text, "nan"], dtype=object)[codes]
        frame[DATE] = _dates(frame[DATE], name)
    _check_key_spellings(forecasts, actuals)
    _check_values(forecasts, actuals, levels)
    _check_steps(forecasts)
    # A row's origin is the date of its step 1: same item, location and forecast run. A run
    # is told by its first period (the row's period less step - 1), not by the row order:
    # runs whose horizons overlap may come sorted by date.
    # The origin is computed from the row itself, so a run whose step-1 row is missing (a file
    # trimmed to the days still ahead) keeps its other rows.
    forecasts["origin"] = _origins(forecasts, actuals[DATE])
    periods = _forecast_period_days(forecasts)  # read by the grid check and the gap rows
    _check_steps_at_most_a_month(forecasts)
    actual_spacing = _median_spacing(actuals)  # read by two grid checks
    _check_actuals_not_finer(periods, actual_spacing)
    _check_actuals_on_grid(forecasts, periods, actuals)
    if reference is not None and reference_frequency is not None:
        _check_reference_frequency(periods, reference_frequency)
    notes = _check_step_one_series(
        forecasts, periods, actual_spacing, reference, reference_frequency
    )
    for name, frame, key in (("forecasts", forecasts, [*KEY, "step"]), ("actuals", actuals, KEY)):
        repeated = frame.duplicated(key, keep=False)
        if repeated.any():
            first = frame.loc[repeated, key].iloc[0].to_dict()
            raise PanelError(
                DATE,
                f"{int(repeated.sum())} rows of the {name} table repeat a "
                f"({', '.join(key)}) key, e.g. {first}: each would be scored twice",
            )
    joined = forecasts.merge(actuals, on=KEY, how="inner")
    if reference is not None and "model" in reference.columns and len(reference):
        notes.append(f"compared with the reference metrics of {reference['model'].iloc[0]!r}")
    joined = joined[joined[DEMAND].notna()]
    gaps = _gap_rows(forecasts, actuals, list(columns), periods)
    if len(gaps):
        # As a panel reads its gaps (and a backtest scores them): a period without a sales
        # record between a series' observed ones sold nothing. Left out, a table listing the
        # days with sales scored only those, and the forecast's errors on the others vanished.
        notes.append(
            f"{len(gaps)} forecast rows fall on periods the actuals have no row for between "
            "their series' observed ones: scored as 0 demand (a period without a sales record)"
        )
        joined = pd.concat([joined, gaps[joined.columns]], ignore_index=True)
    unmatched = len(forecasts) - len(joined)
    if unmatched:
        notes.append(f"{unmatched} forecast rows have no actual yet and are not scored")
    if joined.empty:
        raise PanelError(DATE, "no forecast row matches an actual (item_id, location_id, date)")

    groups = [("all", None), *((s, c) for c, s in columns.items())]
    table = pd.concat(
        [_segment_metrics(joined, levels, kind, column) for kind, column in groups],
        ignore_index=True,
    )
    # A segment's recent accuracy is that of each series' own latest run, its baseline (without
    # a reference) the segment's other rows per origin: series forecast on different days have
    # different latest origins, and a series' latest run is never part of its baseline.
    # Each row's series' next forecast origin after the row's (NaT: none), scored or not.
    runs = forecasts[[ITEM, LOCATION, "origin"]].drop_duplicates().sort_values("origin")
    runs["_next_origin"] = runs.groupby([ITEM, LOCATION], sort=False)["origin"].shift(-1)
    joined = joined.merge(runs, on=[ITEM, LOCATION, "origin"], how="left")
    recent, earlier = [], []
    for kind, column in groups:
        latest = _latest_runs(joined, column)
        recent.append(_segment_metrics(joined[latest], levels, kind, column, by_origin=False))
        if not latest.all():
            earlier.append(_segment_metrics(joined[~latest], levels, kind, column))
    checks = _checks(
        pd.concat(recent, ignore_index=True),
        pd.concat(earlier, ignore_index=True) if earlier else table.iloc[:0],
        reference,
        wape_threshold,
        coverage_tolerance,
    )
    return MonitorReport(table, checks, wape_threshold, coverage_tolerance, notes)


def _period_class(days: pd.Series) -> pd.Series:
    """0 for days, 1 for weeks, 2 for months, from a period's length in days (NaN: unknown)."""
    return pd.Series(np.select([days < 7, days < 28], [0.0, 1.0], 2.0), index=days.index).where(
        days.notna()
    )


def _forecast_period_days(forecasts: pd.DataFrame) -> pd.Series:
    """Each series' forecast period in days (indexed by item and location): the median over its
    rows past step 1 of the distance from their run's step 1, per step."""
    later = forecasts[forecasts["step"] > 1]
    period = (later[DATE] - later["origin"]).dt.days / (later["step"] - 1)
    return period.groupby([later[ITEM], later[LOCATION]]).median()


def _check_reference_frequency(periods: pd.Series, frequency: str) -> None:
    """Refuses a reference backtest at another frequency than the forecasts (``periods``:
    :func:`_forecast_period_days`): a week's WAPE is not a day's (the days' errors partly cancel
    in their sum), so weekly forecasts 60% worse than their own backtest read as 38% better
    than a daily one, and no segment was flagged."""
    names = {"D": "daily", "W": "weekly", "M": "monthly"}
    if not isinstance(frequency, str) or frequency not in names:
        return
    found = _period_class(periods).dropna()
    other = found[found != list(names).index(frequency)]
    if len(other):
        (item, location), grain = next(iter(other.items()))
        raise PanelError(
            "reference",
            f"the reference metrics are of a {names[frequency]} backtest, and the forecasts of "
            f"{item} at {location} are {list(names.values())[int(grain)]}: their WAPEs do not "
            "compare (the error of a longer period's sum is smaller); give the metrics.json of "
            "a backtest at the forecasts' frequency",
        )


def _median_spacing(frame: pd.DataFrame) -> pd.Series:
    """Each series' typical distance in days between its successive dates (indexed by item and
    location): the median, not the least, so one week dated a day early (a holiday) is no grid."""
    series = [ITEM, LOCATION]
    dates = frame[[*series, DATE]].drop_duplicates().sort_values([*series, DATE])
    gap = dates.groupby(series, sort=False)[DATE].diff().dt.days
    return gap.groupby([dates[ITEM], dates[LOCATION]]).median()


def _check_step_one_series(
    forecasts: pd.DataFrame,
    periods: pd.Series,
    actual_spacing: pd.Series,
    reference: pd.DataFrame | None,
    frequency: str | None,
) -> list[str]:
    """The grid checks for the series whose forecasts are step 1 rows alone, which
    :func:`_forecast_period_days` cannot time: weekly step-1 forecasts against daily actuals
    were scored a week against a day (WAPE 6.0 for a perfect forecast), and daily ones against a
    weekly backtest's WAPE, without a word. Their origins are on their grid, so the period is at
    most the dates' spacing: one shorter than the reference's period is refused (daily step-1
    rows on consecutive days are daily forecasts), and one that cannot be told (step-1 rows a
    week apart are weekly forecasts, or daily ones made once a week) against finer actuals or
    a finer reference is a note (the notes that open the report)."""
    names = ("daily", "weekly", "monthly")
    series = [ITEM, LOCATION]
    untimed = forecasts[~pd.MultiIndex.from_frame(forecasts[series]).isin(periods.index)]
    spacing = _median_spacing(untimed).dropna()  # as the actuals' grid is read
    if spacing.empty:
        return []
    most = _period_class(spacing)
    notes = []
    codes = {"D": 0, "W": 1, "M": 2}
    if reference is not None and isinstance(frequency, str) and frequency in codes:
        shorter = most[most < codes[frequency]]
        if len(shorter):
            (item, location), grain = next(iter(shorter.items()))
            raise PanelError(
                "reference",
                f"the reference metrics are of a {names[codes[frequency]]} backtest, and the "
                f"forecasts of {item} at {location}, step 1 rows {spacing[(item, location)]:g} "
                f"days apart, are at most {names[int(grain)]}: their WAPEs do not compare (the "
                "error of a longer period's sum is smaller); give the metrics.json of a "
                "backtest at the forecasts' frequency",
            )
        unsure = most[most > codes[frequency]]
        if len(unsure):
            (item, location), grain = next(iter(unsure.items()))
            notes.append(
                f"the forecasts of {len(unsure)} series are step 1 rows alone, e.g. {item} at "
                f"{location}, {spacing[(item, location)]:g} days apart: {names[int(grain)]} "
                f"forecasts or {names[codes[frequency]]} ones made less often, which their "
                f"dates do not tell; only {names[codes[frequency]]} ones compare with the "
                "reference's WAPE"
            )
    both = pd.concat(
        [most.rename("forecast"), _period_class(actual_spacing).rename("actual"), actual_spacing],
        axis=1,
    ).dropna()
    finer = both[both["actual"] < both["forecast"]]
    if len(finer):
        (item, location), row = next(iter(finer.iterrows()))
        notes.append(
            f"the forecasts of {len(finer)} series are step 1 rows alone, e.g. {item} at "
            f"{location}, {spacing[(item, location)]:g} days apart, and their actuals "
            f"{row[DATE]:g} days apart: if they are {names[int(row['forecast'])]} forecasts "
            "(their dates do not tell), each was scored against one actual row of its period; "
            "sum the actuals to the forecasts' periods first"
        )
    return notes


def _check_steps_at_most_a_month(forecasts: pd.DataFrame) -> None:
    """Refuses forecasts whose steps are longer than a month (quarters), read from the dates
    of successive steps: the grid checks know days, weeks and months, so quarterly forecasts
    scored against monthly actuals were matched row by row (WAPE 2.0 for exact forecasts)."""
    series = [ITEM, LOCATION]
    rows = forecasts[[*series, DATE, "step"]].sort_values([*series, DATE])
    grouped = rows.groupby(series, sort=False)
    steps = grouped["step"].diff()
    days = grouped[DATE].diff().dt.days / steps.where(steps > 0)
    typical = days.groupby([rows[ITEM], rows[LOCATION]]).median()
    longer = typical[typical > 31.5]
    if len(longer):
        (item, location), length = next(iter(longer.items()))
        raise PanelError(
            DATE,
            f"the forecasts of {len(longer)} series have steps longer than a month, e.g. item "
            f"{item!r} at {location!r}: {length:g} days a step; the monitor scores daily, "
            "weekly and monthly forecasts",
        )


def _check_actuals_not_finer(periods: pd.Series, actual_spacing: pd.Series) -> None:
    """Refuses actuals on a finer grid than their series' forecasts (``periods``:
    :func:`_forecast_period_days`; ``actual_spacing``: :func:`_median_spacing` of the actuals;
    days against weeks or months, weeks against months): a row
    is matched by its date alone, so a week's forecast was scored against one day's demand (and
    a missing day as a week of 0)."""
    forecast = _period_class(periods)
    closest = actual_spacing
    both = pd.concat(
        [forecast.rename("forecast"), _period_class(closest).rename("actual"), closest], axis=1
    ).dropna()
    finer = both[both["actual"] < both["forecast"]]
    if len(finer):
        names = ("daily", "weekly", "monthly")
        (item, location), row = next(iter(finer.iterrows()))
        raise PanelError(
            DATE,
            f"the actuals of {len(finer)} series are on a finer grid than their forecasts, e.g. "
            f"item {item!r} at {location!r}: actual rows {row[DATE]:g} days apart against "
            f"{names[int(row['forecast'])]} forecasts (a row is scored against the actual of "
            "its date alone); sum the actuals to the forecasts' periods first",
        )


def _check_actuals_on_grid(
    forecasts: pd.DataFrame, periods: pd.Series, actuals: pd.DataFrame
) -> None:
    """Refuses observed actuals dated off their series' weekly or monthly forecast grid within
    the forecasts' dates (``periods``: :func:`_forecast_period_days`): forecasts dated by a
    period's first day and actuals by its last (2024-01-01 against an ERP's 2024-01-31, a
    Monday against the Sunday ending the week) met no forecast row, so a series dated so was
    left out as "no actual yet" while the others were scored (WAPE 0.83 for 0.69), and a
    single period dated otherwise (February on the 29th among month starts) was scored as a
    gap of 0 demand (1.27). Daily forecasts and step-1 rows alone, whose grid the dates do not
    tell, are not checked."""
    series = [ITEM, LOCATION]
    timed = _period_class(periods).dropna()
    timed = timed[timed > 0]
    if timed.empty:
        return
    grid = forecasts[[*series, DATE]].drop_duplicates()
    grid = grid.join(timed.rename("_class"), on=series, how="inner")
    day = grid[DATE].dt.day.to_numpy(dtype=np.int64)
    # The weekdays and the days of the month the series' forecasts are dated on, as bit masks
    # (their sum over distinct values), so that each actual row is checked by one join.
    grid["_weekdays"] = np.left_shift(1, grid[DATE].dt.weekday.to_numpy(dtype=np.int64))
    grid["_days"] = np.left_shift(1, day)
    grid["_day"] = day
    grid["_month_end"] = grid[DATE].dt.is_month_end
    keys = [grid[ITEM], grid[LOCATION]]
    spans = pd.DataFrame(
        {
            "_first": grid[DATE].groupby(keys).min(),
            "_last": grid[DATE].groupby(keys).max(),
            "_month_end": grid["_month_end"].groupby(keys).all(),
            "_anchor": grid["_day"].groupby(keys).max(),
            "_class": grid["_class"].groupby(keys).first(),
            "_weekdays": grid[[*series, "_weekdays"]]
            .drop_duplicates()
            .groupby(series)["_weekdays"]
            .sum(),
            "_days": grid[[*series, "_days"]].drop_duplicates().groupby(series)["_days"].sum(),
        }
    )
    observed = actuals.loc[actuals[DEMAND].notna(), [*series, DATE]].drop_duplicates()
    rows = observed.join(spans, on=series, how="inner")
    rows = rows[(rows[DATE] >= rows["_first"]) & (rows[DATE] <= rows["_last"])]
    if rows.empty:
        return
    # On the grid: a weekday the series' forecasts are dated on (weeks), the forecasts' day of
    # the month, clipped to shorter months, or the month's end where they are all month ends.
    d = rows[DATE]
    weekday = d.dt.weekday.to_numpy(dtype=np.int64)
    weekly_ok = np.right_shift(rows["_weekdays"].to_numpy(dtype=np.int64), weekday) & 1 == 1
    listed = np.right_shift(rows["_days"].to_numpy(dtype=np.int64), d.dt.day.to_numpy()) & 1
    monthly_ok = np.where(
        rows["_month_end"],
        d.dt.is_month_end,
        (listed == 1) | (d.dt.is_month_end & (rows["_anchor"] > d.dt.day)),
    )
    off = ~np.where(rows["_class"] == 1, weekly_ok, monthly_ok)
    if off.any():
        bad = rows[off]
        item, location, date = bad.iloc[0][[ITEM, LOCATION, DATE]]
        shown = grid.loc[(grid[ITEM] == item) & (grid[LOCATION] == location), DATE]
        shown = ", ".join(str(t.date()) for t in sorted(shown.unique())[:3])
        names = ("daily", "weekly", "monthly")
        raise PanelError(
            DATE,
            f"{len(bad)} actual rows of {bad[series].drop_duplicates().shape[0]} series are dated "
            f"between their {names[int(bad['_class'].iloc[0])]} forecasts' periods, e.g. item "
            f"{item!r} at {location!r}: actual {date.date()} against forecasts dated {shown}... "
            "(a row is scored against the actual of its own date alone: that period would be "
            "left out or scored as 0 demand); date each actual as the forecasts date its period "
            "(a period's first or last day alike)",
        )


def _gap_rows(
    forecasts: pd.DataFrame,
    actuals: pd.DataFrame,
    segments: Sequence[str],
    periods: pd.Series | None = None,
) -> pd.DataFrame:
    """The forecast rows on a period their series' actuals have no row for, after its first and
    before its last observed demand and on its grid (days; weeks on its weekday; months on its
    day), with demand 0 and the segment levels of the series' period before: the panel's rule
    for gaps (a period without a sales record is a period without sales). ``periods``: each
    series' forecast period in days (:func:`_forecast_period_days`, computed when not given)."""
    observed = actuals.loc[actuals[DEMAND].notna(), [*KEY, *segments]]
    listed = pd.MultiIndex.from_frame(actuals[KEY])
    missing = forecasts[~pd.MultiIndex.from_frame(forecasts[KEY]).isin(listed)]
    series = [ITEM, LOCATION]
    if not missing.empty and not observed.empty:
        # Only a row before its series' last observed demand can be a gap: the usual missing
        # rows, the periods with no actual yet, are left before the series' grids are read
        # (which doubled the monitor's time on a million rows without a single gap).
        last = observed.groupby(series, sort=False)[DATE].max().rename("_until")
        missing = missing[missing[DATE] < missing.join(last, on=series)["_until"]]
        if not missing.empty:
            wanted = pd.MultiIndex.from_frame(missing[series].drop_duplicates())
            observed = observed[pd.MultiIndex.from_frame(observed[series]).isin(wanted)]
    if missing.empty or observed.empty:
        return missing.iloc[:0].assign(**{DEMAND: 0.0, **{s: None for s in segments}})
    # A table with rows one day apart is a daily table: there, a daily forecast's series is on
    # the daily grid however its own sales rows are spaced (weekly-looking ones too, below).
    listed_days = actuals[[*series, DATE]].drop_duplicates().sort_values([*series, DATE])
    daily_table = bool((listed_days.groupby(series, sort=False)[DATE].diff().dt.days == 1).any())
    dates = observed[KEY].drop_duplicates().sort_values(KEY)
    day = dates[DATE].dt.day
    grid = pd.DataFrame(
        {
            ITEM: dates[ITEM],
            LOCATION: dates[LOCATION],
            "_step": dates.groupby(series, sort=False)[DATE].diff().dt.days,
            "_weekday": dates[DATE].dt.weekday,
            "_anchor": day.groupby([dates[ITEM], dates[LOCATION]], sort=False).transform("max"),
            "_last": dates[DATE],
        }
    )
    grid["_on_day"] = day == np.minimum(grid["_anchor"], dates[DATE].dt.days_in_month)
    grid = grid.groupby(series, sort=False).agg(
        _step=("_step", "min"),
        _weekdays=("_weekday", "nunique"),
        _weekday=("_weekday", "first"),
        _anchor=("_anchor", "first"),
        _on_day=("_on_day", "all"),
        _last=("_last", "max"),
    )
    # Each missing row with its series' latest observed row before it (and that row's levels).
    before = pd.merge_asof(
        missing.assign(_row=np.arange(len(missing))).sort_values(DATE),
        observed.assign(_before=observed[DATE]).sort_values(DATE),
        on=DATE,
        by=series,
        allow_exact_matches=False,
    ).join(grid, on=series)
    # A daily forecast's series whose sales rows are never consecutive (sold every other day,
    # or on Mondays and Thursdays) is on the daily grid all the same: its other days sold
    # nothing.
    if periods is None:
        periods = _forecast_period_days(forecasts)
    before = before.join(periods.rename("_period"), on=series)
    d = before[DATE]
    # In a daily table a series selling only on Mondays (or on the 5th of each month) was read
    # as weekly (monthly) from its own sales rows' spacing, and the days between went unscored
    # as "no actual yet"; a weekly forecast's series selling on the first Monday of a quarter
    # lost its weeks between the same way. (A table of weekly rows alone against daily
    # forecasts still scores only the days it lists: its rows may be weeks' totals.)
    monthly = (before["_step"] >= 28) & before["_on_day"] & (before["_period"] != 7)
    weekly = ~monthly & (before["_step"] % 7 == 0) & (before["_weekdays"] == 1)
    daily = (before["_period"] == 1) & (daily_table | (~monthly & ~weekly))
    on_grid = (
        (before["_step"] == 1)
        | daily
        | (weekly & (d.dt.weekday == before["_weekday"]))
        | (monthly & (d.dt.day == np.minimum(before["_anchor"], d.dt.days_in_month)))
    )
    gap = before["_before"].notna() & (d < before["_last"]) & on_grid
    rows = before[gap].sort_values("_row")
    rows.index = missing.index[rows["_row"].to_numpy()]
    return rows[[*missing.columns, *segments]].assign(**{DEMAND: 0.0})


def _dates(raw: pd.Series, name: str) -> pd.Series:
    """A table's dates as naive days, read as a panel's are (YYYYMMDD numbers, the column's
    day/month order, offsets that change across daylight saving); one that cannot be read is
    named (a bare ``pd.to_datetime`` raised pandas' own message, and a zoned column failed the
    merge)."""
    try:
        dates = _parse_dates(raw.to_frame(DATE), raw)
    except PanelError as error:
        raise PanelError(DATE, f"{error.problem} (the {name} table)", error.rows) from None
    except (TypeError, ValueError):  # unhashable cells...
        dates = pd.Series(pd.NaT, index=raw.index)
    bad = dates.isna() & raw.notna()
    if bad.any():
        raise PanelError(
            DATE,
            f"unparseable dates in the {name} table, e.g. {raw[bad].astype(str).head(3).tolist()}",
        )
    if raw.isna().any():
        # A forecast row without a date was counted as "no actual yet" and dropped, and an
        # actual without one failed the merge with pandas' "Merge keys contain null values".
        rows = raw.index[raw.isna().to_numpy()]
        hint = " (a cumulative forecast's rows have none: they are not scored)"
        raise PanelError(
            DATE,
            f"missing dates in {len(rows)} rows of the {name} table (rows {rows[:5].tolist()})"
            f": every row needs the period it is of{hint if name == 'forecasts' else ''}",
        )
    if isinstance(dates.dtype, pd.DatetimeTZDtype):
        dates = dates.dt.tz_localize(None)  # its local calendar day, as a panel reads it
    # A row is matched to a forecast by its date: a sale's time stamp (09:30) met no forecast
    # row and its day was scored as a gap of 0 demand. Whole days, as a panel's dates are.
    timed = (dates != dates.dt.normalize()) & dates.notna()
    if timed.any():
        raise PanelError(
            DATE,
            f"times of day in the {name} table, e.g. {raw[timed].astype(str).head(3).tolist()}; "
            "dates must be whole days",
        )
    return dates


def _check_values(forecasts: pd.DataFrame, actuals: pd.DataFrame, levels: dict[float, str]) -> None:
    """Actual demand numeric, finite and >= 0 where given (an empty cell is a period not yet
    observed); forecast quantiles numeric and finite. One bad cell otherwise made the WAPE of
    its whole segment NaN (never flagged) or moved it without a word."""
    raw = actuals[DEMAND]
    values = pd.to_numeric(raw, errors="coerce")
    # As floats with NaN where empty: a nullable column (Int64, pyarrow) compared its <NA>
    # cells to 0 as <NA>, and the check raised "boolean value of NA is ambiguous".
    numbers = values.to_numpy(dtype=float, na_value=np.nan)
    # true/false are not sales, as a panel's demand refuses them (pandas reads a CSV's
    # TRUE/FALSE as booleans, and they scored as 1/0 units)
    words = (values.isna() & raw.notna()).to_numpy(dtype=bool) | _true_false(raw)
    for problem, bad in (
        ("non-numeric values", words),
        ("infinite values", np.isinf(numbers)),
        ("negative values", numbers < 0),
    ):
        if bad.any():
            first = actuals.loc[np.asarray(bad), [*KEY, DEMAND]].iloc[0].to_dict()
            raise PanelError(
                DEMAND, f"{problem} in the actuals table ({int(bad.sum())} rows, e.g. {first})"
            )
    actuals[DEMAND] = numbers
    for column in levels.values():
        quantile = pd.to_numeric(forecasts[column], errors="coerce")
        bad = ~np.isfinite(quantile.to_numpy(dtype=float, na_value=np.nan))
        if bad.any():
            first = forecasts.loc[bad, [*KEY, "step"]].iloc[0].to_dict()
            raise PanelError(
                column,
                f"missing, non-numeric or infinite values in the forecasts table "
                f"({int(bad.sum())} rows, e.g. {first})",
            )
        forecasts[column] = quantile.astype(float)


def _check_steps(forecasts: pd.DataFrame) -> None:
    """Steps whole numbers from 1 (the first forecast period), as ``predict`` writes them. A row
    is put in its run by ``date - (step - 1)`` periods: steps counted from 0 dated every run a
    period after its first forecast period, fractional ones (truncated) split one run into
    several origins, negative ones put origins after their rows, and a missing one (a
    cumulative row without a step) failed in pandas' date arithmetic."""
    raw = forecasts["step"]
    steps = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float, na_value=np.nan)
    with np.errstate(invalid="ignore"):
        bad = ~np.isfinite(steps) | (steps < 1) | (steps % 1 != 0) | _true_false(raw)
    if bad.any():
        first = forecasts.loc[bad, [*KEY, "step"]].iloc[0].to_dict()
        raise PanelError(
            "step",
            f"steps must be whole numbers from 1 (1 = the first forecast period): "
            f"{int(bad.sum())} rows of the forecasts table have a missing, non-numeric, "
            f"fractional or smaller step, e.g. {first}",
        )
    forecasts["step"] = steps.astype(np.int64)


def _origins(forecasts: pd.DataFrame, actual_dates: pd.Series) -> pd.Series:
    """The date of each row's step 1: the row's date less ``step - 1`` periods, at the frequency
    of the forecasts (of each series when the series do not share one grid, e.g. weeks ending on
    different weekdays). Forecasts whose dates do not tell it (a weekly file trimmed to one date)
    take the actuals' frequency: they are scored on the same grid."""
    dates = forecasts[DATE]
    steps = forecasts["step"].to_numpy(dtype=np.int64) - 1
    freq = _step_frequency(dates)
    if freq == "D" and _own_steps_longer(forecasts):
        # Series on different grids (weeks ending Sunday and Monday, months on their first and
        # last day) are a day apart together: each series' own dates tell its period.
        freq = None
    if freq is None and dates.nunique() > 1:
        freqs = forecasts.groupby([ITEM, LOCATION], sort=False)[DATE].transform(
            lambda d: _step_frequency(d) or ""
        )
    else:
        freqs = pd.Series(freq or "", index=forecasts.index)
    unknown = (freqs == "").to_numpy()
    if unknown.any():
        try:
            fallback = infer_frequency(actual_dates)
        except PanelError:
            fallback = None
        if fallback is None and (steps[unknown] > 0).any():
            # Step 1 is its own origin at any frequency; a later step needs the period length.
            raise PanelError(
                DATE,
                "the forecasts' dates and the actuals' dates do not tell whether steps are "
                "days, weeks or months; send forecasts or actuals covering more periods",
            )
        freqs[unknown] = fallback or "D"
    origin = pd.Series(pd.NaT, index=forecasts.index, dtype="datetime64[ns]")
    for f in freqs.unique():
        rows = (freqs == f).to_numpy()
        d, k = dates[rows], steps[rows]
        if f in ("D", "W"):
            origin[rows] = d - pd.to_timedelta(k * (7 if f == "W" else 1), unit="D")
            continue
        month = period_index(d, "M") - k
        first = pd.to_datetime(
            pd.DataFrame({"year": month // 12, "month": month % 12 + 1, "day": 1}).set_index(
                d.index
            )
        )
        # A series forecast on month ends keeps month ends; one on a fixed day (the 28th) keeps
        # its day, also on a row that happens to be a month end (28 February); one on the
        # 29th-31st is on its latest day, clipped to shorter months as the forecast's grid is
        # (its 28 February row is of the run whose other rows fall on the 30th).
        keys = [forecasts.loc[rows, ITEM], forecasts.loc[rows, LOCATION]]
        anchor = d.dt.day.groupby(keys, sort=False).transform("max")
        same_day = first + pd.to_timedelta(
            np.minimum(anchor - 1, first.dt.days_in_month - 1), unit="D"
        )
        month_end = d.dt.is_month_end.groupby(keys, sort=False).transform("all")
        origin[rows] = same_day.where(~month_end, first + pd.offsets.MonthEnd(0))
    return origin


def _step_frequency(dates: pd.Series) -> str | None:
    """The frequency forecast dates show, or ``None`` where they do not tell it: a forecast
    table's dates are its runs' steps, not a panel, and the step-1 rows of monthly runs a
    quarter or a year apart are spaced like quarters (which a panel refuses), not months."""
    try:
        return infer_frequency(dates)
    except PanelError:
        return None


def _own_steps_longer(forecasts: pd.DataFrame) -> bool:
    """Whether some series' distinct forecast dates are never one day apart (weekly or monthly
    series in a table whose dates, all series together, read as daily)."""
    frame = pd.DataFrame(
        {
            "series": forecasts.groupby([ITEM, LOCATION], sort=False).ngroup().to_numpy(),
            "day": forecasts[DATE].to_numpy(dtype="datetime64[D]").astype(np.int64),
        }
    ).drop_duplicates()
    frame = frame.sort_values(["series", "day"])
    same = np.diff(frame["series"].to_numpy()) == 0
    steps = np.diff(frame["day"].to_numpy())[same]
    series = frame["series"].to_numpy()[1:][same]
    shortest = pd.Series(steps).groupby(series).min()
    return bool((shortest > 1).any())


def _checks(
    recent: pd.DataFrame,
    earlier: pd.DataFrame,
    reference: pd.DataFrame | None,
    wape_threshold: float,
    coverage_tolerance: float,
) -> pd.DataFrame:
    """Per segment (in the order of ``recent``, one row per segment: the metrics over each
    series' latest run) its recent accuracy against its baseline: the reference row of the
    segment, else the mean over the origins of ``earlier`` (per segment and origin: the
    segment's rows outside its series' latest runs). All segments at once: a loop over them
    took 2 ms a segment, and each looked its reference row up by reading the whole reference
    (a monitor of 20,000 segments, one per SKU of a text column, took 35 s)."""
    coverage = [c for c in recent.columns if c.startswith("coverage_")]
    scores = ["wape", *coverage]
    if reference is not None:
        # A segment's first reference row, its segment read as text.
        found = reference.assign(_segment=reference["segment"].astype(str))
        found = found.drop_duplicates(["segment_type", "_segment"])
        position = pd.MultiIndex.from_frame(found[["segment_type", "_segment"]]).get_indexer(
            pd.MultiIndex.from_frame(recent[["segment_type", "segment"]])
        )
        has_base = position >= 0
        base = {  # position -1 (no reference row) reads the NaN appended
            c: np.append(found[c].to_numpy(dtype=float), np.nan)[position]
            for c in scores
            if c in found.columns
        }
        source = "reference"
    else:
        # An earlier origin without demand (an infinite WAPE) is no reference to compare
        # with: its mean would be infinite and no later WAPE could exceed it.
        group = pd.MultiIndex.from_frame(recent[["segment_type", "segment"]]).get_indexer(
            pd.MultiIndex.from_frame(earlier[["segment_type", "segment"]])
        )
        values = earlier[scores].astype(float)
        means = values.mask(np.isinf(values)).groupby(group).mean()
        means = means.reindex(np.arange(len(recent)))
        has_base = np.isin(np.arange(len(recent)), group)
        base = {c: means[c].to_numpy(dtype=float) for c in scores}
        source = "earlier origins"
    wape = recent["wape"].to_numpy(dtype=float)
    reference_wape = np.where(has_base, base["wape"], np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        change = (wape - reference_wape) / reference_wape
    out = pd.DataFrame(
        {
            "segment_type": recent["segment_type"].to_numpy(dtype=object),
            "segment": recent["segment"].to_numpy(dtype=object),
            # The latest of the recent runs' origins, and the earliest (series forecast on
            # different days have their latest runs on different days)
            "origin": [str(pd.Timestamp(t).date()) for t in recent["origin"]],
            "first_origin": [str(pd.Timestamp(t).date()) for t in recent["first_origin"]],
            "wape": wape,
            "reference_wape": reference_wape,
            "baseline": np.where(has_base, source, "none").astype(object),
            "wape_change": change,
        }
    )
    # From an exact reference (WAPE 0) any error is an infinite relative worsening. A
    # change exactly at the threshold (0.138 against 0.12 for 15%) is not more than it,
    # whatever the last bit of its float difference says. A segment that sold nothing
    # while its forecast expected demand (an infinite WAPE) is flagged whatever its
    # reference: one without a WAPE (no demand in the backtest, or in every earlier
    # origin) left the change undefined and the segment unflagged.
    out["wape_flag"] = (~np.isnan(change) & (change > wape_threshold + ROUNDING)) | (wape == np.inf)
    drifted = []
    for column in coverage:
        nominal = int(column.split("_")[1]) / 100
        now = recent[column].to_numpy(dtype=float)
        if column in base:
            # A reference row without this coverage (null in a metrics.json: a model of the
            # backtest without this interval) is no reference, as a missing column or row is:
            # its NaN made every move NaN, and coverage 0.0 of an 80% interval went unflagged.
            known = has_base & ~np.isnan(base[column])
            moved = np.where(known, np.abs(now - base[column]), np.inf)
        else:
            moved = np.full(len(now), np.inf)
        out[column] = now
        off = np.abs(now - nominal) > coverage_tolerance + ROUNDING
        drifted.append(off & (moved > coverage_tolerance / 2 + ROUNDING))
    flags = np.column_stack(drifted) if drifted else np.zeros((len(out), 0), dtype=bool)
    out["coverage_flag"] = flags.any(axis=1)
    out["coverage_drifted"] = [
        ",".join(c for c, f in zip(coverage, row, strict=True) if f) for row in flags.tolist()
    ]
    out["flagged"] = out["wape_flag"] | out["coverage_flag"]
    return out
