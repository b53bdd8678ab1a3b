"""A key column declared also as a covariate (``--target-col units --known-reals units``) is
refused as the key column it is: it was refused as a "missing column" of a table that has it
(the key columns are renamed before the covariates are looked up)."""

from __future__ import annotations

import re

import pytest

from forecasting import PanelSpec


@pytest.mark.parametrize(
    "key, role, named",
    [
        ("target_col", "known_reals", "the target column (target_col, --target-col)"),
        ("target_col", "observed_reals", "the target column"),
        ("item_col", "static_reals", "the item column (item_col, --item-col)"),
        ("location_col", "static_categoricals", "the location column"),
        ("date_col", "known_categoricals", "the date column"),
    ],
)
def test_a_key_column_declared_as_a_covariate_is_refused_by_name(key, role, named):
    with pytest.raises(ValueError, match=re.escape(f"{role}: 'units' is {named}")):
        PanelSpec(**{key: "units", role: ("units",)})
    # The canonical names stay refused: a covariate named 'demand' beside --target-col units.
    with pytest.raises(ValueError, match="'demand' is a key column"):
        PanelSpec(target_col="units", known_reals=("demand",))
