"""The HTTP side of /api/mcp: the SDK's streamable HTTP app behind our API-key check.

Mounted beside Django in wireflow_site.asgi (one daphne, no second process). Each request:

1. the Host is checked against ALLOWED_HOSTS, as Django checks it;
2. `Authorization: Bearer sk-…` is resolved as the REST API resolves it (same 401 messages,
   same key cache) and counted against the key's requests per minute (the REST API's window:
   429 with Retry-After past it). A refusal is an HTTP error in the API's error shape, so a
   client sees it before any MCP message;
3. the SDK's app answers, with the principal in the ASGI scope for the tools.

The server is stateless (a fresh transport per POST, JSON responses, no session id): any
daphne process of any machine can answer any request, as with the REST API. daphne speaks no
ASGI lifespan, so the SDK's session manager (a task group the transports run in) is started on
the first request and lives as long as the process.
"""

from __future__ import annotations

import asyncio
import io
import json
import logging
import re
import uuid

from channels.db import database_sync_to_async
from django.core.exceptions import DisallowedHost
from django.core.handlers.asgi import ASGIRequest
from mcp.server.transport_security import TransportSecuritySettings
from rest_framework import exceptions

from accounts.authentication import api_key_from_header
from accounts.ratelimit import api_key_request_admit
from accounts.selectors import principal_for_api_key
from mcp_server.server import SCOPE_KEY, server
from wireflow_site.errors import ApiError, as_api_error

logger = logging.getLogger("wireflow.mcp")

PATH = "/api/mcp"
_CLIENT_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")

# Host checks are Django's (ALLOWED_HOSTS), before the SDK sees the request.
_sdk_app = server.streamable_http_app(
    streamable_http_path=PATH, stateless_http=True, json_response=True,
    transport_security=TransportSecuritySettings(enable_dns_rebinding_protection=False),
)
_manager_ready: asyncio.Future | None = None


def is_mcp_path(path: str) -> bool:
    return path == PATH or path.startswith(PATH + "/")


async def _session_manager_running() -> None:
    """Start the SDK's session manager once per process (in this event loop) and wait for it."""
    global _manager_ready
    if _manager_ready is None:
        loop = asyncio.get_running_loop()
        _manager_ready = loop.create_future()
        ready = _manager_ready

        async def run() -> None:
            try:
                async with server.session_manager.run():
                    ready.set_result(None)
                    await loop.create_future()  # until the process ends
            except BaseException as exc:
                if not ready.done():
                    ready.set_exception(exc)
                raise

        loop.create_task(run(), name="mcp-session-manager")
    await asyncio.shield(_manager_ready)


def _authenticate(header: str):
    api_key = api_key_from_header(header)
    principal = principal_for_api_key(api_key)
    limit = api_key_request_admit(api_key)
    return principal, limit


async def _error(send, error: ApiError, request_id: str, extra_headers=()) -> None:
    headers = [(b"content-type", b"application/json"), (b"x-request-id", request_id.encode()),
               *((k.lower().encode(), str(v).encode()) for k, v in error.headers.items()),
               *extra_headers]
    await send({"type": "http.response.start", "status": error.status, "headers": headers})
    await send({"type": "http.response.body", "body": json.dumps(error.body()).encode()})


async def application(scope, receive, send) -> None:
    """The ASGI app for /api/mcp (HTTP only)."""
    request = ASGIRequest(scope, io.BytesIO())
    incoming = request.headers.get("X-Request-Id", "")
    request_id = incoming if _CLIENT_REQUEST_ID.match(incoming) else uuid.uuid4().hex
    try:
        request.get_host()
    except DisallowedHost:
        await _error(send, ApiError("Invalid Host header", code="bad_host"), request_id)
        return
    header = request.headers.get("Authorization")
    if header is None:
        await _error(send, ApiError("Missing Authorization header",
                                    code="missing_authorization", status=401), request_id,
                     [(b"www-authenticate", b'Bearer realm="api"')])
        return
    try:
        principal, (limit, remaining, reset) = await database_sync_to_async(_authenticate)(
            header)
    except exceptions.AuthenticationFailed as refused:
        await _error(send, as_api_error(refused), request_id,
                     [(b"www-authenticate", b'Bearer realm="api"')])
        return
    except Exception as exc:  # noqa: BLE001 - a 429, or Redis/the database away: 503
        await _error(send, as_api_error(exc, where=PATH), request_id)
        return
    request.principal = principal
    await _session_manager_running()

    async def send_tagged(message) -> None:
        if message["type"] == "http.response.start":
            message = {**message, "headers": [
                *message.get("headers", []), (b"x-request-id", request_id.encode()),
                (b"x-ratelimit-limit", str(limit).encode()),
                (b"x-ratelimit-remaining", str(remaining).encode()),
                (b"x-ratelimit-reset", str(reset).encode())]}
        await send(message)

    state = {"principal": principal, "request": request}
    await _sdk_app({**scope, SCOPE_KEY: state}, receive, send_tagged)
