"""Holes found by trying to break the API by hand, each closed and kept closed."""

from __future__ import annotations

import json

import pytest
from rest_framework.test import APIClient

from tests.samples import offline_chain

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_status_secret_with_non_ascii_characters_is_a_404_not_a_500(api):
    workflow = api.post("/api/v1/workflows", offline_chain(), format="json").json()["data"]
    trigger = "/" + workflow["webhookUrl"].split("://", 1)[1].split("/", 1)[1]
    started = APIClient().post(trigger, {}, format="json").json()
    response = APIClient().get(f"/api/v1/executions/{started['executionId']}/status",
                               {"secret": "sécret-ünïcode"})
    assert response.status_code == 404 and response.json()["code"] == "not_found"


def test_a_json_body_over_the_upload_limit_is_a_413_in_the_error_shape(api, settings):
    body = json.dumps({**offline_chain(), "description": "x" * (3 * 1024 * 1024)})
    assert len(body) > settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    response = api.post("/api/v1/workflows", body, content_type="application/json")
    assert response.status_code == 413
    assert response.json()["code"] == "payload_too_large" and "X-Request-Id" in response


@pytest.mark.parametrize("scopes, shown", [
    (["workflows:read"], False),
    (["workflows:read", "usage:read"], True),
])
def test_the_estimate_shows_the_teams_balance_only_to_those_who_may_read_usage(
        make_team, key_client, scopes, shown):
    team = make_team(credits=123)
    workflow_id = key_client(team).post("/api/v1/workflows", offline_chain(),
                                        format="json").json()["data"]["id"]
    estimate = key_client(team, scopes=scopes).post(
        f"/api/v1/workflows/{workflow_id}/estimate", {}, format="json")
    assert estimate.status_code == 200
    data = estimate.json()["data"]
    assert data["availableCredits"] == (123 if shown else None)
    assert data["sufficient"] is True


def test_every_page_carries_a_strict_content_security_policy(session_client, team):
    import re

    client, _ = session_client(team)
    page = client.get("/")
    policy = page["Content-Security-Policy"]
    directives = dict(part.strip().split(" ", 1) for part in policy.split(";") if part.strip())
    assert directives["script-src"] == "'self'"  # no inline script, no eval, nothing remote
    assert directives["object-src"] == "'none'" and directives["frame-ancestors"] == "'none'"
    assert "'unsafe-inline'" not in directives["style-src"]
    nonce = re.search(r"'nonce-([^']+)'", directives["style-src"]).group(1)
    assert f'<style nonce="{nonce}">' in page.content.decode()  # the one inline style is ours
    assert "style=" not in page.content.decode().replace(f'<style nonce="{nonce}">', "")
    login = client.get("/login/")
    assert "script-src 'self'" in login["Content-Security-Policy"]
    api = client.get("/api/v1/nodes")
    assert "default-src 'self'" in api["Content-Security-Policy"]
