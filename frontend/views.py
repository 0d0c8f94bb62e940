"""Server-rendered pages around the editor, and the page that loads the editor itself."""

import json
from functools import cache

from django.conf import settings
from django.http import Http404
from django.views.decorators.csrf import ensure_csrf_cookie

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from accounts.selectors import principal_for_user
from graph.selectors import workflow_list


@login_required(login_url="/login/")
def home(request):
    principal = principal_for_user(request.user)
    workflows = workflow_list(principal=principal).select_related("team")
    return render(
        request,
        "home.html",
        {"teams": list(principal.teams.values()), "workflows": workflows},
    )


def shared_workflow(request, token: str):
    """The read-only page a share link opens (only while the workflow is shared)."""
    from django.http import Http404

    from graph.models import Workflow
    from graph.services import public_graph

    workflow = Workflow.objects.filter(share_token=token, link_permission="view",
                                       deleted_at__isnull=True).first()
    if workflow is None:
        raise Http404("No shared workflow here")
    return render(request, "shared_workflow.html", {"graph": public_graph(workflow)})


def editor_assets() -> dict[str, list[str]]:
    """The built editor's entry files (hashed names) from Vite's manifest (read once in
    production; on every request in DEBUG, so a rebuild shows without a restart)."""
    if settings.DEBUG:
        return _read_manifest()
    return _cached_manifest()


@cache
def _cached_manifest() -> dict[str, list[str]]:
    return _read_manifest()


def _read_manifest() -> dict[str, list[str]]:
    manifest_path = settings.BASE_DIR / "frontend" / "dist" / "editor" / ".vite" / "manifest.json"
    if not manifest_path.exists():
        return {"js": [], "css": []}
    entry = json.loads(manifest_path.read_text())["src/main.tsx"]
    base = settings.STATIC_URL + "editor/"
    return {"js": [base + entry["file"]], "css": [base + css for css in entry.get("css", [])]}


@ensure_csrf_cookie
@login_required(login_url="/login/")
def editor(request, workflow_id: str):
    from graph.selectors import workflow_get
    from wireflow_site.errors import ApiError

    try:
        workflow = workflow_get(principal=principal_for_user(request.user),
                                workflow_id=workflow_id)
    except ApiError:
        raise Http404("No such workflow") from None
    assets = editor_assets()
    if not assets["js"]:
        return render(request, "editor_missing.html", status=503)
    return render(request, "editor.html", {"workflow": workflow, "assets": assets})
