"""Writes on client apps: publish, change, delete, unlock with a passcode, and run.

A run of an app is a run of its workflow (executions.services.workflow_execute) with the
visitor's values for the exposed inputs only, held to three limits besides the team's own plan
and credits: the app's daily credit cap (checked in the run's own transaction, after its cost
is held, so concurrent runs never pass it and a refused run charges nothing), the visitor's
runs per hour, and, for a passcode app, the passcode attempts per visitor."""

from __future__ import annotations

import re
import secrets
from functools import cache
from typing import Any
from zoneinfo import available_timezones

from django.conf import settings
from django.contrib.auth.hashers import check_password, make_password
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify

from accounts.ratelimit import window_admit
from accounts.selectors import Principal
from clientapps.models import App
from clientapps.selectors import (
    app_spent_today,
    cap_day,
    exposable_setting,
    file_kind,
    upload_for_token,
    upload_token,
    workflow_default_outputs,
)
from executions import services as runs
from executions.assets import asset_upload
from executions.dispatch import renditions_enqueue_on_commit
from executions.fetch import fetch_url
from executions.media_types import MediaRefused
from executions.models import Asset, Execution
from executions.providers import ProviderError
from executions.selectors import workflow_run_inputs
from executions.templates import template_cover_pick
from graph.catalog.values import check_setting
from graph.models import Workflow
from wireflow_site.errors import ApiError

SLUG = re.compile(r"[a-z0-9](?:[a-z0-9-]{1,78})[a-z0-9]")
MAX_TEXT = 10_000
MAX_FIELDS = 30
MAX_CAP = 1_000_000
# A file field's help unless the app gives one (the setting's own speaks of URLs, for editors).
FILE_HELP = {"image": "An image file: PNG, JPEG, WebP or GIF.",
             "audio": "A sound file: MP3, WAV, M4A, AAC, Ogg or FLAC."}
PASSCODE_ATTEMPTS = 10  # per visitor and app, per quarter hour
PASSCODE_WINDOW = 15 * 60
CAP_MESSAGE = ("This app has reached its daily limit of {cap} credits ({used} used today, "
               "this run needs {needed}). It resets at 00:00 {zone}.")


def _invalid(message: str, **extra: Any) -> ApiError:
    return ApiError(message, code="invalid_app", status=400, **extra)


# --- publishing ------------------------------------------------------------------------------

def _node(workflow: Workflow, node_id: Any) -> dict:
    for node in workflow.nodes:
        if isinstance(node, dict) and node.get("id") == node_id:
            return node
    raise _invalid(f"The workflow has no node {node_id!r}", nodeId=node_id)


def exposed_inputs_clean(workflow: Workflow, items: Any) -> list[dict[str, Any]]:
    """The form's fields, checked against the workflow: each names one setting of one node
    (its main setting if `input` is left out), with a label, help text, default and allowed
    values that fit that setting. None: the run input schema's inputs (GET /run)."""
    if items is None:
        items = [{"nodeId": i["nodeId"]} for i in workflow_run_inputs(workflow=workflow)]
    if not isinstance(items, list) or len(items) > MAX_FIELDS:
        raise _invalid(f"exposedInputs must be a list of at most {MAX_FIELDS} inputs")
    cleaned, seen = [], set()
    for item in items:
        if not isinstance(item, dict) or not isinstance(item.get("nodeId"), str):
            raise _invalid("Each exposed input is an object with a nodeId")
        node = _node(workflow, item["nodeId"])
        setting = exposable_setting(node, item.get("input"))
        key = (node["id"], setting.id)
        if key in seen:
            raise _invalid(f"{node['id']}.{setting.id} is exposed twice", nodeId=node["id"])
        seen.add(key)
        media = file_kind(node, setting)
        if media and (item.get("default") is not None or item.get("allowedValues") is not None):
            raise _invalid(f"{node['id']}.{setting.id} is a file field: it takes no default or "
                           "allowed values (the workflow's saved file is the default)",
                           nodeId=node["id"])
        allowed = item.get("allowedValues")
        if allowed is not None:
            if not isinstance(allowed, list) or not allowed or len(allowed) > 100:
                raise _invalid("allowedValues must be a list of 1 to 100 values",
                               nodeId=node["id"])
            for value in allowed:
                _check_value(setting, node["id"], value)
        default = item.get("default")
        if default is not None:
            _check_value(setting, node["id"], default)
            if allowed is not None and default not in allowed:
                raise _invalid(f"The default of {node['id']}.{setting.id} is not one of its "
                               "allowedValues", nodeId=node["id"])
        data = node.get("data") or {}
        cleaned.append({
            "nodeId": node["id"], "input": setting.id, "type": setting.type,
            "label": _text(item.get("label"), 200) or data.get("label") or setting.label,
            "helpText": _text(item.get("helpText"), 500) or FILE_HELP.get(media or "")
            or setting.description,
            "default": default, "allowedValues": allowed,
            "required": bool(item.get("required", setting.required)),
            "min": setting.min, "max": setting.max,
            "options": list(setting.enum) if setting.enum else None,
            **({"media": media} if media else {}),
        })
    return cleaned


