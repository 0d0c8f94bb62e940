"""Celery entry points: a stable name, ids as arguments, one call into the engine.

Delivery is at-least-once (acks_late, reject on worker lost); every body checks the node run's
lease first, so a duplicate or late message does nothing.
"""

from celery import shared_task
from django.conf import settings


@shared_task(name="executions.run_node", ignore_result=True)
def run_node(node_run_id: str, lease: str) -> None:
    from executions import engine

    engine.run_task(engine.run_node, node_run_id, lease)


@shared_task(name="executions.poll_node", ignore_result=True)
def poll_node(node_run_id: str, lease: str) -> None:
    from executions import engine

    engine.run_task(engine.poll_node, node_run_id, lease)


@shared_task(name="executions.cancel_remote", ignore_result=True, autoretry_for=(Exception,),
             retry_backoff=True, max_retries=3)
def cancel_remote(provider: str, handle: dict | None, holder: str) -> None:
    from executions import engine

    engine.cancel_remote(provider, handle, holder)


@shared_task(name="executions.reap", ignore_result=True)
def reap() -> int:
    from executions import services, webhooks
    from executions.engine import slots_top_up

    webhooks.deliver_due()
    slots_top_up()
    return services.reap_stale(stale_after=settings.ENGINE["stale_after"])


@shared_task(name="executions.deliver_webhook", ignore_result=True)
def deliver_webhook(delivery_id: str) -> None:
    from executions import webhooks

    webhooks.deliver(delivery_id)
