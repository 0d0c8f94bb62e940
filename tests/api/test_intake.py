"""Intake: a version's accept work done once (executions.plans) and redone after a save, inputs
still checked as before, and back-pressure (503 + Retry-After) when the workers fall behind."""

from __future__ import annotations

import uuid

import pytest
from rest_framework.test import APIClient

from executions import plans
from executions.models import Execution, NodeRun
from graph.models import Workflow
from tests.samples import offline_chain

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _free_slots():
    """The runs made here never reach a worker: give back the provider slots their queued
    nodes took, and take them out of line, so later tests' nodes are not left waiting."""
    yield
    from executions import slots

    for node_run_id, provider in NodeRun.objects.exclude(provider="").values_list(
            "pk", "provider"):
        for key in slots._keys(provider):
            slots.client().zrem(key, str(node_run_id))


@pytest.fixture
def hook(api):
    data = api.post("/api/v1/workflows", offline_chain(), format="json").json()["data"]
    plans.forget_local()
    return Workflow.objects.get(pk=data["id"]), data["webhookUrl"]


def path_of(url: str) -> str:
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


@pytest.fixture
def plans_made(monkeypatch):
    """How many times a version's accept work was worked out (not read from a cache)."""
    made: list[int] = []
    real = plans.steps_for

    def counting(*args, **kwargs):
        made.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(plans, "steps_for", counting)
    return made


def preview_width(response) -> int:
    run = NodeRun.objects.get(execution_id=response.json()["executionId"], node_id="preview-1")
    return run.config["width"]


def test_a_versions_accept_work_is_done_once_and_again_after_a_save(hook, api, plans_made):
    workflow, url = hook
    trigger = APIClient()
    first = trigger.post(path_of(url), {"text-input-1": "a red sneaker"}, format="json")
    assert first.status_code == 202, first.content
    assert len(plans_made) == 1
    again = trigger.post(path_of(url), {"text-input-1": "a blue sneaker"}, format="json")
    assert again.status_code == 202 and len(plans_made) == 1
    plans.forget_local()  # another process: the plan comes from Redis
    third = trigger.post(path_of(url), {}, format="json")
    assert third.status_code == 202 and len(plans_made) == 1
    # Each run still has its own inputs and the version's settings.
    prompts = [NodeRun.objects.get(execution_id=r.json()["executionId"],
                                   node_id="text-input-1").config["prompt"]
               for r in (first, again)]
    assert prompts == ["a red sneaker", "a blue sneaker"]
    assert preview_width(first) == 512

    saved = api.patch(f"/api/v1/workflows/{workflow.pk}/nodes/preview-1",
                      {"config": {"width": 768}}, format="json")
    assert saved.status_code == 200, saved.content
    after = trigger.post(path_of(url), {}, format="json")
    assert after.status_code == 202
    assert len(plans_made) == 2  # the save made a new version: worked out again
    assert preview_width(after) == 768
    execution = Execution.objects.get(pk=after.json()["executionId"])
    assert execution.workflow_version.number == Workflow.objects.get(pk=workflow.pk).version
    # The price followed the new settings too (what the plan reserved is what an uncached
    # estimate of the new graph says).
    estimate = api.post(f"/api/v1/workflows/{workflow.pk}/estimate", {}, format="json").json()
    assert execution.credits_estimated == estimate["data"]["estimatedCredits"]


def test_an_invalid_graph_gets_no_plan_and_answers_its_422(api, team):
    graph = offline_chain()
    graph["nodes"][1]["data"]["config"]["width"] = 5  # below the minimum
    created = api.post("/api/v1/workflows?strict=false", graph, format="json")
    assert created.status_code == 201, created.content
    workflow = Workflow.objects.get(pk=created.json()["data"]["id"])
    assert plans.version_plan(workflow) is None
    refused = api.post(f"/api/v1/workflows/{workflow.pk}/execute", {}, format="json")
    assert refused.status_code == 422 and refused.json()["code"] == "invalid_graph"


