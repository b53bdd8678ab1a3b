"""Requests generated from the service's own OpenAPI schema never get a 5xx."""

from __future__ import annotations

import shutil

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.test_service import running

EXAMPLES = 20  # per operation


@pytest.mark.slow
def test_no_request_from_the_schema_makes_a_server_error(lstm_package, inspection_repo, tmp_path):
    """Every operation, /v1/inspect's multipart form of view images included (an inspection
    package is served next to the forecast one)."""
    _, _, root = lstm_package
    repo = tmp_path / "repo"
    shutil.copytree(root / "repo", repo)
    shutil.copytree(inspection_repo[0] / "inspection", repo / "inspection")
    with running(repo, timeout_s=20) as url:
        schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
        schema.config.base_url = url
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 8
        statuses: list[int] = []
        inspected: list[int] = []
        for operation in operations:

            @given(case=operation.as_strategy())
            @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
            def call(case):
                response = case.call(base_url=url, timeout=60)
                statuses.append(response.status_code)
                if case.path == "/v1/inspect":
                    inspected.append(response.status_code)
                assert response.status_code < 500, (
                    f"{case.method} {case.formatted_path}: {response.status_code} "
                    f"{response.text[:300]}\n{case.as_curl_command()}"
                )

            call()
        assert len(statuses) >= 3 * len(operations)
        assert len(inspected) >= 3 and 422 in inspected  # the form is generated and sent
        assert any(400 <= s < 500 for s in statuses) and 200 in statuses
