"""The MCP tools' `idempotencyKey` through their operations (no live server): the REST
Idempotency-Key's service, so a refusal is replayed as it was first given, the key is per API
key, and a key is checked as the header is."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from accounts.models import IdempotencyRecord
from accounts.selectors import principal_for_api_key
from executions.models import Execution
from mcp_server import operations
from tests.samples import lantern_workflow
from wireflow_site.errors import ApiError

pytestmark = pytest.mark.django_db


def _setup(make_team, make_key, credits):
    """A team with `credits` and a workflow whose run costs 7 (Nano Banana 2 at 1K)."""
    team = make_team(credits=credits)
    key = make_key(team)
    principal = principal_for_api_key(key.api_key)
    return team, key, principal, lantern_workflow(team, principal, "Poster")


def test_a_refusal_is_replayed_as_first_given_and_the_key_is_the_api_keys_own(
        make_team, make_key):
    from accounts.services import credits_grant

    team, key, principal, workflow = _setup(make_team, make_key, credits=3)
    request = RequestFactory().post("/api/mcp")

    def run(who=principal, **kwargs):
        return operations.workflow_run(who, request, workflow_id=str(workflow.pk),
                                       inputs=None, idempotency_key="retry-me", **kwargs)

    with pytest.raises(ApiError) as first:
        run()
    assert first.value.status == 402
    credits_grant(team=team, amount=100)
    # Within the key's 24 hours the stored answer stands, as the REST replay gives it.
    with pytest.raises(ApiError) as replayed:
        run()
    assert (replayed.value.status, replayed.value.body()) == (402, first.value.body())
    assert not Execution.objects.exists()
    # Another API key of the team has its own keys: the same one starts a run for it.
    other = principal_for_api_key(make_key(team).api_key)
    started = run(who=other)
    execution = Execution.objects.get()
    assert started["executionId"] == str(execution.pk) and execution.trigger == "mcp"
    assert IdempotencyRecord.objects.count() == 2


@pytest.mark.parametrize("bad", ["x" * 256, "tab\there", "", "   ", 7])
def test_a_bad_idempotency_key_is_refused_and_nothing_starts(make_team, make_key, bad):
    team, key, principal, workflow = _setup(make_team, make_key, credits=100)
    with pytest.raises(ApiError) as refused:
        operations.workflow_run(principal, RequestFactory().post("/api/mcp"),
                                workflow_id=str(workflow.pk), inputs=None, idempotency_key=bad)
    assert refused.value.code == "invalid_idempotency_key"
    assert not Execution.objects.exists() and not IdempotencyRecord.objects.exists()
