"""What each MCP tool does, as plain synchronous functions of a principal (an API key).

Each one is the REST endpoint's operation, through the same selectors and services, with the
same checks: the scope the endpoint requires, then the object's team (another team's workflow
or execution is not found). Errors are the REST API's (ApiError, DRF's PermissionDenied); the
server turns them into MCP tool errors carrying the same message."""

from __future__ import annotations

import json
from typing import Any

from django.http import HttpRequest
from rest_framework import exceptions

from accounts.idempotency import idempotent_call
from accounts.permissions import require_scope
from accounts.plans import limits_for
from accounts.ratelimit import executions_today
from accounts.roles import Scope
from accounts.selectors import Principal
from executions import selectors as execution_selectors
from executions import services as execution_services
from executions.models import Execution
from executions.templates import template_items
from graph import selectors as graph_selectors
from graph import services as graph_services
from graph.api.serializers import WorkflowItemOut, WorkflowOut, editor_url, public_base_url
from graph.catalog import catalog
from graph.selectors import TEMPLATE_SOURCES
from wireflow_site.errors import ApiError

PAGE_MAX = 100


def need(principal: Principal, scope: str) -> None:
    """The endpoint-level check of IsTeamPrincipal: the scope held on some team, else 403."""
    if not principal.has_scope_anywhere(scope):
        raise exceptions.PermissionDenied(f"Missing required scope: {scope}",
                                          code="insufficient_scope")


def _team(principal: Principal):
    team = principal.default_team()
    if team is None:
        raise ApiError("You are not a member of any team", code="no_team", status=403)
    return team


def _page(limit: int, offset: int) -> tuple[int, int]:
    if isinstance(limit, bool) or isinstance(offset, bool):
        raise ApiError("limit and offset must be integers", code="invalid_request")
    return max(1, min(PAGE_MAX, limit)), max(0, offset)


def _keyed(principal: Principal, key: str | None, team, tool: str, arguments: dict[str, Any],
           call) -> dict[str, Any]:
    """`call()`, or with an idempotencyKey the REST Idempotency-Key's semantics through the same
    service: per (team, this API key, key), the first answer (or refusal) replayed for 24 h, the
    same key with other arguments a 422, one still running a 409."""
    if key is None:
        return call()
    if not isinstance(key, str):
        raise ApiError("idempotencyKey must be a string", code="invalid_idempotency_key")
    request = f"mcp {tool}\n{json.dumps(arguments, sort_keys=True, default=str)}"
    answer, _ = idempotent_call(team=team, caller=f"key:{principal.api_key.pk}", key=key,
                                request=request, call=call)
    return answer


def whoami(principal: Principal) -> dict[str, Any]:
    key = principal.api_key
    team = _team(principal)
    return {
        "team": {"id": team.pk, "name": team.name, "slug": team.slug, "plan": team.plan},
        "apiKey": {"name": key.name, "prefix": key.prefix, "last4": key.last4,
                   "scopes": sorted(key.scopes),
                   "expiresAt": key.expires_at.isoformat() if key.expires_at else None},
    }


def workflow_items(principal: Principal, request: HttpRequest, *,
                   is_active: bool | None) -> dict[str, Any]:
    need(principal, Scope.WORKFLOWS_READ)
    workflows = graph_selectors.workflow_list(principal=principal, is_active=is_active)
    context = {"request": request, "principal": principal}
    return {"workflows": list(WorkflowItemOut(workflows, many=True, context=context).data)}


def workflow_detail(principal: Principal, request: HttpRequest, *,
                    workflow_id: str) -> dict[str, Any]:
    need(principal, Scope.WORKFLOWS_READ)
    workflow = graph_selectors.workflow_get(principal=principal, workflow_id=workflow_id)
    data = WorkflowOut(workflow, context={"request": request, "principal": principal}).data
    return {**data, "inputs": execution_selectors.workflow_run_inputs(workflow=workflow)}


def models(principal: Principal, *, category: str | None) -> dict[str, Any]:
    specs = [spec for spec in catalog.all() if category in (None, "", spec.category)]
    if category and not specs:
        known = sorted({spec.category for spec in catalog.all()})
        raise ApiError(f"category must be one of {', '.join(known)}", code="invalid_request")
    return {"nodes": [spec.to_api() for spec in specs]}


