"""Batches: many runs of one workflow from one call, each with its own inputs. The call counts
once against the per-minute limits and each item against the daily quota and the credits; an
item that cannot start is recorded as a FAILED run and never stops the others."""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.ratelimit import Window, executions_admit, executions_refund
from executions import services
from executions.models import Batch, Execution, ExecutionStatus
from graph.models import Workflow
from wireflow_site.errors import ApiError


def batch_start(*, workflow: Workflow, items: list[dict[str, Any]], actor, trigger: str,
                webhook_url: str = "", indexes: list[int] | None = None,
                batch: Batch | None = None) -> tuple[Batch, list[Execution]]:
    """Start one run per item (or per index of `indexes`, for a retry)."""
    indexes = list(range(len(items))) if indexes is None else indexes
    windows = executions_admit(workflow.team, runs=len(indexes), calls=1)
    if batch is None:
        batch = Batch.objects.create(team=workflow.team, workflow=workflow, items=items)
    version = workflow.versions.order_by("-number").first()
    runs: list[Execution] = []
    refused = 0
    for index in indexes:
        try:
            runs.append(services.execution_start(
                team=workflow.team, workflow=workflow, version=version, nodes=workflow.nodes,
                edges=workflow.edges, actor=actor, trigger=trigger,
                inputs=batch.items[index] or None, webhook_url=webhook_url, batch=batch,
                run_index_in_batch=index,
            ))
        except ApiError as error:
            refused += 1
            runs.append(_failed_run(workflow, batch, index, error, actor, trigger))
    if refused:  # the daily quota counts runs that started
        day = windows[1]
        executions_refund([Window(day.key, refused, day.limit, day.reset)])
    return batch, runs


def _failed_run(workflow, batch, index, error: ApiError, actor, trigger) -> Execution:
    now = timezone.now()
    with transaction.atomic():
        return Execution.objects.create(
            team=workflow.team, workflow=workflow, nodes=workflow.nodes, edges=workflow.edges,
            status=ExecutionStatus.FAILED, trigger=trigger, batch=batch,
            run_index_in_batch=index, inputs=batch.items[index], error=error.message,
            created_by=actor.user if actor else None,
            api_key=actor.api_key if actor else None,
            created_at=now, finished_at=now,
        )


def batch_latest_runs(batch: Batch) -> dict[int, Execution]:
    """The newest run of every index (a retry supersedes the failed run)."""
    latest: dict[int, Execution] = {}
    for execution in batch.executions.order_by("created_at"):
        latest[execution.run_index_in_batch] = execution
    return latest


def batch_retry(*, batch: Batch, actor, trigger: str) -> list[Execution]:
    failed = [index for index, run in sorted(batch_latest_runs(batch).items())
              if run.status in (ExecutionStatus.FAILED, ExecutionStatus.CANCELLED)]
    if not failed:
        raise ApiError("No failed runs to retry in this batch", code="nothing_to_retry")
    if batch.workflow is None:
        raise ApiError("The batch's workflow was deleted", code="workflow_deleted", status=409)
    _, runs = batch_start(workflow=batch.workflow, items=batch.items, actor=actor,
                          trigger=trigger, indexes=failed, batch=batch)
    return runs
