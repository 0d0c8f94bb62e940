"""GET /workflows/{id}/versions, GET …/versions/{n} (with its diff against the current graph),
POST …/versions/{n}/restore."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema
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

READ, WRITE = Scope.WORKFLOWS_READ, Scope.WORKFLOWS_WRITE


def iso(value) -> str:
    return services.format_timestamp(value)


class VersionItemOut(serializers.Serializer):
    number = serializers.IntegerField(help_text="The session's latest version")
    firstNumber = serializers.IntegerField(help_text="Its first (equal to number when alone)")
    versions = serializers.IntegerField(help_text="How many saves the entry folds")
    name = serializers.CharField(help_text="The workflow's name then")
    source = serializers.ChoiceField(WorkflowVersion.Source.values)
    valid = serializers.BooleanField()
    author = serializers.CharField(help_text="A username, `key <name>`, or `operator`")
    createdAt = serializers.CharField()
    startedAt = serializers.CharField()


class VersionListOut(serializers.Serializer):
    data = VersionItemOut(many=True)


class NodeChangeOut(serializers.Serializer):
    nodeId = serializers.CharField()
    settings = serializers.ListField(child=serializers.CharField(),
                                     help_text="config keys whose value differs")
    fields = serializers.ListField(child=serializers.ChoiceField(
        ["label", "nodeType", "position"]))


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
    name = serializers.CharField()
    source = serializers.ChoiceField(WorkflowVersion.Source.values)
    valid = serializers.BooleanField()
    author = serializers.CharField()
    createdAt = serializers.CharField()
    current = serializers.BooleanField(help_text="Whether this is the current version")
    nodes = serializers.JSONField()
    edges = serializers.JSONField()
    diff = DiffOut(help_text="From this version to the current graph")


class VersionOut(serializers.Serializer):
    data = VersionResult()


class WorkflowVersionListApi(APIView):
    required_scopes = {"GET": READ}

    @extend_schema(operation_id="workflows_versions_list", responses={200: VersionListOut})
    def get(self, request: Request, workflow_id: str) -> Response:
        workflow = selectors.workflow_get(principal=request.principal, workflow_id=workflow_id)
        return Response({"data": [
            {**entry, "createdAt": iso(entry["createdAt"]), "startedAt": iso(entry["startedAt"])}
            for entry in versions.version_sessions(workflow=workflow)]})


class WorkflowVersionDetailApi(APIView):
    required_scopes = {"GET": READ}

    @extend_schema(operation_id="workflows_versions_retrieve", responses={200: VersionOut})
    def get(self, request: Request, workflow_id: str, number: int) -> Response:
        workflow = selectors.workflow_get(principal=request.principal, workflow_id=workflow_id)
        version = versions.version_get(workflow=workflow, number=number)
        return Response({"data": {
            "number": version.number, "name": version.name, "source": version.source,
            "valid": version.valid, "author": versions.version_author(version),
            "createdAt": iso(version.created_at), "current": version.number == workflow.version,
            "nodes": version.nodes, "edges": version.edges,
            "diff": versions.graph_diff(old_nodes=version.nodes, old_edges=version.edges,
                                        new_nodes=workflow.nodes, new_edges=workflow.edges),
        }})


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
