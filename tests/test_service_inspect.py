"""``POST /v1/inspect`` on the live server: multipart view images in, a verdict out.

The answer equals the runtime's; a missing or corrupt view is that view's status and at least
``review`` (200, never 500); a request whose only image is truncated, empty, a text file or too
large is a 4xx naming the view, and the server keeps serving; heatmaps come back as PNGs.
"""

from __future__ import annotations

import base64
import io

import httpx
import pytest
from PIL import Image
from test_service import running

from serving.export import export_run
from serving.runtime import InspectionPackage
from training import ImageTrainConfig
from vision import Inspector
from vision.schema import CLASS_NAMES, VIEW_NAMES
from vision.synthetic import write_synthetic_dataset

SIZE = 32
MAX_PIXELS = 200 * 200


@pytest.fixture(scope="module")
def repo(tmp_path_factory):
    base = tmp_path_factory.mktemp("service_inspect")
    tunnel = write_synthetic_dataset(
        base / "tunnel", 16, seed=31, image_size=SIZE, defect_rate=0.3, progress=False
    )
    good = write_synthetic_dataset(
        base / "good", 12, seed=32, image_size=SIZE, defect_rate=0.0, progress=False
    )
    fast = ImageTrainConfig(max_epochs=1, batch_size=8, accelerator="cpu", progress_bar=False)
    inspector = Inspector(
        width=8, image_size=SIZE, head_dim=16, target_frr=0.2, review_rate=0.1, train=fast
    )
    inspector.fit(tunnel, run_dir=base / "run").calibrate(good, progress=False)
    package = export_run(base / "run", base / "repo", "tunnel")
    return base / "repo", package, tunnel


@pytest.fixture(scope="module")
def server(repo):
    with running(repo[0], max_pixels=MAX_PIXELS) as url:
        yield url


def _views(tunnel, item_id: str) -> dict[str, bytes]:
    return {v: (tunnel / "items" / item_id / f"{v}.png").read_bytes() for v in VIEW_NAMES}


def _post(url: str, views: dict[str, bytes], **fields) -> httpx.Response:
    files = [(name, (f"{name}.png", data, "image/png")) for name, data in views.items()]
    return httpx.post(f"{url}/v1/inspect", files=files, data=fields, timeout=60)


def _png(width: int, height: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), (120, 40, 40)).save(buffer, format="PNG")
    return buffer.getvalue()


@pytest.mark.slow
def test_inspect_round_trip_equals_the_runtime(server, repo):
    folder, package, tunnel = repo
    views = _views(tunnel, "s31-00002")
    response = _post(server, views, product_id="P0003", item_id="s31-00002", heatmaps="true")
    assert response.status_code == 200, response.text
    body = response.json()
    runtime = InspectionPackage(package)
    job = runtime.prepare_item(views, "P0003", "s31-00002")
    expected = runtime.finish_item(job, runtime.model.run(job.feeds))
    assert body["model"] == "tunnel" and body["version"] == "1"
    assert body["provider"] == "CPUExecutionProvider" and body["item_id"] == "s31-00002"
    assert body["verdict"] == expected["verdict"] and body["status"] == expected["status"]
    assert body["reasons"] == expected["reasons"]
    for name in CLASS_NAMES:
        assert body["scores"][name] == pytest.approx(expected["scores"][name], abs=1e-6)
    assert [v["view"] for v in body["views"]] == list(VIEW_NAMES)
    for got, want in zip(body["views"], expected["views"], strict=True):
        assert got["status"] == "ok" and got["scores"] == pytest.approx(want["scores"], abs=1e-6)
        assert base64.b64decode(got["heatmap_png"]).startswith(b"\x89PNG")
    plain = _post(server, views, product_id="P0003").json()
    assert plain["item_id"] == "item" and all(v["heatmap_png"] is None for v in plain["views"])


