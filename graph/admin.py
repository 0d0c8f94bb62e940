"""Django admin for workflows and their versions."""

from django.contrib import admin, messages

from graph import services
from graph.models import Workflow, WorkflowTemplate, WorkflowVersion


class WorkflowVersionInline(admin.TabularInline):
    model = WorkflowVersion
    fields = ["number", "source", "valid", "created_by", "api_key", "created_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = True
    ordering = ["-number"]

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Workflow)
class WorkflowAdmin(admin.ModelAdmin):
    list_display = ["name", "team", "is_active", "node_count", "version", "execution_count",
                    "updated_at", "deleted_at"]
    list_filter = ["is_active", "team", ("deleted_at", admin.EmptyFieldListFilter)]
    search_fields = ["name", "description", "id", "webhook_id", "team__slug"]
    readonly_fields = ["id", "webhook_id", "version", "execution_count", "last_executed_at",
                       "created_by", "created_at", "updated_at", "deleted_at"]
    inlines = [WorkflowVersionInline]
    actions = ["restore", "rotate_webhook"]

    @admin.display(description="Nodes")
    def node_count(self, workflow: Workflow) -> int:
        return len(workflow.nodes) if isinstance(workflow.nodes, list) else 0

    @admin.action(description="Restore the selected deleted workflows")
    def restore(self, request, queryset):
        for workflow in queryset:
            services.workflow_restore(workflow=workflow, user=request.user)
        self.message_user(request, f"Restored {queryset.count()} workflow(s).", messages.SUCCESS)

    @admin.action(description="Rotate webhook ids (old trigger URLs stop working)")
    def rotate_webhook(self, request, queryset):
        for workflow in queryset:
            services.workflow_rotate_webhook(workflow=workflow, user=request.user)
        self.message_user(request, f"Rotated {queryset.count()} webhook id(s).", messages.SUCCESS)


@admin.register(WorkflowVersion)
class WorkflowVersionAdmin(admin.ModelAdmin):
    """Versions are immutable snapshots: read-only."""

    list_display = ["workflow", "number", "name", "source", "valid", "created_by", "created_at"]
    list_filter = ["source", "valid"]
    search_fields = ["workflow__name", "workflow__id", "name"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(WorkflowTemplate)
class WorkflowTemplateAdmin(admin.ModelAdmin):
    """Team templates ("Save as template"); the built-in starters are files in graph/starters."""

    list_display = ["name", "team", "node_count", "created_by", "created_at"]
    list_filter = ["team"]
    search_fields = ["name", "description", "id", "team__slug"]
    readonly_fields = ["id", "source_workflow", "cover_asset_id", "created_by", "created_at"]

    @admin.display(description="nodes")
    def node_count(self, obj: WorkflowTemplate) -> int:
        return len(obj.nodes) if isinstance(obj.nodes, list) else 0
