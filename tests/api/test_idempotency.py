"""Idempotency-Key on creating POSTs: replay, a different body, in flight, and a race."""

from __future__ import annotations

import pytest
from rest_framework.test import APIClient

from accounts.models import Membership
from accounts.services import membership_set
from executions.models import Execution
from graph.models import Workflow
from tests.concurrency import at_once, keyed_client
from tests.samples import offline_chain

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_repeated_create_returns_the_first_response_and_creates_nothing(api):
    graph = offline_chain()
    first = api.post("/api/v1/workflows", graph, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    again = api.post("/api/v1/workflows", graph, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json()
    assert again["Idempotent-Replayed"] == "true" and "Idempotent-Replayed" not in first
    assert Workflow.objects.count() == 1


def test_the_same_key_with_another_body_is_refused(api):
    api.post("/api/v1/workflows", offline_chain(), format="json", HTTP_IDEMPOTENCY_KEY="k2")
    other = {**offline_chain(), "name": "Something else"}
    response = api.post("/api/v1/workflows", other, format="json", HTTP_IDEMPOTENCY_KEY="k2")
    assert response.status_code == 422
    assert response.json() == {
        "error": "Idempotency-Key was already used with a different request body",
        "code": "idempotency_key_reused"}
    assert Workflow.objects.count() == 1


def test_keys_are_scoped_to_the_team(api, other_team, key_client):
    api.post("/api/v1/workflows", offline_chain(), format="json", HTTP_IDEMPOTENCY_KEY="same")
    theirs = key_client(other_team).post("/api/v1/workflows", offline_chain(), format="json",
                                         HTTP_IDEMPOTENCY_KEY="same")
    assert theirs.status_code == 201 and "Idempotent-Replayed" not in theirs
    assert Workflow.objects.count() == 2


def test_a_replayed_execute_keeps_status_body_and_location(api):
    workflow_id = api.post("/api/v1/workflows", offline_chain(), format="json").json()["data"][
        "id"]
    url = f"/api/v1/workflows/{workflow_id}/execute"
    first = api.post(url, {}, format="json", HTTP_IDEMPOTENCY_KEY="run-1")
    again = api.post(url, {}, format="json", HTTP_IDEMPOTENCY_KEY="run-1")
    assert first.status_code == again.status_code == 201
    assert again.json()["executionId"] == first.json()["executionId"]
    assert again["Location"] == first["Location"]
    assert Execution.objects.count() == 1


def test_twenty_identical_requests_at_once_create_exactly_one_execution(team, make_key):
    raw = make_key(team).raw_key
    workflow_id = keyed_client(raw).post("/api/v1/workflows", offline_chain(),
                                         format="json").json()["data"]["id"]
    statuses = at_once(20, lambda: keyed_client(raw).post(
        f"/api/v1/workflows/{workflow_id}/execute", {}, format="json",
        HTTP_IDEMPOTENCY_KEY="burst").status_code)
    assert Execution.objects.count() == 1
    assert statuses.count(201) >= 1 and set(statuses) <= {201, 409}


def _member_client(user) -> APIClient:
    client = APIClient()
    client.force_login(user)
    return client


def test_another_teams_key_never_gets_a_replay_of_a_create_made_in_a_team_it_cannot_see(
        team, other_team, make_user, key_client):
    member = make_user(team=team, role="editor")  # `team` is the member's default team
    membership_set(team=other_team, user=member, role="editor")
    graph = {**offline_chain(), "teamId": other_team.pk}
    made = _member_client(member).post("/api/v1/workflows", graph, format="json",
                                       HTTP_IDEMPOTENCY_KEY="shared")
    assert made.status_code == 201
    stranger = key_client(team).post("/api/v1/workflows", graph, format="json",
                                     HTTP_IDEMPOTENCY_KEY="shared")
    assert stranger.status_code == 404 and "Idempotent-Replayed" not in stranger
    assert stranger.json() == {"error": "Team not found", "code": "not_found"}
    assert Workflow.objects.count() == 1


def _member_of_two_teams(make_user, home, other):
    """A member whose default team is `home` and who may run workflows in `other` too, so
    losing a role in one team leaves the request-level scope check passing."""
    member = make_user(team=home, role="editor")
    membership_set(team=other, user=member, role="editor")
    return member, _member_client(member)


def test_a_member_demoted_to_viewer_gets_a_403_not_the_replay_of_its_run(team, other_team,
                                                                          make_user):
    member, client = _member_of_two_teams(make_user, team, other_team)
    workflow_id = client.post("/api/v1/workflows", offline_chain(),
                              format="json").json()["data"]["id"]
    url = f"/api/v1/workflows/{workflow_id}/execute"
    assert client.post(url, {}, format="json", HTTP_IDEMPOTENCY_KEY="run").status_code == 201
    membership_set(team=team, user=member, role="viewer")
    again = client.post(url, {}, format="json", HTTP_IDEMPOTENCY_KEY="run")
    assert again.status_code == 403 and "Idempotent-Replayed" not in again
    assert again.json()["code"] == "insufficient_scope"


def test_a_member_removed_from_the_team_gets_a_404_not_the_replay_of_its_run(team, other_team,
                                                                              make_user):
    member, client = _member_of_two_teams(make_user, team, other_team)
    workflow_id = client.post("/api/v1/workflows", {**offline_chain(), "teamId": other_team.pk},
                              format="json").json()["data"]["id"]
    url = f"/api/v1/workflows/{workflow_id}/execute"
    assert client.post(url, {}, format="json", HTTP_IDEMPOTENCY_KEY="run").status_code == 201
    Membership.objects.filter(team=other_team, user=member).delete()
    again = client.post(url, {}, format="json", HTTP_IDEMPOTENCY_KEY="run")
    assert again.status_code == 404 and "Idempotent-Replayed" not in again
    assert Execution.objects.count() == 1


def test_a_webhook_caller_does_not_share_idempotency_keys_with_the_teams_api_keys(api):
    data = api.post("/api/v1/workflows", offline_chain(), format="json").json()["data"]
    executed = api.post(f"/api/v1/workflows/{data['id']}/execute", {}, format="json",
                        HTTP_IDEMPOTENCY_KEY="same")
    assert executed.status_code == 201
    hook = "/" + data["webhookUrl"].split("://", 1)[1].split("/", 1)[1]
    triggered = APIClient().post(hook, {}, format="json", HTTP_IDEMPOTENCY_KEY="same")
    assert triggered.status_code == 202 and "Idempotent-Replayed" not in triggered
    replayed = APIClient().post(hook, {}, format="json", HTTP_IDEMPOTENCY_KEY="same")
    assert replayed.json()["executionId"] == triggered.json()["executionId"]
    assert replayed["Idempotent-Replayed"] == "true"
    assert Execution.objects.count() == 2


@pytest.mark.parametrize("body", [[1, 2], {"teamId": "not a number"}, {"id": 7},
                                  {"teamId": 10**30}])
def test_a_keyed_create_with_a_malformed_body_is_a_4xx_and_stores_nothing(api, body):
    response = api.post("/api/v1/workflows", body, format="json", HTTP_IDEMPOTENCY_KEY="bad")
    assert 400 <= response.status_code < 500
    assert set(response.json()) >= {"error", "code"}
    assert Workflow.objects.count() == 0


def test_a_repeated_key_creation_replays_the_same_key_sealed_at_rest(team, member):
    from accounts.models import ApiKey, IdempotencyRecord

    admin, user = member(team, "admin")
    url = f"/api/v1/teams/{team.pk}/keys"
    body = {"name": "ci", "scopes": ["workflows:read"]}
    first = admin.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="key-1")
    again = admin.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="key-1")
    assert first.status_code == again.status_code == 201
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert ApiKey.objects.filter(team=team, name="ci").count() == 1
    raw = first.json()["data"]["key"]
    stored = IdempotencyRecord.objects.get(key="key-1")
    assert raw not in str(stored.body) and set(stored.body) == {"sealed"}
    other = admin.post(url, {**body, "name": "cd"}, format="json", HTTP_IDEMPOTENCY_KEY="key-1")
    assert other.status_code == 422 and other.json()["code"] == "idempotency_key_reused"
    # Demoted, the same request gets the refusal, never the stored key.
    membership_set(team=team, user=user, role="editor")
    refused = admin.post(url, body, format="json", HTTP_IDEMPOTENCY_KEY="key-1")
    assert refused.status_code == 403 and raw not in refused.content.decode()


