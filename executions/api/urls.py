"""Execution routes; included before the workflow routes so `workflows/executions` is ours."""

from django.urls import path

from accounts.api.views import UsageApi, WebhookSecretApi
from executions.api import assets, media, team_usage, templates, triggers, views

app_name = "executions"

urlpatterns = [
    path("media/upload", media.MediaUploadApi.as_view(), name="media-upload"),
    path("media", media.MediaListApi.as_view(), name="media"),
    path("assets", assets.AssetListApi.as_view(), name="assets"),
    path("assets/zip", assets.AssetZipApi.as_view(), name="assets-zip"),
    path("assets/<str:asset_id>", assets.AssetDetailApi.as_view(), name="asset"),
    path("assets/<str:asset_id>/favorite", assets.AssetFavoriteApi.as_view(),
         name="asset-favorite"),
    path("templates", templates.TemplateListApi.as_view(), name="templates"),
    path("templates/<str:template_id>", templates.TemplateDetailApi.as_view(), name="template"),
    path("templates/<str:template_id>/clone", templates.TemplateCloneApi.as_view(),
         name="template-clone"),
    path("workflows/<str:workflow_id>/template", templates.WorkflowTemplateSaveApi.as_view(),
         name="workflow-template"),
    path("developer/usage", UsageApi.as_view(), name="usage"),
    path("developer/webhook-secret", WebhookSecretApi.as_view(), name="webhook-secret"),
    path("teams/<int:team_id>/usage", team_usage.TeamUsageApi.as_view(), name="team-usage"),
    path("teams/<int:team_id>/usage/ledger", team_usage.TeamLedgerApi.as_view(),
         name="team-ledger"),
    path("teams/<int:team_id>/usage/ledger.csv", team_usage.TeamLedgerExportApi.as_view(),
         name="team-ledger-csv"),
    path("batches/<str:batch_id>", views.BatchDetailApi.as_view(), name="batch"),
    path("batches/<str:batch_id>/retry", views.BatchRetryApi.as_view(), name="batch-retry"),
    path("workflow/<str:webhook_id>/trigger", triggers.WebhookTriggerApi.as_view(),
         name="trigger"),
    path("executions/<str:execution_id>/status", triggers.ExecutionStatusApi.as_view(),
         name="status"),
    path("workflows/<str:workflow_id>/webhook/rotate", views.WorkflowWebhookRotateApi.as_view(),
         name="webhook-rotate"),
    path("workflows/executions", views.ExecutionListApi.as_view(), name="list"),
    path("workflows/executions/<str:execution_id>", views.ExecutionDeleteApi.as_view(),
         name="delete"),
    path("workflows/executions/<str:execution_id>/poll", views.ExecutionPollApi.as_view(),
         name="poll"),
    path("workflows/executions/<str:execution_id>/graph", views.ExecutionGraphApi.as_view(),
         name="execution-graph"),
    path("workflows/executions/<str:execution_id>/cancel", views.ExecutionCancelApi.as_view(),
         name="cancel"),
    path("workflows/<str:workflow_id>/execute", views.WorkflowExecuteApi.as_view(),
         name="execute"),
    path("workflows/<str:workflow_id>/run", views.WorkflowRunApi.as_view(), name="run"),
    path("workflows/<str:workflow_id>/estimate", views.WorkflowEstimateApi.as_view(),
         name="estimate"),
]
