"""Workflow endpoints of /api/v1: one view per operation, each calling one service."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.idempotency import idempotent
from accounts.permissions import require_scope
from accounts.roles import Scope
from graph import selectors, services
from graph.api import serializers as s
from graph.catalog import catalog
from graph.models import Workflow
from graph.validation import validate_graph
from wireflow_site.errors import ApiError, NotFound

READ = Scope.WORKFLOWS_READ
WRITE = Scope.WORKFLOWS_WRITE

STRICT_PARAM = OpenApiParameter(
    "strict",
    bool,
    description="false saves a draft even when the graph has problems (they come back as "
    "warnings). Empty graphs and graphs over the caps are refused either way.",
)
GRAPH_ERRORS = {
    400: OpenApiResponse(s.ErrorOut, description="Malformed body"),
    409: OpenApiResponse(s.StaleWriteOut, description="baseUpdatedAt is older than the saved"),
    422: OpenApiResponse(s.GraphErrorOut, description="The graph failed validation"),
}


BOOLEANS = {"true": True, "1": True, "false": False, "0": False}
STRICT_VALUES = {**BOOLEANS, "yes": True, "no": False}


def _strict(request: Request) -> bool:
    value = request.query_params.get("strict", "true").strip().lower()
    if value not in STRICT_VALUES:
        raise ApiError("strict must be true or false", code="invalid_request")
    return STRICT_VALUES[value]


def _workflow_out(request: Request, workflow: Workflow) -> dict:
    return s.WorkflowOut(workflow, context={"request": request}).data


def _saved(request: Request, workflow: Workflow, result, *, created: bool) -> Response:
    body = {"data": _workflow_out(request, workflow), "meta": {"warnings": result.warnings}}
    if result.violations:  # a draft saved with ?strict=false: say what is still wrong
        body["meta"]["violations"] = result.violations
    return Response(body, status=status.HTTP_201_CREATED if created else status.HTTP_200_OK)


def _valid(serializer_class, data):
    if not isinstance(data, dict):
        raise ApiError("The request body must be a JSON object", code="invalid_request")
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer


def _create_team(request: Request):
    """The team a POST /workflows acts on, checked as the operation checks it: the workflow's
    team for an update (`id`), else the team it creates into. None if the body is too
    malformed to say (the view answers 400)."""
    data = request.data
    if not isinstance(data, dict):
        return None
    if data.get("id"):
        if not isinstance(data["id"], str):
            return None
        workflow = selectors.workflow_get(principal=request.principal, workflow_id=data["id"])
        require_scope(request.principal, workflow.team_id, WRITE)
        return workflow.team
    team_id = data.get("teamId")
    if team_id is not None:
        try:
            team_id = serializers.IntegerField().to_internal_value(team_id)
        except serializers.ValidationError:
            return None
    return WorkflowCollectionApi._team(request, team_id)


class WorkflowCollectionApi(APIView):
    """GET: list the workflows of the caller's teams. POST: create (or, with `id`, update)."""

    required_scopes = {"GET": READ, "POST": WRITE}

    @extend_schema(
        operation_id="workflows_list",
        parameters=[OpenApiParameter("isActive", bool),
                    OpenApiParameter("teamId", {"type": "integer", "minimum": 0})],
        responses=s.WorkflowListOut,
    )
    def get(self, request: Request) -> Response:
        is_active = request.query_params.get("isActive")
        team_id = request.query_params.get("teamId")
        if team_id is not None and not (team_id.isascii() and team_id.isdigit()):
            raise ApiError("teamId must be an integer", code="invalid_request")
        if is_active is not None and is_active.lower() not in BOOLEANS:
            raise ApiError("isActive must be true or false", code="invalid_request")
        workflows = selectors.workflow_list(
            principal=request.principal,
            is_active=None if is_active is None else BOOLEANS[is_active.lower()],
            team_id=int(team_id) if team_id is not None else None,
        )
        items = s.WorkflowItemOut(workflows, many=True, context={"request": request}).data
        return Response({"workflows": items})

    @extend_schema(
        operation_id="workflows_create",
        parameters=[STRICT_PARAM],
        request=s.WorkflowWriteIn,
        responses={201: s.WorkflowSavedOut, 200: s.WorkflowSavedOut, **GRAPH_ERRORS,
                   404: OpenApiResponse(s.ErrorOut, description="No such workflow (`id`) or "
                                        "team (`teamId`) the caller belongs to")},
    )
    @idempotent(_create_team)
    def post(self, request: Request) -> Response:
        body = _valid(s.WorkflowWriteIn, request.data)
        data = body.validated_data
        if data.get("id"):
            workflow = selectors.workflow_get(principal=request.principal, workflow_id=data["id"])
            require_scope(request.principal, workflow.team_id, WRITE)
            workflow, result = services.workflow_update(
                workflow=workflow,
                actor=request.principal,
                changes=body.model_changes(),
                base_updated_at=data.get("baseUpdatedAt"),
                strict=_strict(request),
            )
            return _saved(request, workflow, result, created=False)
        team = self._team(request, data.get("teamId"))
        missing = [f for f in ("name", "nodes") if f not in data]
        if missing:
            raise ApiError(
                f"Invalid request: {', '.join(missing)}: This field is required.",
                code="invalid_request",
                fields={f: ["This field is required."] for f in missing},
            )
        workflow, result = services.workflow_create(
            team=team,
            actor=request.principal,
            name=data["name"],
            description=data.get("description", ""),
            tags=data.get("tags", []),
            is_active=data.get("isActive", True),
            nodes=data["nodes"],
            edges=data.get("edges", []),
            strict=_strict(request),
        )
        return _saved(request, workflow, result, created=True)

    @staticmethod
    def _team(request: Request, team_id: int | None):
        principal = request.principal
        if team_id is None:
            team = principal.default_team()
            if team is None:
                raise ApiError("You are not a member of any team", code="no_team", status=403)
        else:
            team = principal.teams.get(team_id)
            if team is None:
                raise NotFound("Team")
        require_scope(principal, team.pk, WRITE)
        return team


