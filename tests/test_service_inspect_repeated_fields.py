"""``POST /v1/inspect`` with a text field given twice: the form was read as a dict, so the last
value won without a word (two ``item_id`` values: the unit answered and queued under the
second; an empty one after it hid it), and a text part named like an image part beside it was
dropped. Each is a 422 naming the field, as two image parts for one view are."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient

from serving.service.app import create_app


@pytest.fixture(scope="module")
def client(inspection_repo):
    repo, views = inspection_repo
    files = [(p.stem, (p.name, p.read_bytes(), "image/png")) for p in views]
    with TestClient(create_app(repo)) as http:
        yield http, files


@pytest.mark.parametrize(
    ("field", "values"),
    [("item_id", ["u1", "u2"]), ("product_id", ["P0001", "P0002"]), ("heatmaps", ["1", "0"])],
)
def test_a_text_field_given_twice_is_refused_naming_it(client, field, values):
    http, files = client
    answer = http.post("/v1/inspect", files=files, data={field: values})
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"].startswith(f"{field}:")


def test_a_text_part_beside_an_image_part_of_the_same_name_is_refused(client):
    http, files = client
    view = files[0][0]
    answer = http.post("/v1/inspect", files=files, data={view: "abc"})
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"].startswith(f"{view}:")


def test_an_empty_repeat_neither_hides_the_value_nor_is_refused(client):
    http, files = client
    answer = http.post("/v1/inspect", files=files, data={"item_id": ["u1", ""], "sku": ""})
    assert answer.status_code == 200, answer.text
    assert answer.json()["item_id"] == "u1"
