"""Reads on client apps: finding one (never another team's), what a visitor may see of a run
(only the outputs the app exposes), and what the app's runs were charged today."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from django.core import signing
from django.db.models import Case, F, Sum, When
from django.utils import timezone

from accounts.selectors import Principal
from clientapps.models import App
from executions.assets import asset_api
from executions.models import EXECUTION_DONE, Asset, Execution
from executions.selectors import execution_poll_payload
from graph.catalog import catalog
from graph.catalog.types import Input
from graph.models import Workflow
from wireflow_site.errors import ApiError, NotFound

EXPOSABLE = {"string", "text", "integer", "number", "boolean", "enum", "color", "seed"}
# Input nodes whose URL setting a form offers as a file field (the visitor uploads the file
# through the app: clientapps.services.app_upload), by the kind of file they take.
FILE_INPUTS = {"input:image": Asset.Kind.IMAGE, "input:audio": Asset.Kind.AUDIO}
RUN_TOKEN_SALT = "clientapps.run"
UPLOAD_TOKEN_SALT = "clientapps.upload"
UPLOAD_TOKEN_AGE = 24 * 3600  # seconds an upload may be used in a run after it was made


def file_kind(node: dict, setting: Input) -> str | None:
    """The kind of file (image, audio) a form field for `setting` of `node` takes, or None when
    it is not a file field."""
    data = node.get("data") if isinstance(node.get("data"), dict) else {}
    if setting.type != "url":
        return None
    return FILE_INPUTS.get(data.get("nodeType"))


def app_for_team(*, principal: Principal, slug: str) -> App:
    """One of the principal's teams' apps by slug; anyone else's is a 404."""
    app = App.objects.select_related("workflow", "team").filter(
        slug=slug, team_id__in=principal.team_ids()).first() if isinstance(slug, str) else None
    if app is None:
        raise NotFound("App")
    return app


def app_list(*, principal: Principal, team_id: int | None = None) -> list[App]:
    teams = principal.team_ids()
    if team_id is not None:  # one of the caller's teams, else nothing (never a huge int query)
        teams = [team_id] if team_id in teams else []
    apps = App.objects.select_related("workflow").filter(team_id__in=teams)
    return list(apps.order_by("-created_at")[:200])


def app_by_slug(slug: str) -> App | None:
    """The app a link names, for its page (access is checked by the caller)."""
    if not isinstance(slug, str) or len(slug) > 80 or "\x00" in slug:
        return None
    return App.objects.select_related("workflow", "team").filter(
        slug=slug, workflow__deleted_at__isnull=True).first()