class WorkflowDetailApi(APIView):
    """GET one workflow; PUT replaces it; DELETE removes it."""

    required_scopes = {"GET": READ, "PUT": WRITE, "DELETE": WRITE}

    @extend_schema(operation_id="workflows_retrieve",
                   responses={200: s.WorkflowOut, 404: s.ErrorOut})
    def get(self, request: Request, workflow_id: str) -> Response:
        workflow = selectors.workflow_get(principal=request.principal, workflow_id=workflow_id)
        return Response(_workflow_out(request, workflow))

    @extend_schema(
        operation_id="workflows_replace",
        parameters=[STRICT_PARAM],
        request=s.WorkflowWriteIn,
        responses={200: s.WorkflowSavedOut, **GRAPH_ERRORS},
    )
    def put(self, request: Request, workflow_id: str) -> Response:
        workflow = selectors.workflow_get(principal=request.principal, workflow_id=workflow_id)
        require_scope(request.principal, workflow.team_id, WRITE)
        body = _valid(s.WorkflowWriteIn, request.data)
        changes = body.model_changes()
        missing = [f for f in ("name", "nodes", "edges") if f not in changes]
        if missing:
            raise ApiError(
                f"Invalid request: PUT replaces the workflow; {', '.join(missing)} required",
                code="invalid_request",
                fields={f: ["This field is required."] for f in missing},
            )
        changes.setdefault("description", "")
        changes.setdefault("tags", [])
        workflow, result = services.workflow_update(
            workflow=workflow,
            actor=request.principal,
            changes=changes,
            base_updated_at=body.validated_data.get("baseUpdatedAt"),
            strict=_strict(request),
            source="replace",
        )
        return _saved(request, workflow, result, created=False)

    @extend_schema(operation_id="workflows_delete", responses={204: None, 404: s.ErrorOut})
    def delete(self, request: Request, workflow_id: str) -> Response:
        workflow = selectors.workflow_get(principal=request.principal, workflow_id=workflow_id)
        require_scope(request.principal, workflow.team_id, WRITE)
        services.workflow_delete(workflow=workflow, actor=request.principal)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WorkflowNodePatchApi(APIView):
    required_scopes = {"PATCH": WRITE}

    @extend_schema(
        operation_id="workflows_nodes_patch",
        parameters=[STRICT_PARAM],
        request=s.NodePatchIn,
        responses={200: s.NodePatchOut, 404: s.ErrorOut, **GRAPH_ERRORS},
    )
    def patch(self, request: Request, workflow_id: str, node_id: str) -> Response:
        workflow = selectors.workflow_get(principal=request.principal, workflow_id=workflow_id)
        require_scope(request.principal, workflow.team_id, WRITE)
        if not isinstance(request.data, dict):
            raise ApiError("The request body must be a JSON object", code="invalid_request")
        node, workflow = services.workflow_patch_node(
            workflow=workflow,
            actor=request.principal,
            node_id=node_id,
            patch=dict(request.data),
            strict=_strict(request),
        )
        return Response(
            {"data": {"node": node, "updatedAt": services.format_timestamp(workflow.updated_at)}}
        )


