"""(addition) The team's outputs and uploads with their provenance, favourites and zip download."""

from __future__ import annotations

import datetime as dt
import uuid

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.handlers.asgi import ASGIRequest
from django.http import StreamingHttpResponse
from django.utils import dateparse, timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import require_scope
from accounts.roles import Scope
from executions import provenance, services
from executions.api import serializers as s
from executions.api.views import MAX_OFFSET, page_params
from executions.models import Asset
from wireflow_site.errors import ApiError, ErrorOut

READ = Scope.EXECUTIONS_READ
WRITE = Scope.WORKFLOWS_WRITE
BOOLEANS = {"true": True, "false": False}


def _uuid(value: str | None, name: str) -> uuid.UUID | None:
    if value is None:
        return None
    try:
        return uuid.UUID(value)
    except ValueError:
        raise ApiError(f"{name} must be a UUID", code="invalid_request") from None


def _moment(value: str | None, name: str) -> dt.datetime | None:
    """An ISO 8601 / RFC 3339 date-time; UTC when it names no offset."""
    if value is None:
        return None
    try:
        moment = dateparse.parse_datetime(value)
    except ValueError:
        moment = None
    if moment is None:
        raise ApiError(f"{name} must be an ISO 8601 date-time such as 2026-12-01T00:00:00Z",
                       code="invalid_request")
    if timezone.is_naive(moment):
        return moment.replace(tzinfo=dt.UTC)
    try:
        return moment.astimezone(dt.UTC)
    except OverflowError:  # within a day of year 1 or 9999 in UTC: the end of the range
        return (dt.datetime.min if moment.year == 1 else dt.datetime.max).replace(tzinfo=dt.UTC)


def _text(value: str | None, name: str) -> str | None:
    """A free-text filter; PostgreSQL compares no NUL character, so one is a 400, not a 500."""
    if value and "\x00" in value:
        raise ApiError(f"{name} may not contain the NUL character", code="invalid_request")
    return value or None


def _choice(value: str | None, name: str, choices: dict | tuple):
    if value is None or value == "":
        return None
    if value not in choices:
        raise ApiError(f"{name} must be one of {', '.join(choices)}", code="invalid_request")
    return choices[value] if isinstance(choices, dict) else value


FILTERS = [
    OpenApiParameter("workflowId", OpenApiTypes.UUID,
                     description="Outputs of this workflow's runs"),
    OpenApiParameter("nodeType", str, description="Outputs of this node type, e.g. "
                     "generate:flux_2_pro"),
    OpenApiParameter("model", str, description="Outputs of nodes of this vendor model id"),
    OpenApiParameter("kind", str, enum=["output", "upload", ""]),
    OpenApiParameter("mediaType", str, enum=[*Asset.Kind.values, ""]),
    OpenApiParameter("favorite", str, enum=["true", "false", ""]),
    OpenApiParameter("createdAfter", OpenApiTypes.DATETIME,
                     description="Made at or after this moment (UTC unless it says)"),
    OpenApiParameter("createdBefore", OpenApiTypes.DATETIME,
                     description="Made before this moment (UTC unless it says)"),
    OpenApiParameter("teamId", int, description="Only this team's (of the caller's teams)"),
    OpenApiParameter("limit", int, description="At most 100 (larger asks get 100, smaller "
                     "than 1 get 1); 20 if not given"),
    OpenApiParameter("offset", {"type": "integer", "maximum": MAX_OFFSET},
                     description="Assets to skip (below 0 counts as 0)"),
]


class AssetListApi(APIView):
    """The caller's teams' outputs and uploads, newest first, with their provenance."""

    required_scopes = {"GET": READ}

    @extend_schema(operation_id="assets_list", parameters=FILTERS,
                   responses={200: s.AssetListOut})
    def get(self, request: Request) -> Response:
        params = request.query_params
        limit, offset = page_params(params)
        try:
            team_id = int(params["teamId"]) if "teamId" in params else None
        except ValueError:
            raise ApiError("teamId must be an integer", code="invalid_request") from None
        filters = provenance.AssetFilters(
            team_id=team_id,
            workflow_id=_uuid(params.get("workflowId"), "workflowId"),
            node_type=_text(params.get("nodeType"), "nodeType"),
            model=_text(params.get("model"), "model"),
            kind=_choice(params.get("kind"), "kind", ("output", "upload")),
            media_type=_choice(params.get("mediaType"), "mediaType", tuple(Asset.Kind.values)),
            favorite=_choice(params.get("favorite"), "favorite", BOOLEANS),
            created_after=_moment(params.get("createdAfter"), "createdAfter"),
            created_before=_moment(params.get("createdBefore"), "createdBefore"),
        )
        assets, total = provenance.asset_list(principal=request.principal, filters=filters,
                                              limit=limit, offset=offset)
        return Response({"assets": assets, "total": total, "limit": limit, "offset": offset})


