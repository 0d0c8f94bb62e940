"""Input and output shapes of the workflow endpoints (camelCase, as api.md documents).

A help text that starts with "(addition)" marks a field api.md does not list."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.roles import Scope
from graph.models import Workflow
from graph.services import format_timestamp
from wireflow_site.errors import ErrorOut
from wireflow_site.fields import (
    StrictBooleanField,
    StrictCharField,
    StrictIntegerField,
    StrictUrlField,
)
from wireflow_site.net import PrivateAddress, require_public_url


def public_base_url(request) -> str:
    return settings.PUBLIC_BASE_URL or request.build_absolute_uri("/").rstrip("/")


def webhook_url(request, workflow: Workflow) -> str:
    return f"{public_base_url(request)}/api/v1/workflow/{workflow.webhook_id}/trigger"


def public_webhook_url(value: str) -> str:
    """A webhook target must be public (unless WEBHOOK_ALLOW_PRIVATE): no SSRF through us."""
    if value:
        try:
            require_public_url(value, allow_private=settings.WEBHOOK_ALLOW_PRIVATE)
        except PrivateAddress as refused:
            raise serializers.ValidationError(str(refused)) from refused
    return value


def share_url(request, workflow: Workflow) -> str:
    return f"{public_base_url(request)}/share/{workflow.share_token}"


def editor_url(request, workflow: Workflow) -> str:
    return f"{public_base_url(request)}/workflows/{workflow.pk}"


@extend_schema_field({"type": "string", "nullable": True,
                     "anyOf": [{"format": "date-time"}, {"maxLength": 0}],
                     "description": "The `updatedAt` the change is based on (empty or null: "
                     "none); older than the saved one → 409 stale_write"})
class BaseUpdatedAtField(StrictCharField):
    """Checked (ISO 8601) by the service, which answers a 400 naming it."""


@extend_schema_field({"type": "array", "items": {}})
class GraphField(serializers.JSONField):
    """A JSON list (nodes or edges); its contents are checked by graph validation."""

    def to_internal_value(self, data):
        value = super().to_internal_value(data)
        if not isinstance(value, list):
            raise serializers.ValidationError("Expected a list.")
        return value


class WorkflowWriteIn(serializers.Serializer):
    id = StrictCharField(required=False, help_text="With POST: update this workflow.")
    teamId = StrictIntegerField(required=False, help_text="Team to create in.")
    name = StrictCharField(max_length=200, required=False)
    description = StrictCharField(required=False, allow_blank=True, max_length=10_000)
    tags = serializers.ListField(
        child=StrictCharField(max_length=50), required=False, max_length=30
    )
    isActive = StrictBooleanField(required=False)
    nodes = GraphField(required=False)
    edges = GraphField(required=False)
    baseUpdatedAt = BaseUpdatedAtField(required=False, allow_null=True, allow_blank=True)
    completionWebhookUrl = StrictUrlField(required=False, allow_blank=True, max_length=500)

    FIELD_MAP = {
        "completionWebhookUrl": "completion_webhook_url",
        "name": "name",
        "description": "description",
        "tags": "tags",
        "isActive": "is_active",
        "nodes": "nodes",
        "edges": "edges",
    }

    def validate_completionWebhookUrl(self, value: str) -> str:
        return public_webhook_url(value)

    def model_changes(self) -> dict:
        return {
            model_field: self.validated_data[api_field]
            for api_field, model_field in self.FIELD_MAP.items()
            if api_field in self.validated_data
        }


class WorkflowItemOut(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    description = serializers.CharField()
    webhookId = serializers.SerializerMethodField(
        help_text="The key-less trigger's id; null unless the caller may execute the workflow.")
    webhookUrl = serializers.SerializerMethodField(
        help_text="The key-less trigger's URL; null unless the caller may execute the workflow.")
    isActive = serializers.BooleanField(source="is_active")
    executionCount = serializers.IntegerField(source="execution_count")
    lastExecutedAt = serializers.DateTimeField(source="last_executed_at", allow_null=True)
    tags = serializers.ListField(child=serializers.CharField())
    teamId = serializers.IntegerField(source="team_id")
    version = serializers.IntegerField()
    createdAt = serializers.SerializerMethodField()
    updatedAt = serializers.SerializerMethodField()

    def _may_trigger(self, workflow: Workflow) -> bool:
        """The trigger runs the workflow with no key: only for those who may execute it."""
        principal = self.context.get("principal")
        if principal is None:
            principal = getattr(self.context["request"], "principal", None)
        return principal is not None and principal.can(workflow.team_id,
                                                       Scope.WORKFLOWS_EXECUTE)

    def get_webhookId(self, workflow: Workflow) -> str | None:
        return workflow.webhook_id if self._may_trigger(workflow) else None

    def get_webhookUrl(self, workflow: Workflow) -> str | None:
        if not self._may_trigger(workflow):
            return None
        return webhook_url(self.context["request"], workflow)

    def get_createdAt(self, workflow: Workflow) -> str:
        return format_timestamp(workflow.created_at)

    def get_updatedAt(self, workflow: Workflow) -> str:
        return format_timestamp(workflow.updated_at)


class WorkflowOut(WorkflowItemOut):
    completionWebhookUrl = serializers.CharField(source="completion_webhook_url")
    nodes = serializers.JSONField()
    edges = serializers.JSONField()


class WorkflowListOut(serializers.Serializer):
    workflows = WorkflowItemOut(many=True)


class ViolationOut(serializers.Serializer):
    rule = serializers.CharField()
    message = serializers.CharField()
    fix = serializers.CharField(allow_null=True)
    nodeId = serializers.CharField(allow_null=True)
    edgeId = serializers.CharField(allow_null=True)


class WarningsMeta(serializers.Serializer):
    warnings = ViolationOut(many=True)


class WorkflowSavedOut(serializers.Serializer):
    data = WorkflowOut()
    meta = WarningsMeta()


class LintIn(serializers.Serializer):
    nodes = GraphField()
    edges = GraphField(required=False, default=list)


class LintResult(serializers.Serializer):
    ok = serializers.BooleanField()
    violations = ViolationOut(many=True)
    warnings = ViolationOut(many=True)


class LintOut(serializers.Serializer):
    data = LintResult()


class PositionIn(serializers.Serializer):
    x = serializers.FloatField()
    y = serializers.FloatField()

    closed = True  # WireflowAutoSchema: no other keys (the service refuses them)


class PinIn(serializers.Serializer):
    executionId = serializers.UUIDField(help_text="A run in which this node made its output.")

    closed = True


class NodePatchIn(serializers.Serializer):
    """Checked by graph.services.workflow_patch_node (this serializer is the schema of it):
    any other key is a structural change, refused with a 400."""

    config = serializers.DictField(required=False, help_text="Merged per key; null deletes")
    params = serializers.DictField(required=False, help_text="Merged per key; null deletes")
    label = StrictCharField(required=False, allow_blank=True)
    position = PositionIn(required=False)
    pinned = PinIn(required=False, allow_null=True, help_text=(
        "(addition) Pin the node to the output it made in a run: later runs reuse it "
        "(CACHED, 0 credits) until unpinned with null."))
    baseUpdatedAt = BaseUpdatedAtField(required=False, allow_null=True, allow_blank=True)

    closed = True


class NodePatchResult(serializers.Serializer):
    node = serializers.JSONField()
    updatedAt = serializers.CharField()


class NodePatchOut(serializers.Serializer):
    data = NodePatchResult()


class DuplicateIn(serializers.Serializer):
    name = StrictCharField(required=False, max_length=200)


class DuplicateResult(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    url = serializers.URLField()


class DuplicateOut(serializers.Serializer):
    data = DuplicateResult()


class GraphErrorOut(ErrorOut):
    violations = ViolationOut(many=True)
    warnings = ViolationOut(many=True)


class StaleWriteOut(ErrorOut):
    currentUpdatedAt = serializers.CharField()
    yourBaseUpdatedAt = serializers.CharField()
    currentVersion = serializers.IntegerField(
        help_text="(+) The number of the version that overtook yours: merge against it with "
                  "POST /workflows/{id}/merge")


class VisibilityIn(serializers.Serializer):
    visibility = serializers.ChoiceField(["view", "private"])


class VisibilityOut(serializers.Serializer):
    linkPermission = serializers.ChoiceField(["view", "private"])
    url = serializers.CharField()


class CatalogInputOut(serializers.Serializer):
    id = serializers.CharField()
    label = serializers.CharField()
    type = serializers.CharField(help_text="A media type for a port, a value kind for a setting.")
    isPort = serializers.BooleanField(help_text="true: wireable; false: a setting in `config`.")
    required = serializers.BooleanField()
    default = serializers.JSONField(allow_null=True)
    min = serializers.FloatField(allow_null=True)
    max = serializers.FloatField(allow_null=True)
    enum = serializers.ListField(child=serializers.JSONField(), allow_null=True)
    description = serializers.CharField(allow_blank=True, help_text="(addition)")
    multiple = serializers.BooleanField(help_text="(addition) The port takes several edges.")
    maxItems = serializers.IntegerField(
        allow_null=True, help_text="(addition) At most this many edges into a multiple port.")
    multipleOf = serializers.IntegerField(
        allow_null=True, help_text="(addition) A number setting must be a multiple of this.")
    inline = serializers.BooleanField(
        help_text="(addition) The text port may take its value from `config` instead.")


class CatalogOutputOut(serializers.Serializer):
    id = serializers.CharField()
    label = serializers.CharField()
    type = serializers.CharField(help_text="The media type carried along edges.")


class CatalogSizeRuleOut(serializers.Serializer):
    widthInput = serializers.CharField(help_text="The setting that holds the width.")
    heightInput = serializers.CharField(help_text="The setting that holds the height.")
    maxPixels = serializers.IntegerField(help_text="At most this many pixels in all.")
    minSide = serializers.IntegerField()
    maxSide = serializers.IntegerField()
    step = serializers.IntegerField(help_text="Both sides are multiples of this.")


class CatalogNodeOut(serializers.Serializer):
    nodeType = serializers.CharField()
    label = serializers.CharField()
    category = serializers.CharField(
        help_text="input, generate, process, compose, utility, logic or llm.")
    description = serializers.CharField(allow_blank=True)
    inputs = CatalogInputOut(many=True)
    outputs = CatalogOutputOut(many=True)
    credits = serializers.FloatField(help_text="The cost of one run with the default settings.")
    provider = serializers.CharField(allow_null=True, help_text="(addition)")
    model = serializers.CharField(allow_null=True, help_text="(addition)")
    preview = serializers.BooleanField(
        help_text="(addition) A procedural stand-in drawn locally, not an AI model.")
    executable = serializers.BooleanField(
        help_text="(addition) false for nodes that never run (e.g. sticky notes).")
    sizeRule = CatalogSizeRuleOut(
        allow_null=True,
        help_text="(addition) The output size the model takes as a whole; null if none.")
    priceRule = serializers.CharField(
        allow_null=True,
        help_text="(addition) How the vendor's published price becomes credits; null if free.")
    modelChecked = serializers.DateField(
        allow_null=True,
        help_text="(addition) When the vendor model id and price were last checked.")
    task = serializers.CharField(
        allow_null=True,
        help_text="(addition) The palette's group for a library model: text-to-image, "
        "image-editing, upscaling, video or audio; null for other nodes.")
    vendor = serializers.CharField(
        allow_null=True, help_text="(addition) Who makes the model, as users know it.")


class NodeCatalogOut(serializers.Serializer):
    nodes = CatalogNodeOut(many=True)
