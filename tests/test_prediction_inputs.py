"""A prediction table is encoded as the training table was: an `auto` run's vocabularies and
the static reals' training mean and std, whatever other series the table holds."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from forecasting import Forecaster
from forecasting.spec import PanelSpec
from serving.export import export_run
from serving.runtime import ForecastPackage
from training import TrainConfig

H = 7


def _auto_panel(n_items: int = 4, days: int = 100) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    dates = pd.date_range("2023-01-02", periods=days + H, freq="D")
    rows = []
    for s in range(n_items):
        for k, day in enumerate(dates):
            demand = np.nan if k >= days else float(rng.poisson(3 + 5 * s))
            rows.append({"item_id": f"i{s}", "location_id": f"L{s}", "date": day,
                         "demand": demand})  # fmt: skip
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def auto_run():
    frame = _auto_panel()
    train = TrainConfig(max_epochs=1, batches_per_epoch=2, batch_size=16, progress_bar=False)
    forecaster = Forecaster(
        "auto", H, spec=PanelSpec(), train=train, hidden_size=8, auto_distributions=("quantile",)
    )
    forecaster.fit(frame[frame["demand"].notna()])
    return forecaster, frame


def test_auto_predicts_with_the_training_vocabulary(auto_run):
    forecaster, frame = auto_run
    trained = forecaster.model_.networks["lstm"].vocab
    assert forecaster.model_.vocab == trained
    subset = forecaster._store_for(frame[frame["item_id"].isin(["i2", "i3"])])
    assert subset.vocab["item_id"] == trained["item_id"]
    # i3 keeps the code it was trained with (4), not the second level of the subset (2).
    row = list(subset.keys["item_id"]).index("i3")
    assert int(subset.static_cat[row, 0]) == trained["item_id"].index("i3") + 1


def test_auto_gives_a_new_item_the_unknown_code_and_says_so(auto_run):
    forecaster, frame = auto_run
    new = frame[frame["item_id"] == "i3"].assign(item_id="i9")
    with pytest.warns(UserWarning, match="unseen in training"):
        store = forecaster._store_for(pd.concat([frame, new], ignore_index=True))
    row = list(store.keys["item_id"]).index("i9")
    assert int(store.static_cat[row, 0]) == 0  # the unknown embedding, not a row of another table


def test_auto_network_forecasts_do_not_depend_on_the_other_series_in_the_table(auto_run):
    forecaster, frame = auto_run
    lstm = forecaster.model_.networks["lstm"]
    full = forecaster.predict(frame, cumulative=H)
    part = forecaster.predict(frame[frame["item_id"].isin(["i2", "i3"])], cumulative=H)
    # Each item has its own location, so its peer level is its own: only the codes could differ.
    a = full[full["item_id"] == "i3"].filter(like="q").to_numpy()
    b = part[part["item_id"] == "i3"].filter(like="q").to_numpy()
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
    assert lstm.vocab  # the networks' own vocabulary is what was used


def _sized_panel() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    dates = pd.date_range("2023-01-02", periods=90 + H, freq="D")
    rows = []
    for s, size in enumerate((1.0, 2.0, 4.0, 8.0, 16.0, 32.0)):
        for k, day in enumerate(dates):
            demand = np.nan if k >= 90 else float(rng.poisson(size))
            # Each item its own FC: its peer level is its own, whatever else the table holds.
            rows.append({"item_id": f"i{s}", "location_id": f"L{s}", "date": day,
                         "demand": demand, "size": size})  # fmt: skip
    return pd.DataFrame(rows)


@pytest.fixture(scope="module")
def static_run(tmp_path_factory):
    frame = _sized_panel()
    root = tmp_path_factory.mktemp("static")
    train = TrainConfig(max_epochs=2, batches_per_epoch=4, batch_size=32, progress_bar=False)
    forecaster = Forecaster(
        "lstm", H, spec=PanelSpec(static_reals=("size",)), train=train, hidden_size=8
    )
    forecaster.fit(frame[frame["demand"].notna()], run_dir=root / "runs" / "lstm")
    return forecaster, frame, root


def test_a_one_series_table_sees_the_static_real_it_was_trained_with(static_run):
    forecaster, frame, _ = static_run
    full = forecaster._store_for(frame)
    alone = forecaster._store_for(frame[frame["item_id"] == "i3"])
    row = list(full.keys["item_id"]).index("i3")
    assert float(full.static_real[row, 0]) < -0.1  # below the mean size of the training series
    np.testing.assert_allclose(alone.static_real[0].numpy(), full.static_real[row].numpy())


def test_forecasts_do_not_depend_on_the_other_series_of_the_table(static_run):
    forecaster, frame, _ = static_run
    full = forecaster.predict(frame)
    alone = forecaster.predict(frame[frame["item_id"] == "i3"])
    expected = full[full["item_id"] == "i3"].reset_index(drop=True)
    pd.testing.assert_frame_equal(alone, expected, check_exact=False, rtol=1e-5, atol=1e-5)


def test_a_saved_run_and_its_package_keep_the_training_scaling(static_run):
    forecaster, frame, root = static_run
    one = frame[frame["item_id"] == "i3"]
    expected = forecaster.predict(frame)
    expected = expected[expected["item_id"] == "i3"].reset_index(drop=True)
    loaded = Forecaster.load(root / "runs" / "lstm")
    pd.testing.assert_frame_equal(loaded.predict(one), expected, rtol=1e-5, atol=1e-5)
    package = export_run(root / "runs" / "lstm", root / "repo")
    served = ForecastPackage(package).predict(one)
    values = [c for c in expected.columns if c.startswith("q")]
    np.testing.assert_allclose(served[values], expected[values], rtol=1e-4, atol=1e-4)
