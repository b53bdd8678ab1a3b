"""An inspection package reads only files whose sha256 its manifest checks, as a forecast
package does: a graph or catalog the manifest does not list is refused, and the service keeps
it out of the versions it serves."""

from __future__ import annotations

import json
import shutil

import pytest

from kernels.io import FileError
from serving.runtime.inspection import InspectionPackage
from serving.service.repository import ModelRepository


@pytest.fixture(scope="module")
def package(tmp_path_factory):
    from serving.export import export_run
    from training import ImageTrainConfig
    from vision import Inspector
    from vision.synthetic import write_synthetic_dataset

    root = tmp_path_factory.mktemp("inspection_files")
    tunnel = write_synthetic_dataset(root / "tunnel", 16, image_size=32, progress=False)
    good = write_synthetic_dataset(
        root / "good", 12, seed=22, image_size=32, defect_rate=0.0, progress=False
    )
    fast = ImageTrainConfig(max_epochs=1, batch_size=8, accelerator="cpu", progress_bar=False)
    inspector = Inspector(width=8, image_size=32, head_dim=16, target_frr=0.2, train=fast)
    inspector.fit(tunnel, run_dir=root / "run").calibrate(good, progress=False)
    return export_run(root / "run", root / "repo", "inspection")


@pytest.mark.parametrize("unlisted", ["model.onnx", "catalog.csv"])
def test_a_file_the_manifest_does_not_check_is_refused(package, tmp_path, unlisted):
    repo = tmp_path / "repo"
    shutil.copytree(package, repo / "inspection" / "1")
    shutil.copytree(package, repo / "inspection" / "2")
    manifest_path = repo / "inspection" / "2" / "manifest.json"
    manifest = json.loads(manifest_path.read_text())
    assert unlisted in manifest["files"]
    del manifest["files"][unlisted]  # e.g. a hash removed to get past a mismatch
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(FileError, match=f"{unlisted}.*not among the files it checks"):
        InspectionPackage(repo / "inspection" / "2")
    repository = ModelRepository(repo)
    repository.scan()
    assert sorted(repository.snapshot.models["inspection"]) == ["1"]
    assert ("inspection", "2") in repository.refused
