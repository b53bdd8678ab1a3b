"""Two saves of the same weights are the same bytes (a seed repeats a run to its checksums).

torch.save given a path names the zip archive's records after the file: the weights went
through atomic_write's random temporary name (".model.pt.d4hhzdam/data.pkl"), so two runs of
one seed wrote identical weights as different model.pt bytes and different sha256 in the run
manifest."""

from types import SimpleNamespace

import torch

from vision.run import write_model_files


def test_model_weights_file_is_byte_identical(tmp_path):
    torch.manual_seed(0)
    net = torch.nn.Linear(3, 2)
    model = SimpleNamespace(net=net, catalog=SimpleNamespace(mode="none", catalog=None))
    blobs = []
    for name in ("a", "b"):
        folder = tmp_path / name
        folder.mkdir()
        write_model_files(folder, model)
        blobs.append((folder / "model.pt").read_bytes())
        state = torch.load(folder / "model.pt", weights_only=True)
        assert torch.equal(state["weight"], net.weight.detach())
    assert blobs[0] == blobs[1]


def test_forecaster_weights_file_is_byte_identical(tmp_path):
    from training.forecaster import NeuralForecaster

    torch.manual_seed(0)
    net = torch.nn.LSTM(2, 3)
    forecaster = object.__new__(NeuralForecaster)  # only its weights are saved here
    forecaster._require_fitted = lambda: (net, None, None)
    forecaster.save_weights(tmp_path / "a" / "model.pt")
    forecaster.save_weights(tmp_path / "b" / "model.pt")
    first = (tmp_path / "a" / "model.pt").read_bytes()
    assert first == (tmp_path / "b" / "model.pt").read_bytes()
