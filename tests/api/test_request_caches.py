"""The Redis copies that let a poll skip the database (API keys, each run's poll head) never
serve anything the database has since changed."""

from __future__ import annotations

import pytest

from accounts.services import api_key_revoke
from executions import pollcache
from executions.events import flush
from executions.models import Execution
from tests.api.test_executions import create, poll_until_done, quick_graph

pytestmark = pytest.mark.django_db(transaction=True)


def _execute(api) -> str:
    workflow_id = create(api, quick_graph())
    return api.post(f"/api/v1/workflows/{workflow_id}/execute", {},
                    format="json").json()["executionId"]


def test_a_poll_between_changes_reads_no_database(api, live_worker, django_assert_num_queries):
    execution_id = _execute(api)
    poll = f"/api/v1/workflows/executions/{execution_id}/poll"
    poll_until_done(api, poll)
    first = api.get(poll)
    assert first.status_code == 200 and first.json()["status"] == "COMPLETED"
    with django_assert_num_queries(0):
        again = api.get(poll)
    assert again.status_code == 200 and again.json() == first.json()
    assert again["Content-Type"] == "application/json"


def test_a_poll_follows_every_state_change(api, live_worker):
    execution_id = _execute(api)
    poll = f"/api/v1/workflows/executions/{execution_id}/poll"
    seen = api.get(poll).json()
    done = poll_until_done(api, poll)
    assert done["status"] == "COMPLETED" and done["seq"] > seen["seq"]
    flush()
    assert api.get(poll).json() == done  # from the cache now, and still the latest


def test_a_revoked_key_is_refused_on_its_next_request(team, make_key):
    from rest_framework.test import APIClient

    new = make_key(team)
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {new.raw_key}")
    assert client.get("/api/v1/workflows").status_code == 200
    assert client.get("/api/v1/workflows").status_code == 200  # served from the copy
    api_key_revoke(api_key=new.api_key)
    response = client.get("/api/v1/workflows")
    assert response.status_code == 401 and response.json()["error"] == "Invalid API key"


def test_a_plan_change_reaches_keys_already_copied(team, api):
    from accounts.plans import limits_for

    team.plan = "starter"
    team.save()
    assert api.get("/api/v1/workflows")["X-RateLimit-Limit"] == str(
        limits_for("starter").requests_per_minute)
    team.plan = "pro"
    team.save()
    assert api.get("/api/v1/workflows")["X-RateLimit-Limit"] == str(
        limits_for("pro").requests_per_minute)


def test_a_copied_key_reads_what_it_does_not_copy_from_the_database(team, make_key):
    from accounts import keycache
    from accounts.services import api_key_for_request, credits_set

    new = make_key(team)
    api_key_for_request(key_hash=new.api_key.key_hash)  # copied now
    credits_set(team=team, balance=1234)  # an UPDATE: no signal, nothing to forget
    copy = keycache.cached_api_key(new.api_key.key_hash)
    assert copy.pk == new.api_key.pk and copy.team.slug == team.slug
    assert copy.scopes == new.api_key.scopes and copy.last_used_at is not None
    assert copy.team.credit_balance == 1234  # deferred: loaded on access


def test_a_deleted_run_is_not_found_at_once(api):
    execution_id = _execute(api)
    poll = f"/api/v1/workflows/executions/{execution_id}/poll"
    assert api.get(poll).status_code == 200
    Execution.objects.get(pk=execution_id).delete()
    response = api.get(poll)
    assert response.status_code == 404 and response.json()["error"] == "Execution not found"


def test_a_reader_with_an_old_seq_never_moves_the_head_back(team):
    import uuid

    pk = uuid.uuid4()
    pollcache.advance({pk: (team.pk, 7)})
    pollcache.advance({pk: (team.pk, 3)})  # read from the database before seq 7 committed
    assert pollcache.read(pk).seq == 7
    pollcache.tombstone(pk)
    pollcache.advance({pk: (team.pk, 9)})  # a deleted run stays gone
    assert pollcache.read(pk) is None