def _uncached(monkeypatch):
    """Today's path: no plan, the whole graph checked, ordered and priced per request."""
    monkeypatch.setattr(plans, "version_plan", lambda workflow: None)


@pytest.mark.parametrize("body", [
    {"text-input-1": ""},  # blank text: the preview it feeds refuses it
    {"text-input-1": "   "},
    {"text-input-1": 42},  # not text
    {"text-input-1": {"prompt": ["a", "list"]}},
], ids=["empty", "blank", "number", "list"])
def test_a_trigger_with_invalid_inputs_gets_the_same_422_as_without_a_plan(
        hook, monkeypatch, body):
    _, url = hook
    trigger = APIClient()
    assert trigger.post(path_of(url), {}, format="json").status_code == 202  # plan made
    cached = trigger.post(path_of(url), body, format="json")
    with monkeypatch.context() as patch:
        _uncached(patch)
        uncached = trigger.post(path_of(url), body, format="json")
    assert cached.status_code == uncached.status_code == 422
    assert cached.json() == uncached.json()
    assert cached.json()["code"] == "invalid_graph" and cached.json()["violations"]


@pytest.mark.parametrize("inputs", [
    {"preview-1": {"width": 5}},
    {"preview-1": {"width": "wide"}},
    {"preview-1": {"seed": -1}},
    {"upscale-1": {"scale": 99}},
], ids=["below-min", "not-a-number", "bad-seed", "bad-scale"])
def test_execute_with_invalid_inputs_gets_the_same_422_as_without_a_plan(
        hook, api, monkeypatch, inputs):
    workflow, _ = hook
    path = f"/api/v1/workflows/{workflow.pk}/execute"
    assert api.post(path, {}, format="json").status_code == 201  # plan made
    cached = api.post(path, {"inputs": inputs}, format="json")
    with monkeypatch.context() as patch:
        _uncached(patch)
        uncached = api.post(path, {"inputs": inputs}, format="json")
    assert cached.status_code == uncached.status_code == 422
    assert cached.json() == uncached.json()


def test_valid_inputs_with_a_plan_run_as_without_one(hook, api, monkeypatch):
    workflow, _ = hook
    path = f"/api/v1/workflows/{workflow.pk}/execute"
    inputs = {"inputs": {"text-input-1": "a lighthouse", "preview-1": {"width": 640}}}
    cached = api.post(path, inputs, format="json")
    with monkeypatch.context() as patch:
        _uncached(patch)
        uncached = api.post(path, inputs, format="json")
    assert cached.status_code == uncached.status_code == 201

    def shape(response):
        execution = Execution.objects.get(pk=response.json()["executionId"])
        runs = NodeRun.objects.filter(execution=execution).order_by("position")
        # Statuses past the start are the workers' (a live worker of the session may have
        # taken a queued node already): only the ones the start sets are compared.
        return (execution.credits_estimated, execution.workflow_version_id,
                [(r.node_id, r.status if r.status == "COMPLETED" and not r.upstream else "-",
                  r.config, r.upstream, r.waiting_inputs, r.label) for r in runs])

    assert shape(cached) == shape(uncached)
    assert shape(cached)[2][1][2]["width"] == 640


# --- back-pressure ------------------------------------------------------------------------------

@pytest.fixture
def backlog(settings):
    """Queues of this test's own, a bound of 2 waiting node runs, read on every request."""
    from executions.dispatch import _broker_client

    name = f"intake-test-{uuid.uuid4().hex[:8]}"
    settings.CELERY_TASK_DEFAULT_QUEUE, settings.CELERY_REMOTE_QUEUE = name, f"{name}.remote"
    settings.INTAKE_QUEUE_LIMIT, settings.INTAKE_QUEUE_CHECK_EVERY = 2, 0
    settings.INTAKE_RETRY_AFTER = 7
    client = _broker_client()
    yield lambda count: client.rpush(name, *[b"waiting"] * count)
    client.delete(name, f"{name}.remote")


