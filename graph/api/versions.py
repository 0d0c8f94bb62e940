"""GET /workflows/{id}/versions (paged, newest first, each with a change summary), GET and
PATCH …/versions/{n} (the version with its diff against the current graph; PATCH names it),
POST …/versions/{n}/restore."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import require_scope
from accounts.roles import Scope
from graph import selectors, services, versions
from graph.api import serializers as s
from graph.api.views import _saved
from graph.models import WorkflowVersion
from wireflow_site.errors import ApiError

READ, WRITE = Scope.WORKFLOWS_READ, Scope.WORKFLOWS_WRITE


def iso(value) -> str:
    return services.format_timestamp(value)


class ChangeCountsOut(serializers.Serializer):
    nodesAdded = serializers.IntegerField()
    nodesRemoved = serializers.IntegerField()
    nodesChanged = serializers.IntegerField()
    settingsChanged = serializers.IntegerField()
    nodesMoved = serializers.IntegerField()
    edgesAdded = serializers.IntegerField()
    edgesRemoved = serializers.IntegerField()


class VersionItemOut(serializers.Serializer):
    number = serializers.IntegerField(help_text="The version (the newest save of its burst)")
    firstNumber = serializers.IntegerField(
        help_text="The number of the burst's first save (equal to number when alone); the "
                  "saves in between were coalesced into this version")
    versions = serializers.IntegerField(help_text="How many saves the version folds")
    label = serializers.CharField(help_text="The name a user gave it; empty when unnamed")
    name = serializers.CharField(help_text="The workflow's name then")
    source = serializers.ChoiceField(WorkflowVersion.Source.values)
    valid = serializers.BooleanField()
    author = serializers.CharField(help_text="A username, `key <name>`, or `operator`")
    createdAt = serializers.CharField()
    startedAt = serializers.CharField(help_text="When its editing burst began")
    changes = ChangeCountsOut(help_text="What it changed since the version listed before it")
    summary = serializers.CharField(help_text='The same in words, e.g. "+2 nodes, 1 setting '
                                              'changed", after the note if any')
    note = serializers.CharField(help_text='How a version resolving a concurrent save came '
                                           'about, e.g. "merged with v12 by alice"; else ""')


class VersionListOut(serializers.Serializer):
    data = VersionItemOut(many=True)
    total = serializers.IntegerField()
    limit = serializers.IntegerField()
    offset = serializers.IntegerField()


class SettingValueOut(serializers.Serializer):
    before = serializers.JSONField(help_text="In this version (null: not set)")
    after = serializers.JSONField(help_text="In the current graph (null: not set)")


class VersionNameIn(serializers.Serializer):
    label = serializers.CharField(allow_blank=True, max_length=versions.LABEL_MAX,
                                  help_text='The name; "" removes it')


class NodeChangeOut(serializers.Serializer):
    nodeId = serializers.CharField()
    settings = serializers.ListField(child=serializers.CharField(),
                                     help_text="config keys whose value differs")
    fields = serializers.ListField(child=serializers.ChoiceField(
        ["label", "nodeType", "position"]))
    values = serializers.DictField(child=SettingValueOut(),
                                   help_text="Each changed setting's value, by key")


class DiffOut(serializers.Serializer):
    nodesAdded = serializers.ListField(child=serializers.CharField(),
                                       help_text="In the current graph, not in this version")
    nodesRemoved = serializers.ListField(child=serializers.CharField(),
                                         help_text="In this version, not in the current graph")
    nodesChanged = NodeChangeOut(many=True)
    edgesAdded = serializers.ListField(child=serializers.JSONField())
    edgesRemoved = serializers.ListField(child=serializers.JSONField())


class VersionResult(serializers.Serializer):
    number = serializers.IntegerField()
    label = serializers.CharField()
    name = serializers.CharField()
    source = serializers.ChoiceField(WorkflowVersion.Source.values)
    valid = serializers.BooleanField()
    author = serializers.CharField()
    createdAt = serializers.CharField()
    saves = serializers.IntegerField(help_text="How many saves the version folds")
    note = serializers.CharField(help_text="See the list's note")
    current = serializers.BooleanField(help_text="Whether this is the current version")
    nodes = serializers.JSONField()
    edges = serializers.JSONField()
    diff = DiffOut(help_text="From this version to the current graph")


class VersionOut(serializers.Serializer):
    data = VersionResult()


def _page(request: Request, name: str, default: int) -> int:
    raw = request.query_params.get(name, "")
    if raw == "":
        return default
    if not raw.isdigit() or int(raw) > versions.MAX_NUMBER:
        raise ApiError(f"{name} must be a whole number", code="invalid_request", field=name)
    return int(raw)


class WorkflowVersionListApi(APIView):
    required_scopes = {"GET": READ}

    @extend_schema(operation_id="workflows_versions_list", responses={200: VersionListOut},
                   parameters=[
                       OpenApiParameter("limit", {"type": "integer", "minimum": 0,
                                                  "maximum": versions.MAX_NUMBER},
                                        description=f"At most {versions.PAGE_MAX}; 50 if not "
                                                    "given"),
                       OpenApiParameter("offset", {"type": "integer", "minimum": 0,
                                                   "maximum": versions.MAX_NUMBER})])
    def get(self, request: Request, workflow_id: str) -> Response:
        workflow = selectors.workflow_get(principal=request.principal, workflow_id=workflow_id)
        limit = max(1, min(_page(request, "limit", 50), versions.PAGE_MAX))
        offset = _page(request, "offset", 0)
        entries = versions.version_sessions(workflow=workflow, limit=limit, offset=offset)
        return Response({"data": [
            {**entry, "createdAt": iso(entry["createdAt"]), "startedAt": iso(entry["startedAt"])}
            for entry in entries],
            "total": versions.version_count(workflow=workflow), "limit": limit, "offset": offset})


def _version_out(workflow, version) -> dict:
    return {
        "number": version.number, "label": version.label, "name": version.name,
        "source": version.source, "valid": version.valid,
        "author": versions.version_author(version), "createdAt": iso(version.created_at),
        "saves": version.saves, "note": version.note,
        "current": version.number == workflow.version,
        "nodes": version.nodes, "edges": version.edges,
        "diff": versions.graph_diff(old_nodes=version.nodes, old_edges=version.edges,
                                    new_nodes=workflow.nodes, new_edges=workflow.edges),
    }


class WorkflowVersionDetailApi(APIView):
    required_scopes = {"GET": READ, "PATCH": WRITE}

    @extend_schema(operation_id="workflows_versions_retrieve", responses={200: VersionOut})
    def get(self, request: Request, workflow_id: str, number: int) -> Response:
        workflow = selectors.workflow_get(principal=request.principal, workflow_id=workflow_id)
        version = versions.version_get(workflow=workflow, number=number)
        return Response({"data": _version_out(workflow, version)})

    @extend_schema(operation_id="workflows_versions_name", request=VersionNameIn,
                   responses={200: VersionOut})
    def patch(self, request: Request, workflow_id: str, number: int) -> Response:
        """Name a version (a checkpoint kept for good), or remove its name with ""."""
        workflow = selectors.workflow_get(principal=request.principal, workflow_id=workflow_id)
        require_scope(request.principal, workflow.team_id, WRITE)
        version = versions.version_get(workflow=workflow, number=number)
        body = request.data
        if not isinstance(body, dict):
            raise ApiError('The body must be {"label": "<name>"} ("" removes the name)',
                           code="invalid_request")
        if "label" in body:  # a PATCH without it changes nothing
            version = versions.version_name(workflow=workflow, version=version,
                                            label=body["label"], actor=request.principal)
        return Response({"data": _version_out(workflow, version)})


class WorkflowVersionRestoreApi(APIView):
    required_scopes = {"POST": WRITE}

    @extend_schema(operation_id="workflows_versions_restore", request=None,
                   responses={200: s.WorkflowSavedOut})
    def post(self, request: Request, workflow_id: str, number: int) -> Response:
        workflow = selectors.workflow_get(principal=request.principal, workflow_id=workflow_id)
        require_scope(request.principal, workflow.team_id, WRITE)
        version = versions.version_get(workflow=workflow, number=number)
        workflow, result = services.workflow_restore_version(
            workflow=workflow, version=version, actor=request.principal)
        return _saved(request, workflow, result, created=False)
