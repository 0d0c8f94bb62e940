"""Client apps in /api/v1. `POST /apps/{slug}/run` (the `apps:execute` scope) is what Wireflow's
`run_app` does; the management endpoints (list, create, read, change, delete) are our
addition. Another team's app is a 404 everywhere."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import exceptions, serializers, status
from rest_framework.parsers import MultiPartParser
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
from wireflow_site.fields import StrictBooleanField, StrictCharField, StrictIntegerField

READ = Scope.WORKFLOWS_READ
WRITE = Scope.WORKFLOWS_WRITE
RUN = Scope.APPS_EXECUTE
FIELDS = ("title", "description", "exposedInputs", "exposedOutputs", "access", "passcode",
          "dailyCreditCap", "visitorRunsPerHour", "coverAssetId", "isActive", "capTimezone")


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
                                                "00:00 in capTimezone (a running run counts "
                                                "its hold)")
    capTimezone = serializers.CharField(help_text="(addition) The IANA time zone of the cap's "
                                        "day; UTC unless set")
    capResetsAt = serializers.DateTimeField(help_text="(addition) When the cap's next day "
                                            "begins")
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


class ExposedInputIn(serializers.Serializer):
    nodeId = StrictCharField(max_length=200)
    input = StrictCharField(required=False, max_length=100,
                            help_text="The node's setting; its main one if left out")
    label = StrictCharField(required=False, allow_blank=True, max_length=200)
    helpText = StrictCharField(required=False, allow_blank=True, max_length=500)
    default = serializers.JSONField(required=False, allow_null=True)
    allowedValues = serializers.ListField(child=serializers.JSONField(), required=False,
                                          allow_null=True, max_length=100)
    required = StrictBooleanField(required=False)


class ExposedOutputIn(serializers.Serializer):
    nodeId = StrictCharField(max_length=200)
    label = StrictCharField(required=False, allow_blank=True, max_length=200)


class AppChangeIn(serializers.Serializer):
    title = StrictCharField(required=False, max_length=200)
    description = StrictCharField(required=False, allow_blank=True, max_length=2000)
    exposedInputs = ExposedInputIn(many=True, required=False, help_text="Left out on create: "
                                   "the inputs of GET /workflows/{id}/run")
    exposedOutputs = ExposedOutputIn(many=True, required=False, help_text="Left out on "
                                     "create: the nodes nothing reads from")
    access = serializers.ChoiceField(["team", "link", "passcode"], required=False)
    passcode = StrictCharField(required=False, min_length=4, max_length=128, write_only=True)
    dailyCreditCap = StrictIntegerField(required=False, min_value=0, max_value=1_000_000)
    visitorRunsPerHour = StrictIntegerField(required=False, min_value=0, max_value=10_000)
    coverAssetId = serializers.UUIDField(required=False, allow_null=True)
    isActive = StrictBooleanField(required=False)
    capTimezone = StrictCharField(required=False, max_length=64,
                                  help_text="The IANA time zone whose midnight starts the "
                                  "cap's day (e.g. Europe/Berlin); UTC unless set")


class AppIn(AppChangeIn):
    workflowId = serializers.UUIDField(help_text="The workflow to publish")
    title = StrictCharField(max_length=200)
    dailyCreditCap = StrictIntegerField(min_value=0, max_value=1_000_000,
                                        help_text="Credits the app's runs may be charged a day")
    slug = StrictCharField(required=False, min_length=3, max_length=80,
                           help_text="Else made from the title and random characters")


class AppRunIn(serializers.Serializer):
    inputs = serializers.DictField(child=serializers.JSONField(), required=False,
                                   help_text="{nodeId: value} or {nodeId: {input: value}}: "
                                   "the app's exposed inputs only. (addition) A file field "
                                   "(exposedInputs[].media) takes the `upload` token of POST "
                                   "/apps/{slug}/uploads made with this key, or an http(s) "
                                   "URL fetched as an Image Input's URL is")


class AppRunStarted(serializers.Serializer):
    executionId = serializers.UUIDField()
    status = serializers.CharField()


class AppRunOut(serializers.Serializer):
    data = AppRunStarted()


def _object(data, serializer_class=None) -> dict:
    """The body as sent (keys as sent), once it is an object that `serializer_class` accepts."""
    if not isinstance(data, dict):
        raise ApiError("The request body must be a JSON object", code="invalid_request")
    if serializer_class is not None:
        serializer_class(data=data).is_valid(raise_exception=True)
    return data


def _publish_team(request: Request):
    """The team a new app is published in (its workflow's), if the caller may write there."""
    body = request.data if isinstance(request.data, dict) else {}
    workflow = workflow_get(principal=request.principal,
                            workflow_id=str(body.get("workflowId", "")))
    require_scope(request.principal, workflow.team_id, WRITE)
    return workflow.team


class AppListApi(APIView):
    required_scopes = {"GET": READ, "POST": WRITE}

    @extend_schema(operation_id="apps_list",
                   parameters=[OpenApiParameter("teamId", {"type": "integer", "minimum": 0},
                                                description="Only this team's apps")],
                   responses={200: AppListOut, 400: ErrorOut})
    def get(self, request: Request) -> Response:
        team = request.query_params.get("teamId")
        if team is not None and not (team.isascii() and team.isdigit()):
            raise ApiError("teamId must be an integer", code="invalid_request")
        team_id = int(team) if team else None
        apps = selectors.app_list(principal=request.principal, team_id=team_id)
        base = public_base_url(request)
        return Response({"apps": [selectors.app_api(a, base_url=base) for a in apps]})

    @extend_schema(operation_id="apps_create", request=AppIn,
                   responses={201: AppDataOut, 400: ErrorOut, 404: ErrorOut, 409: ErrorOut})
    @idempotent(_publish_team)
    def post(self, request: Request) -> Response:
        body = _object(request.data, AppIn)
        workflow = workflow_get(principal=request.principal,
                                workflow_id=str(body.get("workflowId", "")))
        require_scope(request.principal, workflow.team_id, WRITE)
        app = services.app_create(
            workflow=workflow, actor=request.principal, title=body.get("title"),
            daily_credit_cap=body.get("dailyCreditCap"),
            description=body.get("description", ""),
            exposed_inputs=body.get("exposedInputs"), exposed_outputs=body.get("exposedOutputs"),
            access=body.get("access", "team"), passcode=body.get("passcode"),
            visitor_runs_per_hour=body.get("visitorRunsPerHour", 10),
            cover_asset_id=body.get("coverAssetId"), slug=body.get("slug"),
            is_active=body.get("isActive", True),
            cap_timezone=body.get("capTimezone", "UTC"))
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

    @extend_schema(operation_id="apps_update", request=AppChangeIn,
                   responses={200: AppDataOut, 400: ErrorOut, 404: ErrorOut})
    def patch(self, request: Request, slug: str) -> Response:
        app = selectors.app_for_team(principal=request.principal, slug=slug)
        require_scope(request.principal, app.team_id, WRITE)
        body = _object(request.data)
        unknown = sorted(set(body) - set(FIELDS))
        if unknown:
            raise ApiError(f"Unknown or unchangeable field: {unknown[0]}", code="invalid_app",
                           fields=unknown)
        _object(body, AppChangeIn)
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


class AppUploadIn(serializers.Serializer):
    file = serializers.FileField(help_text="An image or sound for one of the app's file fields")


class AppUploadOut(serializers.Serializer):
    upload = serializers.CharField(help_text="The token a run's input names the file by; only "
                                   "this key's runs of this app take it, for 24 hours")
    type = serializers.CharField()
    width = serializers.IntegerField(allow_null=True)
    height = serializers.IntegerField(allow_null=True)
    duration = serializers.FloatField(allow_null=True)
    size = serializers.IntegerField()


def upload_answer(asset, token: str) -> dict:
    """What POST /apps/{slug}/uploads answers, to the page's visitor and to a key alike."""
    return {"upload": token, "type": asset.kind, "width": asset.width, "height": asset.height,
            "duration": asset.duration, "size": asset.size}


class AppUploadApi(APIView):
    """(addition) A file for an app's file field, sent with an API key (apps:execute): the
    app page's own upload endpoint, POST /apps/{slug}/uploads, hands a request with an
    Authorization header to this view. The token it answers is bound to the key."""

    parser_classes = [MultiPartParser]
    required_scopes = {"POST": RUN}

    @extend_schema(operation_id="apps_upload", request={"multipart/form-data": AppUploadIn},
                   responses={201: AppUploadOut, 400: ErrorOut, 404: ErrorOut, 409: ErrorOut,
                              413: ErrorOut, 415: ErrorOut, 422: ErrorOut, 429: ErrorOut})
    def post(self, request: Request, slug: str) -> Response:
        app = selectors.app_for_team(principal=request.principal, slug=slug)
        require_scope(request.principal, app.team_id, RUN)
        upload = request.FILES.get("file")
        if upload is None:
            raise ApiError('Send the file as multipart "file"', code="invalid_request")
        if upload.size > settings.FETCH_MAX_BYTES:
            raise ApiError(f"File too large (limit {settings.FETCH_MAX_BYTES // 2**20} MB)",
                           code="payload_too_large", status=413)
        asset, token = services.app_upload(
            app=app, data=upload.read(), declared_mime=(upload.content_type or "").lower(),
            actor=request.principal, visitor=selectors.api_visitor(request.principal))
        return Response(upload_answer(asset, token), status=status.HTTP_201_CREATED)


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
        body = _object(request.data, AppRunIn)
        execution = services.app_run(app=app, values=body.get("inputs"),
                                     actor=request.principal,
                                     visitor=selectors.api_visitor(request.principal),
                                     urls=True)
        poll = request.build_absolute_uri(f"/api/v1/workflows/executions/{execution.pk}/poll")
        return Response({"data": {"executionId": str(execution.pk), "status": execution.status}},
                        status=status.HTTP_202_ACCEPTED, headers={"Location": poll})
