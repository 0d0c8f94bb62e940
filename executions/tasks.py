"""Celery entry points: a stable name, ids as arguments, one call into the engine.

Delivery is at-least-once (acks_late, reject on worker lost); every body checks the node run's
lease first, so a duplicate or late message does nothing. The only imports inside functions in
executions/ are here: the broker is the boundary between sending a task (executions.dispatch)
and running it (executions.worker), so neither imports the other through this module at load.
"""

from celery import shared_task
from celery.signals import celeryd_init, worker_ready
from django.conf import settings


@shared_task(name="executions.run_node", ignore_result=True)
def run_node(node_run_id: str, lease: str) -> None:
    from executions import worker

    worker.task_run(worker.node_run_execute, node_run_id, lease)


@shared_task(name="executions.poll_node", ignore_result=True)
def poll_node(node_run_id: str, lease: str) -> None:
    from executions import worker

    worker.task_run(worker.node_run_poll, node_run_id, lease)


@shared_task(name="executions.cancel_remote", ignore_result=True, autoretry_for=(Exception,),
             retry_backoff=True, max_retries=3)
def cancel_remote(provider: str, handle: dict | None, holder: str) -> None:
    from executions import worker

    worker.remote_job_cancel(provider, handle, holder)


@shared_task(name="executions.reap", ignore_result=True)
def reap() -> int:
    from executions import services

    return services.node_runs_reap(lost_after=settings.ENGINE["lost_after"])


@shared_task(name="executions.reclaim", ignore_result=True)
def reclaim(hostname: str, owner: str) -> int:
    from executions import services

    return services.node_runs_reclaim(hostname=hostname, owner=owner)


@celeryd_init.connect
def name_this_worker(sender: str, **_kwargs) -> None:
    """Before the pool forks: this worker's node runs are claimed as `<hostname>/<boot id>`."""
    from executions import worker

    worker.owner_set(sender)


@worker_ready.connect
def take_back_what_my_last_life_left(sender, **_kwargs) -> None:
    """A worker that starts again under its hostname reclaims at once the node runs its killed
    predecessor was running, instead of waiting for their heartbeats to go stale."""
    from executions import worker

    reclaim.delay(sender.hostname, worker.owner())


@shared_task(name="executions.top_up_slots", ignore_result=True)
def top_up_slots() -> int:
    from executions import dispatch

    return dispatch.slots_top_up()


@shared_task(name="executions.deliver_due_webhooks", ignore_result=True)
def deliver_due_webhooks() -> int:
    from executions import webhooks

    return webhooks.deliver_due()


@shared_task(name="executions.deliver_webhook", ignore_result=True)
def deliver_webhook(delivery_id: str) -> None:
    from executions import webhooks

    webhooks.deliver(delivery_id)


@shared_task(name="executions.make_renditions", ignore_result=True)
def make_renditions(asset_id: str) -> None:
    from executions import assets

    assets.asset_renditions_make(asset_id=asset_id)


@shared_task(name="executions.prune_expired", ignore_result=True)
def prune_expired() -> int:
    from executions import retention

    return retention.retention_prune(batch=settings.RETENTION["batch"]).files


@shared_task(name="executions.prune_workflow", ignore_result=True)
def prune_workflow(workflow_id: str) -> None:
    from executions import retention

    if not retention.workflow_files_delete(workflow_id=workflow_id,
                                           batch=settings.RETENTION["batch"]):
        prune_workflow.delay(workflow_id)  # more left: another task, so none runs for long
