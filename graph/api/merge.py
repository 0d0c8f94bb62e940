"""(+) POST /workflows/{id}/merge: an editor's save that a teammate's save overtook (409
stale_write) merged three-way with it (graph.merge), previewed or saved."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.idempotency import idempotent
from accounts.permissions import require_scope
from accounts.roles import Scope
from graph import selectors, services, versions
from graph.api import serializers as s
from graph.api.views import _valid, _workflow_out
from wireflow_site.errors import ApiError

WRITE = Scope.WORKFLOWS_WRITE
FIELDS = {"nodes", "edges", "base", "baseVersion", "strategy", "theirsUpdatedAt"}


class MergeBaseIn(serializers.Serializer):
    nodes = s.GraphField()
    edges = s.GraphField(required=False, default=list)


class WorkflowMergeIn(serializers.Serializer):
    nodes = s.GraphField(help_text="Mine: the graph the save that was refused carried")
    edges = s.GraphField(required=False, default=list)
    base = MergeBaseIn(required=False, help_text="The graph mine was made from (the one the "
                                                 "editor loaded or last saved)")
    baseVersion = s.StrictIntegerField(required=False, min_value=1,
                                       help_text="Instead of base: the version it is")
    strategy = serializers.ChoiceField(
        list(services.MERGE_STRATEGIES), default="preview",
        help_text="preview: write nothing; merge: both sides' changes as one new version (409 "
                  "merge_conflict when both changed the same field); mine: mine over theirs; "
                  "theirs: mine kept as a version, theirs again on top")
    theirsUpdatedAt = s.BaseUpdatedAtField(
        required=False, allow_null=True, allow_blank=True,
        help_text="The updatedAt of the theirs the user saw (a preview's theirs.updatedAt): a "
                  "save since is a 409 stale_write")


class ConflictOut(serializers.Serializer):
    nodeId = serializers.CharField()
    field = serializers.CharField(help_text='"config.<key>", "label", "position", '
                                            '"in-<port>" (what feeds an input), "node"')
    reason = serializers.ChoiceField(["both_changed", "both_added", "deleted_by_you",
                                      "deleted_by_them", "wired_to_deleted_node"])
    base = serializers.JSONField()
    mine = serializers.JSONField()
    theirs = serializers.JSONField()


class TheirsOut(serializers.Serializer):
    version = serializers.IntegerField()
    updatedAt = serializers.CharField()
    author = serializers.CharField()


class MergePreview(serializers.Serializer):
    clean = serializers.BooleanField(help_text="No conflicts: strategy merge will save")
    conflicts = ConflictOut(many=True)
    nodes = serializers.JSONField(help_text="The merged graph (null unless clean)")
    edges = serializers.JSONField()
    theirs = TheirsOut()
    mineTouched = serializers.ListField(child=serializers.CharField(),
                                        help_text="Node ids mine changed since base")
    theirsTouched = serializers.ListField(child=serializers.CharField())
    saved = s.WorkflowOut(allow_null=True, help_text="The workflow as saved (null for a "
                                                     "preview)")


class MergeOut(serializers.Serializer):
    data = MergePreview()


class MergeConflictOut(s.ErrorOut):
    conflicts = ConflictOut(many=True)
    currentUpdatedAt = serializers.CharField()
    currentVersion = serializers.IntegerField()


def _merge_team(request: Request, workflow_id: str):
    """The team a merge writes in, if the caller may edit there (else 404/403), checked on
    replays too."""
    workflow = selectors.workflow_get(principal=request.principal, workflow_id=workflow_id)
    require_scope(request.principal, workflow.team_id, WRITE)
    return workflow.team


class WorkflowMergeApi(APIView):
    required_scopes = {"POST": WRITE}

    @extend_schema(
        operation_id="workflows_merge", request=WorkflowMergeIn,
        responses={200: MergeOut,
                   400: s.ErrorOut, 404: s.ErrorOut,
                   409: OpenApiResponse(MergeConflictOut, description="merge_conflict, or "
                                        "stale_write (theirsUpdatedAt is old)"),
                   422: s.GraphErrorOut})
    @idempotent(_merge_team)
    def post(self, request: Request, workflow_id: str) -> Response:
        workflow = selectors.workflow_get(principal=request.principal, workflow_id=workflow_id)
        require_scope(request.principal, workflow.team_id, WRITE)
        if isinstance(request.data, dict) and set(request.data) - FIELDS:
            extra = sorted(set(request.data) - FIELDS)
            raise ApiError(f"Unknown field: {extra[0]}", code="invalid_request", fields=extra)
        body = _valid(WorkflowMergeIn, request.data).validated_data
        if ("base" in body) == ("baseVersion" in body):
            raise ApiError("Give the graph your edit started from as base {nodes, edges}, or "
                           "its number as baseVersion (one of them)", code="invalid_request",
                           field="base")
        if "base" in body:
            base = dict(body["base"])
        else:
            version = versions.version_get(workflow=workflow, number=body["baseVersion"])
            base = {"nodes": version.nodes, "edges": version.edges}
        merged, theirs, saved = services.workflow_merge(
            workflow=workflow, actor=request.principal, base=base,
            mine={"nodes": body["nodes"], "edges": body["edges"]},
            strategy=body["strategy"], theirs_updated_at=body.get("theirsUpdatedAt"))
        return Response({"data": {
            "clean": merged.clean, "conflicts": [c.as_json() for c in merged.conflicts],
            "nodes": merged.nodes if merged.clean else None,
            "edges": merged.edges if merged.clean else None,
            "theirs": theirs, "mineTouched": merged.mine_touched,
            "theirsTouched": merged.theirs_touched,
            "saved": _workflow_out(request, saved) if saved is not None else None}})
