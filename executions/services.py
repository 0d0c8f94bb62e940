"""Starting and stopping runs: the writes that the API, webhook triggers, batches, admin and
the command line call. Each one composes the scheduler's state change with what must happen
after it commits (executions.dispatch)."""

from __future__ import annotations

from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

from django.db import transaction
from django.utils import timezone

from accounts.activity import Kind, activity_line, activity_record
from accounts.ratelimit import Window, executions_admit, executions_refund
from accounts.selectors import Principal
from executions import dispatch, planner, plans, retention, scheduler
from executions.models import Asset, Batch, Execution, ExecutionStatus
from executions.selectors import batch_latest_runs
from graph.models import Workflow
from wireflow_site.errors import ApiError


def execution_start(**options: Any) -> Execution:
    """Create a run of a graph (executions.planner.execution_create takes the arguments) and
    enqueue its ready node runs once it commits. No rate limits: see `workflow_execute`."""
    execution, ready = planner.execution_create(**options)
    dispatch.node_runs_enqueue_on_commit(ready)
    return execution


def workflow_require_active(workflow: Workflow) -> None:
    if not workflow.is_active:
        raise ApiError("Workflow is not active", code="workflow_inactive", status=400)


def workflow_execute(
    *, workflow: Workflow, actor: Principal | None, trigger: str,
    nodes: list[dict] | None = None, edges: list[dict] | None = None, admit: bool = True,
    check: Callable[[Execution], None] | None = None, log: dict[str, Any] | None = None,
    **options: Any,
) -> Execution:
    """Start a run of a saved workflow: it must be active; the saved graph runs as its latest
    version (or `nodes`/`edges` as sent, with no version); the team's per-minute and daily
    windows admit it, and take it back if it does not start (`admit=False`: the caller, a
    batch, admitted it already). `options` go to the planner (inputs, targetNodeId, …).

    `check(execution)` runs in the run's transaction once it is created and priced (its credits
    held): raising there undoes all of it, the hold included (a client app's daily cap).
    `log` adds `details` and an `actor_label` to the run's activity line."""
    workflow_require_active(workflow)
    if admit:  # a batch's items were admitted with the batch
        dispatch.intake_admit()
    windows = executions_admit(workflow.team) if admit else []
    try:
        # The saved graph's version-only work (checks, order, price, layout) is done once per
        # version (executions.plans); without a plan (an invalid graph) the full path answers.
        plan = plans.version_plan(workflow) if nodes is None else None
        log = log or {}

        def activity(execution: Execution):  # inserted with the run's rows (executions.rows)
            return activity_line(
                team_id=workflow.team_id, kind=Kind.RUN_STARTED,
                user=getattr(actor, "user", None), api_key=getattr(actor, "api_key", None),
                source=trigger, workflow_id=workflow.pk, workflow_name=workflow.name,
                details={"executionId": str(execution.pk), **log.get("details", {})},
                actor_label=log.get("actor_label", ""))

        # One transaction, the planner's, unless `check` must run in it after the planner.
        with transaction.atomic() if check is not None else nullcontext():
            execution = execution_start(
                team=workflow.team,
                workflow=workflow,
                plan=plan,
                version=workflow.versions.order_by("-number").first()
                if nodes is None and plan is None else None,
                nodes=workflow.nodes if nodes is None else nodes,
                edges=workflow.edges if edges is None else (edges or []),
                actor=actor,
                trigger=trigger,
                # A batch has one line for all its runs.
                activity=activity if options.get("batch") is None else None,
                **options,
            )
            if check is not None:
                check(execution)
        return execution
    except Exception:
        executions_refund(windows)
        raise


def _log_run(workflow: Workflow, kind: str, actor: Principal | None, source: str,
             details: dict[str, Any], actor_label: str = "") -> None:
    """The run's line in the team's activity log (who, and from where: editor, API key,
    webhook, batch, cli, app), in the caller's transaction."""
    activity_record(team_id=workflow.team_id, kind=kind, user=getattr(actor, "user", None),
                    api_key=getattr(actor, "api_key", None), source=source,
                    workflow_id=workflow.pk, workflow_name=workflow.name, details=details,
                    actor_label=actor_label)


def execution_cancel(*, execution: Execution, actor: Principal | None = None) -> Execution:
    """Stop a run: queued and running nodes are CANCELLED and remote jobs asked to stop."""
    with transaction.atomic():
        was_done = execution.is_done
        execution, jobs = scheduler.execution_mark_cancelled(execution=execution)
        dispatch.remote_jobs_stop_on_commit(jobs)
        if execution.workflow_id is not None and not was_done and \
                execution.status == ExecutionStatus.CANCELLED:
            source = ("api" if getattr(actor, "api_key", None) else
                      "editor" if actor is not None else "admin")
            _log_run(execution.workflow, Kind.RUN_CANCELLED, actor, source,
                     {"executionId": str(execution.pk)})
    return execution


