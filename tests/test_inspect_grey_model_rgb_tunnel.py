"""An --image-mode L model on a tunnel of RGB photos: every view is refused by its mode, and
the fit said numpy's "cannot reshape array of size 0" instead of naming the problem."""

import pytest

from training import ImageTrainConfig
from vision import Inspector
from vision.synthetic import write_synthetic_dataset


def test_grey_model_on_rgb_tunnel_names_the_refused_views(tmp_path):
    data = write_synthetic_dataset(tmp_path / "tunnel", 6, image_size=32, progress=False)
    quick = ImageTrainConfig(max_epochs=1, batch_size=8, accelerator="cpu", progress_bar=False)
    inspector = Inspector(width=8, image_size=32, head_dim=16, image_mode="L", train=quick)
    with pytest.raises(ValueError, match="no item has a readable view.*image mode 'RGB'"):
        inspector.fit(data, run_dir=tmp_path / "run")
    assert not (tmp_path / "run").exists()
