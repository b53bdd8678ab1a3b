"""Series forecast on different days (item A on Mondays, item B on Tuesdays, weekly) are judged
on each series' own latest run. A segment's latest origin alone held only B's run: A's run 3x
over (WAPE 2.0 against 0.1) went unflagged in every segment holding both, and A's bad run was
averaged into the baseline (0.48) instead."""

from __future__ import annotations

import pandas as pd
import pytest

from forecasting.monitor import monitor

MONDAYS = pd.date_range("2024-01-01", periods=3, freq="7D")  # 1, 8 and 15 January


def _tables(days_b=1):
    rows = []
    for k, day in enumerate(MONDAYS):
        rows.append(("A", "L", day, 1, 30.0 if k == 2 else 11.0))  # the latest run 3x over
        rows.append(("B", "L", day + pd.Timedelta(days=days_b), 1, 11.0))
    forecasts = pd.DataFrame(rows, columns=["item_id", "location_id", "date", "step", "q0.5"])
    actuals = forecasts[["item_id", "location_id", "date"]].assign(
        demand=10.0,
        family=forecasts["item_id"].map({"A": "fa", "B": "fb"}),
        region="north",  # both series
    )
    return forecasts, actuals


def _checks(report):
    return report.checks.set_index(["segment_type", "segment"])


@pytest.mark.parametrize("with_reference", [False, True])
def test_drifted_series_flagged_in_every_segment_holding_it(with_reference):
    reference = None
    if with_reference:
        reference = pd.DataFrame(
            {
                "segment_type": ["all", "family", "family", "region"],
                "segment": ["all", "fa", "fb", "north"],
                "wape": 0.1,
            }
        )
    report = monitor(*_tables(), segments=["family", "region"], reference=reference)
    checks = _checks(report)
    # By hand: the latest runs are A's of 15 January (|30 - 10| = 20) and B's of 16 January
    # (|11 - 10| = 1) over 20 units: WAPE 1.05. The baseline, without a reference: the four
    # earlier origins (1, 2, 8 and 9 January), each 1 / 10 = 0.1.
    for segment in [("all", "all"), ("region", "north")]:
        row = checks.loc[segment]
        assert row["wape"] == pytest.approx(1.05)
        assert row["reference_wape"] == pytest.approx(0.1)
        assert row["wape_change"] == pytest.approx(9.5)
        assert row["flagged"]
        assert (row["first_origin"], row["origin"]) == ("2024-01-15", "2024-01-16")
    fa, fb = checks.loc[("family", "fa")], checks.loc[("family", "fb")]
    assert fa["wape"] == pytest.approx(2.0) and fa["flagged"]
    assert fa["reference_wape"] == pytest.approx(0.1)
    assert fb["wape"] == pytest.approx(0.1) and not fb["flagged"]
    assert "all=all" in report.recommendation()
    assert "region=north" in report.recommendation()
    # The per-origin table stays per origin: 16 January holds B alone.
    table = report.table.set_index(["segment_type", "segment", "origin"])["wape"]
    assert table[("all", "all", pd.Timestamp("2024-01-16"))] == pytest.approx(0.1)
    assert table[("all", "all", pd.Timestamp("2024-01-15"))] == pytest.approx(2.0)


def test_one_cadence_is_judged_on_the_latest_origin():
    # Both series on Mondays: the recent accuracy is the latest origin's, the baseline the
    # mean of the earlier origins', as before.
    report = monitor(*_tables(days_b=0), segments=["region"])
    checks = _checks(report)
    table = report.table.set_index(["segment_type", "segment", "origin"])["wape"]
    for segment in [("all", "all"), ("region", "north")]:
        latest = table[(*segment, MONDAYS[-1])]
        assert latest == pytest.approx(21 / 20)
        assert checks.loc[segment, "wape"] == latest
        earlier = (table[(*segment, MONDAYS[0])] + table[(*segment, MONDAYS[1])]) / 2
        assert checks.loc[segment, "reference_wape"] == earlier
        assert checks.loc[segment, "origin"] == checks.loc[segment, "first_origin"]


def test_a_series_whose_actuals_stopped_is_not_recent():
    # One cadence; C's actuals stop after its first run (a discontinued SKU forecast on): its
    # run of 1 January (WAPE 1.0) is a run behind, baseline rather than recent accuracy.
    forecasts, actuals = _tables(days_b=0)
    forecasts = forecasts.assign(**{"q0.5": 11.0})
    c = forecasts[forecasts["item_id"] == "A"].assign(item_id="C")
    c.loc[c["date"] == MONDAYS[0], "q0.5"] = 20.0
    forecasts = pd.concat([forecasts, c], ignore_index=True)
    actuals = pd.concat(
        [actuals, actuals[actuals["date"] == MONDAYS[0]].head(1).assign(item_id="C")],
        ignore_index=True,
    )
    row = _checks(monitor(forecasts, actuals, segments=["region"])).loc[("all", "all")]
    # By hand: recent = A and B on 15 January, 2 / 20 = 0.1; baseline = mean of 1 January
    # (1 + 1 + 10) / 30 = 0.4 and 8 January 2 / 20 = 0.1: 0.25.
    assert (row["first_origin"], row["origin"]) == ("2024-01-15", "2024-01-15")
    assert row["wape"] == pytest.approx(0.1)
    assert row["reference_wape"] == pytest.approx(0.25)
    assert not row["flagged"]
