"""Client apps in the browser: the app page a link opens (/apps/<slug>: a form and a results
gallery, no graph), its passcode form, the visitor's run and progress endpoints (JSON, same
origin, CSRF-checked), the publish form (/workflows/<id>/publish, from the editor's toolbar)
and the team's list of apps (/team/apps).

Who may use an app page: the team's members always (a run is theirs); for a "link" app
anyone; for a "passcode" app anyone whose session entered the passcode (throttled). A visitor
follows only the runs this page started for them, by a signed token per run, and sees only
the outputs the app exposes: never the workflow's socket, poll or graph."""

from __future__ import annotations

from functools import cache

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt, csrf_protect, ensure_csrf_cookie
from django.views.decorators.http import require_GET, require_POST

from accounts.roles import Scope
from accounts.selectors import Principal, principal_for_user
from clientapps import selectors, services
from clientapps.api.views import AppUploadApi, upload_answer
from clientapps.models import App
from executions.selectors import workflow_run_inputs
from frontend.team_context import current_membership
from frontend.views import editor_assets, workflow_or_404
from graph.catalog import catalog
from wireflow_site.errors import ApiError

LOGIN = "/login/"
UNLOCKED = "clientapps:unlocked:{}"
MY_RUNS = "clientapps:runs:{}"
KEEP_RUNS = 12
# What a file field's picker offers (the server sniffs the file whatever it is called).
FILE_ACCEPT = {"image": "image/png,image/jpeg,image/webp,image/gif",
               "audio": "audio/mpeg,audio/wav,audio/x-wav,audio/mp4,audio/aac,audio/ogg,"
                        "audio/flac,.mp3,.wav,.m4a,.aac,.ogg,.flac"}


def _member(request, app: App) -> Principal | None:
    if not request.user.is_authenticated:
        return None
    principal = principal_for_user(request.user)
    return principal if app.team_id in principal.team_ids() else None


def _unlocked(request, app: App) -> bool:
    return bool(app.passcode_hash) and \
        request.session.get(UNLOCKED.format(app.pk)) == app.passcode_hash[-24:]


def _may_visit(request, app: App, member: Principal | None) -> bool:
    if member is not None or app.access == App.Access.LINK:
        return True
    return app.access == App.Access.PASSCODE and _unlocked(request, app)


def _visitor(request) -> str:
    # The peer address daphne saw; behind a proxy, run daphne with --proxy-headers so it is the
    # client's (the README says so).
    return "ip:" + (request.META.get("REMOTE_ADDR") or "unknown")


def _app(slug: str) -> App:
    app = selectors.app_by_slug(slug)
    if app is None:
        raise Http404("No app here")
    return app


def _error(error: ApiError) -> JsonResponse:
    response = JsonResponse(error.body(), status=error.status)
    for header, value in error.headers.items():
        response[header] = value
    return response


def _field_widgets(app: App) -> list[dict]:
    fields = []
    for index, field in enumerate(app.exposed_inputs):
        choices = field.get("allowedValues") or field.get("options")
        kind = field["type"]
        widget = ("file" if field.get("media") else
                  "select" if choices else "checkbox" if kind == "boolean"
                  else "textarea" if kind == "text" else
                  "number" if kind in ("integer", "number", "seed") else
                  "color" if kind == "color" else "text")
        fields.append({**field, "widget": widget, "choices": choices or [],
                       "html_id": f"field-{index}",
                       "step": "1" if kind in ("integer", "seed") else "any",
                       "accept": FILE_ACCEPT.get(field.get("media", ""), "")})
    return fields


@ensure_csrf_cookie
@require_GET
def app_page(request, slug: str):
    app = _app(slug)
    member = _member(request, app)
    if app.access == App.Access.TEAM and member is None:
        if not request.user.is_authenticated:
            return redirect(f"{LOGIN}?next=/apps/{app.slug}")
        raise Http404("No app here")
    locked = not _may_visit(request, app, member)
    tokens = request.session.get(MY_RUNS.format(app.pk), []) if not locked else []
    return render(request, "app.html", {
        "app": app, "locked": locked, "member": member is not None,
        "fields": _field_widgets(app), "tokens": tokens,
        "cover": selectors.app_cover(app)["coverUrl"],
        "assets": editor_assets("src/apps/main.ts"),
    })


@require_POST
def app_unlock(request, slug: str):
    app = _app(slug)
    if app.access != App.Access.PASSCODE:
        return redirect("app-page", slug=app.slug)
    try:
        ok = services.app_passcode_try(app=app, passcode=request.POST.get("passcode", ""),
                                       visitor=_visitor(request))
    except ApiError as error:
        messages.error(request, error.message)
        return redirect("app-page", slug=app.slug)
    if ok:
        request.session[UNLOCKED.format(app.pk)] = app.passcode_hash[-24:]
    else:
        messages.error(request, "That passcode is not right.")
    return redirect("app-page", slug=app.slug)