def cap_zone(app: App) -> tzinfo:
    """The time zone of the app's cap day (UTC for a name this machine does not know; UTC
    needs no time zone database)."""
    if app.cap_timezone in ("", "UTC"):
        return UTC
    try:
        return ZoneInfo(app.cap_timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return UTC


def cap_day(app: App, now: datetime | None = None) -> tuple[datetime, datetime]:
    """When the app's cap day began and when the next begins: 00:00 in its time zone (on a
    day whose midnight a clock change skips, the first instant after it)."""
    zone = cap_zone(app)
    today = (now or timezone.now()).astimezone(zone).date()

    def midnight(day):
        # Round-tripped through UTC so a skipped midnight lands on a real instant.
        return datetime.combine(day, time.min, tzinfo=zone).astimezone(UTC)

    return midnight(today), midnight(today + timedelta(days=1))


def app_spent_today(app: App, *, exclude: Any = None) -> int:
    """Credits the app's runs started this cap day (from 00:00 in its time zone) were charged,
    a run still going counting what it holds (its estimate) until it settles."""
    start, _ = cap_day(app)
    runs = Execution.objects.filter(app_id=app.pk, created_at__gte=start)
    if exclude is not None:
        runs = runs.exclude(pk=exclude)
    total = runs.aggregate(total=Sum(Case(
        When(status__in=EXECUTION_DONE, then=F("credits_charged")),
        default=F("credits_reserved"))))["total"]
    return int(total or 0)


def exposable_setting(node: dict, input_id: Any) -> Input:
    """The setting of `node` a form field may set: its main one if `input_id` is None."""
    data = node.get("data") if isinstance(node.get("data"), dict) else {}
    spec = catalog.get(data.get("nodeType"))
    if spec is None or not spec.settings():
        raise ApiError(f"Node {node.get('id')} has no settings to expose", code="invalid_app",
                       nodeId=node.get("id"))
    if input_id is None:
        setting = spec.settings()[0]
    else:
        setting = next((s for s in spec.settings() if s.id == input_id), None)
        if setting is None:
            names = ", ".join(s.id for s in spec.settings())
            raise ApiError(f"{spec.label} has no setting {input_id!r} (it has {names})",
                           code="invalid_app", nodeId=node.get("id"))
    if setting.type not in EXPOSABLE and file_kind(node, setting) is None:
        raise ApiError(f"{setting.label} ({setting.type}) cannot be a form field",
                       code="invalid_app", nodeId=node.get("id"))
    return setting


def workflow_default_outputs(workflow: Workflow) -> list[dict[str, Any]]:
    """The nodes nothing reads from that make something (a run's results), in graph order."""
    sources = {e.get("source") for e in workflow.edges if isinstance(e, dict)}
    outputs = []
    for node in workflow.nodes:
        data = node.get("data") if isinstance(node, dict) else None
        spec = catalog.get(data.get("nodeType")) if isinstance(data, dict) else None
        if spec is None or not spec.outputs or spec.category in ("input", "utility") \
                or node.get("id") in sources:
            continue
        outputs.append({"nodeId": node["id"], "label": data.get("label") or spec.label})
    return outputs


def run_token(app: App, execution: Execution) -> str:
    """What a visitor holds to follow a run of the app (and nothing else): signed, so it is
    neither guessed nor turned into another run's."""
    return signing.dumps(str(execution.pk), salt=f"{RUN_TOKEN_SALT}:{app.pk}")


def run_for_token(app: App, token: str) -> Execution:
    try:
        execution_id = signing.loads(token, salt=f"{RUN_TOKEN_SALT}:{app.pk}")
    except signing.BadSignature:
        raise NotFound("Run") from None
    execution = Execution.objects.filter(pk=execution_id, app_id=app.pk).first()
    if execution is None:
        raise NotFound("Run")
    return execution


def api_visitor(principal: Principal) -> str:
    """Who an API or MCP caller is to an app's per-visitor limits and upload tokens: its key
    (a member's session: the member, as on the app's page)."""
    if principal.api_key is not None:
        return f"key:{principal.api_key.pk}"
    return f"user:{principal.user.pk}"


def upload_token(app: App, asset: Asset, visitor: str) -> str:
    """What a visitor holds for a file they uploaded to the app: signed, naming the file and
    the visitor, so only their runs of this app take it (and no one learns its URL)."""
    return signing.dumps({"asset": str(asset.pk), "visitor": visitor},
                         salt=f"{UPLOAD_TOKEN_SALT}:{app.pk}")


def upload_for_token(app: App, token: Any, visitor: str, kind: str) -> Asset:
    """The file an upload token names, if this visitor made it through this app, it is still
    the team's and of `kind`; else a 400 in the shape of the run's input errors."""
    refused = ApiError("Upload the file again: that upload is not one of yours, is of another "
                       "kind or has expired", code="invalid_inputs")
    if not isinstance(token, str) or len(token) > 500:
        raise refused
    try:
        held = signing.loads(token, salt=f"{UPLOAD_TOKEN_SALT}:{app.pk}",
                             max_age=UPLOAD_TOKEN_AGE)
    except signing.BadSignature:
        raise refused from None
    if not isinstance(held, dict) or held.get("visitor") != visitor:
        raise refused
    asset = Asset.objects.filter(pk=held.get("asset"), team_id=app.team_id, app_id=app.pk,
                                 kind=kind).first()
    if asset is None:
        raise refused
    return asset


def app_run_view(app: App, execution: Execution) -> dict[str, Any]:
    """A run as the app's visitor sees it: status, progress and the exposed outputs, never
    another node's output, settings or error."""
    poll = execution_poll_payload(execution)
    by_node = {run["nodeId"]: run for run in poll["nodeResults"]["nodeRuns"]}
    outputs = []
    for item in app.exposed_outputs:
        run = by_node.get(item["nodeId"])
        output = run["output"] if run else {"images": [], "videos": [], "text": None}
        outputs.append({
            "nodeId": item["nodeId"], "label": item["label"],
            "status": run["status"] if run else "SKIPPED",
            "images": [{k: i.get(k) for k in ("url", "thumbnailUrl", "width", "height")}
                       for i in output.get("images", [])],
            "videos": [{k: v.get(k) for k in ("url", "posterUrl", "duration")}
                       for v in output.get("videos", [])],
            "text": output.get("text"),
        })
    failed = poll["status"] == "FAILED"
    return {
        "executionId": str(execution.pk), "status": poll["status"],
        "progress": poll["progress"], "outputs": outputs,
        "error": "The run failed. Nothing was charged for the parts that did not finish."
        if failed else None,
        "credits": {"charged": execution.credits_charged},
        "createdAt": poll.get("createdAt"),
    }


def app_cover(app: App) -> dict[str, Any]:
    asset = app.cover_asset if app.cover_asset_id else None
    if asset is None or asset.team_id != app.team_id:
        return {"coverUrl": None, "thumbnailUrl": None}
    shaped = asset_api(asset)
    if asset.kind == Asset.Kind.VIDEO:
        poster = shaped.get("posterUrl")
        return {"coverUrl": poster, "thumbnailUrl": shaped.get("thumbnailUrl") or poster}
    return {"coverUrl": shaped["url"], "thumbnailUrl": shaped.get("thumbnailUrl") or shaped["url"]}


def app_api(app: App, *, base_url: str = "") -> dict[str, Any]:
    """The app as the management API and run_app's callers see it."""
    return {
        "id": str(app.pk), "slug": app.slug, "url": f"{base_url}/apps/{app.slug}",
        "title": app.title, "description": app.description,
        "workflowId": str(app.workflow_id), "teamId": app.team_id,
        "exposedInputs": app.exposed_inputs, "exposedOutputs": app.exposed_outputs,
        "access": app.access, "hasPasscode": bool(app.passcode_hash),
        "dailyCreditCap": app.daily_credit_cap, "creditsUsedToday": app_spent_today(app),
        "capTimezone": app.cap_timezone, "capResetsAt": cap_day(app)[1].isoformat()
        .replace("+00:00", "Z"),
        "visitorRunsPerHour": app.visitor_runs_per_hour, "isActive": app.is_active,
        **app_cover(app),
        "createdAt": app.created_at.isoformat().replace("+00:00", "Z"),
        "updatedAt": app.updated_at.isoformat().replace("+00:00", "Z"),
    }
