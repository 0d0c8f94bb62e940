"""Workflows, and the immutable version written on every save."""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone


def new_webhook_id() -> str:
    """An unguessable id for the public trigger URL (~190 bits)."""
    return secrets.token_urlsafe(24)


class Workflow(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, related_name="workflows")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    tags = models.JSONField(default=list, blank=True)
    is_active = models.BooleanField(default=True)
    webhook_id = models.CharField(max_length=64, unique=True, default=new_webhook_id)
    # "view": anyone with the share link sees a read-only page of the graph (no secrets).
    link_permission = models.CharField(
        max_length=10, choices=[("private", "Private"), ("view", "Anyone with the link")],
        default="private",
    )
    share_token = models.CharField(max_length=64, unique=True, default=new_webhook_id)
    completion_webhook_url = models.URLField(
        max_length=500, blank=True, default="",
        help_text="Default URL told of every finished run (signed per Standard Webhooks).",
    )
    nodes = models.JSONField(default=list, blank=True)
    edges = models.JSONField(default=list, blank=True)
    # The latest WorkflowVersion.number: every save writes one.
    version = models.PositiveIntegerField(default=0)
    execution_count = models.PositiveIntegerField(default=0)
    last_executed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(default=timezone.now)
    # Deleting through the API hides a workflow; its versions stay and an operator can restore it.
    deleted_at = models.DateTimeField(null=True, blank=True, db_index=True)

    class Meta:
        ordering = ["-updated_at"]
        indexes = [models.Index(fields=["team", "deleted_at", "-updated_at"])]

    def __str__(self) -> str:
        return self.name


class WorkflowVersion(models.Model):
    """A snapshot of a workflow as saved. Never changed once written."""

    class Source(models.TextChoices):
        CREATE = "create", "Created"
        UPDATE = "update", "Updated"
        REPLACE = "replace", "Replaced"
        PATCH_NODE = "patch_node", "Node patched"
        DUPLICATE = "duplicate", "Duplicated"
        RESTORE = "restore", "Restored"
        TEMPLATE = "template", "From a template"
        MERGE = "merge", "Merged with a teammate's save"

    workflow = models.ForeignKey(Workflow, on_delete=models.CASCADE, related_name="versions")
    number = models.PositiveIntegerField()
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    nodes = models.JSONField(default=list)
    edges = models.JSONField(default=list)
    source = models.CharField(max_length=20, choices=Source.choices)
    valid = models.BooleanField(default=True, help_text="Whether the graph passed validation.")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    api_key = models.ForeignKey(
        "accounts.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)
    # A name a user gave it ("Save version…", or named in the history): never coalesced away.
    label = models.CharField(max_length=120, blank=True, default="")
    # Autosaves by one author in one editing burst coalesce into the burst's newest version
    # (graph.versions): when the burst began and how many saves it folds.
    started_at = models.DateTimeField(default=timezone.now)
    saves = models.PositiveIntegerField(default=1)
    # Set when a later save of the same burst took its place; removed a little later.
    superseded_at = models.DateTimeField(null=True, blank=True)
    # How a version resolving a teammate's concurrent save came about ("merged with v12 by
    # alice", "kept mine over v12 by alice"…); empty for every other version.
    note = models.CharField(max_length=200, blank=True, default="")

    class Meta:
        ordering = ["-number"]
        constraints = [
            models.UniqueConstraint(fields=["workflow", "number"], name="one_version_number")
        ]
        indexes = [models.Index(fields=["workflow", "superseded_at"])]

    def __str__(self) -> str:
        return f"{self.workflow_id} v{self.number}"


class WorkflowTemplate(models.Model):
    """A team's template: a copy of a workflow's graph that "Use template" clones into a new
    workflow. Built-in starters are data files (graph/starters), not rows."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, related_name="templates")
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True, default="")
    tags = models.JSONField(default=list, blank=True)
    nodes = models.JSONField(default=list)
    edges = models.JSONField(default=list)
    source_workflow = models.ForeignKey(
        Workflow, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The team's asset shown as the cover (an output of the workflow's last run), by id: the
    # graph knows nothing of runs or files; a cover whose file is gone shows none.
    cover_asset_id = models.UUIDField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["team", "-created_at"])]

    def __str__(self) -> str:
        return self.name
