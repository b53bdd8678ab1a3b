"""`inspect calibrate` changes a run's thresholds and calibration settings, nothing else: the
flags that say how this call reads its data (``--min-view-size``, the layout it detects,
``--accelerator``) are not saved as the run's. They were: the run's config then said
``min_view_size`` 8 while its preprocessing (what `export` gives the package) said 16, so
`inspect score --run` scored a 12 px view that the package refused, and a run trained on
``layout: tunnel`` read ``auto`` from then on.
"""

from PIL import Image

from kernels.runfolder import read_manifest
from serving.cli import main
from training import ImageTrainConfig
from vision import Inspector
from vision.synthetic import write_synthetic_dataset


def test_calibrate_flags_are_not_saved_as_the_runs_settings(tmp_path):
    tunnel = write_synthetic_dataset(tmp_path / "tunnel", 24, seed=21, image_size=32,
                                     defect_rate=0.3, progress=False)  # fmt: skip
    good = write_synthetic_dataset(tmp_path / "good", 12, seed=22, image_size=32,
                                   defect_rate=0.0, progress=False)  # fmt: skip
    fast = ImageTrainConfig(max_epochs=1, batch_size=8, accelerator="cpu", progress_bar=False)
    Inspector(width=8, image_size=32, head_dim=16, layout="tunnel", train=fast).fit(
        tunnel, run_dir=tmp_path / "run"
    )
    code = main(["inspect", "calibrate", "--run", str(tmp_path / "run"), "--data", str(good),
                 "--min-view-size", "8", "--accelerator", "cpu", "--target-frr", "0.25",
                 "--no-progress"])  # fmt: skip
    assert code == 0
    manifest = read_manifest(tmp_path / "run")
    config = manifest["config"]
    assert config["calibration"]["target_frr"] == 0.25  # what calibrate is for
    assert manifest["thresholds"]["target_frr"] == 0.25
    # The run's own reading settings, as its preprocessing (and so its packages) have them.
    assert config["data"]["min_view_size"] == manifest["preprocessing"]["min_view_size"] == 16
    assert config["data"]["layout"] == "tunnel"
    # A 12 px view is too small for the run, as it is for a package exported from it.
    item = sorted((tunnel / "items").iterdir())[0]
    view = sorted(item.glob("*.png"))[0]
    Image.open(view).convert("RGB").resize((12, 12)).save(view)
    items, _ = Inspector.load(tmp_path / "run").score(tunnel, progress=False, heatmaps=False)
    row = items.set_index("item_id").loc[item.name]
    assert row["status"] == "partial" and row["verdict"] != "pass"
