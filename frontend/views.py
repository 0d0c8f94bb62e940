"""Server-rendered pages around the editor, and the page that loads the editor itself."""

import json
from functools import cache

from django.conf import settings
from django.http import Http404
from django.views.decorators.csrf import ensure_csrf_cookie

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from accounts.selectors import membership_list, principal_for_user
from graph.selectors import workflow_list


@ensure_csrf_cookie
@login_required(login_url="/login/")
def home(request):
    """The workflows of the user's teams; the page's script creates, renames, duplicates and
    deletes them through the API. The first list comes with the page (as JSON, never HTML)."""
    from accounts.roles import Scope
    from graph.api.serializers import WorkflowItemOut

    principal = principal_for_user(request.user)
    teams = [{
        "id": m.team_id, "name": m.team.name, "slug": m.team.slug, "plan": m.team.plan,
        "credits": m.team.credit_balance, "role": m.role,
        "canEdit": principal.can(m.team_id, Scope.WORKFLOWS_WRITE),
    } for m in membership_list(user=request.user)]
    workflows = WorkflowItemOut(workflow_list(principal=principal), many=True,
                                context={"request": request, "principal": principal}).data
    assets = editor_assets("src/workflows/main.tsx")
    return render(request, "home.html", {
        "assets": assets,
        "page": {"user": request.user.get_username(), "teams": teams,
                 "workflows": workflows},
    })


@ensure_csrf_cookie
@login_required(login_url="/login/")
def gallery(request):
    """Every output of the member's teams, with its provenance (the page reads GET /assets)."""
    return render(request, "gallery.html", {"assets": editor_assets("src/gallery/main.tsx")})


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


def editor_assets(entry: str = "src/main.tsx") -> dict[str, list[str]]:
    """A built entry's files (hashed names) from Vite's manifest (read once in production; on
    every request in DEBUG, so a rebuild shows without a restart): its script, and the CSS of
    it and of every chunk it imports."""
    manifest = _read_manifest() if settings.DEBUG else _cached_manifest()
    if entry not in manifest:
        return {"js": [], "css": []}
    base = settings.STATIC_URL + "editor/"
    css: list[str] = []
    seen: set[str] = set()

    def collect(key: str) -> None:
        if key in seen:
            return
        seen.add(key)
        chunk = manifest[key]
        css.extend(base + path for path in chunk.get("css", []) if base + path not in css)
        for imported in chunk.get("imports", []):
            collect(imported)

    collect(entry)
    return {"js": [base + manifest[entry]["file"]], "css": css}


@cache
def _cached_manifest() -> dict:
    return _read_manifest()


def _read_manifest() -> dict:
    manifest_path = settings.BASE_DIR / "frontend" / "dist" / "editor" / ".vite" / "manifest.json"
    if not manifest_path.exists():
        return {}
    return json.loads(manifest_path.read_text())


@ensure_csrf_cookie
@login_required(login_url="/login/")
def editor(request, workflow_id: str):
    from graph.selectors import workflow_get
    from wireflow_site.errors import ApiError

    from accounts.roles import Scope

    principal = principal_for_user(request.user)
    try:
        workflow = workflow_get(principal=principal, workflow_id=workflow_id)
    except ApiError:
        raise Http404("No such workflow") from None
    assets = editor_assets()
    if not assets["js"]:
        return render(request, "editor_missing.html", status=503)
    # A viewer gets the editor read-only (the API would refuse the writes anyway).
    can_edit = principal.can(workflow.team_id, Scope.WORKFLOWS_WRITE)
    can_run = principal.can(workflow.team_id, Scope.WORKFLOWS_EXECUTE)
    return render(request, "editor.html", {"workflow": workflow, "assets": assets,
                                           "can_edit": can_edit, "can_run": can_run})
