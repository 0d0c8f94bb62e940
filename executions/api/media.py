"""Uploads that feed input:image and input:audio nodes: a file, or a URL fetched server-side
with an SSRF guard."""

from __future__ import annotations

from django.conf import settings
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts.permissions import require_scope
from accounts.roles import Scope
from executions.api import serializers as s
from executions.assets import asset_api, asset_upload
from executions.dispatch import renditions_enqueue_on_commit
from executions.fetch import fetch_url
from executions.media_types import MediaRefused
from executions.models import Asset
from executions.providers import ProviderError
from graph.services import format_timestamp
from wireflow_site.errors import ApiError, ErrorOut
from wireflow_site.parsers import JSONParser


def _media_out(asset: Asset) -> dict:
    item = asset_api(asset)
    return {"url": item["url"], "id": str(asset.pk), "type": asset.kind,
            "width": asset.width, "height": asset.height, "mime": asset.mime,
            "size": asset.size, "createdAt": format_timestamp(asset.created_at),
            "thumbnailUrl": item["thumbnailUrl"], "thumbnails": item["thumbnails"],
            "posterUrl": item.get("posterUrl"), "duration": asset.duration}


class MediaUploadApi(APIView):
    parser_classes = [JSONParser, MultiPartParser]
    required_scopes = {"POST": Scope.WORKFLOWS_WRITE}

    @extend_schema(operation_id="media_upload",
                   request={"multipart/form-data": s.MediaUploadFileIn,
                            "application/json": s.MediaUploadUrlIn},
                   responses={201: s.MediaUploadOut, 400: ErrorOut, 403: ErrorOut,
                              413: ErrorOut, 415: ErrorOut, 422: ErrorOut})
    def post(self, request: Request) -> Response:
        team = request.principal.default_team()
        if team is None:
            raise ApiError("You are not a member of any team", code="no_team", status=403)
        require_scope(request.principal, team.pk, Scope.WORKFLOWS_WRITE)
        upload = request.FILES.get("file")
        if upload is not None:
            if upload.size > settings.FETCH_MAX_BYTES:
                raise ApiError(f"File too large (limit {settings.FETCH_MAX_BYTES // 2**20} MB)",
                               code="payload_too_large", status=413)
            data, mime = upload.read(), (upload.content_type or "").lower()
        elif isinstance(request.data, dict) and isinstance(request.data.get("url"), str):
            try:
                data, mime = fetch_url(request.data["url"])
            except ProviderError as error:
                # Refused by the guard or answered badly, or not reachable in time: both are
                # about the URL the client sent, so a 400 either way.
                code = "fetch_failed" if error.kind == "network" else "fetch_refused"
                raise ApiError(error.message, code=code) from error
        else:
            raise ApiError('Send a multipart "file" or a JSON body {"url": "https://…"}',
                           code="invalid_request")
        try:
            # Its thumbnails are a worker's to make (CPU work), once this commits.
            asset = asset_upload(team=team, data=data, declared_mime=mime, renditions=False,
                                 uploader={"created_by": request.principal.user,
                                           "api_key": request.principal.api_key})
        except MediaRefused as error:
            # 415 not a format we take or sent as another; 422 over the pixel cap; 400 broken.
            raise ApiError(error.message, code=error.code, status=error.http_status) from error
        renditions_enqueue_on_commit(asset.pk)
        return Response({"data": _media_out(asset)}, status=status.HTTP_201_CREATED)


class MediaListApi(APIView):
    required_scopes = {"GET": Scope.WORKFLOWS_READ}

    @extend_schema(operation_id="media_list", responses={200: s.MediaListOut})
    def get(self, request: Request) -> Response:
        assets = Asset.objects.filter(team_id__in=request.principal.team_ids(),
                                      uploaded=True).order_by("-created_at")[:200]
        return Response({"data": [_media_out(asset) for asset in assets]})
