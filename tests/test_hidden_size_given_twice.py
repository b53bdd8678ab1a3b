"""The network width given both as the ``hidden_size`` setting and in ``model_params``: the
setting was built (an LSTM of width 8) while the run recorded ``model_params: {hidden_size:
32}`` beside it, and nothing said which one the network had. Two different widths are refused
by name; the same width twice, or either alone, is accepted and built."""

import pytest

from forecasting.config import ForecastConfig


def test_two_different_widths_are_refused():
    with pytest.raises(ValueError, match="hidden_size: 8 as a setting and 32 in model_params"):
        ForecastConfig(hidden_size=8, model_params={"hidden_size": 32})
    with pytest.raises(ValueError, match="hidden_size"):
        ForecastConfig.from_dict({"hidden_size": 16, "model_params": {"hidden_size": 64}})


@pytest.mark.parametrize(
    "settings,width",
    [
        ({"hidden_size": 8, "model_params": {"hidden_size": 8}}, 8),
        ({"model_params": {"hidden_size": 32}}, 32),
        ({"hidden_size": 16}, 16),
    ],
)
def test_one_width_is_the_networks(settings, width):
    assert ForecastConfig(**settings).network_params()["hidden_size"] == width
