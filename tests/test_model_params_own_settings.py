"""A step head or target transform given as a network argument (``model_params``) built that
head while the loss, the learning rate and the whole-count check read the settings of the same
name: a negative binomial head trained by the pinball loss at the quantile TFT's rate."""

import pytest

from forecasting import Forecaster
from forecasting.config import ForecastConfig


@pytest.mark.parametrize(
    "params",
    [{"distribution": "negative_binomial"}, {"target_transform": "log1p"}],
)
def test_head_settings_are_refused_as_network_arguments(params):
    with pytest.raises(ValueError, match=r"model_params: .* forecast settings of their own"):
        ForecastConfig(model="tft", model_params=params)
    with pytest.raises(ValueError, match=r"model_params: .* forecast settings of their own"):
        Forecaster("lstm", horizon=4, model_params=params)


def test_other_network_arguments_still_pass():
    config = ForecastConfig(model="tft", model_params={"hidden_size": 8, "dropout": 0.0})
    assert config.network_params() == {"hidden_size": 8, "dropout": 0.0}
    params = ForecastConfig(model="lstm", distribution="negative_binomial").network_params()
    assert params == {"distribution": "negative_binomial"}
