"""An invite email goes through Django's SMTP backend to a real SMTP server on loopback
(aiosmtpd), and the link it carries lets the invitee in."""

from __future__ import annotations

import email
import re

import pytest
from aiosmtpd.controller import Controller
from rest_framework.test import APIClient

from accounts.models import Membership
from tests.conftest import _free_port

pytestmark = pytest.mark.django_db


class Inbox:
    def __init__(self) -> None:
        self.messages: list[tuple[str, list[str], email.message.Message]] = []

    async def handle_DATA(self, server, session, envelope):  # aiosmtpd's handler hook
        self.messages.append((envelope.mail_from, list(envelope.rcpt_tos),
                              email.message_from_bytes(envelope.content)))
        return "250 Message accepted for delivery"


@pytest.fixture
def smtp_server(settings):
    inbox = Inbox()
    port = _free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", port
    settings.EMAIL_USE_TLS = settings.EMAIL_USE_SSL = False
    settings.EMAIL_TIMEOUT = 5
    settings.DEFAULT_FROM_EMAIL = "Wireflow <invites@wireflow.test>"
    try:
        yield inbox
    finally:
        controller.stop()


def test_an_invite_email_arrives_at_the_smtp_server_and_its_link_works(team, make_user,
                                                                       smtp_server):
    admin = APIClient()
    admin.force_login(make_user(team=team, role="admin", username="ada"))
    response = admin.post(f"/api/v1/teams/{team.pk}/invites",
                          {"email": "newbie@example.com", "role": "editor"}, format="json")
    assert response.status_code == 201, response.json()
    assert response.json()["data"]["emailSent"] is True
    [(sender, recipients, message)] = smtp_server.messages
    assert sender == "invites@wireflow.test" and recipients == ["newbie@example.com"]
    assert message["Subject"] == f"ada invited you to {team.name} on Wireflow"
    body = message.get_payload(decode=True).decode()
    link = re.search(r"http://testserver/invite/(\S+)", body)
    assert link and link.group(0) == response.json()["data"]["url"]

    newbie = make_user(username="newbie")
    client = APIClient()
    client.force_login(newbie)
    assert client.post(f"/api/v1/invites/{link.group(1)}/accept").status_code == 201
    assert Membership.objects.get(team=team, user=newbie).role == "editor"


def test_an_smtp_server_that_is_down_leaves_the_invite_and_says_so(team, make_user, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", _free_port()  # nobody listens
    settings.EMAIL_TIMEOUT = 2
    admin = APIClient()
    admin.force_login(make_user(team=team, role="admin"))
    response = admin.post(f"/api/v1/teams/{team.pk}/invites", {"email": "x@example.com"},
                          format="json")
    assert response.status_code == 201
    data = response.json()["data"]
    assert data["emailSent"] is False and "could not be sent" in data["emailError"]
    assert data["url"] and data["sentAt"] is None