def _visit_refusal(request, app: App, member: Principal | None) -> ApiError | None:
    """Why this visitor may not run the app (or upload to it), or None."""
    if not _may_visit(request, app, member):
        return ApiError("Open the app's page (and enter its passcode) first",
                        code="app_locked", status=403)
    if member is not None and not member.can(app.team_id, Scope.APPS_EXECUTE):
        return ApiError("Your role on this team does not allow running its apps "
                        "(apps:execute)", code="insufficient_scope", status=403)
    return None


def _visitor_of(request, member: Principal | None) -> str:
    return f"user:{request.user.pk}" if member else _visitor(request)


_key_upload = AppUploadApi.as_view()


@csrf_exempt  # a key's request carries no CSRF token; the page's visitor's is checked below
@require_POST
def app_visitor_upload(request, slug: str):
    """A file for one of the app's file fields (multipart "file") → 201 with the token the
    run's input names it by; the file's URL is never given to the visitor. A request with a
    Bearer Authorization header is an API caller's (a key with apps:execute): the API's view
    answers it, in the API's error shape, with a token bound to the key. (A proxy's Basic
    credentials leave the page's visitor a page visitor.)"""
    if request.META.get("HTTP_AUTHORIZATION", "").lstrip()[:7].lower() == "bearer ":
        return _key_upload(request, slug=slug)
    return _page_upload(request, slug)


@csrf_protect
def _page_upload(request, slug: str):
    from django.conf import settings

    app = _app(slug)
    member = _member(request, app)
    refused = _visit_refusal(request, app, member)
    if refused is not None:
        return _error(refused)
    upload = request.FILES.get("file")
    if upload is None:
        return _error(ApiError('Send the file as multipart "file"', code="invalid_request"))
    if upload.size > settings.FETCH_MAX_BYTES:
        return _error(ApiError(f"File too large (limit {settings.FETCH_MAX_BYTES // 2**20} MB)",
                               code="payload_too_large", status=413))
    try:
        asset, token = services.app_upload(
            app=app, data=upload.read(), declared_mime=(upload.content_type or "").lower(),
            actor=member, visitor=_visitor_of(request, member))
    except ApiError as error:
        return _error(error)
    return JsonResponse(upload_answer(asset, token), status=201)


@require_POST
def app_visitor_run(request, slug: str):
    """A run from the app's form: JSON `{"inputs": {...}}` → 202 with the run's token and its
    first view; errors in the API's shape."""
    import json

    app = _app(slug)
    member = _member(request, app)
    refused = _visit_refusal(request, app, member)
    if refused is not None:
        return _error(refused)
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        return _error(ApiError("Malformed request body: expected JSON", code="malformed_body"))
    if not isinstance(body, dict):
        return _error(ApiError("The request body must be a JSON object", code="invalid_request"))
    try:
        execution = services.app_run(
            app=app, values=body.get("inputs"), actor=member,
            visitor=_visitor_of(request, member),
            visitor_label=f"visitor of app {app.title}")
    except ApiError as error:
        return _error(error)
    token = selectors.run_token(app, execution)
    key = MY_RUNS.format(app.pk)
    request.session[key] = [token, *request.session.get(key, [])][:KEEP_RUNS]
    return JsonResponse({"token": token, "run": selectors.app_run_view(app, execution)},
                        status=202)


@require_GET
def app_visitor_run_status(request, slug: str, token: str):
    app = _app(slug)
    if not _may_visit(request, app, _member(request, app)):
        return _error(ApiError("Open the app's page first", code="app_locked", status=403))
    try:
        execution = selectors.run_for_token(app, token)
    except ApiError as error:
        return _error(error)
    return JsonResponse(selectors.app_run_view(app, execution))


# --- the team's side: publish, list, switch off, delete ---------------------------------------

def _settings_of(workflow) -> list[dict]:
    """Every setting a form field may set, node by node, for the publish form."""
    exposed = {i["nodeId"] for i in workflow_run_inputs(workflow=workflow)}
    rows = []
    for node in workflow.nodes:
        data = node.get("data") if isinstance(node, dict) else None
        spec = catalog.get(data.get("nodeType")) if isinstance(data, dict) else None
        if spec is None or spec.category == "utility":
            continue
        for index, setting in enumerate(spec.settings()):
            if setting.type not in selectors.EXPOSABLE \
                    and selectors.file_kind(node, setting) is None:
                continue
            rows.append({"key": f"{node['id']}::{setting.id}", "node": data.get("label") or
                         spec.label, "nodeId": node["id"], "setting": setting,
                         "file": selectors.file_kind(node, setting),
                         "checked": node["id"] in exposed and index == 0})
    return rows


