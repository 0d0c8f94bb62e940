"""(addition) Templates: the built-in starters and the caller's teams' own, each with its
quoted cost and cover; "Use template" (clone, as Wireflow's `clone_template`) and "Save as
template" from a workflow."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.idempotency import idempotent
from accounts.permissions import require_scope
from accounts.roles import Scope
from executions.api.views import MAX_OFFSET, page_params
from executions.templates import template_cover_pick, template_items
from graph import selectors as graph_selectors
from graph import services as graph_services
from graph.api.serializers import editor_url
from graph.models import WorkflowTemplate
from graph.selectors import TEMPLATE_SOURCES
from wireflow_site.errors import ApiError, ErrorOut, NotFound
from wireflow_site.fields import StrictCharField, StrictIntegerField

READ = Scope.WORKFLOWS_READ
WRITE = Scope.WORKFLOWS_WRITE


class TemplateItemOut(serializers.Serializer):
    id = serializers.CharField(help_text="A built-in's slug, or a team template's UUID")
    name = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    tags = serializers.ListField(child=serializers.CharField())
    source = serializers.ChoiceField(choices=TEMPLATE_SOURCES)
    teamId = serializers.IntegerField(allow_null=True)
    estimatedCredits = serializers.IntegerField(
        help_text="What one run of the graph is quoted (the estimate's figure)")
    estimateComplete = serializers.BooleanField()
    nodeCount = serializers.IntegerField()
    models = serializers.ListField(child=serializers.CharField())
    coverUrl = serializers.URLField(allow_null=True)
    thumbnailUrl = serializers.URLField(allow_null=True)
    sampleBatch = serializers.ListField(child=serializers.DictField())
    sourceWorkflowId = serializers.UUIDField(allow_null=True)
    createdAt = serializers.DateTimeField(allow_null=True)


class TemplateDetailOut(TemplateItemOut):
    # A team template keeps a draft's graph as saved, malformed items included.
    nodes = serializers.ListField(child=serializers.JSONField())
    edges = serializers.ListField(child=serializers.JSONField())


class TemplateListOut(serializers.Serializer):
    templates = TemplateItemOut(many=True)
    total = serializers.IntegerField()
    limit = serializers.IntegerField()
    offset = serializers.IntegerField()


class TemplateCloneIn(serializers.Serializer):
    teamId = StrictIntegerField(required=False, min_value=0,
                                help_text="One of the caller's teams; the default team if not "
                                "given")
    name = StrictCharField(required=False, max_length=200)


class TemplateCloneResult(serializers.Serializer):
    id = serializers.UUIDField()
    name = serializers.CharField()
    url = serializers.URLField()
    teamId = serializers.IntegerField()
    templateId = serializers.CharField()


class TemplateCloneOut(serializers.Serializer):
    data = TemplateCloneResult()


class TemplateSaveIn(serializers.Serializer):
    name = StrictCharField(required=False, max_length=200)
    description = StrictCharField(required=False, allow_blank=True, max_length=5000)
    coverAssetId = serializers.UUIDField(required=False, allow_null=True,
                                         help_text="One of the team's assets; the newest "
                                         "output of the workflow's runs if not given")


class TemplateSavedOut(serializers.Serializer):
    data = TemplateItemOut()


def _body(serializer_class, data) -> dict:
    if not isinstance(data, dict):  # no body is {}; a JSON null is not an object
        raise ApiError("The request body must be a JSON object", code="invalid_request")
    serializer = serializer_class(data=data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _clone_team(request: Request, *args, **kwargs):
    """The team a clone creates into (checked for workflows:write), for idempotency too."""
    principal = request.principal
    data = request.data if isinstance(request.data, dict) else {}
    team_id = data.get("teamId")
    if team_id is None:
        team = principal.default_team()
        if team is None:
            raise ApiError("You are not a member of any team", code="no_team", status=403)
    else:
        if not isinstance(team_id, int) or isinstance(team_id, bool):
            return None  # the view answers 400
        team = principal.teams.get(team_id)
        if team is None:
            raise NotFound("Team")
    require_scope(principal, team.pk, WRITE)
    return team


class TemplateListApi(APIView):
    """Built-in starters, then the templates of the caller's teams."""

    required_scopes = {"GET": READ}

    @extend_schema(
        operation_id="templates_list",
        parameters=[
            OpenApiParameter("source", str, enum=[*TEMPLATE_SOURCES, ""]),
            OpenApiParameter("teamId", {"type": "integer", "minimum": 0},
                             description="Only this team's templates (of the caller's teams)"),
            OpenApiParameter("limit", int, description="1–100, 20 if not given"),
            OpenApiParameter("offset", {"type": "integer", "maximum": MAX_OFFSET}),
        ],
        responses={200: TemplateListOut, 400: ErrorOut},
    )
    def get(self, request: Request) -> Response:
        params = request.query_params
        limit, offset = page_params(params)
        source = params.get("source") or None
        if source is not None and source not in TEMPLATE_SOURCES:
            raise ApiError(f"source must be one of {', '.join(TEMPLATE_SOURCES)}",
                           code="invalid_request")
        team_id = params.get("teamId")
        if team_id is not None and not (team_id.isascii() and team_id.isdigit()):
            raise ApiError("teamId must be an integer", code="invalid_request")
        templates, total = graph_selectors.template_page(
            principal=request.principal, team_id=int(team_id) if team_id else None,
            source=source, limit=limit, offset=offset)
        return Response({"templates": template_items(templates), "total": total,
                         "limit": limit, "offset": offset})


