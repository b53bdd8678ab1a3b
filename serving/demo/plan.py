"""The demo's planning step: the champion package's lead-time demand -> a plan per SKU x FC,
safety stock positioned between the DC and its FCs, a scarce inbound split across FCs, and the
plan replayed on the held-back weeks against a weeks-of-supply rule holding the same stock.

FCs are replenished from the DC (transit of a few days, what the FC plans cover); the DC buys
from suppliers (the network's supplier lead times, which size the DC's stock).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from forecasting.spec import DATE, DEMAND, ITEM, LOCATION, quantile_column
from kernels import Policy, abc_segments, allocate, compare, plan, position
from kernels.quantiles import quantile_draws
from kernels.simulation import Comparison
from serving.demo.config import DemoConfig
from serving.demo.data import RECENT_DAYS, DemoData
from serving.runtime import open_forecast_package

KEYS = [ITEM, LOCATION]
SERVICE = {"A": 0.98, "B": 0.95, "C": 0.9}
TRANSIT_DAYS = (1.5, 2.5, 4.0)  # mean DC -> FC transit by the FC's distance band


@dataclass
class PlanOutcome:
    forecast: pd.DataFrame  # per-step quantiles from the cutoff
    cumulative: pd.DataFrame  # lead-time demand
    inventory: pd.DataFrame
    transit: pd.DataFrame  # DC -> FC lead-time records
    plan: pd.DataFrame
    dc_plan: pd.DataFrame
    fc_position: pd.DataFrame
    allocation: pd.DataFrame
    simulation: Comparison
    provider: str


def planning_step(
    data: DemoData, package_dir: Path, rejected: pd.DataFrame | None, config: DemoConfig
) -> PlanOutcome:
    """Forecast from the package ``package_dir``, plan the FCs (units ``rejected`` by inspection
    taken off stock, ``review`` units held), position the DC, allocate scarce supply, and
    simulate the plan against a weeks-of-supply rule on the held-back days."""
    package = open_forecast_package(package_dir)
    table = data.forecast_table(data.cutoff, config.horizon)
    forecast = package.predict(table)
    cumulative = package.predict(table, cumulative=config.horizon)
    rng = np.random.default_rng(config.seed)
    inventory = _inventory(data, rejected, config, rng)
    # Whole days within what the forecast covers: lead time plus review period <= horizon.
    longest = config.horizon - inventory["review_period"].to_numpy(dtype=float)
    transit = _transit_records(inventory[KEYS], rng, longest)
    policy = Policy(segment_service_levels=SERVICE)
    planned = plan(
        cumulative, inventory, policy, lead_times=transit, rejected=rejected, hold_review=True
    )
    dc_plan, fc_position = _positioning(data, cumulative, inventory, transit)
    sellable = inventory.assign(on_hand=inventory["on_hand"] - planned.get("inspection_held", 0))
    allocation = _allocation(cumulative, planned, sellable, config, rng)
    actual = data.actuals(data.cutoff, config.holdout_days)[[*KEYS, DATE, DEMAND]]
    # The inventory as planned: the simulation itself takes the plan's inspection_held off its
    # on_hand (given `sellable`, the held units would leave stock twice).
    simulation = compare(planned, actual, transit, inventory=inventory, seed=config.seed)
    return PlanOutcome(forecast, cumulative, inventory, transit, planned, dc_plan, fc_position,
                       allocation, simulation, package.provider)  # fmt: skip


def _inventory(
    data: DemoData, rejected: pd.DataFrame | None, config: DemoConfig, rng: np.random.Generator
) -> pd.DataFrame:
    """Stock at the cutoff: a few days to two weeks of recent demand per SKU x FC, ABC segments
    by revenue (A continuous review; B, C reviewed weekly when the horizon allows)."""
    start = data.cutoff - pd.Timedelta(days=RECENT_DAYS)
    recent = data.train[data.train[DATE] >= start]
    # Units per day over the window's days from the series' first row: a day without a row
    # sold nothing (the panel's gap rule, `--gaps zero`), so the mean over rows alone read a
    # table of sale days as selling every day (7 units each Monday planned stock at 7 a day).
    grouped = recent.groupby(KEYS, observed=True)[DEMAND]
    daily = grouped.sum(min_count=1).rename("daily").reset_index()
    first = data.train.groupby(KEYS, observed=True)[DATE].min()
    began = pd.Series(first.reindex(pd.MultiIndex.from_frame(daily[KEYS])).to_numpy())
    days = (data.cutoff - began.clip(lower=start)).dt.days.to_numpy(dtype=float)
    daily["daily"] = daily["daily"].to_numpy(dtype=float) / days
    if config.price_col in recent.columns:
        sales = recent.assign(revenue=recent[DEMAND] * recent[config.price_col].fillna(0))
        per_key = sales.groupby(KEYS, observed=True)["revenue"].sum()
        revenue = per_key.reindex(pd.MultiIndex.from_frame(daily[KEYS])).to_numpy()
    else:
        revenue = daily["daily"].to_numpy()
    inventory = daily[KEYS].copy()
    inventory["segment"] = abc_segments(np.nan_to_num(revenue))
    days_of_stock = rng.uniform(3, 15, len(daily))
    inventory["on_hand"] = np.ceil(daily["daily"].fillna(0).to_numpy() * days_of_stock)
    weekly = config.horizon >= 21  # a week's review plus transit fits the forecast
    inventory["review_period"] = np.where(weekly & (inventory["segment"] != "A"), 7.0, 0.0)
    inventory["case_pack"] = 1.0
    if rejected is not None and len(rejected):
        held = rejected.set_index(KEYS)[["rejected_units", "review_units"]].sum(axis=1)
        extra = held.reindex(pd.MultiIndex.from_frame(inventory[KEYS])).fillna(0).to_numpy()
        inventory["on_hand"] += extra  # the inbound units were on hand before inspection
    return inventory


def _transit_records(
    keys: pd.DataFrame, rng: np.random.Generator, longest: np.ndarray, orders: int = 8
) -> pd.DataFrame:
    """Observed DC -> FC transit times: gamma around the FC's distance band, whole days, at
    most ``longest`` per key (what its plan's forecast reaches: a short horizon would
    otherwise meet the gamma's tail and the plan refuse the key)."""
    locations = sorted(keys[LOCATION].unique())
    band = {loc: TRANSIT_DAYS[k % len(TRANSIT_DAYS)] for k, loc in enumerate(locations)}
    mean = np.repeat(keys[LOCATION].map(band).to_numpy(dtype=float), orders)
    days = np.maximum(1, np.round(rng.gamma(9.0, mean / 9.0)))  # cv 1/3
    days = np.minimum(days, np.repeat(np.floor(longest), orders))
    return pd.DataFrame(
        {ITEM: np.repeat(keys[ITEM].to_numpy(), orders),
         LOCATION: np.repeat(keys[LOCATION].to_numpy(), orders),
         "lead_time_days": days}
    )  # fmt: skip


def _moments(cumulative: pd.DataFrame, horizon: int) -> pd.DataFrame:
    """Daily mean and standard deviation per key from the cumulative quantiles at ``horizon``
    (normal approximation: median, and the 5-95% spread / 3.29, per day)."""
    rows = cumulative[cumulative["horizon"] == horizon]
    q05, q50, q95 = (rows[quantile_column(q)].to_numpy() for q in (0.05, 0.5, 0.95))
    return rows[KEYS].assign(
        demand_mean=q50 / horizon, demand_std=(q95 - q05) / 3.29 / np.sqrt(horizon)
    )


def _positioning(
    data: DemoData, cumulative: pd.DataFrame, inventory: pd.DataFrame, transit: pd.DataFrame
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Guaranteed-service safety stock for the DC and its FCs per SKU, each FC at the mean of
    its observed DC -> FC transit times (the ones its plan reads)."""
    horizon = int(cumulative["horizon"].max())
    fc = _moments(cumulative, horizon).merge(inventory[[*KEYS, "segment"]], on=KEYS)
    mean_transit = transit.groupby(KEYS, as_index=False)["lead_time_days"].mean()
    # 3 days was every FC's, where its plan reads 1.5, 2.5 or 4 around its distance band.
    fc = fc.merge(mean_transit.rename(columns={"lead_time_days": "lead_time"}), on=KEYS)
    fc["service_level"] = fc["segment"].map(SERVICE)
    fc["holding_cost"] = 1.0
    supplier = (
        data.lead_times.groupby(ITEM)["lead_time_days"].mean()
        if data.lead_times is not None and len(data.lead_times)
        else pd.Series(14.0, index=fc[ITEM].unique())
    )
    dc = pd.DataFrame({ITEM: fc[ITEM].unique()})
    dc["lead_time"] = dc[ITEM].map(supplier).fillna(float(supplier.mean())).round()
    dc["service_level"] = 0.95
    dc["holding_cost"] = 0.6  # DC space is cheaper than FC space
    return position(fc.drop(columns="segment"), dc)


def _allocation(
    cumulative: pd.DataFrame,
    planned: pd.DataFrame,
    inventory: pd.DataFrame,
    config: DemoConfig,
    rng: np.random.Generator,
    samples: int = 200,
) -> pd.DataFrame:
    """A scarce inbound at the DC (60% of what the FCs order) split across FCs by expected
    sales over the next two weeks, demand sampled from the cumulative quantiles."""
    short = planned.groupby(ITEM)["order_qty"].sum()
    short = short[short > 0]
    if short.empty:
        return pd.DataFrame(columns=[*KEYS, "allocation", "expected_sales"])
    horizon = min(14, config.horizon)
    rows = cumulative[(cumulative["horizon"] == horizon) & cumulative[ITEM].isin(short.index)]
    levels = sorted(float(c[1:]) for c in rows.columns if c.startswith("q"))
    values = rows[[quantile_column(q) for q in levels]].to_numpy(dtype=np.float64)
    demand = quantile_draws(values, np.array(levels), rng.uniform(size=(len(rows), samples)))
    long = pd.DataFrame(
        {ITEM: np.repeat(rows[ITEM].to_numpy(), samples),
         LOCATION: np.repeat(rows[LOCATION].to_numpy(), samples),
         "sample": np.tile(np.arange(samples), len(rows)), "demand": demand.ravel()}
    )  # fmt: skip
    stock = inventory[inventory[ITEM].isin(short.index)][[*KEYS, "on_hand"]]
    supply = (0.6 * short).apply(np.floor).rename("supply").reset_index()
    return allocate(long, stock, supply)
