"""Schemathesis against our own OpenAPI schema: no 5xx on any generated request, and every
response matches what the schema says."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from wireflow_site.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/v1/schema?format=json", application)


@pytest.fixture
def fuzz_key(transactional_db, make_team, make_key, settings):
    settings.ALLOWED_HOSTS = ["*"]
    team = make_team(credits=100)
    return make_key(team).raw_key


@schema.parametrize()
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
def test_no_server_errors_and_responses_match_the_schema(case, fuzz_key):
    case.headers = {**(case.headers or {}), "Authorization": f"Bearer {fuzz_key}"}
    response = case.call()
    case.validate_response(response, checks=[not_a_server_error, response_schema_conformance])