def exposed_outputs_clean(workflow: Workflow, items: Any) -> list[dict[str, Any]]:
    """The nodes whose outputs a visitor sees. None: the workflow's last nodes."""
    if items is None:
        return workflow_default_outputs(workflow)
    if not isinstance(items, list) or not items or len(items) > MAX_FIELDS:
        raise _invalid(f"exposedOutputs must list 1 to {MAX_FIELDS} nodes")
    cleaned, seen = [], set()
    for item in items:
        node_id = item.get("nodeId") if isinstance(item, dict) else item
        node = _node(workflow, node_id)
        if node["id"] in seen:
            continue
        seen.add(node["id"])
        label = _text(item.get("label"), 200) if isinstance(item, dict) else ""
        cleaned.append({"nodeId": node["id"],
                        "label": label or (node.get("data") or {}).get("label") or node["id"]})
    return cleaned


def _text(value: Any, limit: int) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise _invalid("Labels and help texts are strings")
    return value.strip()[:limit]


def _check_value(setting, node_id: str, value: Any) -> None:
    problem = check_setting(setting, value)
    if problem is not None:
        raise ApiError(problem.message, code="invalid_inputs", status=400, nodeId=node_id,
                       input=setting.id)
    if isinstance(value, str) and len(value) > MAX_TEXT:
        raise ApiError(f"'{setting.id}' is longer than {MAX_TEXT} characters",
                       code="invalid_inputs", status=400, nodeId=node_id, input=setting.id)


def _new_slug(title: str) -> str:
    base = slugify(title)[:40].strip("-") or "app"
    while True:
        slug = f"{base}-{secrets.token_hex(4)}"
        if not App.objects.filter(slug=slug).exists():
            return slug


def _access(access: Any, passcode: Any, current_hash: str = "") -> tuple[str, str]:
    if access not in App.Access.values:
        raise _invalid(f"access must be one of {', '.join(App.Access.values)}")
    if access != App.Access.PASSCODE:
        return access, ""
    if passcode in (None, ""):
        if not current_hash:
            raise _invalid("A passcode app needs a passcode (4 to 128 characters)")
        return access, current_hash
    if not isinstance(passcode, str) or not 4 <= len(passcode) <= 128:
        raise _invalid("The passcode must be 4 to 128 characters")
    return access, make_password(passcode)


def _cap_timezone(name: Any) -> str:
    """An IANA time zone name this machine knows ("Europe/Berlin", "UTC")."""
    if not isinstance(name, str) or name not in _zones():
        raise _invalid("capTimezone must be an IANA time zone name such as Europe/Berlin or UTC")
    return name


@cache
def _zones() -> frozenset[str]:
    return frozenset(available_timezones() | {"UTC"})


def _limits(cap: Any, per_hour: Any) -> tuple[int, int]:
    for name, value, high in (("dailyCreditCap", cap, MAX_CAP),
                              ("visitorRunsPerHour", per_hour, 10_000)):
        if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= high:
            raise _invalid(f"{name} must be an integer from 0 to {high}")
    return cap, per_hour