def test_a_missing_or_corrupt_view_is_that_views_status_and_at_least_review(server, repo):
    views = _views(repo[2], "s31-00004")
    views.pop("top")
    views["left"] = b"\x89PNG\r\n\x1a\n not really"
    views["back"] = _png(400, 400)  # over the server's pixel limit
    response = _post(server, views, product_id="P0001")
    assert response.status_code == 200, response.text
    body = response.json()
    status = {v["view"]: (v["status"], v["error"]) for v in body["views"]}
    assert status["top"] == ("missing", None)
    assert status["left"][0] == "unreadable" and "not a readable image" in status["left"][1]
    assert status["back"][0] == "unreadable" and "more than the limit" in status["back"][1]
    assert status["front"] == ("ok", None)
    assert body["status"] == "partial" and body["verdict"] in ("review", "reject")
    assert "incomplete inspection" in body["reasons"] or body["verdict"] == "reject"
    assert any("view 'top': missing" in e for e in body["errors"])


def test_a_view_name_the_model_does_not_have_is_a_422_naming_it(server, repo):
    """A misspelt view ("frnt") beside good ones is the client's error, not a silently
    dropped photo."""
    views = _views(repo[2], "s31-00003")
    views["frnt"] = views["front"]
    response = _post(server, views, product_id="P0001")
    assert response.status_code == 422, response.text
    assert response.json()["detail"].startswith("frnt: not a view of this model (tunnel;")
    views.pop("frnt")
    assert _post(server, views, product_id="P0001").status_code == 200


@pytest.mark.parametrize(
    "data, problem",
    [
        (None, "cannot decode image"),  # truncated
        (b"", "not a readable image"),  # zero bytes
        (b"item,colour\nA,red\n", "not a readable image"),  # a text file
        (_png(400, 400), "more than the limit of 40000"),
    ],
    ids=["truncated", "empty", "text", "too-large"],
)
def test_a_request_whose_only_image_is_bad_is_4xx_naming_the_view(server, repo, data, problem):
    good = _views(repo[2], "s31-00001")["front"]
    if data is None:
        data = good[: len(good) // 2]
    response = _post(server, {"front": data})
    assert response.status_code == 422, response.text
    detail = response.json()["detail"]
    assert "front:" in detail and problem in detail
    assert _post(server, {"front": good}).status_code == 200  # still serving


def test_the_openapi_page_shows_the_multipart_form(server):
    """/docs (and the fuzz test) see the form: a file part per view, the text fields."""
    body = httpx.get(f"{server}/openapi.json", timeout=30).json()["paths"]["/v1/inspect"]["post"]
    form = body["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert body["requestBody"]["required"] is True
    for view in VIEW_NAMES:
        assert form["properties"][view]["format"] == "binary"
    assert form["additionalProperties"]["format"] == "binary"  # views of other names
    for field in ("model", "version", "product_id", "item_id", "heatmaps"):
        assert form["properties"][field]["type"] == "string"


def test_malformed_inspect_requests_are_4xx(server, repo):
    good = _views(repo[2], "s31-00001")["front"]
    cases = [
        httpx.post(f"{server}/v1/inspect", json={"front": "x"}, timeout=30),
        httpx.post(f"{server}/v1/inspect", data={"product_id": "P1"}, timeout=30),
        _post(server, {"front": good}, colour="red"),
        _post(server, {"front": good}, model="nope"),
        _post(server, {"frnt": good}),
    ]
    assert [c.status_code for c in cases] == [422, 422, 422, 404, 422], [c.text for c in cases]
    assert "frnt: not a view of this model" in cases[4].json()["detail"]
    assert "colour" in cases[2].json()["detail"]
    blank = _post(server, {"front": good}, model="", product_id="")  # as a browser form sends
    assert blank.status_code == 200, blank.text
    metrics = httpx.get(f"{server}/metrics", timeout=30).text
    assert 'stockcast_requests_total{endpoint="/v1/inspect",status="422"}' in metrics
    assert 'endpoint="/v1/inspect",status="500"' not in metrics


def test_an_image_sent_as_a_text_field_and_spaced_ids_are_named(server, repo):
    good = _views(repo[2], "s31-00001")["front"]
    # a part without a filename arrives as text: it was "no image parts" for the whole form
    text_part = httpx.post(f"{server}/v1/inspect", files=[("front", (None, good))], timeout=30)
    assert text_part.status_code == 422
    assert "front: unknown form field (a view image must be a file part" in text_part.text
    spaced = _post(server, {"front": good}, item_id=" u1", sku="S", location_id="F")
    assert spaced.status_code == 422 and "item_id: ' u1' has leading" in spaced.text
