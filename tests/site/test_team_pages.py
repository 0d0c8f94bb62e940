"""The team pages (/team, /team/keys, /team/usage, /team/activity, /invite/<token>) through
Django's test client: what each role sees and may do, and that another team never shows."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from accounts.models import ApiKey, Invite, Membership, User
from accounts.selectors import principal_for_user
from accounts.workspace import invite_create

pytestmark = pytest.mark.django_db


def test_every_page_renders_for_a_viewer_with_the_team_menu(team, member):
    client, _ = member(team, "viewer")
    for path in ("/team", "/team/keys", "/team/usage", "/team/activity", "/"):
        response = client.get(path)
        assert response.status_code == 200, path
        html = response.content.decode()
        assert 'data-testid="team-menu"' in html and team.name in html, path
    assert "Only the team's admins and owners manage API keys" in client.get(
        "/team/keys").content.decode()
    assert 'data-testid="invite-form"' not in client.get("/team").content.decode()


def test_the_switcher_lists_each_team_with_the_role_and_never_another_teams(
        team, other_team, make_team, member):
    from accounts.services import membership_set

    client, user = member(team, "viewer")
    membership_set(team=other_team, user=user, role="admin")
    stranger = make_team(name="Not Yours")
    html = client.get("/team").content.decode()
    assert re.search(rf'data-team="{other_team.pk}"><span>{other_team.name}</span>'
                     r'<span class="muted">admin</span>', html)
    # Asking for a team one is not in shows one's own, never the other's.
    html = client.get(f"/team?team={stranger.pk}").content.decode()
    assert "Not Yours" not in html
    html = client.get(f"/team?team={other_team.pk}").content.decode()
    assert 'data-testid="invite-form"' in html  # an admin there
    # The choice is remembered.
    assert 'data-testid="invite-form"' in client.get("/team").content.decode()


def test_an_admin_invites_by_link_and_a_newcomer_makes_an_account_and_joins(team, member):
    admin, _ = member(team, "admin")
    response = admin.post("/team", {"action": "invite", "email": "", "role": "editor",
                                    "days": "7"}, follow=True)
    html = response.content.decode()
    assert response.redirect_chain == [(f"/team?team={team.pk}", 302)]
    link = re.search(r'id="invite-link" class="secret" value="([^"]+)"', html).group(1)
    path = link.split("testserver", 1)[1]
    newcomer = Client()
    page = newcomer.get(path)
    assert page.status_code == 200 and f"Join {team.name}" in page.content.decode()
    response = newcomer.post(path, {"username": "newbie", "password": "a long pass phrase 7",
                                    "password2": "a long pass phrase 7"})
    assert response.status_code == 302 and response["Location"] == f"/team?team={team.pk}"
    user = User.objects.get(username="newbie")
    assert Membership.objects.get(team=team, user=user).role == "editor"
    assert "joined as editor" in newcomer.get(response["Location"]).content.decode()
    assert Client().get(path).status_code == 410  # used


def test_a_weak_password_or_a_taken_username_is_said_on_the_page(team, make_user):
    owner = make_user(team=team, role="owner", username="boss")
    sent = invite_create(team=team, actor=principal_for_user(owner), email="", role="viewer",
                         expires_in_days=None, base_url="http://testserver/")
    page = Client().post(f"/invite/{sent.token}", {"username": "x", "password": "123",
                                                   "password2": "123"})
    assert 'data-testid="invite-error"' in page.content.decode()
    page = Client().post(f"/invite/{sent.token}", {"username": "boss", "password": "a long "
                                                   "pass phrase 7", "password2": "a long pass "
                                                   "phrase 7"})
    assert "That username is taken" in page.content.decode()
    assert Invite.objects.get(pk=sent.invite.pk).state() == "pending"


def test_an_expired_invite_page_says_so(team, make_user):
    owner = make_user(team=team, role="owner")
    sent = invite_create(team=team, actor=principal_for_user(owner), email="", role="viewer",
                         expires_in_days=1, base_url="http://testserver/")
    Invite.objects.filter(pk=sent.invite.pk).update(expires_at=timezone.now() - timedelta(1))
    page = Client().get(f"/invite/{sent.token}")
    assert page.status_code == 410 and "expired" in page.content.decode()
    assert Client().get("/invite/nope").status_code == 404


def test_role_changes_and_removal_on_the_members_page_follow_the_rules(team, member, make_user):
    admin, _ = member(team, "admin")
    editor = make_user(team=team, role="editor")
    owner = make_user(team=team, role="owner")
    admin.post("/team", {"action": "role", "user": editor.pk, "role": "viewer"})
    assert Membership.objects.get(team=team, user=editor).role == "viewer"
    response = admin.post("/team", {"action": "role", "user": owner.pk, "role": "viewer"},
                          follow=True)
    assert "Only an owner" in response.content.decode()
    assert Membership.objects.get(team=team, user=owner).role == "owner"
    admin.post("/team", {"action": "remove", "user": editor.pk})
    assert not Membership.objects.filter(team=team, user=editor).exists()


def test_the_keys_page_shows_a_new_key_once(team, member):
    admin, _ = member(team, "admin")
    response = admin.post("/team/keys", {"action": "create", "name": "ci",
                                         "scopes": ["workflows:read", "usage:read"],
                                         "days": "30"})
    assert response.status_code == 302  # so a reload of the page makes no second key
    html = admin.get(response["Location"]).content.decode()
    raw = re.search(r'id="new-key" class="secret" value="(sk-[^"]+)"', html).group(1)
    key = ApiKey.objects.get(name="ci")
    assert key.scopes == ["workflows:read", "usage:read"] and key.expires_at is not None
    listing = admin.get(response["Location"]).content.decode()  # a reload: shown no more
    assert raw not in listing and key.masked in listing
    assert ApiKey.objects.filter(team=team).count() == 1
    response = admin.post("/team/keys", {"action": "create", "name": "none"}, follow=True)
    assert "Pick at least one scope" in response.content.decode()
    admin.post("/team/keys", {"action": "revoke", "key": key.pk})
    key.refresh_from_db()
    assert key.revoked_at is not None


def test_the_usage_chart_is_an_svg_with_a_csp_of_its_own(team, member):
    client, _ = member(team, "viewer")
    response = client.get("/team/usage/chart.svg")
    assert response.status_code == 200 and response["Content-Type"] == "image/svg+xml"
    assert response.content.startswith(b"<?xml") and b"<svg" in response.content
    assert response["Content-Security-Policy"] == "default-src 'none'; style-src 'unsafe-inline'"


def test_pages_need_a_login(client):
    for path in ("/team", "/team/keys", "/team/usage", "/team/activity",
                 "/team/usage/chart.svg"):
        response = client.get(path)
        assert response.status_code == 302 and response["Location"].startswith("/login/"), path


def test_the_history_page_shows_versions_and_restores_for_editors_only(team, member):
    from graph.models import WorkflowVersion
    from graph.services import workflow_create, workflow_update
    from tests.graph.builders import text_to_image

    editor, user = member(team, "editor")
    viewer, _ = member(team, "viewer")
    nodes, edges = text_to_image("first")
    workflow, _ = workflow_create(team=team, actor=principal_for_user(user), name="H",
                                  nodes=nodes, edges=edges)
    workflow_update(workflow=workflow, actor=principal_for_user(user),
                    changes={"nodes": text_to_image("second")[0]})
    html = viewer.get(f"/workflows/{workflow.pk}/history?v=1").content.decode()
    assert 'data-node="text" data-state="changed"' in html and 'data-testid="restore"' not in html
    assert viewer.post(f"/workflows/{workflow.pk}/history", {"number": 1}).status_code == 302
    assert WorkflowVersion.objects.filter(workflow=workflow).count() == 2
    editor.post(f"/workflows/{workflow.pk}/history", {"number": 1})
    workflow.refresh_from_db()
    assert workflow.version == 3 and workflow.nodes[0]["data"]["config"]["prompt"] == "first"


def test_the_history_page_pages_by_50(team, member):
    from graph.models import WorkflowVersion
    from graph.services import workflow_create
    from tests.graph.builders import text_to_image

    editor, user = member(team, "editor")
    nodes, edges = text_to_image("first")
    workflow, _ = workflow_create(team=team, actor=principal_for_user(user), name="H",
                                  nodes=nodes, edges=edges)
    WorkflowVersion.objects.bulk_create([WorkflowVersion(
        workflow=workflow, number=n, name="H", nodes=nodes, edges=edges, source="update",
        created_by=user) for n in range(2, 61)])
    type(workflow).objects.filter(pk=workflow.pk).update(version=60)
    url = f"/workflows/{workflow.pk}/history"

    def listed(html: str) -> list[int]:
        return [int(n) for n in re.findall(r'<tr data-version="(\d+)"', html)]

    first = editor.get(url).content.decode()
    assert listed(first) == list(range(60, 10, -1))
    assert "page 1 of 2 · 60 versions" in first and 'href="?page=2"' in first
    assert first.count('class="tag active">current') == 1
    second = editor.get(f"{url}?page=2").content.decode()
    assert listed(second) == list(range(10, 0, -1))
    assert 'href="?page=1"' in second and 'data-testid="history-older"' not in second
    assert 'class="tag active">current' not in second
    # A page past the end, or not a number, shows the nearest page.
    assert listed(editor.get(f"{url}?page=9").content.decode()) == list(range(10, 0, -1))
    assert listed(editor.get(f"{url}?page=x").content.decode())[0] == 60


def test_another_teams_history_is_a_404(team, other_team, member):
    from graph.services import workflow_create
    from tests.graph.builders import text_to_image

    theirs, user = member(other_team, "owner")
    nodes, edges = text_to_image()
    workflow, _ = workflow_create(team=other_team, actor=principal_for_user(user), name="X",
                                  nodes=nodes, edges=edges)
    mine, _ = member(team, "owner")
    assert mine.get(f"/workflows/{workflow.pk}/history").status_code == 404
    assert mine.post(f"/workflows/{workflow.pk}/history", {"number": 1}).status_code == 404
