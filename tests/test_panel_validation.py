"""Bad input gets an error that names the column and the rows; documented repairs happen."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import torch

from forecasting import Forecaster, PanelSpec
from forecasting.io import load_panel, map_columns
from forecasting.store import PanelStore
from forecasting.validate import PanelError, validate_panel
from training import TrainConfig

SPEC = PanelSpec(static_categoricals=("category",), known_reals=("price",))


def panel(n_days: int = 10, items=("A", "B")) -> pd.DataFrame:
    dates = pd.date_range("2024-01-01", periods=n_days, freq="D")
    rows = []
    for item in items:
        for day, date in enumerate(dates):
            rows.append(
                {
                    "item_id": item,
                    "location_id": "FC1",
                    "date": date,
                    "demand": float(day % 3),
                    "category": "toys" if item == "A" else "food",
                    "price": 2.0,
                }
            )
    return pd.DataFrame(rows)


def error_of(frame: pd.DataFrame, spec: PanelSpec = SPEC, **kwargs) -> PanelError:
    with pytest.raises(PanelError) as info:
        validate_panel(frame, spec, **kwargs)
    return info.value


def test_clean_panel_passes_and_is_sorted():
    frame = panel().sample(frac=1.0, random_state=0)
    clean, report = validate_panel(frame, SPEC)
    assert report.n_series == 2 and report.n_rows == 20
    assert clean[["item_id", "date"]].equals(
        clean[["item_id", "date"]].sort_values(["item_id", "date"]).reset_index(drop=True)
    )


def test_missing_declared_column_is_named():
    error = error_of(panel().drop(columns="price"))
    assert error.column == "price" and "known_reals" in str(error)


def test_missing_key_values_name_rows():
    frame = panel()
    frame.loc[3, "item_id"] = None
    error = error_of(frame)
    assert error.column == "item_id" and error.rows == [3]


def test_duplicate_keys_name_both_rows():
    frame = pd.concat([panel(), panel().iloc[[4]]], ignore_index=True)
    error = error_of(frame)
    assert "duplicate" in str(error) and error.rows == [4, 20]


def test_errors_worded_for_a_request_name_list_positions_and_no_flags():
    frame = panel()
    error = error_of(pd.concat([frame, frame.iloc[[3]]], ignore_index=True))
    assert "CSV line 5" in str(error) and "row 3" in str(error)
    assert "CSV" not in error.for_request() and "row 3" in error.for_request()
    with pytest.raises(PanelError) as info:
        map_columns(frame.drop(columns="location_id"), SPEC)
    assert "--location-col" in str(info.value) and "--" not in info.value.for_request()


def test_negative_demand():
    frame = panel()
    frame.loc[5, "demand"] = -1.0
    error = error_of(frame)
    assert error.column == "demand" and "negative" in str(error) and error.rows == [5]


def test_non_numeric_demand_shows_the_value():
    frame = panel()
    frame["demand"] = frame["demand"].astype(object)
    frame.loc[2, "demand"] = "seven"
    error = error_of(frame)
    assert error.column == "demand" and "seven" in str(error) and error.rows == [2]


def test_nan_demand_inside_history_is_an_error_but_trailing_future_rows_are_not():
    frame = panel()
    frame.loc[4, "demand"] = np.nan
    error = error_of(frame)
    assert error.column == "demand" and error.rows == [4]

    future = panel()
    future.loc[future.index[-2:], "demand"] = np.nan  # last two days of item B: future rows
    clean, report = validate_panel(future, SPEC)
    assert report.future_rows == 2


def test_unparseable_dates():
    frame = panel()
    frame["date"] = frame["date"].astype(str)
    frame.loc[7, "date"] = "not a date"
    error = error_of(frame)
    assert error.column == "date" and error.rows == [7] and "not a date" in str(error)


def test_dates_whose_utc_offset_changes_with_daylight_saving_are_their_local_days():
    """Written with offsets that change across daylight saving (-05:00, then -04:00), the
    dates are the local calendar days, as dates of one time zone are (pandas refuses to mix
    offsets: this raised its own error before)."""
    dates = [f"2024-03-{d:02d}T00:00:00{o}" for d, o in ((9, "-05:00"), (10, "-05:00"),
             (11, "-04:00"), (12, "-04:00"))]  # fmt: skip
    frame = pd.DataFrame({"item_id": "a", "location_id": "L", "date": dates, "demand": 1.0})
    clean, _ = validate_panel(frame, PanelSpec(freq="D"))
    assert clean["date"].tolist() == list(pd.date_range("2024-03-09", periods=4))


def test_irregular_weekly_dates():
    frame = panel(n_days=5)
    frame["date"] = pd.Timestamp("2024-01-07") + pd.to_timedelta(7 * (frame.index % 5), unit="D")
    frame.loc[2, "date"] = pd.Timestamp("2024-01-23")  # a Tuesday among Sundays
    error = error_of(frame, PanelSpec(freq="W", static_categoricals=("category",)))
    assert error.column == "date" and "irregular" in str(error) and error.rows == [2]


def test_static_covariate_that_changes_within_a_series():
    frame = panel()
    frame.loc[3, "category"] = "garden"
    error = error_of(frame)
    assert error.column == "category" and 3 in error.rows


def test_known_real_missing_where_demand_was_recorded():
    frame = panel()
    frame.loc[0, "price"] = np.nan
    frame.loc[0, "demand"] = 4.0
    error = error_of(frame)
    assert error.column == "price" and error.rows == [0]


def test_leading_missing_price_with_zero_demand_is_a_later_launch():
    frame = panel()
    frame.loc[[0, 1, 2], "price"] = np.nan
    frame.loc[[0, 1, 2], "demand"] = 0.0
    clean, report = validate_panel(frame, SPEC)
    assert report.prelaunch_rows_dropped == 3
    store = PanelStore.from_frame(clean, SPEC)
    assert store.start.tolist() == [3, 0]


def test_a_table_whose_every_row_is_before_launch_names_the_price():
    # No series was ever on sale (M5's first weeks of an item cut out alone): every row is a
    # pre-launch row and is dropped, and building the store failed with numpy's "zero-size
    # array to reduction operation maximum" instead of an error naming the column.
    frame = panel()
    frame["price"] = np.nan
    frame["demand"] = 0.0
    error = error_of(frame)
    assert error.column == "price" and "pre-launch" in str(error)


def test_gaps_are_filled_with_zero_demand_or_rejected():
    frame = panel().drop(index=[4, 5])
    clean, report = validate_panel(frame, SPEC, gaps="zero")
    assert report.gap_periods == 2 and report.series_with_gaps == 1
    store = PanelStore.from_frame(clean, SPEC)
    assert store.target[0, 4].item() == 0.0 and store.target[0, 5].item() == 0.0
    error = error_of(frame, gaps="error")
    assert error.column == "date" and "gaps" in str(error)
    # By default, a fill that adds more than 5% of the rows must be asked for.
    error = error_of(frame)
    assert "2 daily periods are missing" in str(error) and "--gaps zero" in str(error)


def test_loader_maps_user_column_names(tmp_path):
    frame = panel().rename(columns={"item_id": "sku", "location_id": "store_id", "demand": "sales"})
    path = tmp_path / "panel.csv"
    frame.to_csv(path, index=False)
    spec = PanelSpec(
        static_categoricals=("category",),
        known_reals=("price",),
        item_col="sku",
        location_col="store_id",
        target_col="sales",
    )
    loaded = load_panel(path, spec)
    assert list(loaded.columns[:4]) == ["item_id", "location_id", "date", "demand"]
    clean, _ = validate_panel(loaded, spec)
    assert len(clean) == 20

    wrong = PanelSpec(item_col="product", target_col="sales", location_col="store_id")
    with pytest.raises(PanelError, match="product.*--item-col"):
        load_panel(path, wrong)


def test_horizon_longer_than_known_covariates_names_series():
    frame = panel()
    future = panel(n_days=13).iloc[10:13].assign(demand=np.nan)  # 3 future days for item A
    clean, _ = validate_panel(pd.concat([frame, future], ignore_index=True), SPEC)
    store = PanelStore.from_frame(clean, SPEC, extra_periods=7)
    assert store.keys["item_id"].tolist() == ["A", "B"]
    a = torch.tensor([0])
    store.check_horizon(a, store.end[a], 3)  # A's 3 future rows cover 3 periods...
    with pytest.raises(PanelError, match="price.*horizon of 7") as info:
        store.check_horizon(a, store.end[a], 7)  # ...but not 7
    assert "A@FC1" in str(info.value)
    both = torch.tensor([0, 1])
    with pytest.raises(PanelError, match="for 1 series") as info:
        store.check_horizon(both, store.end[both], 3)  # B has no future rows at all
    assert "B@FC1" in str(info.value) and info.value.rows == [1]


def test_unknown_categories_warn_and_map_to_unknown():
    clean, _ = validate_panel(panel(), SPEC)
    store = PanelStore.from_frame(clean, SPEC)
    new = panel(items=("C",)).assign(category="garden")
    clean_new, _ = validate_panel(new, SPEC)
    with pytest.warns(UserWarning, match="garden"):
        other = PanelStore.from_frame(clean_new, SPEC, vocab=store.vocab)
    item, location, category = other.static_cat[0].tolist()
    assert (item, location, category) == (0, 1, 0)  # unseen item and category, known FC


def test_sorting_numbering_and_text_equal_plain_pandas_on_awkward_keys():
    """Validation sorts and numbers series through integer codes and converts each distinct
    value to text once; plain pandas (``astype(str)``, ``sort_values``, ``ngroup``) is the
    reference, on keys where orders differ: case, digits as text, accents, categoricals,
    integers, and a categorical covariate with missing values."""
    from forecasting.grid import series_numbers
    from forecasting.validate import MISSING_LEVEL, text_levels

    rng = np.random.default_rng(0)
    items = np.array(["b", "B", "a", "10", "9", "é", "e", "Z", "item 1", "item_1"], dtype=object)
    locations = np.array(["FC2", "fc1", "FC10", "ü"], dtype=object)
    pairs = [(i, loc) for i in items for loc in locations if rng.random() < 0.7]
    dates = pd.date_range("2024-01-01", periods=12, freq="D")
    frame = pd.DataFrame(
        [{"item_id": i, "location_id": loc, "date": d} for i, loc in pairs for d in dates]
    )
    frame["demand"] = rng.integers(0, 5, len(frame)).astype(float)
    frame["price"] = 1.5
    frame["category"] = frame["item_id"].str.upper()
    frame["event"] = pd.Categorical(
        rng.choice(["sale", "holiday", None], len(frame)), categories=["sale", "holiday", "x"]
    )
    frame = frame.sample(frac=1.0, random_state=1).reset_index(drop=True)
    frame["location_id"] = frame["location_id"].astype("category")
    spec = PanelSpec(
        static_categoricals=("category",), known_reals=("price",), known_categoricals=("event",)
    )
    clean, report = validate_panel(frame, spec)

    reference = frame.assign(
        item_id=frame["item_id"].astype(str), location_id=frame["location_id"].astype(str)
    ).sort_values(["item_id", "location_id", "date"], kind="stable")
    assert clean["item_id"].tolist() == reference["item_id"].tolist()
    assert clean["location_id"].tolist() == reference["location_id"].tolist()
    assert clean["date"].tolist() == reference["date"].tolist()
    expected_event = reference["event"].astype(object).where(reference["event"].notna(), None)
    assert clean["event"].tolist() == expected_event.fillna(MISSING_LEVEL).astype(str).tolist()
    assert report.n_series == len(pairs)
    ngroup = clean.groupby(["item_id", "location_id"], sort=False).ngroup().to_numpy()
    np.testing.assert_array_equal(series_numbers(clean), ngroup)
    shuffled = clean.sample(frac=1.0, random_state=2)  # any order, as ngroup numbers it
    np.testing.assert_array_equal(
        series_numbers(shuffled),
        shuffled.groupby(["item_id", "location_id"], sort=False).ngroup().to_numpy(),
    )
    for values in (
        pd.Series([3, 1, 3, 2]),
        pd.Series([1.5, 2.0, 1.5]),
        pd.Series(["x", 1, 2.5, "x"], dtype=object),
        pd.Series([True, False, True]),
        frame["location_id"],
    ):
        codes, text = text_levels(values)
        assert text.take(codes).tolist() == values.astype(str).tolist()


def test_clean_panel_equals_a_plain_pandas_reference_on_a_messy_panel():
    """The run-based repairs (launch, forward fills, gaps) equal pandas' ``groupby`` on a
    shuffled panel with late launches, missing prices, future rows, observed reals with holes,
    a categorical with missing values and gaps."""
    from forecasting.validate import MISSING_LEVEL

    rng = np.random.default_rng(3)
    dates = pd.date_range("2024-01-01", periods=40, freq="D")
    rows = []
    for s in range(30):
        launch, last = rng.integers(0, 15), rng.integers(25, 40)
        for t, date in enumerate(dates[: last + 1]):
            future = t > last - 4 and s % 3 == 0
            unpriced = t < launch or (t > launch + 2 and rng.random() < 0.1)
            rows.append(
                {
                    "item_id": f"i{s % 7}",
                    "location_id": f"L{s // 7}",
                    "date": date,
                    "demand": np.nan if future else (0.0 if t < launch else float(rng.poisson(2))),
                    "price": np.nan if unpriced else float(t),
                    "temp": np.nan if rng.random() < 0.3 else rng.normal(),
                    "event": rng.choice(["a", "b", None]),
                    "size": float(s % 4),
                    "category": f"c{s % 7}",
                }
            )
    frame = pd.DataFrame(rows)
    frame = frame.drop(index=frame.index[rng.random(len(frame)) < 0.01])  # a few gaps
    frame = frame.sample(frac=1.0, random_state=4).reset_index(drop=True)
    spec = PanelSpec(
        static_categoricals=("category",),
        static_reals=("size",),
        known_reals=("price",),
        known_categoricals=("event",),
        observed_reals=("temp",),
    )
    clean, report = validate_panel(frame, spec, gaps="zero")

    ref = frame.sort_values(["item_id", "location_id", "date"], kind="stable")
    series = ref.groupby(["item_id", "location_id"], sort=False).ngroup().to_numpy()
    observed = ref["demand"].notna().to_numpy()
    launched = ref["price"].notna().groupby(series).cummax().to_numpy()
    keep = launched | ~observed
    ref, series, observed = ref[keep], series[keep], observed[keep]
    filled = ref["price"].groupby(series).ffill()
    ref = ref.assign(
        price=ref["price"].where(~observed, filled),
        temp=ref["temp"].groupby(series).ffill().fillna(0.0),
        event=ref["event"].fillna(MISSING_LEVEL),
    )
    assert report.prelaunch_rows_dropped == int((~keep).sum())
    assert report.n_series == len(np.unique(series)) and report.n_rows == len(ref)
    for column in ("item_id", "location_id", "event", "category"):
        assert clean[column].tolist() == ref[column].astype(str).tolist(), column
    assert clean["date"].tolist() == ref["date"].tolist()
    for column in ("demand", "price", "temp", "size"):
        np.testing.assert_array_equal(
            clean[column].to_numpy(), ref[column].to_numpy(dtype=np.float32), err_msg=column
        )
    days = ref["date"].where(observed).groupby(series)
    span = ((days.max() - days.min()).dt.days + 1).fillna(0)
    assert report.gap_periods == int((span - days.count()).sum()) > 0


def test_dates_with_a_time_zone_are_their_local_days():
    local = pd.date_range("2024-01-01", periods=10, freq="D", tz="Europe/Paris")
    frame = panel().assign(date=np.tile(local, 2))
    clean, report = validate_panel(frame, SPEC)
    assert report.freq == "D" and clean["date"].dt.tz is None
    assert clean["date"].iloc[0] == pd.Timestamp("2024-01-01")
    as_text, _ = validate_panel(frame.assign(date=frame["date"].astype(str)), SPEC)
    assert as_text["date"].equals(clean["date"])


def test_categorical_clean_frame_holds_the_same_values_and_grid():
    """``categories=True`` (what the store and the package use) gives the text frame's values as
    categoricals, and the same grid."""
    from forecasting.grid import build_grid

    spec = PanelSpec(
        static_categoricals=("category",), known_reals=("price",), known_categoricals=("event",)
    )
    frame = panel(n_days=12, items=("b", "A", "10", "9")).assign(
        event=lambda f: np.where(f["date"].dt.day % 3 == 0, "sale", None),
        category=lambda f: f["item_id"].str.lower(),
    )
    frame.loc[frame["date"] < "2024-01-03", "price"] = np.nan  # late launches dropped
    frame.loc[frame["date"] < "2024-01-03", "demand"] = 0.0
    frame = frame.drop(index=[5, 30]).sample(frac=1.0, random_state=0)  # gaps, any order
    text, report = validate_panel(frame, spec, gaps="zero")
    cats, same = validate_panel(frame, spec, gaps="zero", categories=True)
    assert report == same and report.gap_periods == 2
    for column in ("item_id", "location_id", "category", "event"):
        assert isinstance(cats[column].dtype, pd.CategoricalDtype)
        assert cats[column].astype(str).tolist() == text[column].tolist()
    a, b = build_grid(text, spec.with_freq("D")), build_grid(cats, spec.with_freq("D"))
    pd.testing.assert_frame_equal(a.keys, b.keys)
    for k in range(len(spec.known_categoricals)):
        np.testing.assert_array_equal(a.known_levels(k), b.known_levels(k))
    np.testing.assert_array_equal(a.target, b.target)
    levels, dates = b.known_levels(0), list(b.dates)
    s, t = list(b.keys["item_id"]).index("b"), dates.index(pd.Timestamp("2024-01-06"))
    assert levels[s, t] == levels[s, t - 1] == "<NA>"  # the dropped row 5 repeats Jan 5


def test_a_known_categorical_named_like_a_calendar_feature_is_refused():
    from forecasting import Forecaster

    dates = pd.date_range("2024-01-01", periods=60)
    frame = pd.DataFrame({"item_id": "I", "location_id": "L", "date": dates, "demand": 1.0,
                          "month": [f"m{d % 40}" for d in range(60)]})  # fmt: skip
    # It was merged with the calendar's month: 41 levels in a 13-row embedding (codes past 13
    # read day_of_week's rows) and two 'month' rows in the importances.
    spec = PanelSpec(known_categoricals=("month",))
    with pytest.raises(PanelError, match="calendar"):
        Forecaster("tft", horizon=7, spec=spec).store(frame)
    spec = PanelSpec(known_categoricals=("month",), calendar=False)
    store = Forecaster("tft", horizon=7, spec=spec).store(frame)
    assert store.known_cat_names == ("month",) and store.cardinalities["month"] == 41


def launch_month_panel() -> pd.DataFrame:
    dates = pd.date_range("2023-01-02", periods=80, freq="D")
    rng = np.random.default_rng(0)
    parts = []
    for i in range(3):
        parts.append(
            pd.DataFrame(
                {
                    "item_id": f"I{i}",
                    "location_id": "FC1",
                    "date": dates,
                    "demand": rng.poisson(5, len(dates)).astype(float),
                    "month": f"launch{i}",  # a static categorical (the launch month)
                }
            )
        )
    return pd.concat(parts, ignore_index=True)


@pytest.mark.filterwarnings("ignore")
def test_static_categorical_named_like_a_calendar_feature_is_named():
    spec = PanelSpec(static_categoricals=("month",))
    train = TrainConfig(max_epochs=1, batches_per_epoch=1, batch_size=8, progress_bar=False)
    forecaster = Forecaster("lstm", horizon=7, spec=spec, train=train, hidden_size=8)
    with pytest.raises(PanelError, match=r"^month: a static categorical has the name of a derived"):
        forecaster.fit(launch_month_panel())


def test_calendar_off_keeps_the_column():
    spec = PanelSpec(static_categoricals=("month",), calendar=False)
    clean, report = validate_panel(launch_month_panel(), spec)
    store = PanelStore.from_frame(clean, spec.with_freq(report.freq))
    assert store.cardinalities["month"] == 4
