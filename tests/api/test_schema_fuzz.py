"""Schemathesis against our own OpenAPI schema, with every check it has: no 5xx on any generated
request, every status code, content type, header and body is one the schema documents, invalid
data is refused and valid data accepted (save the documented business refusals below)."""

from __future__ import annotations

import time

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import CHECKS, load_all_checks

from executions.api import media
from executions.providers import ProviderError
from wireflow_site.wsgi import application

# Every request the fuzzer sends, its checks' probes included: the README's figure.
SENT = {"requests": 0, "cases": 0, "operations": set()}


def counted(environ, start_response):
    SENT["requests"] += 1
    return application(environ, start_response)


schema = schemathesis.openapi.from_wsgi("/api/v1/schema?format=json", counted)

load_all_checks()
ALL_CHECKS = CHECKS.get_all()

# Where `positive_data_acceptance` cannot hold, and why. Data valid per the schema is refused
# here for business reasons the schema cannot express (a 4xx the operation documents):
SSRF = ("a URL is fetched or called only if its host resolves to a public address (the SSRF "
        "guard); generated hosts do not resolve, and the test fetches nothing")
GRAPH = ("generated nodes and edges are well-formed JSON but not a valid graph (unknown node "
         "types, dangling edges): 422 invalid_graph, as api.md documents")
VALID_BUT_REFUSED = {
    "POST /api/v1/media/upload": {"positive_data_acceptance": SSRF + "; a generated file is "
                                  "not an image (400 invalid_media / 415)"},
    "POST /api/v1/workflows": {"positive_data_acceptance": f"{GRAPH}; {SSRF}"},
}

@pytest.fixture(scope="module", autouse=True)
def report_the_figures(request):
    started = time.monotonic()
    yield
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print(f"\nschemathesis, all checks: {len(SENT['operations'])} operations, "
              f"{SENT['cases']} generated cases, {SENT['requests']} requests, "
              f"{time.monotonic() - started:.0f} s")


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
    settings.RATE_LIMITS_ENABLED = False  # the fuzzer sends ~40 requests per operation
    team = make_team(credits=100)
    return make_key(team).raw_key


@schema.parametrize()
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck))
def test_every_check_passes(case, fuzz_key):
    # Given as the caller's own headers, so `ignored_auth` knows the key is real and probes
    # the same request without it and with a wrong one.
    auth = {"Authorization": f"Bearer {fuzz_key}"}
    response = case.call(headers=auth)
    SENT["cases"] += 1
    SENT["operations"].add(case.operation.label)
    excluded = [check for check in ALL_CHECKS
                if check.__name__ in VALID_BUT_REFUSED.get(case.operation.label, {})]
    case.validate_response(response, checks=ALL_CHECKS, excluded_checks=excluded, headers=auth)