class AssetDetailApi(APIView):
    required_scopes = {"GET": READ}

    @extend_schema(operation_id="assets_retrieve",
                   responses={200: s.AssetDetailOut, 404: ErrorOut})
    def get(self, request: Request, asset_id: str) -> Response:
        asset = provenance.asset_get(principal=request.principal, asset_id=asset_id)
        return Response({"data": provenance.assets_api([asset])[0]})


class AssetFavoriteApi(APIView):
    """POST marks the asset a favourite, DELETE unmarks it; both idempotent."""

    required_scopes = {"POST": WRITE, "DELETE": WRITE}

    def _set(self, request: Request, asset_id: str, favorite: bool) -> Response:
        asset = provenance.asset_get(principal=request.principal, asset_id=asset_id)
        require_scope(request.principal, asset.team_id, WRITE)
        asset = services.asset_favorite_set(asset=asset, favorite=favorite)
        return Response({"data": provenance.assets_api([asset])[0]})

    @extend_schema(operation_id="assets_favorite", request=None,
                   responses={200: s.AssetDetailOut, 404: ErrorOut})
    def post(self, request: Request, asset_id: str) -> Response:
        return self._set(request, asset_id, True)

    @extend_schema(operation_id="assets_unfavorite", request=None,
                   responses={200: s.AssetDetailOut, 404: ErrorOut})
    def delete(self, request: Request, asset_id: str) -> Response:
        return self._set(request, asset_id, False)


async def _async_chunks(chunks):
    """The zip's chunks for daphne without buffering the archive: each is read and made in a
    thread (storage reads block), handed on as it comes."""
    step = sync_to_async(lambda: next(chunks, None), thread_sensitive=False)
    while (chunk := await step()) is not None:
        if chunk:
            yield chunk


class AssetZipApi(APIView):
    """A ZIP of the selected files (their originals), streamed as it is read from storage."""

    required_scopes = {"POST": READ}

    @extend_schema(
        operation_id="assets_zip", request=s.AssetZipIn,
        responses={(200, "application/zip"): OpenApiResponse(
                       OpenApiTypes.BINARY, description="The files, stored uncompressed"),
                   400: ErrorOut,
                   404: OpenApiResponse(ErrorOut, description="Ids not found (`missingIds`): "
                                        "unknown, malformed, or another team's"),
                   413: OpenApiResponse(ErrorOut, description="Over ASSETS_ZIP_MAX_BYTES")})
    def post(self, request: Request) -> StreamingHttpResponse:
        if not isinstance(request.data, dict):
            raise ApiError("The request body must be a JSON object", code="invalid_request")
        body = s.AssetZipIn(data=request.data)
        body.is_valid(raise_exception=True)
        assets = provenance.assets_for_zip(principal=request.principal,
                                           ids=body.validated_data["ids"])
        total = sum(asset.size for asset in assets)  # stored uncompressed: about the zip's size
        if total > settings.ASSETS_ZIP_MAX_BYTES:
            raise ApiError(f"The selection is {total:,} bytes; a zip holds at most "
                           f"{settings.ASSETS_ZIP_MAX_BYTES:,}", code="payload_too_large",
                           status=413)
        chunks = provenance.zip_stream(assets)
        # Under daphne an iterator must be asynchronous, or Django reads it whole first.
        asgi = isinstance(request._request, ASGIRequest)
        stream = _async_chunks(chunks) if asgi else chunks
        response = StreamingHttpResponse(stream, content_type="application/zip")
        stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
        response["Content-Disposition"] = f'attachment; filename="wireflow-assets-{stamp}.zip"'
        return response
