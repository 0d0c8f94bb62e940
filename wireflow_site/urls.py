from csp.constants import SELF, UNSAFE_INLINE
from csp.decorators import csp_update
from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.static import serve
from drf_spectacular.views import SpectacularAPIView, SpectacularRedocView

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
    path("", include("frontend.urls")),
]

if settings.STORAGES["default"]["BACKEND"].endswith("FileSystemStorage"):
    # Outputs live on the local disk in the embedded setup; serve them from here.
    urlpatterns.append(
        re_path(r"^media/(?P<path>.*)$", serve, {"document_root": settings.MEDIA_ROOT})
    )
