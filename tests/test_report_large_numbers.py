"""Report tables print numbers in fixed decimals whatever their range: a column holding a fill
rate beside a stock of 23 million units (a summary table, one metric per row) printed as
7.470000e-01 and 2.345679e+07, the count without its last digits."""

import re

import pandas as pd

from serving.report import Report


def test_large_and_small_numbers_keep_their_digits():
    frame = pd.DataFrame(
        {"plan": [0.8195, 1_912_345.678], "rule": [0.7466, 23_456_789.123]},
        index=pd.Index(["fill_rate", "average_stock"], name="metric"),
    )
    html = Report("t").section("s").table(frame).html()
    cells = re.findall(r"<td>(.*?)</td>", html)
    assert cells == ["0.820", "0.747", "1912345.678", "23456789.123"]
