"""Fuzz every operation in /openapi.json with schemathesis: no input may make the server answer 5xx.

Also checks that the answers match the document (status codes, content types, schemas), so the
document stays true as the API changes. Bounded: a few dozen generated requests per operation.
"""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import content_type_conformance, status_code_conformance

from tests.web.conftest import running, url


@pytest.fixture(scope="module")
def api_schema(engine):
    # A small body limit keeps generated uploads cheap; the cache is off so every image really runs.
    with running(engine, max_body_bytes=200_000, cache_entries=0) as server:
        yield schemathesis.openapi.from_url(url(server, "/openapi.json"))


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_input_makes_a_server_error(case):
    case.call_and_validate(checks=[not_a_server_error, status_code_conformance, content_type_conformance], timeout=30)
