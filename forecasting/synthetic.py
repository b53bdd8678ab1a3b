"""A synthetic fulfillment network: the embedded default data set.

N items x M fulfillment centers, daily, with what real SKU x FC demand has: a category hierarchy,
weekly and yearly seasonality, trend, price elasticity and promotions, holidays and events, a
weather signal, smooth / intermittent / lumpy / erratic items (negative-binomial and zero-inflated
noise), items that launch mid-history (cold start), and supplier lead-time records for planning.

Everything is generated as (series x time) arrays in blocks of series, so 100,000 series x 730
days takes seconds and a long table is only built on request (:meth:`SyntheticNetwork.to_frame`).
Deterministic for a seed.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from forecasting.spec import PanelSpec
from forecasting.store import PanelStore

CATEGORIES = ("grocery", "household", "apparel", "electronics", "outdoor")
REGIONS = ("east", "central", "west")
DEMAND_CLASSES = ("smooth", "intermittent", "lumpy", "erratic")
EVENTS = (
    "",
    "new_year",
    "super_bowl",
    "easter",
    "memorial_day",
    "independence_day",
    "labor_day",
    "halloween",
    "thanksgiving",
    "black_friday",
    "christmas",
)
# Month/day of each fixed-date event (moving holidays are approximated by a fixed day).
_EVENT_DATES = {
    "new_year": (1, 1),
    "super_bowl": (2, 9),
    "easter": (4, 9),
    "memorial_day": (5, 29),
    "independence_day": (7, 4),
    "labor_day": (9, 4),
    "halloween": (10, 31),
    "thanksgiving": (11, 23),
    "black_friday": (11, 24),
    "christmas": (12, 25),
}
_BLOCK = 8192  # series per generation block: bounds temporary memory, fixes the random stream


@dataclass
class SyntheticNetwork:
    """Arrays of a generated network. Series ``s`` is item ``s // M`` at location ``s % M``.

    ``demand`` is (series, days) with NaN before an item's launch; the covariates extend
    ``future_days`` beyond the demand so a forecast horizon has known prices, promotions, events
    and weather forecasts.
    """

    dates: pd.DatetimeIndex  # history + future
    n_history: int
    items: (
        pd.DataFrame
    )  # item_id, category, department, base_price, elasticity, demand_class, launch
    locations: pd.DataFrame  # location_id, region
    demand: np.ndarray  # (S, n_history) float32
    price: np.ndarray  # (N, T) float32, per item (NaN before launch)
    promo: np.ndarray  # (N, T) int8
    event: np.ndarray  # (T,) int16 codes into EVENTS
    temperature: np.ndarray  # (M, T) float32 anomaly of the FC's weather forecast
    lead_times: pd.DataFrame  # item_id, location_id, order_date, lead_time_days

    @property
    def n_series(self) -> int:
        return self.demand.shape[0]

    @property
    def spec(self) -> PanelSpec:
        return PanelSpec(
            freq="D",
            static_categoricals=("category", "department", "region"),
            known_categoricals=("promo", "event"),
            known_reals=("price", "temperature"),
        )

    def series_items(self) -> np.ndarray:
        return np.arange(self.n_series) // len(self.locations)

    def series_locations(self) -> np.ndarray:
        return np.arange(self.n_series) % len(self.locations)

    def to_store(self, vocab: dict[str, list[str]] | None = None) -> PanelStore:
        """The panel as a :class:`PanelStore`, straight from the arrays (no long table).

        Prices and promotions are stored once per item, weather once per FC and events once
        for all series: the store's rows index them per series.
        """
        item_idx, loc_idx = self.series_items(), self.series_locations()
        n_total = len(self.dates)
        if n_total == self.n_history:
            target = self.demand  # shared, not copied: the store is as big as the data
        else:
            target = np.full((self.n_series, n_total), np.nan, dtype=np.float32)
            target[:, : self.n_history] = self.demand
        keys = pd.DataFrame(
            {
                "item_id": self.items["item_id"].to_numpy()[item_idx],
                "location_id": self.locations["location_id"].to_numpy()[loc_idx],
                "category": self.items["category"].to_numpy()[item_idx],
                "department": self.items["department"].to_numpy()[item_idx],
                "region": self.locations["region"].to_numpy()[loc_idx],
            }
        )
        learn = vocab is None
        if vocab is None:
            vocab = {"promo": ["0", "1"], "event": sorted(EVENTS)}
        event_codes = pd.Index(vocab["event"]).get_indexer(np.asarray(EVENTS)[self.event]) + 1
        promo_codes = pd.Index(vocab["promo"]).get_indexer(["0", "1"]) + 1
        return PanelStore.from_arrays(
            self.spec,
            self.dates,
            target,
            keys,
            known_real=[
                (self.price[:, :, None].copy(), item_idx),
                (self.temperature[:, :, None].copy(), loc_idx),
            ],
            known_cat=[
                (promo_codes[self.promo.astype(np.int64)][:, :, None].astype(np.int32), item_idx),
                (event_codes[None, :, None].astype(np.int32), np.zeros_like(item_idx)),
            ],
            vocab=vocab,
            learn_vocab=learn,
        )

    def to_frame(self, include_future: bool = True) -> pd.DataFrame:
        """The long panel (one row per item, location, day) in the canonical contract.

        Rows before an item's launch are left out; with ``include_future`` the future days are
        rows with empty demand that carry the known covariates.
        """
        n_days = len(self.dates) if include_future else self.n_history
        item_idx = self.series_items()
        loc_idx = self.series_locations()
        demand = np.full((self.n_series, n_days), np.nan, dtype=np.float32)
        demand[:, : self.n_history] = self.demand[:, :n_days]
        launch = self.items["launch"].to_numpy()[item_idx]
        live = np.arange(n_days)[None, :] >= launch[:, None]
        s, t = np.nonzero(live)
        items, locs = item_idx[s], loc_idx[s]
        frame = pd.DataFrame(
            {
                "item_id": pd.Categorical.from_codes(items, self.items["item_id"]),
                "location_id": pd.Categorical.from_codes(locs, self.locations["location_id"]),
                "date": self.dates[t],
                "demand": demand[s, t],
                "category": pd.Categorical.from_codes(
                    *_codes(self.items["category"].to_numpy()[items])
                ),
                "department": pd.Categorical.from_codes(
                    *_codes(self.items["department"].to_numpy()[items])
                ),
                "region": pd.Categorical.from_codes(
                    *_codes(self.locations["region"].to_numpy()[locs])
                ),
                "price": self.price[items, t],
                "promo": self.promo[items, t],
                "temperature": self.temperature[locs, t],
                "event": pd.Categorical.from_codes(self.event[t], EVENTS),
            }
        )
        return frame


def _codes(values: np.ndarray) -> tuple[np.ndarray, list]:
    categories, codes = np.unique(values, return_inverse=True)
    return codes, list(categories)


def _event_calendar(dates: pd.DatetimeIndex) -> np.ndarray:
    codes = np.zeros(len(dates), dtype=np.int16)
    month, day = dates.month.to_numpy(), dates.day.to_numpy()
    for name, (m, d) in _EVENT_DATES.items():
        codes[(month == m) & (day == d)] = EVENTS.index(name)
    return codes


def generate_network(
    n_items: int = 200,
    n_locations: int = 5,
    n_days: int = 730,
    seed: int = 0,
    start: str = "2023-01-02",
    future_days: int = 0,
    cold_start_fraction: float = 0.1,
    lead_time_orders: int = 6,
) -> SyntheticNetwork:
    """Generate a network of ``n_items`` x ``n_locations`` daily series over ``n_days`` days.

    ``future_days`` of known covariates follow the history; the history a seed gives is the
    same whatever ``future_days`` is."""
    if n_items < 1 or n_locations < 1:
        raise ValueError("n_items and n_locations must be >= 1")
    if n_days < 60:
        raise ValueError(f"n_days: need at least 60 days of history, got {n_days}")
    if future_days < 0:
        raise ValueError(f"future_days: expected >= 0 days of known covariates, got {future_days}")
    if not 0 <= cold_start_fraction < 1:
        raise ValueError(f"cold_start_fraction: expected in [0, 1), got {cold_start_fraction}")
    rng = np.random.default_rng(seed)
    # The future days' prices, promotions and weather come from streams of their own, drawn
    # day by day: a seed's history is the same whatever future_days asks for, and a longer
    # future extends a shorter one.
    promo_rng, price_rng, weather_rng = rng.spawn(3)
    n_total = n_days + future_days
    dates = pd.date_range(start, periods=n_total, freq="D")

    # Items: category -> department hierarchy, price, elasticity, demand class, launch day.
    category = rng.integers(0, len(CATEGORIES), n_items)
    department = category * 3 + rng.integers(0, 3, n_items)
    demand_class = rng.choice(len(DEMAND_CLASSES), n_items, p=[0.4, 0.25, 0.2, 0.15])
    base_price = np.round(np.exp(rng.normal(2.3, 0.8, n_items)), 2).astype(np.float32) + 0.5
    elasticity = rng.uniform(0.8, 2.5, n_items)
    # Similar items sell alike: a department effect explains much of an item's level, which is
    # what lets a new item borrow from its department before it has history of its own.
    department_level = rng.normal(0.8, 0.7, len(CATEGORIES) * 3)
    level = np.exp(department_level[department] + rng.normal(0.0, 0.45, n_items))
    level[demand_class == 1] *= 0.15  # intermittent: rare small orders
    level[demand_class == 2] *= 0.25  # lumpy: rare large orders
    trend = rng.normal(0.0, 0.25, n_items)  # log-change over the whole history
    launch = np.zeros(n_items, dtype=np.int64)
    cold = rng.random(n_items) < cold_start_fraction
    launch[cold] = rng.integers(n_days // 3, max(n_days // 3 + 1, n_days - 56), cold.sum())

    # Calendar effects per category.
    dow = dates.dayofweek.to_numpy()
    doy = dates.dayofyear.to_numpy()
    weekly = np.exp(rng.normal(0, 0.25, (len(CATEGORIES), 7)))
    weekly[:, 5:] *= rng.uniform(1.0, 1.5, (len(CATEGORIES), 1))  # weekends
    amp, phase = rng.uniform(0.05, 0.5, len(CATEGORIES)), rng.uniform(0, 2 * np.pi, len(CATEGORIES))
    yearly = np.exp(amp[:, None] * np.sin(2 * np.pi * doy[None, :] / 365.25 + phase[:, None]))
    event = _event_calendar(dates)
    event_lift = np.exp(rng.normal(0.3, 0.3, (len(CATEGORIES), len(EVENTS))))
    event_lift[:, 0] = 1.0
    calendar = (weekly[:, dow] * yearly * event_lift[:, event]).astype(np.float32)  # (C, T)

    # Prices with permanent changes and promotions (per item, the same at every FC).
    promo = np.zeros((n_items, n_total), dtype=np.int8)
    n_promos = rng.poisson(n_days / 60, n_items)
    for i in np.nonzero(n_promos)[0]:
        starts = rng.integers(0, n_days, n_promos[i])
        for s0 in starts:
            promo[i, s0 : s0 + rng.integers(3, 15)] = 1
    # A promotion starts on a future day with the history's rate (one in 60 days per item).
    draws = promo_rng.random((future_days, n_items, 2))  # (start?, length) per day and item
    lengths = 3 + (12 * draws[:, :, 1]).astype(np.int64)  # 3..14 days, as in the history
    for t, i in zip(*np.nonzero(draws[:, :, 0] < 1 / 60)):
        promo[i, n_days + t : n_days + t + lengths[t, i]] = 1
    steps = rng.normal(0, 0.03, (n_items, n_days // 28 + 1))
    later = price_rng.normal(0, 0.03, (n_total // 28 + 1 - steps.shape[1], n_items)).T
    step_changes = np.cumsum(np.concatenate([steps, later], axis=1), axis=1)
    regular = base_price[:, None] * np.exp(np.repeat(step_changes, 28, axis=1)[:, :n_total])
    discount = rng.uniform(0.1, 0.35, n_items)[:, None]
    price = (regular * (1 - discount * promo)).astype(np.float32)
    price = np.round(price, 2)
    price_effect = (price / base_price[:, None]) ** (-elasticity[:, None])
    price_effect *= np.where(promo == 1, 1.25, 1.0)  # display and feature lift on promotion
    price[np.arange(n_total)[None, :] < launch[:, None]] = np.nan

    # Weather: a smooth temperature anomaly per FC; categories react with their own sign.
    regions = rng.integers(0, len(REGIONS), n_locations)
    temperature = np.zeros((n_locations, n_total), dtype=np.float32)
    shocks = np.concatenate(
        [
            rng.normal(0, 1.0, (n_locations, n_days)),
            weather_rng.normal(0, 1.0, (future_days, n_locations)).T,
        ],
        axis=1,
    ).astype(np.float32)
    for t in range(1, n_total):
        temperature[:, t] = 0.85 * temperature[:, t - 1] + 0.5 * shocks[:, t]
    weather_beta = rng.normal(0, 0.06, len(CATEGORIES))
    fc_size = np.exp(rng.normal(0, 0.4, n_locations))

    # Demand, generated in blocks of series so temporaries stay small.
    n_series = n_items * n_locations
    demand = np.empty((n_series, n_days), dtype=np.float32)
    t_hist = np.arange(n_days)
    progress = (t_hist / n_days)[None, :]
    block_rng = np.random.default_rng(rng.integers(2**63))
    for lo in range(0, n_series, _BLOCK):
        hi = min(lo + _BLOCK, n_series)
        s = np.arange(lo, hi)
        i, m = s // n_locations, s % n_locations
        c = category[i]
        mu = level[i, None] * fc_size[m, None] * calendar[c][:, :n_days]
        mu = mu * np.exp(trend[i, None] * progress) * price_effect[i, :n_days]
        mu = mu * np.exp(weather_beta[c, None] * temperature[m, :n_days])
        demand[lo:hi] = _sample_demand(block_rng, mu, demand_class[i])
        demand[lo:hi][t_hist[None, :] < launch[i, None]] = np.nan

    items = pd.DataFrame(
        {
            "item_id": [f"SKU{j:06d}" for j in range(n_items)],
            "category": np.asarray(CATEGORIES)[category],
            "department": [
                f"{CATEGORIES[category[j]]}_{department[j] % 3}" for j in range(n_items)
            ],
            "base_price": base_price,
            "elasticity": elasticity.astype(np.float32),
            "demand_class": np.asarray(DEMAND_CLASSES)[demand_class],
            "launch": launch,
        }
    )
    locations = pd.DataFrame(
        {
            "location_id": [f"FC{k:03d}" for k in range(n_locations)],
            "region": np.asarray(REGIONS)[regions],
        }
    )
    lead_times = _lead_time_records(rng, items, locations, dates[:n_days], lead_time_orders)
    return SyntheticNetwork(
        dates=dates,
        n_history=n_days,
        items=items,
        locations=locations,
        demand=demand,
        price=price,
        promo=promo,
        event=event,
        temperature=temperature,
        lead_times=lead_times,
    )


def _sample_demand(rng: np.random.Generator, mu: np.ndarray, cls: np.ndarray) -> np.ndarray:
    """Negative-binomial demand; intermittent and lumpy items are zero-inflated.

    * smooth: NB with little overdispersion;  * erratic: NB with heavy overdispersion;
    * intermittent: an order on ~1 day in 4, of modest size;  * lumpy: rare, large, variable orders.
    """
    cls = cls[:, None]
    occurs = np.ones(mu.shape, dtype=bool)
    rare = (cls == 1) | (cls == 2)
    p_occ = np.where(cls == 1, 0.3, 0.18)
    occurs = np.where(rare, rng.random(mu.shape) < p_occ, occurs)
    size_mu = np.where(rare, mu / np.where(cls == 1, 0.3, 0.18), mu)
    dispersion = np.select([cls == 0, cls == 1, cls == 2], [20.0, 4.0, 0.6], 0.9)
    dispersion = np.broadcast_to(dispersion, mu.shape)
    rate = rng.gamma(dispersion, np.maximum(size_mu, 1e-6) / dispersion)
    counts = rng.poisson(rate).astype(np.float32)
    # An order that occurs has at least one unit.
    counts = np.where(rare, np.where(occurs, np.maximum(counts, 1), 0), counts)
    return counts


def _lead_time_records(
    rng: np.random.Generator,
    items: pd.DataFrame,
    locations: pd.DataFrame,
    dates: pd.DatetimeIndex,
    orders: int,
) -> pd.DataFrame:
    """Replenishment orders per (item, FC) with gamma-distributed supplier lead times (days)."""
    n_items, n_locations = len(items), len(locations)
    if orders <= 0:
        return pd.DataFrame(columns=["item_id", "location_id", "order_date", "lead_time_days"])
    supplier_mean = rng.uniform(3, 21, n_items)  # one supplier per item
    supplier_cv = rng.uniform(0.1, 0.5, n_items)
    distance = rng.uniform(0.8, 1.3, n_locations)  # far FCs wait longer
    s = np.repeat(np.arange(n_items * n_locations), orders)
    i, m = s // n_locations, s % n_locations
    mean = supplier_mean[i] * distance[m]
    shape = 1.0 / supplier_cv[i] ** 2
    lead = np.maximum(1, np.round(rng.gamma(shape, mean / shape))).astype(np.int32)
    day = rng.integers(0, len(dates), len(s))
    return pd.DataFrame(
        {
            "item_id": items["item_id"].to_numpy()[i],
            "location_id": locations["location_id"].to_numpy()[m],
            "order_date": dates[day],
            "lead_time_days": lead,
        }
    )
