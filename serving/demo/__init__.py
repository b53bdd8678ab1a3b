"""``stockcast demo``: the whole loop on the embedded network, or a user's table.

1. data: the synthetic network (200 SKUs x 8 FCs under one DC, two years daily, with prices,
   promotions, events and weather), the last weeks held back;
2. forecasting: LSTM and TFT backtested against the baselines, both exported as ONNX packages;
3. inspection: the tunnel model trained and calibrated, a day of inbound units scored; rejected
   units leave sellable stock, ``review`` units wait in the review queue (SQLite);
4. planning: the champion package's lead-time demand -> safety stock, reorder points and
   orders per SKU x FC, the DC positioned above them, a scarce inbound split across FCs;
5. simulation: the plan replayed on the held-back weeks against a weeks-of-supply rule with
   the same average stock;
6. monitoring: drifted segments flagged, a challenger trained, kept only if it forecasts better;
7. ``report.html``: one self-contained page of all of it.

The results folder is built under a temporary name and appears whole or not at all.
"""

from __future__ import annotations

from pathlib import Path

from tqdm.auto import tqdm

from forecasting.spec import PanelSpec
from kernels.runfolder import building
from serving.demo.config import DemoConfig

__all__ = ["DemoConfig", "run_demo"]


def run_demo(
    config: DemoConfig | None = None, data: str | Path | None = None, spec: PanelSpec | None = None
) -> dict[str, Path]:
    """Run the loop into ``config.out``; with ``data`` (and its ``spec``) on a user's table:
    forecasting, planning, simulation and monitoring (no tunnel images). Returns the paths of
    what it wrote (report, packages, review queue...)."""
    config = (config or DemoConfig()).effective()
    target = Path(config.out)
    steps = ["data", "forecasting", "inspection", "planning", "monitoring", "report"]
    bar = tqdm(steps, desc="demo", disable=not config.progress, leave=True)
    try:
        paths = _run_steps(bar, target, config, data, spec)
    finally:
        bar.close()  # an error's message starts its own line, not the bar's
    return paths


def _run_steps(
    bar: tqdm, target: Path, config: DemoConfig, data: str | Path | None, spec: PanelSpec | None
) -> dict[str, Path]:
    """The loop's steps into ``target``, ticking ``bar``."""
    from serving.demo import data as demo_data
    from serving.demo.forecast import forecasting_step
    from serving.demo.inspect import REVIEW_DB, inspection_step
    from serving.demo.monitor import monitoring_step
    from serving.demo.plan import planning_step
    from serving.demo.report import write_report

    with building(target, overwrite=config.overwrite) as out:
        bar.set_postfix_str("data")
        panel = (
            demo_data.users_table(data, spec or PanelSpec(), config)
            if data is not None
            else demo_data.embedded(config)
        )
        demo_data.check_horizon(panel, config)
        bar.update()
        bar.set_postfix_str("forecasting")
        forecast = forecasting_step(panel, config, out)
        bar.update()
        inspection = None
        if data is None:
            bar.set_postfix_str("inspection")
            inspection = inspection_step(panel, config, out)
        bar.update()
        bar.set_postfix_str("planning")
        rejected = inspection.rejected if inspection is not None else None
        planning = planning_step(panel, forecast.champion_package, rejected, config)
        bar.update()
        bar.set_postfix_str("monitoring")
        monitoring = monitoring_step(panel, forecast, planning.forecast, config, out)
        bar.update()
        bar.set_postfix_str("report")
        _write_tables(out, panel, planning, inspection)
        write_report(out, config, panel, forecast, inspection, planning, monitoring)
        if inspection is not None:
            _heatmaps_under(out, target)
        bar.update()
    paths = {
        "report": target / "report.html",
        "models": target / "models",
        "plan": target / "plan" / "plan.parquet",
        "simulation": target / "plan" / "simulation.csv",
        "backtest": target / "backtest" / "metrics.csv",
    }
    if inspection is not None:
        paths["review_queue"] = target / REVIEW_DB
    return paths


def _heatmaps_under(out: Path, target: Path) -> None:
    """The views table names each heatmap under the staging folder the demo is built in, which
    is renamed to ``target`` when the demo completes: name them where they will be."""
    import pandas as pd

    from kernels.io import write_table
    from vision.tables import views_path

    path = views_path(out / "inspection" / "scores.parquet")
    views = pd.read_parquet(path)
    heat = views["heatmap"].astype(str)
    prefix = str(out)
    inside = heat.str.startswith(prefix)
    views.loc[inside, "heatmap"] = str(target) + heat[inside].str[len(prefix) :]
    write_table(views, path)


def _write_tables(out: Path, panel, planning, inspection) -> None:
    """The tables the report and the service's forecast page read, and the plan's inputs:
    with them (and the review queue once people decided) `stockcast plan` plans again."""
    import pandas as pd

    from kernels.io import write_table

    write_table(panel.frame, out / "data" / "panel.parquet")
    write_table(planning.forecast, out / "plan" / "forecast.parquet")
    daily = pd.concat(
        [planning.simulation.plan.daily().assign(rule="plan"),
         planning.simulation.rule.daily().assign(rule="weeks_of_supply")]
    )  # fmt: skip
    write_table(daily, out / "plan" / "simulation_daily.parquet")
    write_table(planning.plan, out / "plan" / "plan.parquet")
    write_table(planning.cumulative, out / "plan" / "lead_time_demand.parquet")
    write_table(planning.inventory, out / "plan" / "inventory.csv")
    write_table(planning.transit, out / "plan" / "transit_times.csv")
    if inspection is not None:
        write_table(inspection.rejected, out / "inspection" / "rejected.csv")
    write_table(planning.dc_plan, out / "plan" / "dc.csv")
    write_table(planning.allocation, out / "plan" / "allocation.csv")
    write_table(planning.simulation.summary.reset_index(names="metric"),
                out / "plan" / "simulation.csv")  # fmt: skip
