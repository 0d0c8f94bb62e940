"""Login throttling (django-axes): per username and address, on the site and admin logins."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

PASSWORD = "the right password"
OFFICE = "203.0.113.7"
# The defaults (AXES_FAILURE_LIMIT, AXES_COOLOFF_TIME in settings).
FAILURE_LIMIT = 5
COOL_OFF = timedelta(minutes=15)


@pytest.fixture
def person(make_user, team):
    user = make_user(team=team, username="person")
    user.set_password(PASSWORD)
    user.save()
    return user


def log_in(client: Client, path: str, username: str, password: str):
    return client.post(path, {"username": username, "password": password, "next": "/"},
                       REMOTE_ADDR=OFFICE)


def fail_until_locked(client: Client, path: str, username: str) -> None:
    for _ in range(FAILURE_LIMIT):
        log_in(client, path, username, "wrong")


def is_logged_in(client: Client) -> bool:
    return "_auth_user_id" in client.session


def test_login_locks_a_username_at_an_address_after_five_failures_with_a_clear_message(person):
    client = Client()
    fail_until_locked(client, "/login/", "person")
    refused = log_in(client, "/login/", "person", PASSWORD)
    assert refused.status_code == 429
    page = refused.content.decode()
    assert "Too many failed logins" in page and "15 minutes" in page
    assert 'action="/login/"' not in page  # our page, not the bare form again
    assert not is_logged_in(client)


def test_login_lockout_leaves_another_user_at_the_same_address_alone(person, make_user):
    colleague = make_user(username="colleague")
    colleague.set_password(PASSWORD)
    colleague.save()
    fail_until_locked(Client(), "/login/", "person")
    client = Client()
    assert log_in(client, "/login/", "colleague", PASSWORD).status_code == 302
    assert is_logged_in(client)


def test_login_lockout_leaves_the_same_user_at_another_address_alone(person):
    fail_until_locked(Client(), "/login/", "person")
    client = Client()
    response = client.post("/login/", {"username": "person", "password": PASSWORD},
                           REMOTE_ADDR="198.51.100.9")
    assert response.status_code == 302 and is_logged_in(client)


def test_login_works_again_after_the_cool_off(person):
    client = Client()
    fail_until_locked(client, "/login/", "person")
    assert log_in(client, "/login/", "person", PASSWORD).status_code == 429
    from axes.models import AccessAttempt

    # The cool-off counted from the last attempt: move every attempt past it.
    AccessAttempt.objects.update(
        attempt_time=timezone.now() - COOL_OFF - timedelta(seconds=1))
    assert log_in(client, "/login/", "person", PASSWORD).status_code == 302
    assert is_logged_in(client)


def test_admin_login_is_throttled_too(person):
    person.is_staff = True
    person.save()
    client = Client()
    fail_until_locked(client, "/admin/login/", "person")
    refused = log_in(client, "/admin/login/", "person", PASSWORD)
    assert refused.status_code == 429 and "Too many failed logins" in refused.content.decode()
    assert not is_logged_in(client)


def test_a_locked_out_login_leaves_api_keys_working(person, team, key_client):
    fail_until_locked(Client(), "/login/", "person")
    assert key_client(team).get("/api/v1/workflows", REMOTE_ADDR=OFFICE).status_code == 200


def test_one_address_spraying_passwords_across_usernames_is_locked_out_too(
        person, make_user, settings):
    """Two wrong passwords each for many usernames never trip the per-username limit; the
    address's own limit (LOGIN_ADDRESS_FAILURE_LIMIT, lowered here from 50) does, for every
    username at that address, while the same user elsewhere still logs in."""
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 8
    client = Client()
    for n in range(4):
        for _ in range(2):
            log_in(client, "/login/", f"target-{n}", "wrong")
    refused = log_in(client, "/login/", "person", PASSWORD)
    assert refused.status_code == 429 and "Too many failed logins" in refused.content.decode()
    assert not is_logged_in(client)

    elsewhere = Client()
    response = elsewhere.post("/login/", {"username": "person", "password": PASSWORD,
                                          "next": "/"}, REMOTE_ADDR="198.51.100.9")
    assert response.status_code == 302 and is_logged_in(elsewhere)


def test_colleagues_typos_at_one_address_stay_below_its_limit(person, make_user):
    """At the default limit (50), a handful of failures by several colleagues locks nobody."""
    client = Client()
    for n in range(4):
        for _ in range(FAILURE_LIMIT - 1):
            log_in(client, "/login/", f"colleague-{n}", "wrong")
    assert log_in(client, "/login/", "person", PASSWORD).status_code == 302
