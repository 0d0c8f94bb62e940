"""Admin for an operator: find a run, see why it failed, cancel it, look at what it made."""

from django.contrib import admin, messages
from django.db import transaction
from django.db.models import Count, Q, Sum
from django.template.defaultfilters import filesizeformat
from django.utils.html import format_html

from accounts.plans import limits_for
from executions import retention
from executions.assets import asset_file_names, asset_url, storage_delete
from executions.media_urls import media_url
from executions.models import (
    Asset,
    Batch,
    Execution,
    NodeRun,
    TeamStorage,
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

    def delete_model(self, request, obj):
        """Its files go too, save those a favourite or a saved workflow protects."""
        retention.execution_delete(execution=obj)

    def delete_queryset(self, request, queryset):
        for execution in queryset.select_related("team"):
            retention.execution_delete(execution=execution)


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

    def delete_model(self, request, obj):
        self.delete_queryset(request, Asset.objects.filter(pk=obj.pk))

    def delete_queryset(self, request, queryset):
        """The rows, then (after commit) their stored files and thumbnails."""
        names = [name for asset in queryset for name in asset_file_names(asset)]
        with transaction.atomic():
            queryset.delete()
            transaction.on_commit(lambda: storage_delete(names))

    @admin.display(description="Preview")
    def preview(self, obj):
        """The 768 px thumbnail (the file itself when it has none); a video with its poster."""
        if obj.kind == Asset.Kind.IMAGE:
            shown = media_url(obj.thumbnail.name) if obj.thumbnail else asset_url(obj)
            return format_html('<img src="{}" style="max-width:480px">', shown)
        if obj.kind == Asset.Kind.AUDIO:
            wave = media_url(obj.thumbnail.name) if obj.thumbnail else ""
            return format_html('<img src="{}" alt="" style="max-width:480px"><br>'
                               '<audio src="{}" controls preload="none"></audio>',
                               wave, asset_url(obj))
        poster = media_url(obj.poster.name) if obj.poster else ""
        return format_html('<video src="{}" poster="{}" controls preload="none" '
                           'style="max-width:480px"></video>', asset_url(obj), poster)


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


@admin.register(TeamStorage)
class TeamStorageAdmin(admin.ModelAdmin):
    """Each team's stored files: how many and how many bytes (thumbnails and posters
    included), and how long its plan keeps them."""

    list_display = ("name", "slug", "plan", "retention", "file_count", "bytes_used",
                    "favorites")
    list_filter = ("plan",)
    search_fields = ("name", "slug")

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(
            _assets=Count("assets"),
            _thumbs=Count("assets", filter=~Q(assets__thumbnail="")),
            _posters=Count("assets", filter=~Q(assets__poster="")),
            _favorites=Count("assets", filter=Q(assets__favorite=True)),
            _bytes=Sum("assets__size", default=0) + Sum("assets__renditions_size", default=0),
        ).order_by("-_bytes", "name")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @admin.display(description="Files")
    def file_count(self, team) -> int:
        return team._assets + 2 * team._thumbs + team._posters

    @admin.display(description="Storage used", ordering="_bytes")
    def bytes_used(self, team) -> str:
        return f"{filesizeformat(team._bytes)} ({team._bytes:,} bytes)"

    @admin.display(description="Favourites", ordering="_favorites")
    def favorites(self, team) -> int:
        return team._favorites

    @admin.display(description="Retention")
    def retention(self, team) -> str:
        days = limits_for(team.plan).retention_days
        return "unlimited" if days is None else f"{days} days"
