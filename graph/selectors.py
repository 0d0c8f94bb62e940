"""Reads on workflows, always through the principal: another team's workflow is never found."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet

from accounts.selectors import Principal
from graph.models import Workflow, WorkflowTemplate
from graph.starters import Starter, starter_get, starters
from wireflow_site.errors import NotFound


def workflow_list(
    *, principal: Principal, is_active: bool | None = None, team_id: int | None = None
) -> QuerySet[Workflow]:
    team_ids = principal.team_ids()
    if team_id is not None:
        team_ids = [t for t in team_ids if t == team_id]
    workflows = Workflow.objects.filter(team_id__in=team_ids, deleted_at__isnull=True)
    if is_active is not None:
        workflows = workflows.filter(is_active=is_active)
    return workflows.order_by("-updated_at")


def workflow_get(*, principal: Principal, workflow_id: str) -> Workflow:
    try:
        pk = uuid.UUID(str(workflow_id))
    except ValueError:
        raise NotFound("Workflow") from None
    workflow = (
        Workflow.objects.select_related("team")
        .filter(pk=pk, team_id__in=principal.team_ids(), deleted_at__isnull=True)
        .first()
    )
    if workflow is None:
        raise NotFound("Workflow")
    return workflow


Template = Starter | WorkflowTemplate
TEMPLATE_SOURCES = ("builtin", "team")


def _team_templates(principal: Principal, team_id: int | None) -> QuerySet[WorkflowTemplate]:
    team_ids = principal.team_ids()
    if team_id is not None:
        team_ids = [t for t in team_ids if t == team_id]
    return WorkflowTemplate.objects.filter(team_id__in=team_ids).order_by("-created_at", "pk")


def template_page(
    *, principal: Principal, team_id: int | None = None, source: str | None = None,
    limit: int = 20, offset: int = 0,
) -> tuple[list[Template], int]:
    """Built-in starters first (in their order), then the caller's teams' templates, newest
    first; `team_id` narrows the team ones to one of the caller's teams."""
    builtin = list(starters()) if source in (None, "builtin") else []
    team = _team_templates(principal, team_id) if source in (None, "team") else None
    total = len(builtin) + (team.count() if team is not None else 0)
    items: list[Template] = list(builtin[offset:offset + limit])
    if team is not None and len(items) < limit:
        start = max(0, offset - len(builtin))
        items.extend(team[start:start + limit - len(items)])
    return items, total


def template_get(*, principal: Principal, template_id: str) -> Template:
    """A built-in starter by its slug, or a template of one of the caller's teams by id."""
    starter = starter_get(template_id)
    if starter is not None:
        return starter
    try:
        pk = uuid.UUID(str(template_id))
    except ValueError:
        raise NotFound("Template") from None
    template = WorkflowTemplate.objects.filter(pk=pk, team_id__in=principal.team_ids()).first()
    if template is None:
        raise NotFound("Template")
    return template
