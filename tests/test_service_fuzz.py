"""Requests generated from the service's own OpenAPI schema never get a 5xx."""

from __future__ import annotations

import shutil

import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.test_service import running

EXAMPLES = 20  # per operation


def test_no_request_from_the_schema_makes_a_server_error(lstm_package, tmp_path):
    _, _, root = lstm_package
    repo = tmp_path / "repo"
    shutil.copytree(root / "repo", repo)
    with running(repo, timeout_s=20) as url:
        schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
        schema.config.base_url = url
        operations = [result.ok() for result in schema.get_all_operations()]
        assert len(operations) >= 8
        statuses: list[int] = []
        for operation in operations:

            @given(case=operation.as_strategy())
            @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
            def call(case):
                response = case.call(base_url=url, timeout=60)
                statuses.append(response.status_code)
                assert response.status_code < 500, (
                    f"{case.method} {case.formatted_path}: {response.status_code} "
                    f"{response.text[:300]}\n{case.as_curl_command()}"
                )

            call()
        assert len(statuses) >= 3 * len(operations)
        assert any(400 <= s < 500 for s in statuses) and 200 in statuses
