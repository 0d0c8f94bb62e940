"""Schemathesis against our own OpenAPI schema: no 5xx on any generated request, and every
response matches what the schema says."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance

from executions.api import media
from executions.providers import ProviderError
from wireflow_site.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/v1/schema?format=json", application)


@pytest.fixture(autouse=True)
def no_fetches_from_the_internet(monkeypatch):
    """The schema types an upload's `url` as a URI, so generated bodies hold real-looking URLs:
    refuse them as the SSRF guard refuses an unresolvable host, instead of fetching them."""

    def refuse(url):
        raise ProviderError(f"Refusing to fetch {url[:200]}: the fuzz test fetches nothing",
                            kind="invalid")

    monkeypatch.setattr(media, "fetch_url", refuse)


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
