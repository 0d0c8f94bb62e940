"""Admin for an operator: find a run, see why it failed, cancel it, look at what it made."""

from django.contrib import admin, messages
from django.utils.html import format_html

from executions.assets import asset_url
from executions.models import (
    Asset,
    Batch,
    Execution,
    NodeRun,
    WebhookAttempt,
    WebhookDelivery,
)
from executions.services import execution_cancel
from executions.tasks import deliver_webhook


class NodeRunInline(admin.TabularInline):
    model = NodeRun
    extra = 0
    can_delete = False
    fields = ("node_id", "node_type", "status", "progress", "attempts", "credits", "error",
              "started_at", "finished_at")
    readonly_fields = fields
    show_change_link = True

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Execution)
class ExecutionAdmin(admin.ModelAdmin):
    list_display = ("id", "team", "workflow", "status", "trigger", "credits_charged",
                    "simulated", "created_at", "finished_at")
    list_filter = ("status", "trigger", "simulated", "team")
    search_fields = ("id", "workflow__name", "team__slug", "error")
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in Execution._meta.fields]
    inlines = [NodeRunInline]
    actions = ["cancel"]
    list_select_related = ("team", "workflow")

    def has_add_permission(self, request):
        return False

    @admin.action(description="Cancel selected runs")
    def cancel(self, request, queryset):
        for execution in queryset:
            execution_cancel(execution=execution)
        self.message_user(request, f"Cancelled {queryset.count()} run(s).", messages.SUCCESS)


@admin.register(NodeRun)
class NodeRunAdmin(admin.ModelAdmin):
    list_display = ("node_id", "node_type", "status", "execution", "provider", "attempts",
                    "credits", "heartbeat_at")
    list_filter = ("status", "provider", "node_type")
    search_fields = ("node_id", "execution__id", "cache_key", "error")
    ordering = ("-execution__created_at", "position")
    readonly_fields = [f.name for f in NodeRun._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(Asset)
class AssetAdmin(admin.ModelAdmin):
    list_display = ("file", "kind", "team", "mime", "size", "width", "height", "duration",
                    "simulated", "created_at")
    list_filter = ("kind", "simulated", "uploaded", "team")
    search_fields = ("file", "sha256")
    readonly_fields = [f.name for f in Asset._meta.fields] + ["preview"]

    def has_add_permission(self, request):
        return False

    @admin.display(description="Preview")
    def preview(self, obj):
        if obj.kind == Asset.Kind.IMAGE:
            return format_html('<img src="{}" style="max-width:480px">', asset_url(obj))
        return format_html('<video src="{}" controls style="max-width:480px"></video>',
                           asset_url(obj))


class WebhookAttemptInline(admin.TabularInline):
    model = WebhookAttempt
    extra = 0
    can_delete = False
    fields = ("number", "status_code", "error", "response_excerpt", "duration_ms", "created_at")
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = ("event_type", "url", "status", "attempts", "next_attempt_at",
                    "delivered_at", "execution")
    list_filter = ("status", "event_type")
    search_fields = ("url", "message_id", "execution__id")
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]
    inlines = [WebhookAttemptInline]
    actions = ["send_again"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Send again now")
    def send_again(self, request, queryset):
        for delivery in queryset:
            WebhookDelivery.objects.filter(pk=delivery.pk).update(
                status=WebhookDelivery.Status.PENDING)
            deliver_webhook.delay(str(delivery.pk))
        self.message_user(request, f"Queued {queryset.count()} delivery(ies).", messages.SUCCESS)


@admin.register(Batch)
class BatchAdmin(admin.ModelAdmin):
    list_display = ("id", "team", "workflow", "size", "created_at")
    list_filter = ("team",)
    search_fields = ("id", "workflow__name")
    readonly_fields = [f.name for f in Batch._meta.fields]

    def has_add_permission(self, request):
        return False

    @admin.display(description="Runs")
    def size(self, obj):
        return len(obj.items)