def _outputs_of(workflow) -> list[dict]:
    default = {o["nodeId"] for o in selectors.workflow_default_outputs(workflow)}
    rows = []
    for node in workflow.nodes:
        data = node.get("data") if isinstance(node, dict) else None
        spec = catalog.get(data.get("nodeType")) if isinstance(data, dict) else None
        if spec is None or not spec.outputs or spec.category in ("input", "utility"):
            continue
        rows.append({"nodeId": node["id"], "label": data.get("label") or spec.label,
                     "checked": node["id"] in default})
    return rows


def _int(value: str, default: int) -> int:
    return int(value) if value.isascii() and value.isdigit() else default


def _form_values(settings_rows: list[dict], output_rows: list[dict], *, workflow,
                 app: App | None, post) -> dict:
    """What the publish form shows: the POST being re-shown after an error, else the app's
    values (editing), else a new app's defaults; each setting row's and output row's state is
    set on the row."""
    if app is not None:
        fields = {(f["nodeId"], f["input"]): f for f in app.exposed_inputs}
        shown = {o["nodeId"] for o in app.exposed_outputs}
        for row in settings_rows:
            field = fields.get((row["nodeId"], row["setting"].id))
            row["checked"] = field is not None
            row["values"] = {
                "label": field.get("label") or "", "help": field.get("helpText") or "",
                "default": "" if field.get("default") is None else str(field["default"]),
                "allowed": ", ".join(str(v) for v in field.get("allowedValues") or []),
            } if field else {}
        for row in output_rows:
            row["checked"] = row["nodeId"] in shown
        values = {"title": app.title, "description": app.description, "access": app.access,
                  "cap": str(app.daily_credit_cap), "per_hour": str(app.visitor_runs_per_hour),
                  "timezone": app.cap_timezone, "cover": "keep"}
    else:
        values = {"title": workflow.name, "description": workflow.description,
                  "access": "team", "cap": "100", "per_hour": "10", "timezone": "UTC",
                  "cover": "last"}
    if post:
        chosen, outputs = set(post.getlist("expose")), set(post.getlist("output"))
        for row in settings_rows:
            key = row["key"]
            row["checked"] = key in chosen
            row["values"] = {name: post.get(f"{name}::{key}", "")
                             for name in ("label", "help", "default", "allowed")}
        for row in output_rows:
            row["checked"] = row["nodeId"] in outputs
        values.update({name: post.get(name, values[name]) for name in values})
    return values


def _form_changes(post, settings_rows: list[dict]) -> dict:
    """The posted form as the app's fields (the keys of POST /apps, camelCase)."""
    chosen = set(post.getlist("expose"))
    exposed = []
    for row in settings_rows:
        if row["key"] not in chosen:
            continue
        key = row["key"]
        allowed = [v.strip() for v in post.get(f"allowed::{key}", "").split(",") if v.strip()]
        default = post.get(f"default::{key}", "").strip()
        exposed.append({
            "nodeId": row["nodeId"], "input": row["setting"].id,
            "label": post.get(f"label::{key}", ""), "helpText": post.get(f"help::{key}", ""),
            "default": _typed(row["setting"], default) if default else None,
            "allowedValues": [_typed(row["setting"], v) for v in allowed] or None,
        })
    return {"title": post.get("title", ""), "description": post.get("description", ""),
            "exposedInputs": exposed,
            "exposedOutputs": [{"nodeId": node_id} for node_id in post.getlist("output")],
            "access": post.get("access", "team"),
            "dailyCreditCap": _int(post.get("cap", ""), -1),
            "visitorRunsPerHour": _int(post.get("per_hour", ""), -1),
            "capTimezone": post.get("timezone", "UTC")}


