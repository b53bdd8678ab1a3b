"""A 404 for an unknown version lists the served versions in the order "latest" uses: numbers,
not strings. Sorted as strings it said ``serving: ['11', '2', '9']``, whose last entry is not the
version a request without one gets (11)."""

from serving.service.repository import Snapshot


def test_an_unknown_version_lists_the_served_ones_in_numeric_order():
    snapshot = Snapshot({"lstm": {v: f"lstm/{v}" for v in ("11", "2", "9")}})
    try:
        snapshot.get("lstm", "5")
    except KeyError as exc:
        message = exc.args[0]
    else:
        raise AssertionError("version 5 is not served")
    assert message == "model 'lstm' has no version '5'; serving: ['2', '9', '11']"
    assert snapshot.get("lstm") == "lstm/11"  # the latest: the last one listed
