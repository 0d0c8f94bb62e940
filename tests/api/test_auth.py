"""The documented 401 messages, scopes, roles, and team isolation."""

from datetime import timedelta

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.services import api_key_create, api_key_revoke
from tests.samples import offline_chain

URL = "/api/v1/workflows"


def _get(header):
    client = APIClient()
    if header is not None:
        client.credentials(HTTP_AUTHORIZATION=header)
    return client.get(URL)


@pytest.mark.parametrize(
    "header, message, code",
    [
        (None, "Missing Authorization header", "missing_authorization"),
        ("Token abc", "Invalid API key format. Expected: Bearer sk-...", "invalid_api_key_format"),
        ("Bearer abc", "Invalid API key format. Expected: Bearer sk-...", "invalid_api_key_format"),
        ("Bearer", "Invalid API key format. Expected: Bearer sk-...", "invalid_api_key_format"),
        ("Bearer sk-" + "x" * 43, "Invalid API key", "invalid_api_key"),
    ],
)
def test_documented_401_messages(db, header, message, code):
    response = _get(header)
    assert response.status_code == 401
    assert response.json() == {"error": message, "code": code}
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert response["X-Request-Id"]


def test_expired_key(team):
    key = api_key_create(team=team, name="old", expires_at=timezone.now() - timedelta(seconds=1))
    response = _get(f"Bearer {key.raw_key}")
    assert response.status_code == 401
    assert response.json() == {"error": "API key has expired", "code": "api_key_expired"}


def test_revoked_key_is_invalid(team):
    key = api_key_create(team=team, name="gone")
    api_key_revoke(api_key=key.api_key)
    assert _get(f"Bearer {key.raw_key}").json()["error"] == "Invalid API key"


def test_a_valid_key_works_and_records_last_use(team):
    key = api_key_create(team=team, name="ok")
    assert _get(f"Bearer {key.raw_key}").status_code == 200
    key.api_key.refresh_from_db()
    assert key.api_key.last_used_at is not None


def test_missing_scope_is_403_naming_the_scope(team, key_client):
    client = key_client(team, scopes=["workflows:read"])
    response = client.post(URL, offline_chain(), format="json")
    assert response.status_code == 403
    assert response.json() == {
        "error": "Missing required scope: workflows:write", "code": "insufficient_scope"}
    assert key_client(team, scopes=["executions:read"]).get(URL).status_code == 403


def test_a_viewer_reads_but_never_edits(team, session_client, api):
    created = api.post(URL, offline_chain(), format="json").json()["data"]
    client, _ = session_client(team, role="viewer")
    assert client.get(f"{URL}/{created['id']}").status_code == 200
    csrf = _csrf(client)
    response = client.put(f"{URL}/{created['id']}", offline_chain(), format="json",
                          HTTP_X_CSRFTOKEN=csrf)
    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_scope"
    assert client.delete(f"{URL}/{created['id']}", HTTP_X_CSRFTOKEN=csrf).status_code == 403


def _csrf(client):
    from django.middleware.csrf import _get_new_csrf_string

    token = _get_new_csrf_string()
    client.cookies["csrftoken"] = token
    return token


def test_session_writes_need_csrf(team, session_client):
    client, _ = session_client(team, role="editor")
    response = client.post(URL, offline_chain(), format="json")
    assert response.status_code == 403
    assert "CSRF" in response.json()["error"]
    ok = client.post(URL, offline_chain(), format="json", HTTP_X_CSRFTOKEN=_csrf(client))
    assert ok.status_code == 201


def test_another_teams_workflow_is_never_visible_or_editable(team, other_team, key_client):
    mine = key_client(team)
    theirs = key_client(other_team)
    created = theirs.post(URL, offline_chain(), format="json").json()["data"]
    wid = created["id"]
    assert mine.get(URL).json() == {"workflows": []}
    for response in [
        mine.get(f"{URL}/{wid}"),
        mine.put(f"{URL}/{wid}", offline_chain(), format="json"),
        mine.patch(f"{URL}/{wid}/nodes/preview-1", {"label": "x"}, format="json"),
        mine.post(f"{URL}/{wid}/validate"),
        mine.post(f"{URL}/{wid}/duplicate", {}, format="json"),
        mine.post(URL, {"id": wid, "name": "hijack"}, format="json"),
        mine.delete(f"{URL}/{wid}"),
    ]:
        assert response.status_code == 404, response.content
        assert response.json() == {"error": "Workflow not found", "code": "not_found"}
    assert theirs.get(f"{URL}/{wid}").json()["name"] == "Offline chain"


def test_a_team_filter_naming_another_team_shows_nothing(team, other_team, key_client):
    key_client(other_team).post(URL, offline_chain(), format="json")
    response = key_client(team).get(URL, {"teamId": other_team.pk})
    assert response.json() == {"workflows": []}


def test_creating_in_another_team_is_refused(team, other_team, key_client):
    response = key_client(team).post(URL, {**offline_chain(), "teamId": other_team.pk},
                                     format="json")
    assert response.status_code == 404
    assert response.json()["error"] == "Team not found"
