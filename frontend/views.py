"""Server-rendered pages around the editor, and the page that loads the editor itself."""

import json
import mimetypes
from functools import cache

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, Http404
from django.shortcuts import redirect, render
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_POST, require_safe

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
    """The read-only page a share link opens (only while the workflow is shared): the canvas
    with the latest outputs, the description, and "Duplicate into my team"."""
    from accounts.roles import Scope
    from frontend.share import share_page, shared_workflow_get

    workflow = shared_workflow_get(token)
    if workflow is None:
        raise Http404("No shared workflow here")
    teams = []
    if request.user.is_authenticated:
        principal = principal_for_user(request.user)
        teams = [{"id": m.team_id, "name": m.team.name} for m in membership_list(
            user=request.user) if principal.can(m.team_id, Scope.WORKFLOWS_WRITE)]
    return render(request, "shared_workflow.html", {
        **share_page(workflow), "token": token, "teams": teams,
        "assets": editor_assets("src/share/main.tsx"),
        "error": request.GET.get("error") == "no-team"})


@require_safe
def shared_workflow_file(request, token: str, asset_id: str, variant: str):
    """An output the share page shows, served only while the workflow is shared and the file
    is still among its latest outputs: the page never hands out a signed storage URL."""
    from frontend.share import VARIANTS, asset_variant_file, shared_asset, shared_workflow_get

    workflow = shared_workflow_get(token)
    asset = shared_asset(workflow, asset_id) if workflow and variant in VARIANTS else None
    stored = asset_variant_file(asset, variant) if asset else None
    if stored is None:
        raise Http404("Not shared")
    mime = asset.mime if variant == "file" else (
        mimetypes.guess_type(stored.name)[0] or "application/octet-stream")
    response = FileResponse(stored.open("rb"), content_type=mime)
    # Each view asks again, so turning sharing off ends access; browsers may keep a copy briefly.
    response["Cache-Control"] = "private, max-age=300"
    return response


@require_POST
def shared_workflow_duplicate(request, token: str):
    """"Duplicate into my team": a copy of what the page shows, in a team the user edits."""
    from accounts.roles import Scope
    from frontend.share import shared_workflow_get
    from graph.services import workflow_duplicate_shared

    workflow = shared_workflow_get(token)
    if workflow is None:
        raise Http404("No shared workflow here")
    if not request.user.is_authenticated:
        return redirect(f"/login/?next=/share/{token}")
    principal = principal_for_user(request.user)
    try:
        team_id = int(request.POST.get("team", ""))
    except ValueError:
        team_id = next(iter(t for t in principal.team_ids()
                            if principal.can(t, Scope.WORKFLOWS_WRITE)), None)
    if team_id is None or not principal.can(team_id, Scope.WORKFLOWS_WRITE):
        return redirect(f"/share/{token}?error=no-team")
    copy_of = workflow_duplicate_shared(workflow=workflow, team=principal.teams[team_id],
                                        actor=principal)
    return redirect(f"/workflows/{copy_of.pk}")


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


def workflow_or_404(principal, workflow_id: str):
    """The workflow a page shows, or a 404 when it is missing or not this principal's to
    read (another team's looks missing, as in the API)."""
    from graph.selectors import workflow_get
    from wireflow_site.errors import ApiError

    try:
        return workflow_get(principal=principal, workflow_id=workflow_id)
    except ApiError:
        raise Http404("No such workflow") from None


@ensure_csrf_cookie
@login_required(login_url="/login/")
def editor(request, workflow_id: str):
    from accounts.roles import Scope

    principal = principal_for_user(request.user)
    workflow = workflow_or_404(principal, workflow_id)
    assets = editor_assets()
    if not assets["js"]:
        return render(request, "editor_missing.html", status=503)
    # A viewer gets the editor read-only (the API would refuse the writes anyway).
    can_edit = principal.can(workflow.team_id, Scope.WORKFLOWS_WRITE)
    can_run = principal.can(workflow.team_id, Scope.WORKFLOWS_EXECUTE)
    from graph.api.serializers import share_url

    return render(request, "editor.html", {"workflow": workflow, "assets": assets,
                                           "can_edit": can_edit, "can_run": can_run,
                                           "share_url": share_url(request, workflow)})
