"""Schemathesis against our own OpenAPI schema, with every check it has: no 5xx on any generated
request, every status code, content type, header and body is one the schema documents, invalid
data is refused and valid data accepted (save the documented business refusals below)."""

from __future__ import annotations

import io
import os
import time

import pytest
import schemathesis
from celery.app.task import Task
from django.core.management import call_command
from hypothesis import HealthCheck, settings
from rest_framework.test import APIClient
from schemathesis.checks import CHECKS, load_all_checks
from schemathesis.core.parameters import ParameterLocation

from executions import dispatch
from executions.api import media
from executions.providers import ProviderError
from tests.media_files import pillow
from tests.samples import offline_chain
from wireflow_site.wsgi import application

# Every request the fuzzer sends, its checks' probes included: the README's figure.
SENT = {"requests": 0, "cases": 0, "operations": set()}


def counted(environ, start_response):
    SENT["requests"] += 1
    return application(environ, start_response)


schema = schemathesis.openapi.from_wsgi("/api/v1/schema?format=json", counted)
# No NUL characters in generated values: the API refuses them everywhere with a 400 (PostgreSQL
# stores none), a rule the schema's string types cannot say. tests/api/test_fuzz_findings.py
# sends them on purpose, in bodies, paths and headers.
schema.config.generation.update(allow_x00=False)

load_all_checks()
ALL_CHECKS = CHECKS.get_all()
# The same examples on every run, so a change is judged on what it changed, not on the draw:
# WIREFLOW_FUZZ_RANDOM=1 draws new ones (run it a few times after touching the API).
DERANDOMIZE = os.environ.get("WIREFLOW_FUZZ_RANDOM") != "1"

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
    "PUT /api/v1/workflows/{workflow_id}": {"positive_data_acceptance": f"{GRAPH}; {SSRF}"},
    "POST /api/v1/workflows/{workflow_id}/execute": {
        "positive_data_acceptance": f"{GRAPH}; {SSRF} (webhookUrl)"},
    "POST /api/v1/workflows/{workflow_id}/run": {
        "positive_data_acceptance": "the draft's saved graph is invalid (422 invalid_graph), "
                                    "and generated input ids name no input node (400)"},
    "POST /api/v1/workflows/{workflow_id}/estimate": {
        "positive_data_acceptance": f"the body is execute's: {SSRF} (webhookUrl)"},
    "PATCH /api/v1/workflows/{workflow_id}/nodes/{node_id}": {
        "positive_data_acceptance": "generated settings are not the node's (unknown keys, wrong "
                                    "types): 422 invalid_graph unless ?strict=false"},
    "POST /api/v1/workflow/{webhook_id}/trigger": {
        "positive_data_acceptance": "triggering the draft runs its saved graph, which is "
                                    "invalid: 422 invalid_graph"},
    "POST /api/v1/assets/zip": {
        "positive_data_acceptance": "generated ids are no asset of the team: 404 not_found "
                                    "(with missingIds), as for another team's"},
    "POST /api/v1/apps": {
        "positive_data_acceptance": "generated workflowIds name no workflow of the team (404) "
                                    "and generated exposedInputs no node of it (400 invalid_app)"},
    "PATCH /api/v1/apps/{slug}": {
        "positive_data_acceptance": "generated exposedInputs name no node of the workflow, and "
                                    "access passcode needs a passcode (400 invalid_app)"},
    "POST /api/v1/apps/{slug}/run": {
        "positive_data_acceptance": "generated input ids name no input of the app (400 "
                                    "invalid_inputs)"},
    "POST /api/v1/workflows/{workflow_id}/merge": {
        "positive_data_acceptance": "a merge needs exactly one of base and baseVersion (400), "
                                    "nodes it can key (objects with unique string ids, else "
                                    "400) and a baseVersion that exists (404)"},
    "POST /api/v1/batches/{batch_id}/retry": {
        "positive_data_acceptance": "a batch none of whose runs failed has nothing to retry "
                                    "(400 nothing_to_retry)"},
}

@pytest.fixture(scope="module", autouse=True)
def report_the_figures(request):
    started, before = time.monotonic(), SENT["requests"]
    yield
    if SENT["requests"] == before:  # set up again for a test that sent nothing
        return
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


@pytest.fixture(autouse=True)
def no_tasks(monkeypatch):
    """Runs are created, charged, refused and replayed as usual, but none is dispatched: the
    fuzzer's hundreds of runs would otherwise hold the providers' slots in Redis (and fill the
    suite's queue) for the live workers of later tests."""
    monkeypatch.setattr(dispatch, "node_runs_enqueue_on_commit", lambda ready: None)
    monkeypatch.setattr(Task, "apply_async", lambda self, *args, **kwargs: None)
    monkeypatch.setattr(dispatch, "broker_publish", lambda *args, **kwargs: "")


@pytest.fixture
def fuzz_key(transactional_db, make_team, make_key, settings):
    settings.ALLOWED_HOSTS = ["*"]
    settings.RATE_LIMITS_ENABLED = False  # the fuzzer sends ~50 requests per operation
    team = make_team(credits=100)
    return make_key(team).raw_key


