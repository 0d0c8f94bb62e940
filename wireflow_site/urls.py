from csp.constants import SELF, UNSAFE_INLINE
from csp.decorators import csp_update
from django.contrib import admin
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView

from executions.media_urls import media_serve
from wireflow_site import health

# Redoc writes its styles inline and renders the schema in a worker made from a blob.
_redoc = csp_update({"style-src": [UNSAFE_INLINE], "worker-src": [SELF, "blob:"]})(
    SpectacularRedocView.as_view(url_name="schema"))


urlpatterns = [
    path("admin/", admin.site.urls),
    path("livez", health.livez),
    path("healthz", health.healthz),
    path("api/v1/schema", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs", _redoc, name="api-docs"),
    path("api/v1/", include("executions.api.urls")),
    path("api/v1/", include("graph.api.urls")),
    path("api/v1/", include("accounts.api.urls")),
    path("api/v1/", include("clientapps.api.urls")),
    # Stored files whose storage has no server of its own (the file system), by signed URL
    # only (executions.media_urls); an object store serves its files itself.
    re_path(r"^media/(?P<name>.+)$", media_serve, name="media"),
    path("", include("frontend.urls")),
]
