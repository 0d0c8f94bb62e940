"""Members an operator adds, re-roles or removes in admin are in the team's activity log."""

from __future__ import annotations

import pytest
from django.test import Client

from accounts.models import ActivityEvent, Membership, User

pytestmark = pytest.mark.django_db


def test_admin_membership_changes_are_logged_with_the_operator(team, make_user):
    ada = User.objects.create_superuser(username="ada", password="pw")
    bob = make_user(username="bob")
    client = Client()
    client.force_login(ada)
    assert client.post("/admin/accounts/membership/add/", {
        "user": bob.pk, "team": team.pk, "role": "viewer",
        "created_at_0": "2026-12-03", "created_at_1": "10:00:00"}).status_code == 302
    membership = Membership.objects.get(team=team, user=bob)
    assert client.post(f"/admin/accounts/membership/{membership.pk}/change/", {
        "role": "admin", "created_at_0": "2026-12-03",
        "created_at_1": "10:00:00"}).status_code == 302
    assert client.post(f"/admin/accounts/membership/{membership.pk}/delete/",
                       {"post": "yes"}).status_code == 302
    lines = list(ActivityEvent.objects.filter(team=team).order_by("id").values_list(
        "kind", "actor_name", "source", "subject", "details"))
    assert lines == [
        ("member.joined", "ada", "admin", "bob", {"role": "viewer"}),
        ("member.role_changed", "ada", "admin", "bob", {"from": "viewer", "to": "admin"}),
        ("member.removed", "ada", "admin", "bob", {}),
    ]
    admin = Client()
    admin.force_login(make_user(team=team, role="admin"))
    summaries = [e["summary"] for e in admin.get(
        f"/api/v1/teams/{team.pk}/activity").json()["data"]]
    assert "ada added bob to the team as viewer" in summaries