def workflow_run(principal: Principal, request: HttpRequest, *, workflow_id: str,
                 inputs: dict[str, Any] | None,
                 idempotency_key: str | None = None) -> dict[str, Any]:
    """POST /workflows/{id}/run: the same service call, credit check and errors; the run's
    trigger is `mcp`."""
    need(principal, Scope.WORKFLOWS_EXECUTE)
    workflow = graph_selectors.workflow_get(principal=principal, workflow_id=workflow_id)
    require_scope(principal, workflow.team_id, Scope.WORKFLOWS_EXECUTE)
    if inputs is not None and not isinstance(inputs, dict):
        raise ApiError("inputs must be an object of {nodeId: value}", code="invalid_request")

    def start() -> dict[str, Any]:
        execution = execution_services.workflow_execute(
            workflow=workflow, actor=principal, trigger=Execution.Trigger.MCP,
            inputs=inputs or None)
        return _started(request, execution, workflow.pk)

    return _keyed(principal, idempotency_key, workflow.team, "run_workflow",
                  {"workflowId": str(workflow.pk), "inputs": inputs}, start)


def _started(request: HttpRequest, execution: Execution, workflow_id) -> dict[str, Any]:
    return {"executionId": str(execution.pk), "status": execution.status,
            "workflowId": str(workflow_id),
            "pollUrl": f"{public_base_url(request)}/api/v1/workflows/executions/"
                       f"{execution.pk}/poll"}


def execution_detail(principal: Principal, *, execution_id: str) -> dict[str, Any]:
    """The poll response, as GET /workflows/executions/{id}/poll answers it."""
    need(principal, Scope.EXECUTIONS_READ)
    return json.loads(execution_selectors.execution_poll(principal=principal,
                                                         execution_id=execution_id))


def credit_balance(principal: Principal) -> dict[str, Any]:
    need(principal, Scope.USAGE_READ)
    team = _team(principal)
    require_scope(principal, team.pk, Scope.USAGE_READ)
    team.refresh_from_db(fields=["credit_balance"])
    limits = limits_for(team.plan)
    return {"teamId": team.pk, "plan": team.plan, "balance": team.credit_balance,
            "executionsToday": executions_today(team),
            "executionsPerDay": limits.executions_per_day}


def templates(principal: Principal, *, source: str | None, limit: int,
              offset: int) -> dict[str, Any]:
    need(principal, Scope.WORKFLOWS_READ)
    if source and source not in TEMPLATE_SOURCES:
        raise ApiError(f"source must be one of {', '.join(TEMPLATE_SOURCES)}",
                       code="invalid_request")
    limit, offset = _page(limit, offset)
    items, total = graph_selectors.template_page(principal=principal, source=source or None,
                                                 limit=limit, offset=offset)
    return {"templates": template_items(items), "total": total, "limit": limit,
            "offset": offset}


def template_clone(principal: Principal, request: HttpRequest, *, template_id: str,
                   name: str | None, idempotency_key: str | None = None) -> dict[str, Any]:
    """POST /templates/{id}/clone into the key's team."""
    need(principal, Scope.WORKFLOWS_WRITE)
    template = graph_selectors.template_get(principal=principal, template_id=template_id)
    team = _team(principal)
    require_scope(principal, team.pk, Scope.WORKFLOWS_WRITE)
    if name is not None and not (isinstance(name, str) and 0 < len(name.strip()) <= 200):
        raise ApiError("name must be 1 to 200 characters", code="invalid_request")

    def clone() -> dict[str, Any]:
        workflow = graph_services.template_clone(template=template, team=team,
                                                 actor=principal, name=name)
        return {"id": str(workflow.pk), "name": workflow.name,
                "url": editor_url(request, workflow), "teamId": team.pk,
                "templateId": str(template.id)}

    return _keyed(principal, idempotency_key, team, "clone_template",
                  {"templateId": str(template.id), "name": name}, clone)



def app_run(principal: Principal, request: HttpRequest, *, slug: str,
            inputs: dict[str, Any] | None, idempotency_key: str | None = None
            ) -> dict[str, Any]:
    """POST /apps/{slug}/run (Wireflow's run_app): the same service, so the app's exposed
    inputs, daily credit cap and per-visitor rate apply, with the same errors. A file field
    takes an upload token this key got from POST /apps/{slug}/uploads, or an http(s) URL
    fetched through the outbound guard."""
    from clientapps import selectors as app_selectors
    from clientapps import services as app_services

    need(principal, Scope.APPS_EXECUTE)
    app = app_selectors.app_for_team(principal=principal, slug=slug)
    require_scope(principal, app.team_id, Scope.APPS_EXECUTE)

    def start() -> dict[str, Any]:
        execution = app_services.app_run(app=app, values=inputs, actor=principal,
                                          visitor=app_selectors.api_visitor(principal),
                                          trigger=Execution.Trigger.MCP, urls=True)
        return _started(request, execution, app.workflow_id)

    return _keyed(principal, idempotency_key, app.team, "run_app",
                  {"slug": app.slug, "inputs": inputs}, start)
