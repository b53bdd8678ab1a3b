"""A resnet18 of width 8 trained on photos of 192 px or more killed the process: oneDNN's
AVX-512 weight gradient of the layer2 shortcut (a 1x1 convolution, 8 -> 16 channels, stride 2)
crashes on the channels-last inputs training used (a segmentation fault, no error, no run).
Such a network trains in the default layout. Run in a child process, since the failure is a
crash of the process itself."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
from PIL import Image

ROOT = Path(__file__).resolve().parents[1]

SCRIPT = textwrap.dedent(
    """
    import sys
    from training import ImageTrainConfig
    from vision import Inspector

    quick = ImageTrainConfig(max_epochs=1, batch_size=8, accelerator="cpu", progress_bar=False)
    inspector = Inspector(width=8, head_dim=16, image_size=192, train=quick)
    inspector.fit(sys.argv[1])
    print("fitted", inspector.model.image_size)
    """
)


def _class_folders(root: Path) -> Path:
    rng = np.random.default_rng(0)
    for cls, n in (("good", 8), ("damage", 4)):
        (root / cls).mkdir(parents=True)
        for i in range(n):
            pixels = (rng.random((192, 192, 3)) * 60 + 100).astype(np.uint8)
            if cls == "damage":
                pixels[40:90, 40:90] = 10
            Image.fromarray(pixels).save(root / cls / f"{cls}_{i}.png")
    return root


def test_a_width_8_resnet_trains_on_192_px_photos(tmp_path):
    data = _class_folders(tmp_path / "photos")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(data)],
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=300,
    )
    assert done.returncode == 0, (done.returncode, done.stderr[-2000:])
    assert "fitted 192" in done.stdout


def test_only_networks_with_narrow_strided_shortcuts_leave_channels_last():
    from training.inspect_task import channels_last_safe
    from vision.config import ModelSpec
    from vision.run import build_net

    def net(width: int):
        return build_net(ModelSpec(width=width, image_size=64, head_dim=16), ["a"], ["v"])

    assert not channels_last_safe(net(8))
    assert channels_last_safe(net(16))
    assert channels_last_safe(net(64))