class WorkflowLintApi(APIView):
    required_scopes = {"POST": READ}

    @extend_schema(operation_id="workflows_lint", request=s.LintIn, responses=s.LintOut)
    def post(self, request: Request) -> Response:
        body = _valid(s.LintIn, request.data).validated_data
        result = validate_graph(body["nodes"], body["edges"])
        return Response({"data": result.to_api()})


class WorkflowValidateApi(APIView):
    required_scopes = {"POST": READ}

    @extend_schema(operation_id="workflows_validate", request=None, responses=s.LintOut)
    def post(self, request: Request, workflow_id: str) -> Response:
        workflow = selectors.workflow_get(principal=request.principal, workflow_id=workflow_id)
        result = validate_graph(workflow.nodes, workflow.edges)
        return Response({"data": result.to_api()})


class WorkflowDuplicateApi(APIView):
    required_scopes = {"POST": WRITE}

    @extend_schema(
        operation_id="workflows_duplicate",
        request=s.DuplicateIn,
        responses={201: s.DuplicateOut, 404: s.ErrorOut},
    )
    def post(self, request: Request, workflow_id: str) -> Response:
        workflow = selectors.workflow_get(principal=request.principal, workflow_id=workflow_id)
        require_scope(request.principal, workflow.team_id, WRITE)
        body = _valid(s.DuplicateIn, request.data).validated_data  # no body: {}
        copy_of = services.workflow_duplicate(
            workflow=workflow, actor=request.principal, name=body.get("name")
        )
        return Response(
            {"data": {"id": str(copy_of.pk), "name": copy_of.name,
                      "url": s.editor_url(request, copy_of)}},
            status=status.HTTP_201_CREATED,
        )


class NodeCatalogApi(APIView):
    """The node catalog the editor's palette, inspector and validation are built from."""

    @extend_schema(operation_id="nodes_list", responses={200: s.NodeCatalogOut})
    def get(self, request: Request) -> Response:
        return Response({"nodes": [spec.to_api() for spec in catalog.all()]})


class WorkflowVisibilityApi(APIView):
    """Share a read-only page of the workflow with anyone who has the link, or stop sharing."""

    required_scopes = {"POST": WRITE}

    @extend_schema(operation_id="workflows_visibility", request=s.VisibilityIn,
                   responses={200: s.VisibilityOut, 400: s.ErrorOut, 404: s.ErrorOut})
    def post(self, request: Request, workflow_id: str) -> Response:
        workflow = selectors.workflow_get(principal=request.principal, workflow_id=workflow_id)
        require_scope(request.principal, workflow.team_id, WRITE)
        data = request.data if isinstance(request.data, dict) else {}
        workflow = services.workflow_set_visibility(workflow=workflow,
                                                    visibility=data.get("visibility"),
                                                    actor=request.principal)
        return Response({"linkPermission": workflow.link_permission,
                         "url": s.share_url(request, workflow)})