def app_create(*, workflow: Workflow, actor: Principal, title: Any, daily_credit_cap: Any,
               description: Any = "", exposed_inputs: Any = None, exposed_outputs: Any = None,
               access: Any = App.Access.TEAM, passcode: Any = None,
               visitor_runs_per_hour: Any = 10, cover_asset_id: Any = None, slug: Any = None,
               is_active: bool = True, cap_timezone: Any = "UTC") -> App:
    """Publish `workflow` as an app of its team (the caller checked workflows:write there)."""
    title = _text(title, 200)
    if not title:
        raise _invalid("An app needs a title")
    if slug is not None and (not isinstance(slug, str) or not SLUG.fullmatch(slug)):
        raise _invalid("slug must be 3 to 80 lower-case letters, digits and dashes")
    if slug and App.objects.filter(slug=slug).exists():
        raise ApiError("That slug is taken", code="slug_taken", status=409)
    access, passcode_hash = _access(access, passcode)
    cap, per_hour = _limits(daily_credit_cap, visitor_runs_per_hour)
    app = App(
        team=workflow.team, workflow=workflow, slug=slug or _new_slug(title), title=title,
        description=_text(description, 2000),
        exposed_inputs=exposed_inputs_clean(workflow, exposed_inputs),
        exposed_outputs=exposed_outputs_clean(workflow, exposed_outputs),
        cover_asset_id=template_cover_pick(principal=actor, workflow=workflow,
                                           asset_id=cover_asset_id),
        access=access, passcode_hash=passcode_hash, daily_credit_cap=cap,
        cap_timezone=_cap_timezone(cap_timezone),
        visitor_runs_per_hour=per_hour, is_active=bool(is_active),
        created_by=actor.user,
    )
    app.save(force_insert=True)
    return app


def app_update(*, app: App, actor: Principal, changes: dict[str, Any]) -> App:
    """Change what the body names (the keys of POST /apps, camelCase); the rest stays."""
    with transaction.atomic():
        app = App.objects.select_for_update().select_related("workflow").get(pk=app.pk)
        workflow = app.workflow
        if "title" in changes:
            app.title = _text(changes["title"], 200)
            if not app.title:
                raise _invalid("An app needs a title")
        if "description" in changes:
            app.description = _text(changes["description"], 2000)
        if "exposedInputs" in changes:
            app.exposed_inputs = exposed_inputs_clean(workflow, changes["exposedInputs"])
        if "exposedOutputs" in changes:
            app.exposed_outputs = exposed_outputs_clean(workflow, changes["exposedOutputs"])
        if "access" in changes or "passcode" in changes:
            app.access, app.passcode_hash = _access(changes.get("access", app.access),
                                                    changes.get("passcode"), app.passcode_hash)
        if "dailyCreditCap" in changes or "visitorRunsPerHour" in changes:
            app.daily_credit_cap, app.visitor_runs_per_hour = _limits(
                changes.get("dailyCreditCap", app.daily_credit_cap),
                changes.get("visitorRunsPerHour", app.visitor_runs_per_hour))
        if "capTimezone" in changes:
            app.cap_timezone = _cap_timezone(changes["capTimezone"])
        if "coverAssetId" in changes:
            app.cover_asset_id = template_cover_pick(principal=actor, workflow=workflow,
                                                     asset_id=changes["coverAssetId"])
        if "isActive" in changes:
            if not isinstance(changes["isActive"], bool):
                raise _invalid("isActive must be true or false")
            app.is_active = changes["isActive"]
        app.updated_at = timezone.now()
        app.save()
    return app


def app_delete(*, app: App) -> None:
    """Unpublish: the link stops working; the runs stay in the team's history."""
    App.objects.filter(pk=app.pk).delete()


# --- visiting --------------------------------------------------------------------------------

def app_passcode_try(*, app: App, passcode: str, visitor: str) -> bool:
    """Whether `passcode` opens the app; at most PASSCODE_ATTEMPTS tries per visitor in a
    quarter hour (429 after that), right or wrong."""
    window_admit(scope=f"app-pass:{app.pk}:{visitor}", limit=PASSCODE_ATTEMPTS,
                 seconds=PASSCODE_WINDOW, message="Too many passcode attempts. Please try "
                 "again in a few minutes.")
    return bool(app.passcode_hash) and check_password(passcode, app.passcode_hash)