def node_runs_reap(*, lost_after: float) -> int:
    """The dispatcher (a beat task, every ENGINE["reap_every"] s): send round again the node
    runs whose worker went quiet, and the queued ones whose task is late while the queue is
    idle (with a backlog, a late task is most likely only waiting its turn)."""
    idle = dispatch.idle_queues()
    with transaction.atomic():
        resent = scheduler.node_runs_reap_stale(lost_after=lost_after)
        if idle:
            resent += scheduler.node_runs_overdue(
                lost_after=lost_after,
                of=lambda provider: dispatch.queue_for(provider) in idle)
        dispatch.node_runs_resend(resent)
    return len(resent)


def node_runs_reclaim(*, hostname: str, owner: str) -> int:
    """A worker that (re)starts takes back at once what its previous life left running, and
    sends again every queued node run that is due: the messages its previous life had taken
    from the broker are lost until the broker's visibility timeout (copies that were not lost
    find the claim taken)."""
    with transaction.atomic():
        resent = scheduler.node_runs_reclaim(hostname=hostname, owner=owner)
        resent += scheduler.node_runs_overdue(lost_after=0)
        dispatch.node_runs_resend(resent)
    return len(resent)


# --- batches ---------------------------------------------------------------------------------
# Many runs of one workflow from one call, each with its own inputs. The call counts once
# against the per-minute limits and each item against the daily quota and the credits; an item
# that cannot start is recorded as a FAILED run and never stops the others.

def batch_start(*, workflow: Workflow, items: list[dict[str, Any]], actor, trigger: str,
                webhook_url: str = "", indexes: list[int] | None = None,
                batch: Batch | None = None) -> tuple[Batch, list[Execution]]:
    """Start one run per item (or per index of `indexes`, for a retry)."""
    workflow_require_active(workflow)
    dispatch.intake_admit()
    indexes = list(range(len(items))) if indexes is None else indexes
    windows = executions_admit(workflow.team, runs=len(indexes), calls=1)
    if batch is None:
        batch = Batch.objects.create(team=workflow.team, workflow=workflow, items=items)
    runs: list[Execution] = []
    refused = 0
    for index in indexes:
        try:
            runs.append(workflow_execute(
                workflow=workflow, actor=actor, trigger=trigger, admit=False,
                inputs=batch.items[index] or None, webhook_url=webhook_url, batch=batch,
                run_index_in_batch=index,
            ))
        except ApiError as error:
            refused += 1
            runs.append(_failed_run(workflow, batch, index, error, actor, trigger))
    _log_run(workflow, Kind.RUN_STARTED, actor, Execution.Trigger.BATCH,
             {"batchId": str(batch.pk), "runs": len(indexes), "refused": refused,
              "executionId": str(runs[0].pk) if runs else None})
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


def batch_retry(*, batch: Batch, actor, trigger: str,
                indexes: list[int] | None = None) -> list[Execution]:
    """Re-run the items whose latest run failed or was cancelled (all of them, or those of
    `indexes`, which must each be such an item). The batch's row is locked while the failed
    items are read and their new runs created, so concurrent retries re-run each item once: the
    next one finds the new runs and has nothing to retry."""
    with transaction.atomic():
        batch = (Batch.objects.select_for_update(of=("self",)).select_related("workflow")
                 .get(pk=batch.pk))
        latest = batch_latest_runs(batch)
        failed = [index for index, run in sorted(latest.items())
                  if run.status in (ExecutionStatus.FAILED, ExecutionStatus.CANCELLED)]
        if indexes is not None:
            unknown = sorted(set(indexes) - set(latest))
            if unknown:
                raise ApiError(f"The batch has no item {unknown[0]}", code="invalid_request",
                               runIndexes=unknown)
            busy = sorted(set(indexes) - set(failed))
            if busy:
                raise ApiError(f"Item {busy[0]} did not fail: only failed or cancelled items "
                               "are retried", code="nothing_to_retry", runIndexes=busy)
            failed = sorted(set(indexes))
        if not failed:
            raise ApiError("No failed runs to retry in this batch", code="nothing_to_retry")
        if batch.workflow is None:
            raise ApiError("The batch's workflow was deleted", code="workflow_deleted",
                           status=409)
        _, runs = batch_start(workflow=batch.workflow, items=batch.items, actor=actor,
                              trigger=trigger, indexes=failed, batch=batch)
    return runs


# --- assets ----------------------------------------------------------------------------------

def asset_favorite_set(*, asset: Asset, favorite: bool) -> Asset:
    """Mark or unmark a favourite (retention never deletes one). Unmarking one of a run that
    retention kept for it has that run looked at again on the next pass."""
    with transaction.atomic():
        Asset.objects.filter(pk=asset.pk).update(favorite=favorite)
        if not favorite and asset.node_run_id:
            Execution.objects.filter(node_runs=asset.node_run_id).update(pruned_at=None)
    asset.favorite = favorite
    return asset


def execution_delete(*, execution: Execution) -> None:
    """Delete a finished run: its rows, and after commit its files, save those a favourite or
    a saved workflow protects (executions.retention). 409 while it still runs."""
    if not execution.is_done:
        raise ApiError("This run is still going: cancel it first", code="execution_active",
                       status=409)
    execution = Execution.objects.select_related("team").get(pk=execution.pk)
    retention.execution_delete(execution=execution)  # the poll cache forgets it on delete
