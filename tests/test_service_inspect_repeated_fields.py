"""``POST /v1/inspect`` with a text field given twice: the form was read as a dict, so the last
value won without a word (two ``item_id`` values: the unit answered and queued under the
second; an empty one after it hid it), and a text part named like an image part beside it was
dropped. Each is a 422 naming the field, as two image parts for one view are."""

from __future__ import annotations

import pytest


@pytest.mark.parametrize(
    ("field", "values"),
    [("item_id", ["u1", "u2"]), ("product_id", ["P0001", "P0002"]), ("heatmaps", ["1", "0"])],
)
def test_a_text_field_given_twice_is_refused_naming_it(inspect_client, field, values):
    http, files = inspect_client
    answer = http.post("/v1/inspect", files=files, data={field: values})
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"].startswith(f"{field}:")


def test_a_text_part_beside_an_image_part_of_the_same_name_is_refused(inspect_client):
    http, files = inspect_client
    view = files[0][0]
    answer = http.post("/v1/inspect", files=files, data={view: "abc"})
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"].startswith(f"{view}:")


def test_an_empty_repeat_neither_hides_the_value_nor_is_refused(inspect_client):
    http, files = inspect_client
    answer = http.post("/v1/inspect", files=files, data={"item_id": ["u1", ""], "sku": ""})
    assert answer.status_code == 200, answer.text
    assert answer.json()["item_id"] == "u1"


@pytest.mark.parametrize(
    ("given", "missing"),
    [({"sku": "S1"}, "item_id, location_id"), ({"item_id": "u9", "location_id": "FC1"}, "sku")],
)
def test_half_a_unit_names_every_field_it_lacks(inspect_client, given, missing):
    """The README: a request with `sku` or `location_id` but not all three is a 422 naming
    what is missing; only the first missing field was named."""
    http, files = inspect_client
    answer = http.post("/v1/inspect", files=files, data=given)
    assert answer.status_code == 422, answer.text
    assert answer.json()["detail"].startswith(f"{missing}: missing"), answer.text