def app_values_resolve(app: App, values: Any, visitor: str = "", *, urls: bool = False,
                       actor: Principal | None = None) -> dict[str, dict[str, Any]]:
    """A run's `inputs` (executions.planner) from what a visitor sent: `{nodeId: value}` for a
    node with one exposed input, `{nodeId: {input: value}}` for any. Only exposed inputs are
    taken; each value must fit its setting and the app's allowed values; a left-out input takes
    the app's default, else the workflow's saved value; a required one with neither is a 400.
    A file field's value is the token of a file this `visitor` uploaded to the app (app_upload):
    the run takes that file of the team's. With `urls` (an API key's or MCP caller's run, never
    the page's visitor) it may instead be an http(s) URL, fetched here through the outbound
    guard and checked as an upload is (app_fetch), once every other value has passed."""
    if values is None:
        values = {}
    if not isinstance(values, dict):
        raise ApiError("inputs must be an object of {nodeId: value}", code="invalid_inputs")
    fields: dict[str, dict[str, dict]] = {}
    for field in app.exposed_inputs:
        fields.setdefault(field["nodeId"], {})[field["input"]] = field
    sent: dict[tuple[str, str], Any] = {}
    for node_id, value in values.items():
        if node_id not in fields:
            raise ApiError(f"Not an input of this app: {node_id}", code="invalid_inputs",
                           nodeId=node_id)
        if isinstance(value, dict):
            for input_id, item in value.items():
                if input_id not in fields[node_id]:
                    raise ApiError(f"Not an input of this app: {node_id}.{input_id}",
                                   code="invalid_inputs", nodeId=node_id, input=input_id)
                sent[(node_id, input_id)] = item
        elif len(fields[node_id]) == 1:
            sent[(node_id, next(iter(fields[node_id])))] = value
        else:
            raise ApiError(f"{node_id} has several inputs: send {{input: value}} for it",
                           code="invalid_inputs", nodeId=node_id)
    nodes = {n["id"]: n for n in app.workflow.nodes if isinstance(n, dict) and "id" in n}
    inputs: dict[str, dict[str, Any]] = {}
    fetches: list[tuple[str, str, str, str]] = []
    for node_id, by_input in fields.items():
        node = nodes.get(node_id)
        if node is None:  # the workflow changed since publishing: that field is gone
            continue
        for input_id, field in by_input.items():
            value = sent.get((node_id, input_id), field.get("default"))
            if value is None or value == "":
                if field.get("required") and _saved(node, input_id) in (None, ""):
                    raise ApiError(f"{field['label']} is required", code="invalid_inputs",
                                   nodeId=node_id, input=input_id)
                continue
            if field.get("media"):
                if urls and _is_url(value):
                    fetches.append((node_id, input_id, field["media"], value))
                    continue
                asset = upload_for_token(app, value, visitor, field["media"])
                inputs.setdefault(node_id, {})[input_id] = settings.MEDIA_URL + asset.file.name
                continue
            setting = exposable_setting(node, input_id)
            choices = field.get("allowedValues") or field.get("options")
            if isinstance(value, str) and choices:  # a form's <select> sends the choice's text
                value = next((c for c in choices if str(c) == value), value)
            _check_value(setting, node_id, value)
            allowed = field.get("allowedValues")
            if allowed is not None and value not in allowed:
                raise ApiError(f"{field['label']} must be one of the app's choices",
                               code="invalid_inputs", nodeId=node_id, input=input_id,
                               allowedValues=allowed)
            inputs.setdefault(node_id, {})[input_id] = value
    for node_id, input_id, kind, url in fetches:
        asset = app_fetch(app=app, url=url, kind=kind, actor=actor, visitor=visitor,
                          where={"nodeId": node_id, "input": input_id})
        inputs.setdefault(node_id, {})[input_id] = settings.MEDIA_URL + asset.file.name
    return inputs


def _is_url(value: Any) -> bool:
    # An upload token (django.core.signing) never holds "://".
    return isinstance(value, str) and value[:8].lower().startswith(("http://", "https://"))


def _file_admit(app: App, visitor: str) -> None:
    """One more file (an upload or a URL to fetch) in the visitor's hourly window of the app:
    its runs per hour times its file fields; refused ones count too."""
    window_admit(scope=f"app-upload:{app.pk}:{visitor}",
                 limit=app.visitor_runs_per_hour * sum(
                     1 for f in app.exposed_inputs if f.get("media")),
                 seconds=3600, message="You have uploaded too many files to this app. Please "
                 "try again later.")


def _file_in(app: App, *, actor: Principal | None, data: bytes, mime: str,
             kinds: tuple[str, ...], where: dict[str, Any]) -> Asset:
    """A file for the app's file fields, checked as any upload is, stored among the team's
    assets with the app as origin."""
    try:
        asset = asset_upload(team=app.team, data=data, declared_mime=mime, kinds=kinds,
                             renditions=False,
                             uploader={"created_by": actor.user if actor else None,
                                       "api_key": actor.api_key if actor else None,
                                       "app_id": app.pk})
    except MediaRefused as error:
        # 415 not a format the field takes or sent as another; 422 over the pixel cap.
        raise ApiError(error.message, code=error.code, status=error.http_status,
                       **where) from error
    renditions_enqueue_on_commit(asset.pk)
    return asset


