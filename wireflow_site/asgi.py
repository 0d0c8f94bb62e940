"""ASGI entry point: HTTP through Django (and /api/mcp through the MCP server), WebSockets
through Channels."""

import os

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wireflow_site.settings")
django.setup(set_prefix=False)

from django.conf import settings  # noqa: E402

from wireflow_site.request_threads import PooledThreadsASGIHandler  # noqa: E402

django_asgi_app = PooledThreadsASGIHandler(settings.WEB_THREADS)

from channels.auth import AuthMiddlewareStack  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from channels.security.websocket import AllowedHostsOriginValidator  # noqa: E402

from executions.routing import websocket_urlpatterns  # noqa: E402
from mcp_server import http as mcp_http  # noqa: E402


async def http_application(scope, receive, send):
    """/api/mcp to the MCP server (streamable HTTP), everything else to Django."""
    if mcp_http.is_mcp_path(scope["path"]):
        return await mcp_http.application(scope, receive, send)
    return await django_asgi_app(scope, receive, send)


application = ProtocolTypeRouter(
    {
        "http": http_application,
        "websocket": AllowedHostsOriginValidator(
            AuthMiddlewareStack(URLRouter(websocket_urlpatterns))
        ),
    }
)
