"""Reads on workflows, always through the principal: another team's workflow is never found."""

from __future__ import annotations

import uuid

from django.db.models import QuerySet

from accounts.selectors import Principal
from graph.models import Workflow
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
