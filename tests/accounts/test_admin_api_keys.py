"""A key created in admin is shown once, on a page of its own, and never rides in a cookie."""

from __future__ import annotations

import hashlib
import re

import pytest
from django.contrib.messages.storage.cookie import CookieStorage
from django.contrib.sessions.models import Session
from django.http import HttpRequest
from django.test import Client

from accounts.models import ApiKey, User

RAW_KEY = re.compile(r"sk-[A-Za-z0-9_-]{43}")


@pytest.fixture
def operator(db):
    return User.objects.create_superuser(username="operator", password="pw")


def _cookie_texts(response) -> list[str]:
    """Every cookie value the response sets, plus the messages cookie decoded."""
    texts = [morsel.value for morsel in response.cookies.values()]
    messages = response.cookies.get("messages")
    if messages is not None and messages.value:
        decoded = CookieStorage(HttpRequest())._decode(messages.value) or []
        texts += [str(message) for message in decoded]
    return texts


def test_a_key_created_in_admin_is_shown_once_and_never_put_in_the_messages_cookie(
        team, operator):
    client = Client()
    client.force_login(operator)
    created = client.post("/admin/accounts/apikey/add/", {
        "team": team.pk, "name": "from admin", "scopes": ["workflows:read"]})
    assert created.status_code == 302, created.content.decode()[:2000]
    cookies = _cookie_texts(created)
    shown = client.get(created["Location"])
    cookies += _cookie_texts(shown)
    page = shown.content.decode()
    keys = RAW_KEY.findall(page)
    assert len(keys) == 1, "the page shows the new key exactly once"
    raw = keys[0]
    stored = ApiKey.objects.get(name="from admin")
    assert stored.key_hash == hashlib.sha256(raw.encode()).hexdigest()
    assert not any(raw in text for text in cookies)
    # Nor does it stay behind in the server-side session once shown.
    assert not any(raw in str(s.get_decoded()) for s in Session.objects.all())
    again = client.get(created["Location"])
    assert again.status_code == 200 and raw not in again.content.decode()
    assert not RAW_KEY.search(again.content.decode())
    assert "shown only once" in again.content.decode()


def test_the_shown_once_page_is_for_staff_only(team, operator, make_user):
    client = Client()
    client.force_login(operator)
    created = client.post("/admin/accounts/apikey/add/", {
        "team": team.pk, "name": "from admin", "scopes": ["workflows:read"]})
    stranger = Client()
    stranger.force_login(make_user(team=team, role="owner"))
    refused = stranger.get(created["Location"])
    assert refused.status_code == 302 and "/admin/login/" in refused["Location"]


def test_keys_made_or_revoked_in_admin_or_with_createapikey_are_in_the_teams_log(team):
    from django.core.management import call_command

    from accounts.models import ActivityEvent

    client = Client()
    client.force_login(User.objects.create_superuser(username="ada", password="pw"))
    client.post("/admin/accounts/apikey/add/", {
        "team": team.pk, "name": "from admin", "scopes": ["workflows:read"]})
    key = ApiKey.objects.get(name="from admin")
    client.post("/admin/accounts/apikey/", {"action": "revoke", "_selected_action": [key.pk]})
    call_command("createapikey", "--team", team.slug, "--name", "deploy")
    lines = list(ActivityEvent.objects.filter(team=team).order_by("id").values_list(
        "kind", "actor_name", "source", "subject"))
    assert lines == [("key.created", "ada", "admin", "from admin"),
                     ("key.revoked", "ada", "admin", "from admin"),
                     ("key.created", "operator", "cli", "deploy")]  # no one signed in