def app_fetch(*, app: App, url: str, kind: str, actor: Principal | None, visitor: str,
              where: dict[str, Any]) -> Asset:
    """The file at `url` for a file field of `kind`, fetched as POST /media/upload {"url"} and
    an Image Input's URL are (executions.fetch.fetch_url: every hop's address checked against
    private, loopback and link-local targets, size and time capped), then checked and stored
    as an upload to the app. A refused or unreachable URL is a 400 naming the field."""
    if len(url) > 2000:
        raise ApiError("The file's URL is longer than 2000 characters", code="invalid_inputs",
                       **where)
    _file_admit(app, visitor)
    try:
        data, mime = fetch_url(url)
    except ProviderError as error:
        code = "fetch_failed" if error.kind == "network" else "fetch_refused"
        raise ApiError(error.message, code=code, **where) from error
    return _file_in(app, actor=actor, data=data, mime=mime, kinds=(kind,), where=where)


def app_upload(*, app: App, data: bytes, declared_mime: str, actor: Principal | None,
               visitor: str) -> tuple[Asset, str]:
    """A file a visitor sends for one of the app's file fields: checked as any upload is
    (format sniffed, agreeing with its declared type, under the pixel cap; the caller checked
    the size), stored among the team's assets with the app as origin. Counted per visitor in
    the app's hourly window: its runs per hour times its file fields. Returns the asset and
    the token a run's input names it by (only this visitor's runs of this app take it)."""
    if not app.is_active or app.workflow.deleted_at is not None:
        raise ApiError("This app is not available right now", code="app_inactive", status=409)
    kinds = tuple(dict.fromkeys(f["media"] for f in app.exposed_inputs if f.get("media")))
    if not kinds:
        raise ApiError("This app takes no files", code="invalid_request")
    _file_admit(app, visitor)
    asset = _file_in(app, actor=actor, data=data, mime=declared_mime, kinds=kinds, where={})
    return asset, upload_token(app, asset, visitor)


def _saved(node: dict, input_id: str) -> Any:
    data = node.get("data") if isinstance(node.get("data"), dict) else {}
    config = data.get("config") if isinstance(data.get("config"), dict) else {}
    return config.get(input_id)



def app_run(*, app: App, values: Any, actor: Principal | None, visitor: str,
            visitor_label: str = "", trigger: str = Execution.Trigger.APP,
            urls: bool = False) -> Execution:
    """Start a run of the app's workflow for a visitor (an IP address, a member or an API key,
    named by `visitor`; `visitor_label` names an anonymous one in the activity log). `trigger`:
    `app`, or `mcp` for the MCP server's run_app (the run carries the app either way). `urls`:
    a file field may be given as an http(s) URL (the API's and MCP's callers)."""
    workflow = app.workflow
    if not app.is_active or workflow.deleted_at is not None:
        raise ApiError("This app is not available right now", code="app_inactive", status=409)
    inputs = app_values_resolve(app, values, visitor, urls=urls, actor=actor)
    window_admit(scope=f"app-run:{app.pk}:{visitor}", limit=app.visitor_runs_per_hour,
                 seconds=3600, message="You have started too many runs of this app. Please "
                 "try again later.")

    def within_cap(execution: Execution) -> None:
        # The app's row lock serialises its runs (the team's balance row already serialises
        # those that cost anything): each one counts every run committed before it.
        App.objects.select_for_update().filter(pk=app.pk).values_list("pk").first()
        used = app_spent_today(app, exclude=execution.pk)
        needed = execution.credits_estimated
        if used + needed > app.daily_credit_cap:
            _, reset = cap_day(app)
            raise ApiError(
                CAP_MESSAGE.format(cap=app.daily_credit_cap, used=used, needed=needed,
                                   zone=app.cap_timezone),
                code="app_daily_cap", status=429, dailyCreditCap=app.daily_credit_cap,
                creditsUsedToday=used, requiredCredits=needed,
                retryAfter=int(reset.timestamp()),
                headers={"Retry-After": str(max(1, int((reset - timezone.now())
                                                       .total_seconds())))})

    return runs.workflow_execute(
        workflow=workflow, actor=actor, trigger=trigger, inputs=inputs or None,
        app=(app.pk, app.title), check=within_cap,
        log={"details": {"app": {"id": str(app.pk), "slug": app.slug, "name": app.title}},
             "actor_label": visitor_label if actor is None else ""},
    )