class TemplateCloneApi(APIView):
    """"Use template": a new workflow in the caller's (or a chosen) team."""

    required_scopes = {"POST": WRITE}

    @extend_schema(operation_id="templates_clone", request=TemplateCloneIn,
                   responses={201: TemplateCloneOut, 400: ErrorOut, 403: ErrorOut,
                              404: OpenApiResponse(ErrorOut, description="No such template or "
                                                   "team the caller belongs to")})
    @idempotent(_clone_team)
    def post(self, request: Request, template_id: str) -> Response:
        template = graph_selectors.template_get(principal=request.principal,
                                                template_id=template_id)
        body = _body(TemplateCloneIn, request.data)
        team = _clone_team(request)
        workflow = graph_services.template_clone(template=template, team=team,
                                                 actor=request.principal,
                                                 name=body.get("name"))
        return Response({"data": {"id": str(workflow.pk), "name": workflow.name,
                                  "url": editor_url(request, workflow), "teamId": team.pk,
                                  "templateId": str(template.id)}},
                        status=status.HTTP_201_CREATED)


class TemplateDetailApi(APIView):
    """GET one template with its graph; DELETE a team's template (built-ins cannot be)."""

    required_scopes = {"GET": READ, "DELETE": WRITE}

    @extend_schema(operation_id="templates_retrieve",
                   responses={200: TemplateDetailOut, 404: ErrorOut})
    def get(self, request: Request, template_id: str) -> Response:
        template = graph_selectors.template_get(principal=request.principal,
                                                template_id=template_id)
        return Response({**template_items([template])[0], "nodes": template.nodes,
                         "edges": template.edges})

    @extend_schema(operation_id="templates_delete",
                   responses={204: None, 403: OpenApiResponse(
                       ErrorOut, description="A built-in template, or no workflows:write"),
                       404: ErrorOut})
    def delete(self, request: Request, template_id: str) -> Response:
        template = graph_selectors.template_get(principal=request.principal,
                                                template_id=template_id)
        if not isinstance(template, WorkflowTemplate):
            raise ApiError("Built-in templates cannot be deleted", code="builtin_template",
                           status=403)
        require_scope(request.principal, template.team_id, WRITE)
        graph_services.template_delete(template=template)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WorkflowTemplateSaveApi(APIView):
    """"Save as template": the workflow's graph as a template of its team, with a cover from
    its last output."""

    required_scopes = {"POST": WRITE}

    @extend_schema(operation_id="workflows_template_create", request=TemplateSaveIn,
                   responses={201: TemplateSavedOut, 400: ErrorOut, 404: ErrorOut,
                              422: ErrorOut})
    def post(self, request: Request, workflow_id: str) -> Response:
        workflow = graph_selectors.workflow_get(principal=request.principal,
                                                workflow_id=workflow_id)
        require_scope(request.principal, workflow.team_id, WRITE)
        body = _body(TemplateSaveIn, request.data)
        cover = template_cover_pick(principal=request.principal, workflow=workflow,
                                    asset_id=body.get("coverAssetId"))
        template = graph_services.template_save(
            workflow=workflow, actor=request.principal, name=body.get("name"),
            description=body.get("description"), cover_asset_id=cover)
        return Response({"data": template_items([template])[0]},
                        status=status.HTTP_201_CREATED)
