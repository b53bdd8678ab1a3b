"""The demo's report: one self-contained HTML page of everything the loop did."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from forecasting.spec import DEMAND, ITEM, LOCATION, quantile_column
from serving.demo.config import DemoConfig
from serving.demo.data import RECENT_DAYS, DemoData
from serving.demo.forecast import ForecastOutcome
from serving.demo.inspect import REVIEW_DB, InspectionOutcome
from serving.demo.monitor import MonitorOutcome
from serving.demo.plan import PlanOutcome
from serving.report import Report

SECTIONS = (
    "The network",
    "Forecast backtest",
    "TFT variable importance",
    "Model packages",
    "Inspection",
    "Replenishment plan",
    "Simulation against a weeks-of-supply rule",
    "Monitoring and retraining",
)
METRICS = ["wape", "mase", "sql", "bias", "coverage_80", "coverage_90", "n_windows"]


def write_report(
    out: Path,
    config: DemoConfig,
    data: DemoData,
    forecast: ForecastOutcome,
    inspection: InspectionOutcome | None,
    planning: PlanOutcome,
    monitoring: MonitorOutcome,
) -> Path:
    """Write the demo's HTML report, ``out/report.html``, from the steps' outcomes (with
    ``inspection`` ``None``, a user's table, its section says inspection was skipped);
    returns its path."""
    # The panel's own sizes: a user's table ignores --items and --locations.
    items, locations = data.frame[ITEM].nunique(), data.frame[LOCATION].nunique()
    report = Report("stockcast: forecast, inspect, plan, simulate, monitor",
                    f"{items} SKUs x {locations} FCs, cutoff "
                    f"{data.cutoff.date()}, {config.holdout_weeks} held-back weeks")  # fmt: skip
    _network(report, data, config)
    _backtest(report, forecast, out)
    report.section(SECTIONS[2], "Variable-selection weights and attention by lag of the TFT.")
    report.image(forecast.paths["interpretation"], caption="TFT interpretation")
    report.section(SECTIONS[3], "ONNX packages, checked against PyTorch before they were written.")
    report.table(forecast.parity(), caption=f"served on {planning.provider}")
    _inspection(report, inspection)
    _plan(report, planning, data)
    _simulation(report, planning, out)
    _monitoring(report, monitoring, out)
    return report.write(out / "report.html")


def _network(report: Report, data: DemoData, config: DemoConfig) -> None:
    frame = data.frame
    series = frame[[ITEM, LOCATION]].drop_duplicates()
    report.section(SECTIONS[0], _description(data))
    summary = pd.DataFrame(
        {"value": [len(series), frame[ITEM].nunique(), frame[LOCATION].nunique(),
                   str(frame["date"].min().date()), str(data.cutoff.date()),
                   str(frame["date"].max().date()), f"{frame[DEMAND].sum():,.0f}"]},
        index=pd.Index(["series", "SKUs", "FCs", "first day", "cutoff (first held-back day)",
                        "last day", "units demanded"], name="the panel"),
    )  # fmt: skip
    report.table(summary)
    if data.drifted:
        column, level = data.drifted
        report.text(f"In the held-back weeks the demand of {column} '{level}' is "
                    f"{config.drift:g} times what it was: the drift the monitor should find.",
                    css="note")  # fmt: skip


def _description(data: DemoData) -> str:
    """What the panel holds: the embedded network's covariates, or those a user's table
    declared (the others were dropped on reading), never the network's for a user's table."""
    if data.lead_times is not None:  # only the embedded network brings lead-time records
        return ("Daily demand per SKU x FC with prices, promotions, events and FC weather "
                "forecasts; FCs are replenished from one DC.")  # fmt: skip
    spec = data.spec
    roles = [(spec.known_reals, "known reals"), (spec.known_categoricals, "known categoricals"),
             (spec.observed_reals, "observed reals"), (spec.static_reals, "static reals"),
             (spec.static_categoricals, "static categoricals")]  # fmt: skip
    declared = "; ".join(f"{name}: {', '.join(columns)}" for columns, name in roles if columns)
    return (
        f"Daily demand per SKU x FC from the table given ({declared or 'no covariates'}); "
        "FCs are replenished from one DC."
    )


def _backtest(report: Report, forecast: ForecastOutcome, out: Path) -> None:
    report.section(SECTIONS[1], f"Rolling-origin backtest; the champion is "
                   f"{forecast.champion} (lowest scaled quantile loss).")  # fmt: skip
    overall = forecast.backtest.overall()
    report.table(overall[[c for c in METRICS if c in overall.columns]], caption="all series")
    metrics = forecast.backtest.metrics
    segments = metrics[metrics["segment_type"] != "all"]
    report.table(_by_segment(segments, "wape"), caption="WAPE by segment")
    if "bias" in segments.columns:
        report.table(_by_segment(segments, "bias"),
                     caption="bias (mean forecast error / demand) by segment")  # fmt: skip
    for png in sorted((out / "backtest" / "plots").glob("fan_*.png")):
        report.image(png, caption=png.stem.replace("fan_", "fan chart: "))


def _by_segment(segments: pd.DataFrame, column: str) -> pd.DataFrame:
    """``column`` per segment (rows) and model (columns), every segment of the metrics kept:
    one without demand over its windows has an infinite WAPE and bias where its forecast
    expected demand (NaN where it did not), and ``pivot_table`` dropped its row (the segment
    where a forecast of positive demand ran highest went missing)."""
    order = pd.MultiIndex.from_frame(segments[["segment_type", "segment"]].drop_duplicates())
    table = segments.set_index(["segment_type", "segment", "model"])[column].unstack("model")
    return table.reindex(index=order, columns=list(dict.fromkeys(segments["model"])))


def _inspection(report: Report, inspection: InspectionOutcome | None) -> None:
    report.section(SECTIONS[4])
    if inspection is None:
        report.text("No tunnel images with a user's table: inspection is skipped.", css="note")
        return
    items = inspection.items
    counts = items["verdict"].value_counts().reindex(["pass", "review", "reject"]).fillna(0)
    # Verbs agree with their counts: a day with one rejected unit read "1 are rejected".
    passed, review, reject = (int(counts[v]) for v in ("pass", "review", "reject"))
    report.text(f"A day of {_count(len(items), 'inbound unit', 'inbound units')} through the "
                f"camera tunnel: {_count(passed, 'passes', 'pass')}, "
                f"{_count(review, 'waits', 'wait')} for review, "
                f"{_count(reject, 'is', 'are')} rejected and "
                f"{'leaves' if reject == 1 else 'leave'} sellable stock.")  # fmt: skip
    views = inspection.views
    shown = items[items["verdict"] != "pass"].head(4)
    for row in shown.itertuples(index=False):
        for view in views[(views["item_id"] == row.item_id) & (views["heatmap"] != "")].head(2)[
            "heatmap"
        ]:
            path = Path(view)
            if path.is_file():
                report.image(path, caption=f"{row.item_id} ({row.verdict}: {row.reasons})")
    queue = pd.DataFrame(inspection.store.queue(limit=20))
    if len(queue):
        waiting = _first(len(queue), int(counts["review"]), REVIEW_DB)
        report.table(queue[["item_id", "sku", "location_id", "queued"]],
                     caption="review queue, oldest first" + waiting)  # fmt: skip
    else:  # an empty frame has no columns either: say so rather than draw an empty table
        report.text("The review queue is empty: no unit scored in the review band.", css="note")
    rejected = inspection.rejected
    report.table(rejected.head(15), caption="units taken out of sellable stock"
                 + _first(15, len(rejected), "inspection/rejected.csv"))  # fmt: skip


def _plan(report: Report, planning: PlanOutcome, data: DemoData | None = None) -> None:
    report.section(SECTIONS[5], "Lead-time demand from the champion's ONNX package; service "
                   "levels by ABC segment (A 98%, B 95%, C 90%).")  # fmt: skip
    if data is not None:
        _unplanned(report, planning, data)
    columns = [ITEM, LOCATION, "review", "service_level", "safety_stock", "reorder_point",
               "order_up_to", "order_qty", "expected_fill_rate"]  # fmt: skip
    plan = _by_forecast_demand(planning)
    shown = _whole_numbers(plan[[c for c in columns if c in plan.columns]].head(15), ["order_qty"])
    report.table(shown,
                 caption="top SKU x FC by forecast demand"
                 + _first(15, len(plan), "plan/plan.parquet"))  # fmt: skip
    dc, allocation = planning.dc_plan, planning.allocation
    report.table(dc.head(10), caption="the DC: service time quoted to FCs and stock"
                 + _first(10, len(dc), "plan/dc.csv"))  # fmt: skip
    if len(allocation):
        report.table(allocation.head(12), caption="scarce inbound split across FCs"
                     + _first(12, len(allocation), "plan/allocation.csv"))  # fmt: skip


def _by_forecast_demand(planning: PlanOutcome) -> pd.DataFrame:
    """The plan's rows, most forecast demand first: the median cumulative demand over the
    whole horizon. The plan's ``demand_mean`` is the demand over each row's own protection
    interval (its lead time, plus the review period where reviewed weekly), so ranking by it
    put a C item reviewed weekly at a far FC (13.7 units a day) above an A item with 21.9."""
    cumulative = planning.cumulative
    last = cumulative[cumulative["horizon"] == cumulative["horizon"].max()]
    demand = last.set_index([ITEM, LOCATION])[quantile_column(0.5)]
    plan = planning.plan
    keys = pd.MultiIndex.from_frame(plan[[ITEM, LOCATION]])
    order = np.argsort(-demand.reindex(keys).to_numpy(dtype=float), kind="stable")
    return plan.iloc[order]


def _unplanned(report: Report, planning: PlanOutcome, data: DemoData) -> None:
    """Say which series of the table the plan leaves out: only those with a row in the weeks
    before the cutoff are planned and replayed (:func:`serving.demo.data.users_table`), so one
    first sold in the held-back weeks, or ended before them, was in the panel's series count
    but in no plan, simulation or monitor row, and its held-back demand in no total, without
    a word (6 series, 5 planned; 55 of 997 held-back units unaccounted for)."""
    keys = pd.MultiIndex.from_frame(data.frame[[ITEM, LOCATION]].drop_duplicates())
    planned = pd.MultiIndex.from_frame(planning.plan[[ITEM, LOCATION]])
    left = keys.difference(planned)
    if not len(left):
        return
    held = data.holdout
    units = held.set_index([ITEM, LOCATION]).index.isin(left)
    named = ", ".join(f"({i}, {loc})" for i, loc in list(left)[:5])
    one, total = len(left) == 1, held.loc[units, DEMAND].sum()
    amount = f"{total:,.0f}"
    amount += " unit of held-back demand is" if amount == "1" else " units of held-back demand are"
    report.text(f"{len(left)} of {len(keys)} series {'is' if one else 'are'} not planned: "
                f"without a row in the {RECENT_DAYS} days before the cutoff (first sold after "
                f"it, or ended before), e.g. {named}; {'its' if one else 'their'} {amount} not in "
                "the simulation.", css="note")  # fmt: skip


def _count(n: int, singular: str, plural: str) -> str:
    """``n`` and the word that agrees with it: "1 is", "2 are", "0 are"."""
    return f"{n:,} {singular if n == 1 else plural}"


def _whole_numbers(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """``frame`` with each of ``columns`` that holds only whole numbers as integers: the
    report's tables print floats with 3 decimals, and an order of 76 units read "76.000".
    A column with a fraction (a case pack of 0.5 kg) keeps its decimals."""
    out = frame.copy()
    for column in columns:
        if column in out.columns and len(out):
            values = out[column].to_numpy(dtype=float)
            if np.isfinite(values).all() and np.array_equal(values, np.round(values)):
                out[column] = values.astype(np.int64)
    return out


# How each row of the simulation summary reads. Every row went through one 3-decimal format:
# "keys 72.000", "orders 304.000", and fill rates as 0.819 where the README quotes percentages.
# Counts are whole numbers; units are too unless the table's demand has fractions; shares are
# percentages; averages have one decimal. A row not named here keeps 3 decimals.
SUMMARY_COUNTS = ("keys", "days", "stockout_days", "empty_days", "orders")
SUMMARY_UNITS = ("demand", "served", "unmet", "units_ordered")
SUMMARY_SHARES = ("fill_rate", "stockout_rate")
SUMMARY_AVERAGES = ("avg_on_hand", "turns", "days_of_supply")


def _summary_text(summary: pd.DataFrame) -> pd.DataFrame:
    """The simulation summary (metrics by rule) as the text of its cells."""
    rows = {}
    for metric, row in summary.iterrows():
        values = row.to_numpy(dtype=float)
        finite = values[np.isfinite(values)]
        whole = np.allclose(finite, np.round(finite), rtol=0, atol=1e-6)
        if metric in SUMMARY_COUNTS or (metric in SUMMARY_UNITS and whole):
            cells = [f"{v:,.0f}" for v in values]
        elif metric in SUMMARY_UNITS:
            cells = [f"{v:,.2f}" for v in values]
        elif metric in SUMMARY_SHARES:
            cells = [_share(v) for v in values]
        elif metric in SUMMARY_AVERAGES:
            cells = [f"{v:,.1f}" for v in values]
        else:
            cells = [f"{v:.3f}" for v in values]
        rows[metric] = ["" if not np.isfinite(v) else c for v, c in zip(values, cells, strict=True)]
    return pd.DataFrame.from_dict(rows, orient="index", columns=summary.columns)


def _share(value: float) -> str:
    """A share as a percentage with one decimal, or more where one would read 0% or 100%
    while it is neither (a stockout rate of 0.0004 beside 3 stockout days)."""
    digits = 1
    while digits < 6 and 0 < value < 1 and float(f"{100 * value:.{digits}f}") in (0.0, 100.0):
        digits += 1
    return f"{value:.{digits}%}"


def _first(shown: int, rows: int, where: str) -> str:
    """What a caption adds when a table shows only its first rows: the DC table's 10 of 200
    SKUs and the allocation's 12 of 1,600 rows read as the whole plan (SKU000000 to 9, by
    name, not the largest), with nothing saying where the rest is."""
    return f" (first {shown} of {rows} rows; all in {where})" if rows > shown else ""


def _simulation(report: Report, planning: PlanOutcome, out: Path) -> None:
    comparison = planning.simulation
    report.section(SECTIONS[6], "The plan's order rule and a weeks-of-supply rule holding the "
                   "same average stock, replayed on the held-back weeks' real demand with the "
                   "same transit-time draws (lost sales).")  # fmt: skip
    report.table(_summary_text(comparison.summary).rename_axis("metric"), caption="all SKU x FC")
    top = _by_forecast_demand(planning).head(4)
    keys = list(zip(top[ITEM], top[LOCATION], strict=True))
    path = comparison.plot(keys, out / "simulation" / "inventory.png")
    report.image(path, caption="on hand over the held-back weeks (markers: stockout days)")


def _monitoring(report: Report, monitoring: MonitorOutcome, out: Path) -> None:
    report.section(SECTIONS[7], monitoring.report.recommendation())
    checks = monitoring.report.checks
    # Why a segment is flagged: its WAPE (wape_flag) or the coverage of an interval drifted
    # (coverage_drifted names which); without them a flagged row whose WAPE improved reads
    # as a contradiction.
    columns = ["segment_type", "segment", "wape", "reference_wape", "wape_change", "wape_flag",
               "coverage_drifted", "flagged"]  # fmt: skip
    report.table(checks[[c for c in columns if c in checks.columns]])
    plot = out / "monitor" / "monitor.png"
    if plot.is_file():
        report.image(plot, caption="WAPE by segment")
    decision = monitoring.decision
    rows = pd.DataFrame([{"model": k, **v} for k, v in decision.items() if isinstance(v, dict)])
    # The decision is the comparison of the two losses: shown with the digits that tell them
    # apart ("kept: challenger" beside two equal-looking 0.812s read as a contradiction).
    sql = rows["sql"].dropna().to_numpy(dtype=float) if "sql" in rows else np.zeros(0)
    digits = 3
    while digits < 12 and len(np.unique(sql)) > len(np.unique(np.round(sql, digits))):
        digits += 1
    report.table(rows, caption=f"kept: {decision['kept']}", digits=digits)
