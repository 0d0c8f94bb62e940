"""Users, teams and memberships, API keys, and the credit ledger."""

from __future__ import annotations

from django.conf import settings
from django.contrib.auth.models import AbstractUser
from django.db import models
from django.db.models import Q
from django.utils import timezone

from accounts.plans import Plan
from accounts.roles import Role


class User(AbstractUser):
    """A person who logs in to the editor or admin. Teams are reached through memberships."""


def new_webhook_secret() -> str:
    """A Standard Webhooks signing secret: `whsec_` and base64 of 32 random bytes."""
    import base64
    import secrets

    return "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode()


class Team(models.Model):
    name = models.CharField(max_length=200)
    slug = models.SlugField(max_length=60, unique=True)
    plan = models.CharField(max_length=20, choices=Plan.choices, default=Plan.FREE)
    # The running balance; every change to it is one row in CreditLedgerEntry, written in the
    # same transaction (accounts.services.credits_*).
    credit_balance = models.BigIntegerField(default=0)
    # Signs completion webhooks (Standard Webhooks); shown to the team in settings.
    webhook_secret = models.CharField(max_length=80, default=new_webhook_secret)
    created_at = models.DateTimeField(default=timezone.now)
    members = models.ManyToManyField(
        settings.AUTH_USER_MODEL, through="Membership", related_name="teams"
    )

    class Meta:
        ordering = ["name"]
        constraints = [
            models.CheckConstraint(
                condition=Q(credit_balance__gte=0), name="team_credit_balance_not_negative"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.slug})"


class Membership(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.EDITOR)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["team__name", "user__username"]
        constraints = [
            models.UniqueConstraint(fields=["user", "team"], name="one_membership_per_team")
        ]

    def __str__(self) -> str:
        return f"{self.user} in {self.team.slug} as {self.role}"


class ApiKey(models.Model):
    """A team's API key. Only its SHA-256 hash is stored; the key itself is shown once."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, help_text="The first characters, for recognising it.")
    last4 = models.CharField(max_length=4)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    scopes = models.JSONField(default=list)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"{self.name} ({self.masked})"

    @property
    def masked(self) -> str:
        return f"{self.prefix}…{self.last4}"

    def is_expired(self, now=None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())

    @property
    def is_revoked(self) -> bool:
        return self.revoked_at is not None


class CreditLedgerEntry(models.Model):
    """One change to a team's credits. Append-only: rows are never updated or deleted."""

    class Kind(models.TextChoices):
        GRANT = "grant", "Grant"
        CHARGE = "charge", "Charge"
        REFUND = "refund", "Refund"
        ADJUSTMENT = "adjustment", "Adjustment"

    team = models.ForeignKey(Team, on_delete=models.PROTECT, related_name="ledger")
    kind = models.CharField(max_length=20, choices=Kind.choices)
    delta = models.BigIntegerField()
    balance_after = models.BigIntegerField()
    reason = models.CharField(max_length=300, blank=True)
    reference = models.CharField(
        max_length=100, blank=True, help_text="What caused it, e.g. an execution id."
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = "credit ledger entry"
        verbose_name_plural = "credit ledger"

    def __str__(self) -> str:
        return f"{self.team.slug} {self.delta:+d} ({self.kind})"


class IdempotencyRecord(models.Model):
    """The first response to a creating POST with an Idempotency-Key, replayed for 24 hours
    to the same caller acting on the same team (accounts.idempotency)."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="+")
    caller = models.CharField(
        max_length=80, help_text="key:<id>, user:<id>, or webhook:<workflow id> (key-less)."
    )
    key = models.CharField(max_length=255)
    request_hash = models.CharField(max_length=64)
    in_progress = models.BooleanField(default=True)
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    body = models.JSONField(null=True, blank=True)
    headers = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["team", "caller", "key"],
                                               name="one_record_per_caller_key")]

    def __str__(self) -> str:
        return f"{self.team_id}:{self.caller}:{self.key}"


class Invite(models.Model):
    """An invitation to join a team with a role. The link's token is stored only as a hash;
    it works once, until it expires or is revoked (accounts.services.invite_*)."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="invites")
    email = models.EmailField(max_length=254, blank=True)
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.EDITOR)
    token_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+")
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField()
    sent_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+")
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.email or 'link'} → {self.team.slug} as {self.role}"

    def state(self, now=None) -> str:
        if self.accepted_at is not None:
            return "accepted"
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at <= (now or timezone.now()):
            return "expired"
        return "pending"


class ActivityEvent(models.Model):
    """One line of a team's activity log: who did what, when, and from where. Append-only,
    written in the same transaction as the change it records (accounts.services.activity_record).

    The workflow is kept by id and name (accounts know nothing of workflows), so a line keeps
    saying what it said after the workflow is renamed or deleted."""

    class Kind(models.TextChoices):
        WORKFLOW_CREATED = "workflow.created", "created workflow"
        WORKFLOW_DUPLICATED = "workflow.duplicated", "duplicated workflow"
        WORKFLOW_RENAMED = "workflow.renamed", "renamed workflow"
        WORKFLOW_EDITED = "workflow.edited", "edited workflow"
        WORKFLOW_DELETED = "workflow.deleted", "deleted workflow"
        WORKFLOW_RESTORED = "workflow.restored", "restored workflow"
        VERSION_RESTORED = "version.restored", "restored a version of"
        VERSION_NAMED = "version.named", "named a version of"
        RUN_STARTED = "run.started", "ran workflow"
        RUN_CANCELLED = "run.cancelled", "cancelled a run of"
        WEBHOOK_ROTATED = "webhook.rotated", "rotated the webhook URL of"
        VISIBILITY_CHANGED = "visibility.changed", "changed who can open"
        KEY_CREATED = "key.created", "created API key"
        KEY_REVOKED = "key.revoked", "revoked API key"
        MEMBER_INVITED = "member.invited", "invited"
        INVITE_REVOKED = "invite.revoked", "revoked the invite of"
        MEMBER_JOINED = "member.joined", "joined the team"
        MEMBER_ROLE_CHANGED = "member.role_changed", "changed the role of"
        MEMBER_REMOVED = "member.removed", "removed"

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="activity")
    kind = models.CharField(max_length=30, choices=Kind.choices)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
        related_name="+")
    api_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="+")
    # Who, as they were called then: a username, `key <name>`, or `operator` (admin, CLI).
    actor_name = models.CharField(max_length=200)
    # Where it came from: editor, api, webhook, batch, cli, admin.
    source = models.CharField(max_length=10, blank=True, default="")
    workflow_id = models.UUIDField(null=True, blank=True)
    workflow_name = models.CharField(max_length=200, blank=True, default="")
    # What it was done to besides a workflow: a member, a key, an invite's email.
    subject = models.CharField(max_length=254, blank=True, default="")
    details = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["team", "-created_at"]),
            models.Index(fields=["team", "workflow_id", "-created_at"]),
        ]

    def __str__(self) -> str:
        return f"{self.actor_name} {self.kind} {self.workflow_name or self.subject}"
