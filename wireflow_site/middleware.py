"""Request ids on every response, and JSON errors for every /api/ path that fails outside DRF."""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Callable

from django.core.exceptions import RequestDataTooBig
from django.http import HttpRequest, HttpResponse

from wireflow_site.errors import (
    ApiError,
    body_too_large,
    json_error,
    server_error,
    service_unavailable,
    unavailable,
)

logger = logging.getLogger("wireflow.api")

_CLIENT_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")


def is_api_path(path: str) -> bool:
    return path.startswith("/api/") or path.startswith("/workflow/")


class RequestIdMiddleware:
    """Tag each request with an id (the client's X-Request-Id when sane) and echo it back."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-Id", "")
        request.request_id = incoming if _CLIENT_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        response = self.get_response(request)
        response["X-Request-Id"] = request.request_id
        return response


class ApiErrorMiddleware:
    """API paths never answer with an HTML error page or a stack trace, DEBUG or not."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not is_api_path(request.path) or response.get("Content-Type", "").startswith(
            "application/json"
        ):
            return response
        if response.status_code == 404:
            return json_error(ApiError("Not found", code="not_found", status=404))
        if response.status_code == 405:
            allowed = response.get("Allow", "")
            error = json_error(
                ApiError(
                    f'Method "{request.method}" not allowed',
                    code="method_not_allowed",
                    status=405,
                )
            )
            if allowed:
                error["Allow"] = allowed
            return error
        if response.status_code == 403 and getattr(request, "csrf_processing_done", False):
            return json_error(ApiError("CSRF check failed", code="csrf_failed", status=403))
        if response.status_code >= 500:
            return json_error(server_error())
        if response.status_code >= 400:
            reason = response.reason_phrase or "Bad request"
            return json_error(
                ApiError(reason, code=f"http_{response.status_code}", status=response.status_code)
            )
        return response

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not is_api_path(request.path):
            if unavailable(exception):  # a page: the same promise, in plain words
                logger.warning("Service unavailable in %s: %r", request.path, exception)
                error = service_unavailable()
                return HttpResponse(error.message, status=error.status, headers=error.headers,
                                    content_type="text/plain; charset=utf-8")
            return None
        if isinstance(exception, ApiError):
            return json_error(exception)
        if isinstance(exception, RequestDataTooBig):
            return json_error(body_too_large())
        if unavailable(exception):
            logger.warning("Service unavailable in %s: %r", request.path, exception)
            return json_error(service_unavailable())
        logger.exception("Unhandled error in %s", request.path, exc_info=exception)
        return json_error(server_error())


class RateLimitHeadersMiddleware:
    """X-RateLimit-* on every API response: the key's request window, or for the browser the
    team's executions-per-minute window."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if not request.path.startswith("/api/") or "X-RateLimit-Limit" in response:
            return response
        figures = getattr(request, "rate_limit", None)
        if figures is None:
            principal = getattr(request, "_wireflow_principal", None)
            team = principal.default_team() if principal is not None else None
            if team is not None:
                from accounts.ratelimit import session_figures

                try:
                    figures = session_figures(team)
                except Exception:  # noqa: BLE001 - headers must never break a response
                    figures = None
        if figures is not None:
            limit, remaining, reset = figures
            response["X-RateLimit-Limit"] = str(limit)
            response["X-RateLimit-Remaining"] = str(remaining)
            response["X-RateLimit-Reset"] = str(reset)
        return response