def _publish_page(request, principal: Principal, workflow, app: App | None):
    """The publish form: a new app of `workflow`, or changes to `app` (one of its apps)."""
    can = principal.can(workflow.team_id, Scope.WORKFLOWS_WRITE)
    settings_rows, output_rows = _settings_of(workflow), _outputs_of(workflow)
    posted = request.method == "POST" and can
    if posted:
        post = request.POST
        changes = _form_changes(post, settings_rows)
        try:
            cover = None
            if post.get("cover") == "upload" and request.FILES.get("cover_file"):
                cover = _upload_cover(request, workflow, principal)
            if app is None:
                app = services.app_create(
                    workflow=workflow, actor=principal, title=changes["title"],
                    description=changes["description"],
                    exposed_inputs=changes["exposedInputs"],
                    exposed_outputs=changes["exposedOutputs"], access=changes["access"],
                    passcode=post.get("passcode") or None,
                    daily_credit_cap=changes["dailyCreditCap"],
                    visitor_runs_per_hour=changes["visitorRunsPerHour"], cover_asset_id=cover,
                    cap_timezone=changes["capTimezone"])
                done = f"Published {app.title}: share /apps/{app.slug}"
            else:
                if post.get("passcode"):
                    changes["passcode"] = post["passcode"]
                if post.get("cover") in ("last", "upload"):  # "keep": as it is
                    changes["coverAssetId"] = cover
                app = services.app_update(app=app, actor=principal, changes=changes)
                done = f"Saved {app.title}"
            if post.get("cover") == "none":
                App.objects.filter(pk=app.pk).update(cover_asset=None)
        except ApiError as error:
            messages.error(request, error.message)
            if app is not None:
                app.refresh_from_db()
        else:
            messages.success(request, done)
            return redirect(f"/team/apps?team={app.team_id}")
    form = _form_values(settings_rows, output_rows, workflow=workflow, app=app,
                        post=request.POST if posted else None)
    return render(request, "app_publish.html", {
        "workflow": workflow, "app": app, "can": can, "settings_rows": settings_rows,
        "output_rows": output_rows, "form": form, "zones": _zone_names(),
        "assets": editor_assets("src/team/main.ts"),
    })


@ensure_csrf_cookie
@login_required(login_url=LOGIN)
def app_publish(request, workflow_id: str):
    principal = principal_for_user(request.user)
    return _publish_page(request, principal, workflow_or_404(principal, workflow_id), None)


@ensure_csrf_cookie
@login_required(login_url=LOGIN)
def app_edit(request, slug: str):
    """Team → Apps → Edit: the publish form filled with the app, saved as PATCH /apps does."""
    principal = principal_for_user(request.user)
    try:
        app = selectors.app_for_team(principal=principal, slug=slug)
    except ApiError:
        raise Http404("No such app") from None
    if app.workflow.deleted_at is not None:
        raise Http404("The app's workflow is deleted")
    return _publish_page(request, principal, app.workflow, app)


@cache
def _zone_names() -> list[str]:
    from zoneinfo import available_timezones

    return ["UTC", *sorted(available_timezones() - {"UTC"})]


def _typed(setting, raw: str):
    """A value typed into the publish form, as the setting's kind."""
    if setting.type in ("integer", "seed"):
        try:
            return int(raw)
        except ValueError:
            return raw
    if setting.type == "number":
        try:
            return float(raw)
        except ValueError:
            return raw
    if setting.type == "boolean":
        return raw.lower() in ("1", "true", "yes", "on")
    if setting.type == "enum":  # options may be numbers (e.g. num_images)
        for option in setting.enum or ():
            if str(option) == raw:
                return option
    return raw


def _upload_cover(request, workflow, principal):
    """An uploaded cover image, taken in as POST /media/upload takes a file."""
    from django.conf import settings

    from executions.assets import asset_upload
    from executions.media_types import MediaRefused

    upload = request.FILES["cover_file"]
    if upload.size > settings.FETCH_MAX_BYTES:
        raise ApiError("The cover is too large", code="payload_too_large", status=413)
    try:
        asset = asset_upload(team=workflow.team, data=upload.read(), kinds=("image",),
                             declared_mime=(upload.content_type or "").lower(),
                             uploader={"created_by": principal.user})
    except MediaRefused as error:
        raise ApiError(error.message, code=error.code, status=error.http_status) from error
    return asset.pk


@ensure_csrf_cookie
@login_required(login_url=LOGIN)
def team_apps(request):
    membership = current_membership(request)
    if membership is None:
        raise Http404("You are not a member of any team")
    principal = principal_for_user(request.user)
    team = membership.team
    can = principal.can(team.pk, Scope.WORKFLOWS_WRITE)
    if request.method == "POST" and can:
        try:
            app = selectors.app_for_team(principal=principal, slug=request.POST.get("slug", ""))
        except ApiError:
            raise Http404("No such app") from None
        if app.team_id != team.pk:
            raise Http404("No such app")
        action = request.POST.get("action")
        if action == "delete":
            services.app_delete(app=app)
            messages.success(request, f"Deleted the app {app.title}.")
        elif action in ("on", "off"):
            services.app_update(app=app, actor=principal, changes={"isActive": action == "on"})
            messages.success(request, f"{app.title} is {'on' if action == 'on' else 'off'}.")
        return redirect(f"/team/apps?team={team.pk}")
    apps = [selectors.app_api(a, base_url=request.build_absolute_uri("/").rstrip("/"))
            for a in selectors.app_list(principal=principal, team_id=team.pk)]
    return render(request, "team/apps.html", {
        "assets": editor_assets("src/team/main.ts"), "team": team, "membership": membership,
        "role": membership.role, "section": "apps", "apps": apps, "can_edit": can,
    })