@pytest.fixture
def real_ids(fuzz_key):
    """Objects that exist, so generated requests reach past the 404 of a made-up id: a valid
    workflow, a draft saved with malformed nodes (what `?strict=false` lets the editor keep),
    one of its nodes, a run, a batch and templates."""
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {fuzz_key}")
    valid = client.post("/api/v1/workflows", offline_chain(), format="json").json()["data"]
    draft = client.post("/api/v1/workflows?strict=false", {
        "name": "Draft", "nodes": [*offline_chain()["nodes"], 1, {"id": "odd", "data": 5},
                                   {"id": "odder", "data": {"config": [], "params": 3}}],
        "edges": [2, {"id": "e", "source": [], "target": {}}],
    }, format="json").json()["data"]
    run = client.post(f"/api/v1/workflows/{valid['id']}/execute", {}, format="json").json()
    batch = client.post(f"/api/v1/workflows/{valid['id']}/execute",
                        {"batch": [{}, {}]}, format="json").json()
    from accounts.models import ApiKey

    image = io.BytesIO(pillow("PNG"))
    image.name = "a.png"
    asset = client.post("/api/v1/media/upload", {"file": image},
                        format="multipart").json()["data"]
    # The key's own team and key, so the team endpoints answer with its members, usage and
    # activity (managing members and keys needs a signed-in member: those stay 403 here).
    key = ApiKey.objects.get()
    team = {"team_id": key.team_id, "key_id": key.pk, "number": 1}
    # A built-in starter (by slug) and a template of the key's team saved from the workflow.
    template = client.post(f"/api/v1/workflows/{valid['id']}/template", {},
                           format="json").json()["data"]
    # A client app of the valid workflow, so /apps/{slug} reaches past the 404.
    app = client.post("/api/v1/apps", {"workflowId": valid["id"], "title": "Fuzzed",
                                       "dailyCreditCap": 1000, "access": "link"},
                      format="json").json()["data"]
    return [
        {"workflow_id": valid["id"], "webhook_id": valid["webhookId"],
         "node_id": valid["nodes"][0]["id"], "execution_id": run["executionId"],
         "batch_id": batch["batchId"], "asset_id": asset["id"],
         "template_id": "storyboard-frames", "slug": app["slug"], **team},
        {"workflow_id": draft["id"], "webhook_id": draft["webhookId"], "node_id": "odd",
         "execution_id": batch["executionId"], "batch_id": batch["batchId"],
         "asset_id": asset["id"], "template_id": template["id"], "slug": app["slug"], **team},
    ]


@schema.parametrize()
@settings(max_examples=8, deadline=None, suppress_health_check=list(HealthCheck),
          derandomize=DERANDOMIZE)
def test_every_check_passes(case, fuzz_key, real_ids):
    # Two cases in three aim at objects that exist (unless the case's point is a bad path).
    SENT["cases"] += 1
    if case.path_parameters and not case.meta.is_negative_at(ParameterLocation.PATH) \
            and SENT["cases"] % 3:
        ids = real_ids[SENT["cases"] % 3 - 1]
        case.path_parameters = {name: ids.get(name, value)
                                for name, value in case.path_parameters.items()}
    # Given as the caller's own headers, so `ignored_auth` knows the key is real and probes
    # the same request without it and with a wrong one.
    auth = {"Authorization": f"Bearer {fuzz_key}"}
    response = case.call(headers=auth)
    SENT["operations"].add(case.operation.label)
    case.validate_response(response, checks=ALL_CHECKS, excluded_checks=excluded_checks(case),
                           headers=auth)


def excluded_checks(case) -> list:
    return [check for check in ALL_CHECKS
            if check.__name__ in VALID_BUT_REFUSED.get(case.operation.label, {})]


class Scenarios(schema.as_state_machine()):
    """Chains of calls along the links schemathesis infers (create a workflow, then read, run,
    patch, delete it…), so the checks that need a history run too: `use_after_free` (a deleted
    workflow stays gone) and `ensure_resource_availability` (a created one can be read)."""

    key = ""

    def get_call_kwargs(self, case):
        return {"headers": {"Authorization": f"Bearer {self.key}"}}

    def validate_response(self, response, case, additional_checks=None, **kwargs):
        SENT["cases"] += 1
        SENT["operations"].add(case.operation.label)
        case.validate_response(response, checks=ALL_CHECKS, excluded_checks=excluded_checks(case),
                               headers=kwargs.get("headers"), transport_kwargs=kwargs,
                               recorder=self.recorder)


def test_every_check_passes_along_chains_of_calls(fuzz_key):
    Scenarios.key = fuzz_key
    Scenarios.run(settings=settings(max_examples=100, stateful_step_count=8, deadline=None,
                                    suppress_health_check=list(HealthCheck),
                                    derandomize=DERANDOMIZE))


def test_the_schema_builds_valid_with_no_warnings(tmp_path):
    """No spectacular warnings (colliding enum names, unresolvable fields) and a valid OpenAPI
    document: `--fail-on-warn` turns any warning into a failure."""
    call_command("spectacular", "--fail-on-warn", "--validate", "--file",
                 str(tmp_path / "schema.yaml"))