def test_a_repeated_invite_replays_the_same_link_and_invites_once(team, member, other_team):
    from accounts.models import IdempotencyRecord, Invite

    admin, _ = member(team, "admin")
    url = f"/api/v1/teams/{team.pk}/invites"
    first = admin.post(url, {"role": "editor"}, format="json", HTTP_IDEMPOTENCY_KEY="inv")
    again = admin.post(url, {"role": "editor"}, format="json", HTTP_IDEMPOTENCY_KEY="inv")
    assert first.status_code == again.status_code == 201, first.json()
    assert again.json() == first.json() and again["Idempotent-Replayed"] == "true"
    assert Invite.objects.filter(team=team).count() == 1
    link = first.json()["data"]["url"]
    assert link.rsplit("/", 1)[-1] not in str(IdempotencyRecord.objects.get(key="inv").body)
    # Another team's admin with the same key makes their own; a stranger gets a 404.
    theirs, _ = member(other_team, "admin")
    mine = theirs.post(f"/api/v1/teams/{other_team.pk}/invites", {"role": "editor"},
                       format="json", HTTP_IDEMPOTENCY_KEY="inv")
    assert mine.status_code == 201 and "Idempotent-Replayed" not in mine
    assert theirs.post(url, {"role": "editor"}, format="json",
                       HTTP_IDEMPOTENCY_KEY="inv").status_code == 404
    assert Invite.objects.count() == 2
