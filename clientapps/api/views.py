"""Client apps in /api/v1. `POST /apps/{slug}/run` (the `apps:execute` scope) is what Wireflow's
`run_app` does; the management endpoints (list, create, read, change, delete) are our
addition. Another team's app is a 404 everywhere."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.idempotency import idempotent
from accounts.permissions import require_scope
from accounts.roles import Scope
from clientapps import selectors, services
from graph.api.serializers import public_base_url
from graph.selectors import workflow_get
from wireflow_site.errors import ApiError, ErrorOut

READ = Scope.WORKFLOWS_READ
WRITE = Scope.WORKFLOWS_WRITE
RUN = Scope.APPS_EXECUTE
FIELDS = ("title", "description", "exposedInputs", "exposedOutputs", "access", "passcode",
          "dailyCreditCap", "visitorRunsPerHour", "coverAssetId", "isActive")


class ExposedInputOut(serializers.Serializer):
    nodeId = serializers.CharField()
    input = serializers.CharField(help_text="The node's setting the field sets")
    type = serializers.CharField()
    label = serializers.CharField()
    helpText = serializers.CharField(allow_blank=True)
    default = serializers.JSONField(allow_null=True)
    allowedValues = serializers.ListField(child=serializers.JSONField(), allow_null=True)
    required = serializers.BooleanField()
    min = serializers.FloatField(allow_null=True)
    max = serializers.FloatField(allow_null=True)
    options = serializers.ListField(child=serializers.JSONField(), allow_null=True)


class ExposedOutputOut(serializers.Serializer):
    nodeId = serializers.CharField()
    label = serializers.CharField()


class AppOut(serializers.Serializer):
    id = serializers.UUIDField()
    slug = serializers.CharField()
    url = serializers.CharField(help_text="The app's page, /apps/{slug}")
    title = serializers.CharField()
    description = serializers.CharField(allow_blank=True)
    workflowId = serializers.UUIDField()
    teamId = serializers.IntegerField()
    exposedInputs = ExposedInputOut(many=True)
    exposedOutputs = ExposedOutputOut(many=True)
    access = serializers.ChoiceField(["team", "link", "passcode"])
    hasPasscode = serializers.BooleanField()
    dailyCreditCap = serializers.IntegerField()
    creditsUsedToday = serializers.IntegerField(help_text="Charged to the app's runs since "
                                                "00:00 UTC (a running run counts its hold)")
    visitorRunsPerHour = serializers.IntegerField()
    isActive = serializers.BooleanField()
    coverUrl = serializers.URLField(allow_null=True)
    thumbnailUrl = serializers.URLField(allow_null=True)
    createdAt = serializers.DateTimeField()
    updatedAt = serializers.DateTimeField()


class AppListOut(serializers.Serializer):
    apps = AppOut(many=True)


class AppDataOut(serializers.Serializer):
    data = AppOut()


class AppIn(serializers.Serializer):
    workflowId = serializers.UUIDField(help_text="Create only: the workflow to publish")
    title = serializers.CharField()
    description = serializers.CharField(required=False, allow_blank=True)
    slug = serializers.CharField(required=False, help_text="Create only; else made from the "
                                 "title and random characters")
    exposedInputs = serializers.ListField(
        child=serializers.JSONField(), required=False,
        help_text="[{nodeId, input?, label?, helpText?, default?, allowedValues?, required?}]; "
        "left out: the inputs of GET /workflows/{id}/run")
    exposedOutputs = serializers.ListField(
        child=serializers.JSONField(), required=False,
        help_text="[{nodeId, label?}]; left out: the nodes nothing reads from")
    access = serializers.ChoiceField(["team", "link", "passcode"], required=False)
    passcode = serializers.CharField(required=False, write_only=True)
    dailyCreditCap = serializers.IntegerField()
    visitorRunsPerHour = serializers.IntegerField(required=False)
    coverAssetId = serializers.UUIDField(required=False, allow_null=True)
    isActive = serializers.BooleanField(required=False)


class AppRunIn(serializers.Serializer):
    inputs = serializers.JSONField(required=False, help_text="{nodeId: value} or "
                                   "{nodeId: {input: value}}: the app's exposed inputs only")


class AppRunStarted(serializers.Serializer):
    executionId = serializers.UUIDField()
    status = serializers.CharField()


class AppRunOut(serializers.Serializer):
    data = AppRunStarted()


def _object(data) -> dict:
    if not isinstance(data, dict):
        raise ApiError("The request body must be a JSON object", code="invalid_request")
    return data


class AppListApi(APIView):
    required_scopes = {"GET": READ, "POST": WRITE}

    @extend_schema(operation_id="apps_list", parameters=[OpenApiParameter("teamId", int)],
                   responses={200: AppListOut})
    def get(self, request: Request) -> Response:
        team = request.query_params.get("teamId")
        team_id = int(team) if team and team.isascii() and team.isdigit() else None
        apps = selectors.app_list(principal=request.principal, team_id=team_id)
        base = public_base_url(request)
        return Response({"apps": [selectors.app_api(a, base_url=base) for a in apps]})

    @extend_schema(operation_id="apps_create", request=AppIn,
                   responses={201: AppDataOut, 400: ErrorOut, 404: ErrorOut, 409: ErrorOut})
    def post(self, request: Request) -> Response:
        body = _object(request.data)
        workflow = workflow_get(principal=request.principal,
                                workflow_id=str(body.get("workflowId", "")))
        require_scope(request.principal, workflow.team_id, WRITE)
        if "dailyCreditCap" not in body:
            raise ApiError("dailyCreditCap is required: the credits the app may spend a day",
                           code="invalid_app")
        app = services.app_create(
            workflow=workflow, actor=request.principal, title=body.get("title"),
            daily_credit_cap=body.get("dailyCreditCap"),
            description=body.get("description", ""),
            exposed_inputs=body.get("exposedInputs"), exposed_outputs=body.get("exposedOutputs"),
            access=body.get("access", "team"), passcode=body.get("passcode"),
            visitor_runs_per_hour=body.get("visitorRunsPerHour", 10),
            cover_asset_id=body.get("coverAssetId"), slug=body.get("slug"),
            is_active=body.get("isActive", True) is not False)
        return Response({"data": selectors.app_api(app, base_url=public_base_url(request))},
                        status=status.HTTP_201_CREATED)


class AppDetailApi(APIView):
    required_scopes = {"PATCH": WRITE, "DELETE": WRITE}

    @extend_schema(operation_id="apps_get", responses={200: AppDataOut, 404: ErrorOut})
    def get(self, request: Request, slug: str) -> Response:
        app = selectors.app_for_team(principal=request.principal, slug=slug)
        if not (request.principal.can(app.team_id, READ)
                or request.principal.can(app.team_id, RUN)):
            raise exceptions.PermissionDenied(f"Missing required scope: {READ} or {RUN}",
                                              code="insufficient_scope")
        return Response({"data": selectors.app_api(app, base_url=public_base_url(request))})

    @extend_schema(operation_id="apps_update", request=AppIn,
                   responses={200: AppDataOut, 400: ErrorOut, 404: ErrorOut})
    def patch(self, request: Request, slug: str) -> Response:
        app = selectors.app_for_team(principal=request.principal, slug=slug)
        require_scope(request.principal, app.team_id, WRITE)
        body = _object(request.data)
        unknown = sorted(set(body) - set(FIELDS))
        if unknown:
            raise ApiError(f"Unknown or unchangeable field: {unknown[0]}", code="invalid_app",
                           fields=unknown)
        app = services.app_update(app=app, actor=request.principal, changes=body)
        return Response({"data": selectors.app_api(app, base_url=public_base_url(request))})

    @extend_schema(operation_id="apps_delete", responses={204: None, 404: ErrorOut})
    def delete(self, request: Request, slug: str) -> Response:
        app = selectors.app_for_team(principal=request.principal, slug=slug)
        require_scope(request.principal, app.team_id, WRITE)
        services.app_delete(app=app)
        return Response(status=status.HTTP_204_NO_CONTENT)


def _app_team(request: Request, slug: str):
    app = selectors.app_for_team(principal=request.principal, slug=slug)
    require_scope(request.principal, app.team_id, RUN)
    return app.team


class AppRunApi(APIView):
    """Run an app as Wireflow's `run_app` does: its exposed inputs → 202 and an executionId,
    polled at GET /workflows/executions/{id}/poll like any run."""

    required_scopes = {"POST": RUN}

    @extend_schema(
        operation_id="apps_run", request=AppRunIn,
        responses={202: AppRunOut, 400: ErrorOut, 402: ErrorOut, 404: ErrorOut,
                   409: OpenApiResponse(ErrorOut, description="The app is switched off"),
                   429: OpenApiResponse(ErrorOut, description="The app's daily credit cap, "
                                        "the visitor's runs per hour, or the plan's rate")})
    @idempotent(_app_team)
    def post(self, request: Request, slug: str) -> Response:
        app = selectors.app_for_team(principal=request.principal, slug=slug)
        require_scope(request.principal, app.team_id, RUN)
        body = _object(request.data)
        principal = request.principal
        visitor = (f"key:{principal.api_key.pk}" if principal.api_key
                   else f"user:{principal.user.pk}")
        execution = services.app_run(app=app, values=body.get("inputs"), actor=principal,
                                     visitor=visitor)
        poll = request.build_absolute_uri(f"/api/v1/workflows/executions/{execution.pk}/poll")
        return Response({"data": {"executionId": str(execution.pk), "status": execution.status}},
                        status=status.HTTP_202_ACCEPTED, headers={"Location": poll})
