"""Client apps: a workflow published as a form and a results gallery for people who never see
the graph (clientapps.services). Each app has its own daily credit cap and per-visitor rate,
so a client's link can never drain the team."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


class App(models.Model):
    class Access(models.TextChoices):
        TEAM = "team", "Team members only"
        LINK = "link", "Anyone with the link"
        PASSCODE = "passcode", "Anyone with the link and the passcode"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, related_name="apps")
    workflow = models.ForeignKey("graph.Workflow", on_delete=models.CASCADE, related_name="apps")
    # The link: /apps/<slug>. Made from the title plus random characters, so a link is not
    # guessed from the title (an app "anyone with the link" may open).
    slug = models.SlugField(max_length=80, unique=True)
    title = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    # [{nodeId, input, label, helpText, default, allowedValues, required}]: the form's fields,
    # each one setting of one node; every other setting runs as saved.
    exposed_inputs = models.JSONField(default=list, blank=True)
    # [{nodeId, label}]: the nodes whose outputs a visitor sees (nothing else is ever shown).
    exposed_outputs = models.JSONField(default=list, blank=True)
    cover_asset = models.ForeignKey("executions.Asset", null=True, blank=True,
                                    on_delete=models.SET_NULL, related_name="+")
    access = models.CharField(max_length=10, choices=Access.choices, default=Access.TEAM)
    # Django's password hasher (PBKDF2 by default); empty unless access is "passcode".
    passcode_hash = models.CharField(max_length=200, blank=True, default="")
    daily_credit_cap = models.PositiveIntegerField(
        help_text="Credits the app's runs may be charged per day (in `cap_timezone`), all "
        "visitors together.")
    # The IANA time zone whose midnight starts the cap's day (the client's, say); UTC unless set.
    cap_timezone = models.CharField(max_length=64, default="UTC")
    visitor_runs_per_hour = models.PositiveIntegerField(
        default=10, help_text="Runs one visitor (IP address, member or key) may start per hour.")
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True,
                                   on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["team", "-created_at"])]

    def __str__(self) -> str:
        return f"{self.title} ({self.slug})"
