"""Workflow routes, spelled exactly as api.md spells them (no trailing slash)."""

from django.urls import path

from graph.api import merge, versions, views

app_name = "graph"

urlpatterns = [
    path("nodes", views.NodeCatalogApi.as_view(), name="nodes"),
    path("workflows", views.WorkflowCollectionApi.as_view(), name="workflows"),
    path("workflows/lint", views.WorkflowLintApi.as_view(), name="lint"),
    path("workflows/<str:workflow_id>", views.WorkflowDetailApi.as_view(), name="workflow"),
    path(
        "workflows/<str:workflow_id>/nodes/<str:node_id>",
        views.WorkflowNodePatchApi.as_view(),
        name="workflow-node",
    ),
    path(
        "workflows/<str:workflow_id>/validate",
        views.WorkflowValidateApi.as_view(),
        name="validate",
    ),
    path(
        "workflows/<str:workflow_id>/visibility",
        views.WorkflowVisibilityApi.as_view(),
        name="visibility",
    ),
    path("workflows/<str:workflow_id>/merge", merge.WorkflowMergeApi.as_view(), name="merge"),
    path("workflows/<str:workflow_id>/versions", versions.WorkflowVersionListApi.as_view(),
         name="versions"),
    path("workflows/<str:workflow_id>/versions/<int:number>",
         versions.WorkflowVersionDetailApi.as_view(), name="version"),
    path("workflows/<str:workflow_id>/versions/<int:number>/restore",
         versions.WorkflowVersionRestoreApi.as_view(), name="version-restore"),
    path(
        "workflows/<str:workflow_id>/duplicate",
        views.WorkflowDuplicateApi.as_view(),
        name="duplicate",
    ),
]
