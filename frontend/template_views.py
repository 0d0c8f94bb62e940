"""The /templates gallery: built-in starters and the team's own templates as cards (cover,
title, description, quoted cost), each with "Use template", which makes a new workflow in
the current team (or one the user picks) and opens it in the editor."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.csrf import ensure_csrf_cookie
from django.views.decorators.http import require_POST

from accounts.roles import Scope
from accounts.selectors import membership_list, principal_for_user
from executions.api.views import MAX_OFFSET
from executions.templates import template_items
from frontend.team_context import current_membership
from frontend.views import editor_assets
from graph.models import WorkflowTemplate
from graph.selectors import template_get, template_page
from graph.services import template_clone, template_delete
from wireflow_site.errors import ApiError

LOGIN = "/login/"
PAGE = 48


def _writable_teams(request, principal):
    return [m.team for m in membership_list(user=request.user)
            if principal.can(m.team_id, Scope.WORKFLOWS_WRITE)]


@ensure_csrf_cookie
@login_required(login_url=LOGIN)
def templates_gallery(request):
    principal = principal_for_user(request.user)
    offset = request.GET.get("offset", "0")
    offset = min(int(offset), MAX_OFFSET) if offset.isascii() and offset.isdigit() else 0
    templates, total = template_page(principal=principal, limit=PAGE, offset=offset)
    current = current_membership(request)
    teams = _writable_teams(request, principal)
    chosen = current.team_id if current and any(t.pk == current.team_id for t in teams) \
        else (teams[0].pk if teams else None)
    return render(request, "templates.html", {
        "templates": template_items(templates), "total": total, "teams": teams,
        "chosen_team": chosen, "editable_team_ids": {t.pk for t in teams},
        "assets": editor_assets("src/team/main.ts"),  # the theme, and data-confirm
        "previous": max(0, offset - PAGE) if offset else None,
        "next": offset + PAGE if offset + PAGE < total else None,
    })


@require_POST
@login_required(login_url=LOGIN)
def template_use(request, template_id: str):
    principal = principal_for_user(request.user)
    try:
        template = template_get(principal=principal, template_id=template_id)
    except ApiError:
        raise Http404("No such template") from None
    teams = {t.pk: t for t in _writable_teams(request, principal)}
    asked = request.POST.get("team", "")
    team = teams.get(int(asked)) if asked.isascii() and asked.isdigit() else None
    if team is None:
        current = current_membership(request)
        team = teams.get(current.team_id) if current else None
    if team is None:
        messages.error(request, "You need the editor role in a team to use a template.")
        return redirect("templates")
    try:
        workflow = template_clone(template=template, team=team, actor=principal)
    except ApiError as error:
        messages.error(request, error.message)
        return redirect("templates")
    return redirect("editor", workflow_id=str(workflow.pk))


@require_POST
@login_required(login_url=LOGIN)
def template_delete_page(request, template_id: str):
    principal = principal_for_user(request.user)
    try:
        template = template_get(principal=principal, template_id=template_id)
    except ApiError:
        raise Http404("No such template") from None
    if not isinstance(template, WorkflowTemplate) or not principal.can(
            template.team_id, Scope.WORKFLOWS_WRITE):
        messages.error(request, "Only an editor of its team can delete a team's template.")
        return redirect("templates")
    template_delete(template=template)
    messages.success(request, f"Deleted the template {template.name}.")
    return redirect("templates")
