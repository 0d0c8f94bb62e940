"""Executions, their node runs and the files they produce. The database is the source of truth:
Redis only carries work and events, so a lost worker or a lost message never loses a run."""

from __future__ import annotations

import secrets
import uuid

from django.conf import settings
from django.db import models
from django.utils import timezone

from accounts.models import Team


class ExecutionStatus(models.TextChoices):
    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


class NodeStatus(models.TextChoices):
    PENDING = "PENDING"  # waiting for its inputs
    QUEUED = "QUEUED"  # ready; a task is on its way (or it waits for a provider slot)
    RUNNING = "RUNNING"
    COMPLETED = "COMPLETED"
    CACHED = "CACHED"
    FAILED = "FAILED"
    SKIPPED = "SKIPPED"
    CANCELLED = "CANCELLED"


EXECUTION_DONE = (ExecutionStatus.COMPLETED, ExecutionStatus.FAILED, ExecutionStatus.CANCELLED)
NODE_DONE = (
    NodeStatus.COMPLETED, NodeStatus.CACHED, NodeStatus.FAILED, NodeStatus.SKIPPED,
    NodeStatus.CANCELLED,
)


def new_secret() -> str:
    return secrets.token_urlsafe(24)


# A run's graph snapshot and inputs: large JSON that reading a run's status never needs.
RUN_SNAPSHOT = ("nodes", "edges", "inputs", "trigger_data")


class Execution(models.Model):
    class Trigger(models.TextChoices):
        EDITOR = "editor"
        API = "api"
        WEBHOOK = "webhook"
        BATCH = "batch"
        CLI = "cli"
        APP = "app"  # a client app's form or POST /apps/{slug}/run
        MCP = "mcp"  # a tool of the MCP server (/api/mcp): run_workflow, run_app

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, related_name="executions")
    workflow = models.ForeignKey(
        "graph.Workflow", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="executions",
    )
    workflow_version = models.ForeignKey(
        "graph.WorkflowVersion", null=True, blank=True, on_delete=models.SET_NULL,
        related_name="executions",
    )
    # The graph as it ran: later edits to the workflow never change a past run.
    nodes = models.JSONField(default=list)
    edges = models.JSONField(default=list)
    status = models.CharField(
        max_length=12, choices=ExecutionStatus.choices, default=ExecutionStatus.QUEUED,
        db_index=True,
    )
    trigger = models.CharField(max_length=10, choices=Trigger.choices, default=Trigger.API)
    target_node_id = models.CharField(max_length=200, blank=True, default="")
    force = models.BooleanField(default=False, help_text="Ignore every cached result.")
    inputs = models.JSONField(default=dict, blank=True)
    trigger_data = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    api_key = models.ForeignKey(
        "accounts.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    error_node_id = models.CharField(max_length=200, blank=True, default="")
    credits_estimated = models.PositiveIntegerField(default=0)
    credits_charged = models.PositiveIntegerField(default=0)
    # Held from the balance at start; what was not charged goes back when the run ends.
    credits_reserved = models.PositiveIntegerField(default=0)
    # Every status event carries the next number, so a client can detect a gap and re-sync.
    seq = models.PositiveBigIntegerField(default=0)
    status_secret = models.CharField(max_length=64, default=new_secret, editable=False)
    webhook_url = models.URLField(max_length=500, blank=True, default="")
    batch = models.ForeignKey("Batch", null=True, blank=True, on_delete=models.SET_NULL,
                              related_name="executions")
    run_index_in_batch = models.PositiveIntegerField(null=True, blank=True)
    simulated = models.BooleanField(default=False)
    # The client app that started it (clientapps.App), kept by id and name like the activity
    # log keeps a workflow: its daily credit cap sums these runs, the history names the app.
    app_id = models.UUIDField(null=True, blank=True)
    app_name = models.CharField(max_length=200, blank=True, default="")
    stale_dependencies = models.JSONField(
        default=list, blank=True,
        help_text="Pinned nodes whose inputs changed since their output was made (the poll's "
        "staleDependencies).")
    # Retention (executions.retention): when a pass last kept this expired run because some of
    # its files are favourites or still referenced; it is looked at again a day later.
    pruned_at = models.DateTimeField(null=True, blank=True)
    # List fan-out (executions.fanout): by List node id, the nodes it fans out, the Collect
    # nodes gathering them, its size once known and how many items are paid for. Empty for a
    # run with no List node.
    fan_out = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["team", "workflow", "-created_at"]),
                   models.Index(fields=["app_id", "created_at"], name="execution_app_day",
                                condition=models.Q(app_id__isnull=False))]

    def __str__(self) -> str:
        return f"{self.id} ({self.status})"

    @property
    def is_done(self) -> bool:
        return self.status in EXECUTION_DONE


