"""The team workspace pages: /team (members and invites), /team/keys, /team/usage,
/team/activity, and /invite/<token> where an invite is accepted.

Server-rendered, with plain forms that POST back to the page; each form calls the same
service the REST API calls (accounts.workspace), so the roles and rules are the API's. A
refused action is shown on the page with the API's message."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import ensure_csrf_cookie
from rest_framework import exceptions

from accounts import selectors, workspace
from accounts.api.teams import activity_out, key_out, scope_help
from accounts.models import ActivityEvent, Membership
from accounts.roles import MANAGE_KEYS, MANAGE_MEMBERS, MANAGE_TEAM, Role, Scope
from accounts.selectors import principal_for_user
from executions import usage
from frontend.team_context import current_membership
from frontend.views import editor_assets, workflow_or_404
from wireflow_site.errors import ApiError

LOGIN = "/login/"


def _context(request):
    membership = current_membership(request)
    if membership is None:
        raise Http404("You are not a member of any team")
    principal = principal_for_user(request.user)
    team = membership.team
    return principal, team, {
        "assets": editor_assets("src/team/main.ts"),
        "team": team, "membership": membership, "role": membership.role,
        "can_manage_members": principal.can(team.pk, MANAGE_MEMBERS),
        "can_manage_keys": principal.can(team.pk, MANAGE_KEYS),
        "is_owner": principal.can(team.pk, MANAGE_TEAM),
    }


def _refused(request, error: Exception) -> None:
    if isinstance(error, ApiError):
        messages.error(request, error.message)
    elif isinstance(error, exceptions.APIException):
        messages.error(request, str(error.detail))
    else:
        raise error


def _int(value, default=None):
    return int(value) if isinstance(value, str) and value.isascii() and value.isdigit() \
        and len(value) < 10 else default


def _back(request, team, path: str):
    return redirect(f"{path}?team={team.pk}")


# A new key or invite link is shown once: kept in the server-side session (database sessions)
# for the one read by the page the POST redirects to (never in a message, which the default
# storage writes into a cookie), as admin shows a new key. A reload then neither shows it
# again nor makes another.
SHOWN_ONCE = "wireflow:team-shown-once:"


def _show_once(request, what: str, value: dict) -> None:
    request.session[SHOWN_ONCE + what] = value


def _shown_once(request, what: str, team) -> dict | None:
    value = request.session.pop(SHOWN_ONCE + what, None)
    return value if value and value.get("team") == team.pk else None


# --- members and invites --------------------------------------------------------------------

@ensure_csrf_cookie
@login_required(login_url=LOGIN)
def team_members(request):
    principal, team, context = _context(request)
    if request.method == "POST":
        action = request.POST.get("action")
        sent = None
        try:
            if action == "invite":
                sent = workspace.invite_create(
                    team=team, actor=principal, email=request.POST.get("email", ""),
                    role=request.POST.get("role", Role.EDITOR),
                    expires_in_days=_int(request.POST.get("days"), 0) or None,
                    base_url=request.build_absolute_uri("/"))
            elif action == "resend":
                invite = selectors.team_invite(team=team,
                                               invite_id=_int(request.POST.get("invite"), 0))
                sent = workspace.invite_resend(team=team, actor=principal, invite=invite,
                                               base_url=request.build_absolute_uri("/"))
            elif action == "revoke":
                invite = selectors.team_invite(team=team,
                                               invite_id=_int(request.POST.get("invite"), 0))
                workspace.invite_revoke(team=team, actor=principal, invite=invite)
                messages.success(request, f"Invite for {invite.email or 'the link'} revoked.")
                return _back(request, team, "/team")
            elif action in ("role", "remove"):
                member = selectors.team_member(team=team,
                                               user_id=_int(request.POST.get("user"), 0))
                if action == "role":
                    workspace.member_change_role(team=team, actor=principal, member=member,
                                                 role=request.POST.get("role", ""))
                    messages.success(request, f"{member.user.username} is now "
                                              f"{request.POST.get('role')}.")
                else:
                    workspace.member_remove(team=team, actor=principal, member=member)
                    if member.user_id == request.user.pk:
                        messages.success(request, f"You left {team.name}.")
                        return redirect("/")
                    messages.success(request, f"{member.user.username} was removed.")
                return _back(request, team, "/team")
            else:
                messages.error(request, "Unknown action")
        except (ApiError, exceptions.APIException) as error:
            _refused(request, error)
        if sent is not None:
            _show_once(request, "invite", {
                "team": team.pk, "email": sent.invite.email, "email_sent": sent.email_sent,
                "email_error": sent.email_error,
                "url": workspace.invite_url(sent.token, request.build_absolute_uri("/"))})
        return _back(request, team, "/team")
    members = selectors.team_members(team=team)
    context.update({
        "members": members,
        "invites": selectors.team_invites(team=team) if context["can_manage_members"] else [],
        "sent": _shown_once(request, "invite", team),
        "roles": Role.choices,
        "assignable": Role.choices if context["is_owner"] else [
            r for r in Role.choices if r[0] != Role.OWNER],
        "owners": sum(1 for m in members if m.role == Role.OWNER),
        "section": "members",
    })
    return render(request, "team/members.html", context)


# --- API keys -------------------------------------------------------------------------------

@ensure_csrf_cookie
@login_required(login_url=LOGIN)
def team_keys(request):
    principal, team, context = _context(request)
    if request.method == "POST":
        try:
            if request.POST.get("action") == "create":
                if not request.POST.getlist("scopes"):
                    raise ApiError("Pick at least one scope", code="invalid_scope")
                new = workspace.team_api_key_create(
                    team=team, actor=principal, name=request.POST.get("name", ""),
                    scopes=request.POST.getlist("scopes") or [],
                    expires_in_days=_int(request.POST.get("days"), 0) or None)
                _show_once(request, "key", {**key_out(new.api_key), "key": new.raw_key,
                                            "team": team.pk})
                return _back(request, team, "/team/keys")
            elif request.POST.get("action") == "revoke":
                api_key = selectors.team_api_key(team=team,
                                                 key_id=_int(request.POST.get("key"), 0))
                workspace.team_api_key_revoke(team=team, actor=principal, api_key=api_key)
                messages.success(request, f"Key {api_key.name} ({api_key.masked}) revoked: "
                                          "requests with it now get 401.")
                return _back(request, team, "/team/keys")
            messages.error(request, "Unknown action")
        except (ApiError, exceptions.APIException) as error:
            _refused(request, error)
        return _back(request, team, "/team/keys")
    context.update({
        "keys": [key_out(k) for k in selectors.team_api_keys(team=team)]
        if context["can_manage_keys"] else [],
        "scopes": scope_help(), "created": _shown_once(request, "key", team),
        "section": "keys",
    })
    return render(request, "team/keys.html", context)


# --- usage ----------------------------------------------------------------------------------

@login_required(login_url=LOGIN)
def team_usage(request):
    principal, team, context = _context(request)
    if not principal.can(team.pk, Scope.USAGE_READ):
        raise Http404("No usage here")
    data = usage.team_usage(team=team)
    ledger = Paginator(usage.team_ledger(team=team), 25)
    page = ledger.get_page(request.GET.get("page"))
    context.update({
        "usage": data, "ledger": usage.ledger_rows(team, page.object_list), "page": page,
        "spent_30": sum(d["credits"] for d in data["spendByDay"]), "section": "usage",
    })
    return render(request, "team/usage.html", context)


CHART_CSP = "default-src 'none'; style-src 'unsafe-inline'"


@login_required(login_url=LOGIN)
def team_usage_chart(request):
    """Spend per day for 30 days, stacked by workflow: an SVG drawn by pygal, loaded by the
    usage page as an image (so its styles and script never run in the page)."""
    import pygal
    from pygal.style import DarkStyle

    principal, team, _ = _context(request)
    if not principal.can(team.pk, Scope.USAGE_READ):
        raise Http404("No usage here")
    data = usage.team_usage(team=team)
    names = {w["workflowId"]: w["name"] for w in data["byWorkflow"]}
    chart = pygal.StackedBar(
        js=[], style=DarkStyle, height=320, width=960, show_legend=bool(names),
        legend_at_bottom=True, x_label_rotation=-45, title="Credits spent per day (UTC)",
        print_zeroes=False, show_minor_x_labels=False, truncate_legend=24)
    days = data["spendByDay"]
    chart.x_labels = [d["date"][5:] for d in days]
    chart.x_labels_major = [d["date"][5:] for d in days[::5]]
    for workflow_id, name in names.items():
        chart.add(name, [next((w["credits"] for w in d["byWorkflow"]
                               if w["workflowId"] == workflow_id), None) for d in days])
    if not names:
        chart.add("spend", [0 for _ in days])
    response = HttpResponse(chart.render(is_unicode=True), content_type="image/svg+xml")
    response["Content-Security-Policy"] = CHART_CSP
    response["Cache-Control"] = "private, max-age=30"
    return response


# --- activity -------------------------------------------------------------------------------

@login_required(login_url=LOGIN)
def team_activity(request):
    principal, team, context = _context(request)
    filters = {}
    actor = _int(request.GET.get("actor"))
    if actor is not None:
        filters["actor_id"] = actor
    kind = request.GET.get("kind") or None
    if kind in ActivityEvent.Kind.values:
        filters["kind"] = kind
    workflow = request.GET.get("workflow") or None
    if workflow:
        import uuid

        try:
            filters["workflow_id"] = uuid.UUID(workflow)
        except ValueError:
            workflow = None
    events = selectors.team_activity(team=team, **filters)
    page = Paginator(events, 50).get_page(request.GET.get("page"))
    context.update({
        "events": [activity_out(e) for e in page.object_list], "page": page,
        "members": selectors.team_members(team=team), "kinds": ActivityEvent.Kind.choices,
        "actor": actor, "kind": filters.get("kind"), "workflow": workflow,
        "section": "activity",
    })
    return render(request, "team/activity.html", context)


# --- accepting an invite --------------------------------------------------------------------

@ensure_csrf_cookie
def invite_page(request, token: str):
    """Shows what the invite offers; a signed-in user joins with one button, someone without
    an account makes one (username and password) and joins, or signs in first."""
    invite = workspace.invite_by_token(token)
    problem = None
    try:
        workspace.invite_check(invite)
    except ApiError as error:
        problem = error.message
    form = {"username": "", "error": ""}
    if request.method == "POST" and problem is None:
        try:
            if request.user.is_authenticated:
                membership = workspace.invite_accept(token=token, user=request.user)
            else:
                form["username"] = request.POST.get("username", "")
                if request.POST.get("password") != request.POST.get("password2"):
                    raise ApiError("The two passwords differ", code="invalid_request")
                membership = workspace.invite_accept_new_account(
                    token=token, username=form["username"],
                    password=request.POST.get("password", ""))
                login(request, membership.user,
                      backend="django.contrib.auth.backends.ModelBackend")
            messages.success(request, f"Welcome to {membership.team.name}: you joined as "
                                      f"{membership.role}.")
            return redirect(f"/team?team={membership.team_id}")
        except ApiError as error:
            form["error"] = error.message
    already = (request.user.is_authenticated and invite is not None and Membership.objects
               .filter(team=invite.team, user=request.user).exists())
    return render(request, "team/invite.html", {
        "invite": invite if problem is None else None, "problem": problem, "form": form,
        "already": already, "token": token}, status=200 if problem is None else 410
        if invite is not None else 404)


# --- a workflow's version history -----------------------------------------------------------

HISTORY_PAGE = 50

@ensure_csrf_cookie
@login_required(login_url=LOGIN)
def workflow_history(request, workflow_id: str):
    """The workflow's versions (autosaves folded into editing sessions); one selected shows
    its graph's nodes and settings with what differs from the current graph; editors restore
    it as a new version. The same reads and service as /api/v1/workflows/{id}/versions."""
    from graph import services as graph_services
    from graph import versions
    principal = principal_for_user(request.user)
    workflow = workflow_or_404(principal, workflow_id)
    can_edit = principal.can(workflow.team_id, Scope.WORKFLOWS_WRITE)
    if request.method == "POST":
        try:
            version = versions.version_get(workflow=workflow,
                                           number=_int(request.POST.get("number"), 0))
            if not can_edit:
                raise ApiError("Your role on this team does not allow restoring versions",
                               code="insufficient_scope", status=403)
            restored, _ = graph_services.workflow_restore_version(
                workflow=workflow, version=version, actor=principal)
            messages.success(request, f"Version {version.number} restored as version "
                                      f"{restored.version}.")
            return redirect(f"/workflows/{workflow.pk}/history?v={restored.version}")
        except ApiError as error:
            _refused(request, error)
            return redirect(f"/workflows/{workflow.pk}/history")
    total = versions.version_count(workflow=workflow)
    pages = max(1, -(-total // HISTORY_PAGE))
    page = min(max(1, _int(request.GET.get("page"), 1)), pages)
    sessions = versions.version_sessions(workflow=workflow, limit=HISTORY_PAGE,
                                         offset=(page - 1) * HISTORY_PAGE)
    selected = _int(request.GET.get("v"), sessions[0]["number"] if sessions else None)
    shown = diff = None
    if selected is not None:
        try:
            shown = versions.version_get(workflow=workflow, number=selected)
        except ApiError:
            shown = None
    rows = []
    if shown is not None:
        diff = versions.graph_diff(old_nodes=shown.nodes, old_edges=shown.edges,
                                   new_nodes=workflow.nodes, new_edges=workflow.edges)
        changed = {c["nodeId"]: c for c in diff["nodesChanged"]}
        for item in shown.nodes if isinstance(shown.nodes, list) else []:
            if not isinstance(item, dict):
                continue
            data = item.get("data") if isinstance(item.get("data"), dict) else {}
            config = data.get("config") if isinstance(data.get("config"), dict) else {}
            node_id = str(item.get("id", ""))
            state = ("removed" if node_id in diff["nodesRemoved"] else
                     "changed" if node_id in changed else "same")
            rows.append({"id": node_id, "label": data.get("label") or node_id,
                         "type": data.get("nodeType", ""), "state": state,
                         "settings": [(k, v, k in changed.get(node_id, {}).get("settings", []))
                                      for k, v in sorted(config.items())],
                         "fields": changed.get(node_id, {}).get("fields", [])})
    return render(request, "team/history.html", {
        "assets": editor_assets("src/team/main.ts"), "workflow": workflow,
        "sessions": sessions, "shown": shown, "diff": diff, "rows": rows, "total": total,
        "page": page, "pages": pages, "newer": page - 1 if page > 1 else None,
        "older": page + 1 if page < pages else None,
        "author": versions.version_author(shown) if shown else "", "can_edit": can_edit,
        "is_current": shown is not None and shown.number == workflow.version})
