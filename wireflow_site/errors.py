"""One application error type, and the handlers that turn every failure into the API's shape.

Every error body is ``{"error": "<message>", "code": "<machine code>", …extra}``: DRF's own
exceptions, validation errors, unknown URLs, wrong methods and unexpected crashes alike.
"""

from __future__ import annotations

import logging
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig
from django.db import utils as db_utils
from django.http import Http404, JsonResponse
from kombu import exceptions as kombu_exceptions
from redis import exceptions as redis_exceptions
from rest_framework import exceptions as drf_exceptions
from rest_framework import serializers
from rest_framework.response import Response

try:
    import psycopg
    from psycopg_pool import PoolTimeout
except ImportError:  # SQLite only
    psycopg = PoolTimeout = None

logger = logging.getLogger("wireflow.api")


class ApiError(Exception):
    """An error a client caused or must see: message, machine code, HTTP status, extra fields."""

    def __init__(self, message: str, *, code: str, status: int = 400,
                 headers: dict[str, str] | None = None, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.code = code
        self.status = status
        self.headers = headers or {}
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"error": self.message, "code": self.code, **self.extra}


class NotFound(ApiError):
    def __init__(self, what: str = "Resource") -> None:
        super().__init__(f"{what} not found", code="not_found", status=404)


def _flatten(detail: Any, prefix: str = "") -> list[str]:
    """DRF's nested validation detail as readable 'field: message' lines."""
    if isinstance(detail, dict):
        lines: list[str] = []
        for key, value in detail.items():
            name = key if key != "non_field_errors" else ""
            lines += _flatten(value, f"{prefix}.{name}".strip(".") if name else prefix)
        return lines
    if isinstance(detail, list):
        lines = []
        for index, item in enumerate(detail):
            nested = isinstance(item, (dict, list))
            lines += _flatten(item, f"{prefix}[{index}]" if nested else prefix)
        return lines
    return [f"{prefix}: {detail}" if prefix else str(detail)]


def _drf_error(exc: drf_exceptions.APIException) -> ApiError:
    if isinstance(exc, drf_exceptions.ValidationError):
        lines = _flatten(exc.detail)
        return ApiError(
            "Invalid request: " + "; ".join(lines),
            code="invalid_request",
            status=400,
            fields=exc.detail,
        )
    if isinstance(exc, drf_exceptions.NotAuthenticated):
        return ApiError("Missing Authorization header", code="missing_authorization", status=401)
    if isinstance(exc, drf_exceptions.ParseError):
        return ApiError(f"Malformed request body: {exc.detail}", code="malformed_body", status=400)
    code = exc.get_codes() if isinstance(exc.get_codes(), str) else exc.default_code
    message = exc.detail if isinstance(exc.detail, str) else str(exc.detail)
    return ApiError(str(message), code=str(code), status=exc.status_code)


def api_exception_handler(exc: Exception, context: dict[str, Any]) -> Response:
    """DRF's EXCEPTION_HANDLER: map any exception raised in an API view to the error shape."""
    error = as_api_error(exc, where=getattr(context.get("request"), "path", "?"))
    response = Response(error.body(), status=error.status, headers=error.headers)
    auth_header = getattr(exc, "auth_header", None)
    if auth_header:
        response["WWW-Authenticate"] = auth_header
    if isinstance(exc, drf_exceptions.Throttled) and exc.wait:
        response["Retry-After"] = str(int(exc.wait))
    return response


def as_api_error(exc: Exception, *, where: str = "?") -> ApiError:
    """The ApiError any exception of an operation answers as (unexpected ones are logged and
    become the generic 500): the REST handler and the MCP tools share it."""
    if isinstance(exc, Http404):
        error = ApiError("Not found", code="not_found", status=404)
    elif isinstance(exc, PermissionDenied):
        error = ApiError("You do not have permission to do this", code="forbidden", status=403)
    elif isinstance(exc, ApiError):
        error = exc
    elif isinstance(exc, RequestDataTooBig):
        error = body_too_large()
    elif unavailable(exc):
        logger.warning("Service unavailable in %s: %r", where, exc)
        error = service_unavailable()
    elif isinstance(exc, drf_exceptions.APIException):
        error = _drf_error(exc)
    else:
        logger.exception("Unhandled error in %s", where, exc_info=exc)
        error = server_error()
    return error


def body_too_large() -> ApiError:
    limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
    return ApiError(f"Request body too large (limit {limit / (1024 * 1024):g} MB)",
                    code="payload_too_large", status=413)


# Redis (rate limits, key cache, slots) or the broker unreachable: nothing was committed, and
# the same request may succeed in a moment.
UNAVAILABLE = (redis_exceptions.ConnectionError, redis_exceptions.TimeoutError,
               kombu_exceptions.OperationalError)
# SQLSTATEs of a server that is going or gone: admin_shutdown, crash_shutdown,
# cannot_connect_now (starting up or shutting down). Class 08 is "connection exception".
_SERVER_GONE = {"57P01", "57P02", "57P03"}


def database_unreachable(exc: BaseException) -> bool:
    """PostgreSQL cannot be reached: the pool gave no connection in time, a connect was
    refused, or the server shut down or dropped the connection. Nothing was committed, as with
    Redis. Other database errors (a constraint, a query of ours cancelled) stay 500s."""
    if not isinstance(exc, db_utils.OperationalError):
        return False
    cause = exc.__cause__
    if psycopg is None or not isinstance(cause, psycopg.OperationalError):
        return False
    # Errors psycopg raises itself (no SQLSTATE) are about the connection: refused, lost,
    # closed, or the pool's PoolTimeout / TooManyRequests.
    sqlstate = cause.sqlstate
    return sqlstate is None or sqlstate.startswith("08") or sqlstate in _SERVER_GONE


def database_timed_out(exc: BaseException) -> bool:
    """The pool waited its whole timeout for a connection: asking again now waits as long."""
    return (PoolTimeout is not None and isinstance(exc, db_utils.OperationalError)
            and isinstance(exc.__cause__, PoolTimeout))


def unavailable(exc: BaseException) -> bool:
    """A backing service is away and the same request may succeed in a moment: 503."""
    return isinstance(exc, UNAVAILABLE) or database_unreachable(exc)


def service_unavailable() -> ApiError:
    return ApiError("The service is briefly unavailable; try again in a few seconds",
                    code="service_unavailable", status=503, headers={"Retry-After": "5"})


def server_error() -> ApiError:
    return ApiError(
        "Internal server error. The request id in X-Request-Id helps us find it.",
        code="server_error",
        status=500,
    )


def json_error(error: ApiError) -> JsonResponse:
    response = JsonResponse(error.body(), status=error.status)
    for header, value in error.headers.items():
        response[header] = value
    return response


class ErrorOut(serializers.Serializer):
    """The error shape every endpoint answers with (for the OpenAPI schema)."""

    error = serializers.CharField()
    code = serializers.CharField()


class CreditLineOut(serializers.Serializer):
    nodeId = serializers.CharField()
    nodeLabel = serializers.CharField()
    credits = serializers.IntegerField()


class InsufficientCreditsOut(ErrorOut):
    """402: the run's estimated cost is over the team's balance; nothing was started."""

    insufficientCredits = serializers.BooleanField()
    requiredCredits = serializers.IntegerField()
    availableCredits = serializers.IntegerField()
    breakdown = CreditLineOut(many=True, required=False)
