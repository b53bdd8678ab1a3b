"""An OIP v2 FP32 value past float32's range (1e39) is a 422 naming the input, as an INT64 of
1.5 or a UINT8 of 300 is: NumPy made it infinite and the graph answered 200 with a forecast
of a series whose history it read as unobserved."""

from __future__ import annotations

import math


def _request(client, name: str, value) -> dict:
    meta = client.get(f"/v2/models/{name}").json()
    tensors = []
    for t in meta["inputs"]:
        shape = [1 if d == -1 else d for d in t["shape"]]
        fill = "" if t["datatype"] == "BYTES" else 0
        tensors.append({**t, "shape": shape, "data": [fill] * math.prod(shape)})
    for t in tensors:
        if t["name"] == "history":
            t["data"] = [value] * len(t["data"])
    return {"inputs": tensors}


def test_fp32_values_past_its_range_are_refused(lstm_client):
    client = lstm_client  # the service over a copy of the shared LSTM package
    name = "lstm"
    for value in (1e39, -1e39, 3.5e38):
        reply = client.post(f"/v2/models/{name}/infer", json=_request(client, name, value))
        assert reply.status_code == 422, (value, reply.text[:300])
        assert "inputs.history" in reply.json()["detail"]


def test_fp32_values_in_range_and_null_still_run(lstm_client):
    client = lstm_client
    for value in (3.4e38, 2.5, 0, None):
        reply = client.post("/v2/models/lstm/infer", json=_request(client, "lstm", value))
        assert reply.status_code == 200, (value, reply.text[:300])
