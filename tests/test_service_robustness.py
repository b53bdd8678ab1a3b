"""The service keeps serving what it can: a version that cannot load is refused alone,
zero-padded version folders are not versions, a stalled upload gets its 504, a closed batcher
answers every request it admitted, and a batch holds at most --max-batch rows."""

from __future__ import annotations

import asyncio
import json
import shutil
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import onnx
import pytest
from fastapi.testclient import TestClient
from test_service import running

from kernels.runfolder import file_hashes
from serving.package import latest, versions
from serving.runtime import ForecastPackage
from serving.service.app import OipJob, _runner, create_app
from serving.service.batching import Batcher, Overloaded
from serving.service.config import ServiceConfig
from serving.service.repository import ModelRepository


def _unknown_opset(folder):
    """A consistent package (every sha256 matches) whose graph declares opset 99."""
    graph = onnx.load(folder / "model.onnx")
    graph.opset_import[0].version = 99
    onnx.save(graph, folder / "model.onnx")
    manifest = json.loads((folder / "manifest.json").read_text())
    (folder / "manifest.json").unlink()
    manifest["files"] = file_hashes(folder)
    (folder / "manifest.json").write_text(json.dumps(manifest))


def _no_task(folder):
    manifest = json.loads((folder / "manifest.json").read_text())
    del manifest["task"]
    (folder / "manifest.json").write_text(json.dumps(manifest))


@pytest.mark.parametrize("break_it", [_unknown_opset, _no_task])
def test_a_version_that_fails_to_load_is_refused_and_the_scan_goes_on(
    lstm_package, tmp_path, break_it
):
    _, package, root = lstm_package
    repo = tmp_path / "repo"
    shutil.copytree(root / "repo", repo)
    repository = ModelRepository(repo)
    assert sorted(repository.scan().models["lstm"]) == ["1"]
    shutil.copytree(repo / "lstm" / "1", repo / "lstm" / "2")
    break_it(repo / "lstm" / "2")
    shutil.copytree(repo / "lstm" / "1", repo / "other" / "1")  # new in the same scan
    snapshot = repository.scan()
    assert sorted(snapshot.models["lstm"]) == ["1"]
    assert sorted(snapshot.models["other"]) == ["1"]
    assert ("lstm", "2") in repository.refused
    # a service started over the repository starts, and serves the loadable versions
    with TestClient(create_app(repo, ServiceConfig(reload_s=60))) as client:
        assert client.get("/v2/health/ready").status_code == 200
        assert client.get("/v2/models/lstm").json()["versions"] == ["1"]


def test_zero_padded_version_folders_are_not_versions(lstm_package, tmp_path):
    _, package, root = lstm_package
    repo = tmp_path / "repo"
    shutil.copytree(root / "repo", repo)
    shutil.copytree(repo / "lstm" / "1", repo / "lstm" / "002")
    assert versions(repo, "lstm") == [1]
    assert latest(repo, "lstm") == repo / "lstm" / "1"
    assert latest(repo, "lstm").is_dir()
    repository = ModelRepository(repo)
    assert sorted(repository.scan().models["lstm"]) == ["1"]
    assert not repository.refused  # nothing to refuse under a name that does not exist


@pytest.mark.parametrize("chunked", [False, True])
def test_a_stalled_upload_is_answered_504_at_the_timeout(lstm_package, tmp_path, chunked):
    _, _, root = lstm_package
    shutil.copytree(root / "repo", tmp_path / "repo")
    body = b'{"model": "lstm", "rows": ['
    if chunked:
        framing = b"Transfer-Encoding: chunked\r\n\r\n" + b"%x\r\n" % len(body) + body + b"\r\n"
    else:
        framing = b"Content-Length: 1000\r\n\r\n" + body
    with running(tmp_path / "repo", timeout_s=0.5) as url:
        host, port = url.split("//")[1].split(":")
        with socket.create_connection((host, int(port))) as sock:
            sock.sendall(
                b"POST /v1/forecast HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                + framing
            )  # and nothing more
            sock.settimeout(5)
            started = time.perf_counter()
            try:
                status = sock.recv(100).split(b"\r\n")[0]
            except TimeoutError:
                status = b"no answer"
    assert status == b"HTTP/1.1 504 Gateway Timeout"
    assert time.perf_counter() - started < 3


def test_closing_past_the_grace_answers_the_running_and_queued_jobs():
    executor = ThreadPoolExecutor(max_workers=1)

    def slow(jobs):
        time.sleep(0.6)
        return list(jobs)

    async def scenario():
        batcher = Batcher(slow, max_batch=1, wait_s=0.0, queue_size=8, executor=executor)
        running = asyncio.ensure_future(batcher.submit("a", 1))
        await asyncio.sleep(0.1)  # "a" is in the executor
        queued = asyncio.ensure_future(batcher.submit("b", 1))
        await asyncio.sleep(0.05)
        await batcher.close(grace_s=0.1)  # the grace runs out while "a" still runs
        done, pending = await asyncio.wait({running, queued}, timeout=3)
        for task in pending:
            task.cancel()
        return done, pending

    done, pending = asyncio.run(scenario())
    executor.shutdown(wait=True)
    assert not pending, "a request admitted by a closed batcher never got an answer"
    for task in done:
        with pytest.raises(Overloaded):
            task.result()


def test_batches_stop_at_max_batch_rows():
    batches: list[list[int]] = []

    def run(jobs):
        batches.append(list(jobs))
        return [job * 10 for job in jobs]

    async def scenario():
        batcher = Batcher(
            run, max_batch=64, wait_s=0.05, queue_size=16, executor=ThreadPoolExecutor(1)
        )
        results = await asyncio.gather(*[batcher.submit(n, n) for n in (50, 50, 10, 40, 100)])
        assert not batcher.busy() and batcher.depth() == 0
        return results

    results = asyncio.run(scenario())
    assert results == [500, 500, 100, 400, 1000]  # each request its own answer
    assert sorted(job for batch in batches for job in batch) == [10, 40, 50, 50, 100]
    assert all(sum(batch) <= 64 or len(batch) == 1 for batch in batches), batches


# An OIP request without rows gets the same answer whether or not another request shares its
# batch (alone the graph refuses it: a 422; it must not become a 200 with empty outputs when a
# request of the same shapes happens to arrive within the batch wait).


def test_a_request_without_rows_is_answered_as_it_is_alone(lstm_package, small_network):
    _, package, _ = lstm_package
    runtime = ForecastPackage(package)
    frame = small_network.to_frame()
    one = frame[frame["item_id"] == frame["item_id"].iloc[0]]
    job = runtime.prepare(one)
    full = OipJob(dict(job.feeds), job.n_windows, True)
    empty = OipJob({k: v[:0] for k, v in job.feeds.items()}, 0, True)
    loaded = type("L", (), {"runtime": runtime})()
    run = _runner(loaded)

    alone = run([empty])[0]
    together = run([empty, full])
    assert type(together[0]) is type(alone)  # the same answer, batched or not
    if isinstance(alone, Exception):
        assert str(together[0]) == str(alone)
    np.testing.assert_allclose(
        together[1]["quantiles"], runtime.model.run(job.feeds)["quantiles"], rtol=1e-6
    )
