"""/api/v1/teams/{teamId}/…: members, invites, API keys and activity, through the API as a
browser (session) and as keys would use it. Roles per the README's table; another team's
members, invites, keys and activity are never visible (404)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.core import mail
from django.utils import timezone
from rest_framework.test import APIClient

from accounts.models import ActivityEvent, ApiKey, Invite, Membership

pytestmark = pytest.mark.django_db


def T(team) -> str:
    return f"/api/v1/teams/{team.pk}"


def kinds(team) -> list[str]:
    return list(ActivityEvent.objects.filter(team=team).order_by("created_at", "id")
                .values_list("kind", flat=True))


# --- the caller's teams ------------------------------------------------------------------

def test_teams_lists_the_callers_teams_with_their_role_in_each(team, other_team, member, make_team):
    client, user = member(team, "viewer")
    from accounts.services import membership_set

    membership_set(team=other_team, user=user, role="admin")
    make_team()  # not theirs
    body = client.get("/api/v1/teams").json()["data"]
    assert {(t["id"], t["role"]) for t in body} == {(team.pk, "viewer"), (other_team.pk, "admin")}


def test_a_key_sees_only_its_own_team(team, other_team, key_client):
    body = key_client(team).get("/api/v1/teams").json()["data"]
    assert [(t["id"], t["role"]) for t in body] == [(team.pk, None)]
    assert key_client(team).get(f"{T(other_team)}/members").status_code == 404


# --- members ------------------------------------------------------------------------------

def test_viewers_list_members_without_emails_and_admins_with(team, member, make_user):
    viewer, _ = member(team, "viewer")
    admin, _ = member(team, "admin")
    make_user(team=team, role="editor").__class__.objects.filter().update(email="x@example.com")
    seen = viewer.get(f"{T(team)}/members").json()["data"]
    assert len(seen) == 3 and all(m["email"] is None for m in seen)
    assert all(m["email"] == "x@example.com"
               for m in admin.get(f"{T(team)}/members").json()["data"])


def test_another_teams_members_are_a_404(team, other_team, member, make_user):
    client, _ = member(team, "owner")
    stranger = make_user(team=other_team)
    assert client.get(f"{T(other_team)}/members").status_code == 404
    assert client.patch(f"{T(other_team)}/members/{stranger.pk}", {"role": "viewer"},
                        format="json").status_code == 404
    assert client.delete(f"{T(other_team)}/members/{stranger.pk}").status_code == 404
    # Nor is a member of another team reachable through one's own team's path.
    assert client.patch(f"{T(team)}/members/{stranger.pk}", {"role": "viewer"},
                        format="json").status_code == 404
    assert Membership.objects.get(team=other_team, user=stranger).role == "editor"


def test_an_admin_changes_a_role_and_the_log_says_so(team, member, make_user):
    admin, admin_user = member(team, "admin")
    editor = make_user(team=team, role="editor")
    response = admin.patch(f"{T(team)}/members/{editor.pk}", {"role": "viewer"}, format="json")
    assert response.status_code == 200, response.json()
    assert response.json()["data"]["role"] == "viewer"
    assert Membership.objects.get(team=team, user=editor).role == "viewer"
    event = ActivityEvent.objects.get(team=team, kind="member.role_changed")
    assert (event.actor, event.subject, event.details) == (
        admin_user, editor.username, {"from": "editor", "to": "viewer"})


@pytest.mark.parametrize("role", ["viewer", "editor"])
def test_viewers_and_editors_cannot_change_roles(team, member, make_user, role):
    client, _ = member(team, role)
    other = make_user(team=team, role="viewer")
    response = client.patch(f"{T(team)}/members/{other.pk}", {"role": "admin"}, format="json")
    assert response.status_code == 403
    assert response.json()["code"] == "insufficient_scope"
    assert Membership.objects.get(team=team, user=other).role == "viewer"


def test_only_owners_make_owners_or_touch_them(team, member, make_user):
    admin, _ = member(team, "admin")
    owner_client, _ = member(team, "owner")
    editor = make_user(team=team, role="editor")
    owner = make_user(team=team, role="owner")
    assert admin.patch(f"{T(team)}/members/{editor.pk}", {"role": "owner"},
                       format="json").status_code == 403
    assert admin.patch(f"{T(team)}/members/{owner.pk}", {"role": "viewer"},
                       format="json").status_code == 403
    assert admin.delete(f"{T(team)}/members/{owner.pk}").status_code == 403
    assert owner_client.patch(f"{T(team)}/members/{editor.pk}", {"role": "owner"},
                              format="json").status_code == 200
    assert owner_client.delete(f"{T(team)}/members/{owner.pk}").status_code == 204


def test_the_last_owner_can_be_neither_demoted_nor_removed(team, member):
    owner, owner_user = member(team, "owner")
    response = owner.patch(f"{T(team)}/members/{owner_user.pk}", {"role": "admin"},
                           format="json")
    assert (response.status_code, response.json()["code"]) == (409, "last_owner")
    response = owner.delete(f"{T(team)}/members/{owner_user.pk}")
    assert (response.status_code, response.json()["code"]) == (409, "last_owner")
    assert Membership.objects.get(team=team, user=owner_user).role == "owner"


def test_a_member_may_leave_and_an_admin_removes_others(team, member, make_user):
    editor, editor_user = member(team, "editor")
    other = make_user(team=team, role="viewer")
    assert editor.delete(f"{T(team)}/members/{other.pk}").status_code == 403
    assert editor.delete(f"{T(team)}/members/{editor_user.pk}").status_code == 204
    admin, _ = member(team, "admin")
    assert admin.delete(f"{T(team)}/members/{other.pk}").status_code == 204
    assert not Membership.objects.filter(team=team, user__in=[editor_user, other]).exists()
    assert kinds(team).count("member.removed") == 2


def test_role_change_body_is_checked(team, member, make_user):
    admin, _ = member(team, "admin")
    other = make_user(team=team)
    for body in ({"role": "king"}, {}, {"role": 3}, {"role": "viewer", "extra": 1}, [1]):
        response = admin.patch(f"{T(team)}/members/{other.pk}", body, format="json")
        assert response.status_code == 400, body
        assert response.json()["code"] == "invalid_request"


def test_keys_cannot_manage_members(team, key_client, make_user):
    other = make_user(team=team)
    response = key_client(team).patch(f"{T(team)}/members/{other.pk}", {"role": "viewer"},
                                      format="json")
    assert response.status_code == 403
    assert key_client(team).delete(f"{T(team)}/members/{other.pk}").status_code == 403
    assert key_client(team).get(f"{T(team)}/invites").status_code == 403


# --- invites ------------------------------------------------------------------------------

def invite(client, team, **body):
    response = client.post(f"{T(team)}/invites", {"role": "editor", **body}, format="json")
    assert response.status_code == 201, response.json()
    return response.json()["data"]


def token_of(url: str) -> str:
    return url.rsplit("/", 1)[1]


def test_an_invite_by_email_is_mailed_with_a_single_use_link(team, member, make_user):
    admin, admin_user = member(team, "admin")
    sent = invite(admin, team, email="New.Person@Example.com", role="viewer", expiresInDays=3)
    assert sent["emailSent"] and sent["email"] == "new.person@example.com"
    assert sent["state"] == "pending" and sent["invitedBy"] == admin_user.username
    [message] = mail.outbox
    assert message.to == ["new.person@example.com"] and sent["url"] in message.body
    assert team.name in message.subject
    assert not Invite.objects.filter(token_hash__contains=token_of(sent["url"])).exists()

    joiner = APIClient()
    joiner_user = make_user()
    joiner.force_login(joiner_user)
    token = token_of(sent["url"])
    info = joiner.get(f"/api/v1/invites/{token}").json()["data"]
    assert (info["teamName"], info["role"]) == (team.name, "viewer")
    response = joiner.post(f"/api/v1/invites/{token}/accept")
    assert response.status_code == 201, response.json()
    assert response.json()["data"] == {"id": team.pk, "name": team.name, "slug": team.slug,
                                       "plan": team.plan, "role": "viewer"}
    assert Membership.objects.get(team=team, user=joiner_user).role == "viewer"
    # Single use: nobody else gets in with the same link.
    third = APIClient()
    third.force_login(make_user())
    response = third.post(f"/api/v1/invites/{token}/accept")
    assert (response.status_code, response.json()["code"]) == (410, "invite_accepted")
    assert kinds(team)[-2:] == ["member.invited", "member.joined"]


def test_an_invite_by_link_only_sends_no_email(team, member):
    admin, _ = member(team, "admin")
    sent = invite(admin, team)
    assert not sent["emailSent"] and sent["url"].startswith("http://testserver/invite/")
    assert mail.outbox == []


def test_expired_and_revoked_invites_are_refused(team, member, make_user):
    admin, _ = member(team, "admin")
    joiner = APIClient()
    joiner.force_login(make_user())
    expired = invite(admin, team, email="a@example.com")
    Invite.objects.filter(pk=expired["id"]).update(expires_at=timezone.now() - timedelta(seconds=1))
    response = joiner.post(f"/api/v1/invites/{token_of(expired['url'])}/accept")
    assert (response.status_code, response.json()["code"]) == (410, "invite_expired")
    revoked = invite(admin, team, email="b@example.com")
    assert admin.delete(f"{T(team)}/invites/{revoked['id']}").json()["data"]["state"] == "revoked"
    response = joiner.post(f"/api/v1/invites/{token_of(revoked['url'])}/accept")
    assert (response.status_code, response.json()["code"]) == (410, "invite_revoked")
    assert joiner.post("/api/v1/invites/not-a-token/accept").status_code == 404
    pending = admin.get(f"{T(team)}/invites").json()["data"]
    assert pending == []


def test_resend_makes_a_new_link_and_the_old_one_stops_working(team, member, make_user):
    admin, _ = member(team, "admin")
    first = invite(admin, team, email="c@example.com")
    again = admin.post(f"{T(team)}/invites/{first['id']}/resend").json()["data"]
    assert again["id"] == first["id"] and again["url"] != first["url"]
    assert len(mail.outbox) == 2 and again["url"] in mail.outbox[1].body
    joiner = APIClient()
    joiner.force_login(make_user())
    assert joiner.post(f"/api/v1/invites/{token_of(first['url'])}/accept").status_code == 404
    assert joiner.post(f"/api/v1/invites/{token_of(again['url'])}/accept").status_code == 201


def test_invite_roles_follow_the_actor(team, member):
    admin, _ = member(team, "admin")
    editor, _ = member(team, "editor")
    owner, _ = member(team, "owner")
    assert admin.post(f"{T(team)}/invites", {"role": "owner"}, format="json").status_code == 403
    assert editor.post(f"{T(team)}/invites", {"role": "viewer"},
                       format="json").status_code == 403
    assert owner.post(f"{T(team)}/invites", {"role": "owner"}, format="json").status_code == 201


def test_inviting_a_member_again_is_a_409_and_bad_bodies_400(team, member, make_user):
    admin, _ = member(team, "admin")
    existing = make_user(team=team)
    existing.email = "here@example.com"
    existing.save()
    response = admin.post(f"{T(team)}/invites", {"email": "HERE@example.com"}, format="json")
    assert (response.status_code, response.json()["code"]) == (409, "already_member")
    for body in ({"email": "not an email"}, {"role": "king"}, {"expiresInDays": 0},
                 {"expiresInDays": 31}, {"email": 5}, {"color": "red"}):
        assert admin.post(f"{T(team)}/invites", body, format="json").status_code == 400, body


def test_accepting_twice_as_a_member_is_a_409(team, member):
    admin, admin_user = member(team, "admin")
    sent = invite(admin, team)
    response = admin.post(f"/api/v1/invites/{token_of(sent['url'])}/accept")
    assert (response.status_code, response.json()["code"]) == (409, "already_member")


def test_another_teams_invites_are_a_404(team, other_team, member):
    theirs, _ = member(other_team, "admin")
    sent = invite(theirs, other_team)
    admin, _ = member(team, "owner")
    assert admin.get(f"{T(other_team)}/invites").status_code == 404
    assert admin.delete(f"{T(team)}/invites/{sent['id']}").status_code == 404
    assert admin.post(f"{T(team)}/invites/{sent['id']}/resend").status_code == 404
    assert admin.delete(f"{T(other_team)}/invites/{sent['id']}").status_code == 404
    assert Invite.objects.get(pk=sent["id"]).state() == "pending"


# --- API keys -----------------------------------------------------------------------------

def test_an_admin_makes_a_key_shown_once_that_works_until_revoked(
        team, member, django_capture_on_commit_callbacks):
    admin, admin_user = member(team, "admin")
    response = admin.post(f"{T(team)}/keys", {"name": "ci", "scopes": ["workflows:read"],
                                              "expiresInDays": 30}, format="json")
    assert response.status_code == 201, response.json()
    created = response.json()["data"]
    raw = created["key"]
    assert raw.startswith("sk-") and len(raw) == 46
    assert created["masked"] == f"{raw[:10]}…{raw[-4:]}"
    assert created["scopes"] == ["workflows:read"] and created["createdBy"] == admin_user.username
    assert created["expiresAt"] is not None and created["state"] == "active"
    listed = admin.get(f"{T(team)}/keys").json()
    assert raw not in str(listed) and listed["data"][0]["masked"] == created["masked"]
    assert listed["scopes"]["usage:read"] == "Read credits and usage"

    caller = APIClient()
    caller.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert caller.get("/api/v1/workflows").status_code == 200
    assert caller.post("/api/v1/workflows", {}, format="json").status_code == 403  # scope
    assert admin.get(f"{T(team)}/keys").json()["data"][0]["lastUsedAt"] is not None

    with django_capture_on_commit_callbacks(execute=True):  # the key cache drops it on commit
        revoked = admin.post(f"{T(team)}/keys/{created['id']}/revoke").json()["data"]
    assert revoked["state"] == "revoked" and revoked["revokedAt"]
    response = caller.get("/api/v1/workflows")
    assert (response.status_code, response.json()["error"]) == (401, "Invalid API key")
    assert kinds(team)[-2:] == ["key.created", "key.revoked"]


def test_keys_follow_createapikeys_rules(team, member):
    admin, _ = member(team, "admin")
    everything = admin.post(f"{T(team)}/keys", {"name": "all"}, format="json").json()["data"]
    assert set(everything["scopes"]) == {"workflows:read", "workflows:write",
                                         "workflows:execute", "executions:read", "usage:read",
                                         "apps:execute"}
    assert everything["expiresAt"] is None
    for body in ({"name": "x", "scopes": ["team:keys"]}, {"name": "x", "expiresInDays": 0},
                 {"name": "   "}, {}, {"name": 5}, {"name": "x", "scopes": "workflows:read"}):
        response = admin.post(f"{T(team)}/keys", body, format="json")
        assert response.status_code == 400, (body, response.json())
    assert ApiKey.objects.filter(team=team).count() == 1


@pytest.mark.parametrize("role", ["viewer", "editor"])
def test_viewers_and_editors_cannot_see_or_make_keys(team, member, role):
    client, _ = member(team, role)
    assert client.get(f"{T(team)}/keys").status_code == 403
    assert client.post(f"{T(team)}/keys", {"name": "x"}, format="json").status_code == 403


def test_a_key_cannot_make_keys_and_another_teams_keys_are_a_404(team, other_team, member,
                                                                  key_client, make_key):
    assert key_client(team).post(f"{T(team)}/keys", {"name": "x"},
                                 format="json").status_code == 403
    theirs = make_key(other_team).api_key
    admin, _ = member(team, "owner")
    assert admin.get(f"{T(other_team)}/keys").status_code == 404
    assert admin.post(f"{T(team)}/keys/{theirs.pk}/revoke").status_code == 404
    assert admin.post(f"{T(other_team)}/keys/{theirs.pk}/revoke").status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


def test_huge_ids_are_404s_not_database_errors(team, member):
    admin, _ = member(team, "owner")
    huge = 2**63
    assert admin.get(f"/api/v1/teams/{huge}/members").status_code == 404
    assert admin.post(f"{T(team)}/keys/{huge}/revoke").status_code == 404
    assert admin.delete(f"{T(team)}/members/{huge}").status_code == 404
    assert admin.delete(f"{T(team)}/invites/{huge}").status_code == 404


# --- activity -----------------------------------------------------------------------------

@pytest.fixture
def no_dispatch(monkeypatch):
    from executions import dispatch

    monkeypatch.setattr(dispatch, "node_runs_enqueue_on_commit", lambda ready: None)


def test_the_log_records_workflow_changes_and_runs_with_who_and_where(team, member,
                                                                      key_client, no_dispatch):
    from tests.samples import offline_chain

    editor, editor_user = member(team, "editor")
    api = key_client(team)
    created = api.post("/api/v1/workflows", offline_chain(), format="json").json()["data"]
    wf = created["id"]
    body = {**offline_chain(), "name": "Renamed"}
    assert editor.put(f"/api/v1/workflows/{wf}", body, format="json").status_code == 200
    body["nodes"][0]["position"] = {"x": 5, "y": 5}
    for _ in range(3):  # autosaves of one editing session: one line
        body["nodes"][0]["position"]["x"] += 1
        assert editor.put(f"/api/v1/workflows/{wf}", body, format="json").status_code == 200
    assert editor.post(f"/api/v1/workflows/{wf}/execute", {}, format="json").status_code == 201
    assert api.post(f"/api/v1/workflows/{wf}/execute", {}, format="json").status_code == 201
    assert api.post(f"/api/v1/workflows/{wf}/execute", {"batch": [{}, {}]},
                    format="json").status_code == 201
    assert editor.post(f"/api/v1/workflows/{wf}/visibility", {"visibility": "view"},
                       format="json").status_code == 200
    assert editor.delete(f"/api/v1/workflows/{wf}").status_code == 204

    viewer, _ = member(team, "viewer")
    log = viewer.get(f"{T(team)}/activity").json()
    lines = [(e["kind"], e["actor"], e["source"]) for e in reversed(log["data"])]
    assert lines == [
        ("workflow.created", "key test", "api"),
        ("workflow.renamed", editor_user.username, "editor"),
        ("workflow.edited", editor_user.username, "editor"),
        ("run.started", editor_user.username, "editor"),
        ("run.started", "key test", "api"),
        ("run.started", "key test", "batch"),
        ("visibility.changed", editor_user.username, "editor"),
        ("workflow.deleted", editor_user.username, "editor"),
    ]
    assert log["meta"]["total"] == 8
    summaries = [e["summary"] for e in log["data"]]
    assert f"{editor_user.username} ran workflow Renamed (from editor)" in summaries
    assert "key test ran workflow Renamed (from batch)" in summaries
    assert f"{editor_user.username} renamed workflow 'Offline chain' to 'Renamed'" in summaries \
        or any("renamed workflow" in s for s in summaries)


def test_the_log_filters_by_person_workflow_and_kind_and_pages(team, member, no_dispatch):
    from accounts.activity import activity_record

    admin, admin_user = member(team, "admin")
    _, other = member(team, "editor")
    import uuid

    wf = uuid.uuid4()
    for _ in range(5):
        activity_record(team_id=team.pk, kind="run.started", user=admin_user, source="editor",
                        workflow_id=wf, workflow_name="A")
    activity_record(team_id=team.pk, kind="key.created", user=other, subject="k")
    get = lambda q: admin.get(f"{T(team)}/activity?{q}").json()  # noqa: E731
    assert get(f"actor={other.pk}")["meta"]["total"] == 1
    assert get(f"workflowId={wf}")["meta"]["total"] == 5
    assert get("kind=key.created")["data"][0]["subject"] == "k"
    page = get("limit=2&offset=1")
    assert (len(page["data"]), page["meta"]) == (2, {"total": 6, "limit": 2, "offset": 1})
    for bad in ("kind=nope", "actor=x", "workflowId=123", "limit=x", "workflowId=", "actor=",
                "kind="):  # empty is not "any" (the fuzz found it taken as such)
        assert admin.get(f"{T(team)}/activity?{bad}").status_code == 400, bad


def test_another_teams_activity_is_a_404_and_keys_need_read(team, other_team, member,
                                                            key_client):
    from accounts.activity import activity_record

    activity_record(team_id=other_team.pk, kind="key.created", subject="secret-key-name")
    client, _ = member(team, "owner")
    assert client.get(f"{T(other_team)}/activity").status_code == 404
    assert "secret-key-name" not in client.get(f"{T(team)}/activity").content.decode()
    assert key_client(team, scopes=["usage:read"]).get(
        f"{T(team)}/activity").status_code == 403
    assert key_client(team, scopes=["workflows:read"]).get(
        f"{T(team)}/activity").status_code == 200


def test_a_change_that_rolls_back_leaves_no_line(team, member, make_user):
    owner, owner_user = member(team, "owner")
    owner.patch(f"{T(team)}/members/{owner_user.pk}", {"role": "viewer"}, format="json")
    assert "member.role_changed" not in kinds(team)
