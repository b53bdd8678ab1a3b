"""`stockcast forecast monitor` prints one row per segment and whether it is flagged. A segment
flagged for its interval coverage while its WAPE improved printed "wape_change -0.26 ...
flagged True" with nothing saying why; monitor.json holds the reason (coverage_drifted). The
printed table must say what monitor.json says, and the notes (rows not scored) must be shown."""

import json

import numpy as np
import pandas as pd

from serving.cli import main


def _tables(tmp_path):
    dates = pd.date_range("2024-01-01", periods=28)
    rng = np.random.default_rng(0)
    forecasts, actuals = [], []
    for item, group in (("a", "X"), ("b", "X"), ("c", "Y"), ("d", "Y")):
        for k, day in enumerate(dates):
            # Y: 0/10 around a median of 5 with wide intervals at first (WAPE 1, coverage 1),
            # then 4/6 outside narrow ones (WAPE 0.2: better; coverage 0: drifted)
            if group == "Y":
                demand = (0.0, 10.0)[k % 2] if k < 14 else (4.0, 6.0)[k % 2]
            else:
                demand = float(rng.poisson(5))
            actuals.append({"item_id": item, "location_id": "L1", "date": day,
                            "demand": demand, "grp": group})  # fmt: skip
        for origin in (dates[0], dates[14]):
            for step in range(1, 15):
                day = origin + pd.Timedelta(days=step - 1)
                width = 0.5 if (group == "Y" and origin == dates[14]) else 5.0
                forecasts.append({"item_id": item, "location_id": "L1", "date": day,
                                  "step": step, "q0.1": 5.0 - width, "q0.5": 5.0,
                                  "q0.9": 5.0 + width})  # fmt: skip
    # two rows past the actuals: not scored yet (a note says so)
    for step in (15, 16):
        forecasts.append({"item_id": "a", "location_id": "L1",
                          "date": dates[14] + pd.Timedelta(days=step - 1), "step": step,
                          "q0.1": 1.0, "q0.5": 5.0, "q0.9": 9.0})  # fmt: skip
    pd.DataFrame(forecasts).to_csv(tmp_path / "f.csv", index=False)
    pd.DataFrame(actuals).to_csv(tmp_path / "a.csv", index=False)


def test_printed_checks_say_why_a_segment_is_flagged(tmp_path, capsys):
    _tables(tmp_path)
    out = tmp_path / "mon"
    args = ["forecast", "monitor", "--forecasts", str(tmp_path / "f.csv"),
            "--actuals", str(tmp_path / "a.csv"), "--out", str(out)]  # fmt: skip
    assert main(args) == 0
    printed = capsys.readouterr().out
    report = json.loads((out / "monitor.json").read_text())
    checks = pd.DataFrame(report["checks"]).set_index(["segment_type", "segment"])
    row = checks.loc[("grp", "Y")]
    # the case this test is about: flagged for its coverage while its WAPE improved
    assert row["flagged"] and not row["wape_flag"] and row["wape_change"] < 0
    assert row["coverage_drifted"] == "coverage_80"
    line = next(x for x in printed.splitlines() if x.split()[:2] == ["grp", "Y"])
    assert "coverage_80" in line.split()  # the reason, as monitor.json gives it
    header = next(x for x in printed.splitlines() if x.split()[:1] == ["segment_type"])
    assert "wape_flag" in header.split() and "coverage_drifted" in header.split()
    for note in report["notes"]:
        assert note in printed
    assert any("not scored" in note for note in report["notes"])