class NodeRun(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    execution = models.ForeignKey(Execution, on_delete=models.CASCADE, related_name="node_runs")
    node_id = models.CharField(max_length=200)
    node_type = models.CharField(max_length=100)
    label = models.CharField(max_length=200, blank=True, default="")
    # A node a List fans out has one node run per item (its index, and the list's size); any
    # other node run has none.
    item_index = models.PositiveIntegerField(null=True, blank=True)
    item_count = models.PositiveIntegerField(null=True, blank=True)
    position = models.PositiveIntegerField(default=0, help_text="Topological order.")
    status = models.CharField(
        max_length=12, choices=NodeStatus.choices, default=NodeStatus.PENDING, db_index=True
    )
    # Distinct upstream nodes not finished yet; decremented atomically, ready at zero.
    waiting_inputs = models.PositiveIntegerField(default=0)
    upstream = models.JSONField(default=list, help_text="Node ids this node reads from.")
    config = models.JSONField(default=dict, help_text="Effective settings (defaults applied).")
    seed = models.BigIntegerField(null=True, blank=True)
    seed_reused = models.BooleanField(
        default=False, help_text="A random seed carried over from an earlier run (so its cached "
        "result may be reused); see executions.planner._reused_seeds.")
    pinned = models.BooleanField(default=False,
                                 help_text="Took the node's pinned output (cached_from).")
    provider = models.CharField(max_length=20, blank=True, default="")
    progress = models.FloatField(default=0)
    attempts = models.PositiveSmallIntegerField(default=0)
    # A token per claim: a task carrying an older token (a duplicate or a dead worker's) stops.
    lease = models.CharField(max_length=32, blank=True, default="")
    remote = models.JSONField(
        null=True, blank=True, help_text="The provider's job handle while a remote job runs."
    )
    holds_slot = models.BooleanField(default=False)
    cache_key = models.CharField(max_length=64, blank=True, default="", db_index=True)
    cached_from = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    outputs = models.JSONField(
        default=dict, blank=True,
        help_text='By output port: {"asset": id} for files, {"text": …} for text.',
    )
    error = models.TextField(blank=True, default="")
    error_kind = models.CharField(max_length=20, blank=True, default="")
    credits = models.PositiveIntegerField(default=0, help_text="Charged: only when it succeeded.")
    # What the run's quote reserved for this node run (one item's, in a fan-out): its charge is
    # the price of what the vendor delivered, never more than this. None only on node runs
    # planned before it was kept (charged uncapped, as then).
    credits_quoted = models.PositiveIntegerField(
        null=True, blank=True, help_text="Quoted and reserved for it: the most it is charged.")
    simulated = models.BooleanField(default=False)
    queued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # The worker process that claimed it ("<celery hostname>/<boot id>"): a worker that starts
    # again under the same hostname takes back what its previous life left running.
    owner = models.CharField(max_length=200, blank=True, default="")
    # When its next task is due (a backoff retry, the next poll of a remote job): the
    # dispatcher re-arms a node run whose task is this late (ENGINE["lost_after"]).
    due_at = models.DateTimeField(null=True, blank=True)
    # Set just before a submit to a vendor goes out, cleared when it provably did not: a node
    # run found with it and no job handle may have started a vendor job that we never heard of.
    submitting_since = models.DateTimeField(null=True, blank=True)

    class Meta:
        # Within a run, in topological order. (Ordering by "execution" too made every query
        # on node runs join and sort by the run's creation time, even a one-row lookup.)
        ordering = ["position", "item_index"]
        constraints = [
            models.UniqueConstraint(fields=["execution", "node_id"], name="one_run_per_node",
                                    condition=models.Q(item_index__isnull=True)),
            models.UniqueConstraint(fields=["execution", "node_id", "item_index"],
                                    name="one_run_per_node_item",
                                    condition=models.Q(item_index__isnull=False)),
        ]
        # The dispatcher looks every few seconds for node runs that are late: it reads only
        # the ones still in flight, never the history.
        indexes = [models.Index(fields=["status"], name="noderun_in_flight",
                                condition=models.Q(status__in=("QUEUED", "RUNNING")))]

    def __str__(self) -> str:
        return f"{self.node_id} ({self.status})"

    @property
    def is_done(self) -> bool:
        return self.status in NODE_DONE


class Batch(models.Model):
    """Many runs of one workflow from one call, each with its own inputs."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, related_name="batches")
    workflow = models.ForeignKey("graph.Workflow", null=True, on_delete=models.SET_NULL,
                                 related_name="batches")
    items = models.JSONField(default=list, help_text="The inputs of each run, by index.")
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "batches"

    def __str__(self) -> str:
        return f"batch {self.id} ({len(self.items)} runs)"


class WebhookDelivery(models.Model):
    """One completion event for one URL, retried with backoff for up to a day."""

    class Status(models.TextChoices):
        PENDING = "pending"
        DELIVERED = "delivered"
        FAILED = "failed"
        REFUSED = "refused"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    message_id = models.CharField(max_length=64, unique=True)
    execution = models.ForeignKey(Execution, on_delete=models.CASCADE,
                                  related_name="webhook_deliveries")
    url = models.URLField(max_length=500)
    event_type = models.CharField(max_length=40)
    payload = models.JSONField()
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING,
                              db_index=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    next_attempt_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"{self.event_type} → {self.url} ({self.status})"


class WebhookAttempt(models.Model):
    delivery = models.ForeignKey(WebhookDelivery, on_delete=models.CASCADE,
                                 related_name="attempt_log")
    number = models.PositiveSmallIntegerField()
    status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    error = models.TextField(blank=True, default="")
    response_excerpt = models.TextField(blank=True, default="")
    duration_ms = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["delivery", "number"]


def asset_upload_to(asset: Asset, filename: str) -> str:
    """Under one flat prefix: the name itself is random (executions.assets)."""
    return f"assets/{filename}"


class Asset(models.Model):
    class Kind(models.TextChoices):
        IMAGE = "image"
        VIDEO = "video"
        AUDIO = "audio"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    team = models.ForeignKey("accounts.Team", on_delete=models.CASCADE, related_name="assets")
    node_run = models.ForeignKey(
        NodeRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="assets"
    )
    kind = models.CharField(max_length=10, choices=Kind.choices)
    file = models.FileField(upload_to=asset_upload_to, max_length=300)
    mime = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64, db_index=True)
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    duration = models.FloatField(null=True, blank=True,
                                 help_text="Seconds, for video and audio.")
    frame_count = models.PositiveIntegerField(null=True, blank=True)
    channels = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Audio.")
    sample_rate = models.PositiveIntegerField(null=True, blank=True, help_text="Audio, Hz.")
    uploaded = models.BooleanField(default=False, help_text="Uploaded by a user, not generated.")
    simulated = models.BooleanField(default=False)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    # Renditions made once, right after the file is stored (executions.assets): WebP
    # thumbnails 256 and 768 px on the long side (of the poster, for a video; a sound's are
    # its waveform, 4:1) and a video's poster frame. Empty for files stored before they
    # existed, or that could not be made.
    thumbnail_small = models.FileField(upload_to=asset_upload_to, max_length=300, blank=True,
                                       default="", help_text="WebP, 256 px on the long side.")
    thumbnail = models.FileField(upload_to=asset_upload_to, max_length=300, blank=True,
                                 default="", help_text="WebP, 768 px on the long side.")
    poster = models.FileField(upload_to=asset_upload_to, max_length=300, blank=True,
                              default="", help_text="A video's first frame (WebP).")
    renditions_size = models.PositiveBigIntegerField(
        default=0, help_text="Bytes of the thumbnails and poster together.")
    favorite = models.BooleanField(default=False, help_text="Kept by retention.")
    # Who uploaded it (an upload; an output's provenance is its run's).
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    api_key = models.ForeignKey(
        "accounts.ApiKey", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # When a run last took it as an input (an Image Input naming it): retention keeps a file
    # as long as the runs that used it.
    last_used_at = models.DateTimeField(null=True, blank=True)
    # The client app (clientapps.App) a visitor uploaded it through, kept by id as a run keeps
    # its app: the file is the team's, and only that visitor's runs of that app may take it.
    app_id = models.UUIDField(null=True, blank=True,
                              help_text="The client app a visitor uploaded it through.")

    class Meta:
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["team", "-created_at"], name="asset_team_newest"),
                   # An Image Input's URL names a file: the run and the estimate find it by name.
                   models.Index(fields=["team", "file"], name="asset_team_file")]

    def __str__(self) -> str:
        return self.file.name


class TeamStorage(Team):
    """A team seen for its storage use (admin): its files' bytes and count."""

    class Meta:
        proxy = True
        verbose_name = "team storage use"
        verbose_name_plural = "storage use by team"