def test_past_the_backlog_bound_triggers_and_execute_answer_503_with_retry_after(
        hook, api, backlog):
    workflow, url = hook
    trigger = APIClient()
    backlog(1)
    assert trigger.post(path_of(url), {}, format="json").status_code == 202  # under the bound
    backlog(1)
    before = Execution.objects.count()
    refused = trigger.post(path_of(url), {}, format="json")
    assert refused.status_code == 503
    assert refused["Retry-After"] == "7"
    assert refused["Access-Control-Allow-Origin"] == "*"
    body = refused.json()
    assert body["code"] == "overloaded" and "try again later" in body["error"]
    assert isinstance(body["retryAfter"], int)
    executed = api.post(f"/api/v1/workflows/{workflow.pk}/execute", {}, format="json")
    assert executed.status_code == 503 and executed["Retry-After"] == "7"
    batch = api.post(f"/api/v1/workflows/{workflow.pk}/execute", {"batch": [{}, {}]},
                     format="json")
    assert batch.status_code == 503
    assert Execution.objects.count() == before  # nothing accepted, nothing half-made


def test_a_503_is_not_kept_by_idempotency(hook, api, backlog):
    from django.conf import settings

    from executions.dispatch import _broker_client

    workflow, _ = hook
    path = f"/api/v1/workflows/{workflow.pk}/execute"
    backlog(2)
    headers = {"HTTP_IDEMPOTENCY_KEY": "retry-me"}
    assert api.post(path, {}, format="json", **headers).status_code == 503
    _broker_client().delete(settings.CELERY_TASK_DEFAULT_QUEUE)
    accepted = api.post(path, {}, format="json", **headers)
    assert accepted.status_code == 201  # the retry ran: the 503 was not replayed


def test_inputs_that_name_another_image_are_priced_at_its_size_not_the_plans(api, team,
                                                                              settings, tmp_path):
    """The version's plan prices its saved upload (1600×1200 into Clarity ×2: 24 credits); a
    run whose inputs name a smaller upload is priced at that one's size (800×600 ×2: 2 MP, 6),
    and one naming an external URL at the ceiling, in the estimate and in what the run holds."""
    from tests.api.test_media_usage_credits import cap_quote, png, upscale_of

    settings.MEDIA_ROOT = tmp_path
    saved, small = (api.post("/api/v1/media/upload", {"file": png(size)},
                             format="multipart").json()["data"]["url"]
                    for size in ((1600, 1200), (800, 600)))
    workflow_id = api.post("/api/v1/workflows", upscale_of(saved),
                           format="json").json()["data"]["id"]
    plans.forget_local()

    def held(body) -> tuple[int, int]:
        """What the estimate quotes, and what the run holds (or, refused, requires)."""
        quote = api.post(f"/api/v1/workflows/{workflow_id}/estimate", body, format="json")
        run = api.post(f"/api/v1/workflows/{workflow_id}/execute", body, format="json")
        if run.status_code == 402:
            return quote.json()["data"]["estimatedCredits"], run.json()["requiredCredits"]
        assert run.status_code == 201, run.json()
        execution = Execution.objects.get(pk=run.json()["executionId"])
        assert execution.credits_reserved == execution.credits_estimated
        return quote.json()["data"]["estimatedCredits"], execution.credits_estimated

    assert held({}) == (24, 24)  # the plan is made here, with the saved upload's size
    assert held({"inputs": {"photo": small}}) == (6, 6)
    # The team's balance covers the exact quotes, not the pixel cap's (a 402 names it).
    team.refresh_from_db()
    assert team.credit_balance < cap_quote()
    assert held({"inputs": {"photo": "https://images.example.com/a.png"}}) == (cap_quote(),) * 2
    assert held({}) == (24, 24)
