"""Completion webhooks, signed per Standard Webhooks (standardwebhooks.com):

    webhook-id: <message id>   webhook-timestamp: <unix seconds>
    webhook-signature: v1,<base64 HMAC-SHA256 over "<id>.<timestamp>.<body>">

keyed with the base64 part of the team's `whsec_…` secret. A delivery that fails is retried
with growing delays for up to a day; every attempt is kept for admin. Targets on private,
loopback or link-local addresses are refused unless WEBHOOK_ALLOW_PRIVATE is set.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
import uuid
from datetime import timedelta

import httpx
from django.conf import settings
from django.db import transaction
from django.utils import timezone

from executions import tasks
from executions.models import RUN_SNAPSHOT, Execution, WebhookAttempt, WebhookDelivery
from executions.selectors import execution_poll_payload
from graph.models import Workflow
from wireflow_site.net import (
    PrivateAddress,
    outbound_client,
    response_read_capped,
    url_require_http,
)

# Seconds after the first attempt, as Standard Webhooks suggests: about a day in all.
RETRY_DELAYS = (5, 300, 1800, 7200, 18000, 36000, 36000)
# Kept of what a receiver answers: enough to debug it, never its whole body.
EXCERPT_BYTES = 4096


def sign(secret: str, message_id: str, timestamp: int, body: bytes) -> str:
    key = base64.b64decode(secret.removeprefix("whsec_"))
    content = f"{message_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def deliveries_create(execution: Execution) -> list[WebhookDelivery]:
    """On a run's end: one delivery per target URL (the run's, and the workflow's default).
    Subscribed to finished runs (executions.events.on_finished): it runs inside the
    transaction that ends the run, so the deliveries commit with it."""
    urls = [execution.webhook_url]
    if execution.workflow_id:  # the workflow's default (its one column, not its graph)
        urls += Workflow.objects.filter(pk=execution.workflow_id).values_list(
            "completion_webhook_url", flat=True)
    urls = list(dict.fromkeys(u for u in urls if u))
    if not urls:
        return []
    # The payload reads the whole run (the caller may hold only part of it).
    execution = Execution.objects.defer(*RUN_SNAPSHOT).get(
        pk=execution.pk)
    event = f"execution.{execution.status.lower()}"
    payload = {"type": event, "timestamp": timezone.now().isoformat(),
               "data": execution_poll_payload(execution)}
    created = [
        WebhookDelivery.objects.create(
            message_id=f"msg_{uuid.uuid4().hex}", execution=execution, url=url,
            event_type=event, payload=payload, next_attempt_at=timezone.now(),
        )
        for url in urls
    ]
    for delivery in created:
        transaction.on_commit(lambda pk=str(delivery.pk): tasks.deliver_webhook.delay(pk))
    return created


def deliver(delivery_id: str) -> None:
    """One attempt; schedules the next one when it fails and attempts remain."""
    delivery = WebhookDelivery.objects.select_related("execution__team").filter(
        pk=delivery_id, status=WebhookDelivery.Status.PENDING
    ).first()
    if delivery is None:
        return
    number = delivery.attempts + 1
    # Claim this attempt: a sweep and a manual resend racing each other send it once.
    # While it is in flight, the sweep must not see it as due.
    if not WebhookDelivery.objects.filter(
        pk=delivery.pk, status=WebhookDelivery.Status.PENDING, attempts=delivery.attempts
    ).update(attempts=number,
             next_attempt_at=timezone.now() + timedelta(seconds=settings.WEBHOOK_TIMEOUT + 60)):
        return
    body = json.dumps(delivery.payload, separators=(",", ":")).encode()
    timestamp = int(time.time())
    started = time.monotonic()
    status_code, error, excerpt = None, "", ""
    try:
        status_code, excerpt = _post(delivery, body, timestamp)
    except PrivateAddress as refused:
        error = f"Refused: {refused}"
    except httpx.HTTPError as exc:
        error = f"{type(exc).__name__}: {exc}"
    WebhookAttempt.objects.create(
        delivery=delivery, number=number, status_code=status_code, error=error,
        response_excerpt=excerpt, duration_ms=int((time.monotonic() - started) * 1000),
    )
    fields: dict = {}
    if status_code is not None and 200 <= status_code < 300:
        fields.update(status=WebhookDelivery.Status.DELIVERED, delivered_at=timezone.now(),
                      next_attempt_at=None)
    elif error.startswith("Refused:"):
        fields.update(status=WebhookDelivery.Status.REFUSED, next_attempt_at=None)
    elif number > len(RETRY_DELAYS):
        fields.update(status=WebhookDelivery.Status.FAILED, next_attempt_at=None)
    else:  # the beat sweep (deliver_due) sends it again when the time comes
        fields["next_attempt_at"] = timezone.now() + timedelta(seconds=RETRY_DELAYS[number - 1])
    WebhookDelivery.objects.filter(pk=delivery.pk).update(**fields)


def _post(delivery: WebhookDelivery, body: bytes, timestamp: int) -> tuple[int, str]:
    """Send one attempt within WEBHOOK_TIMEOUT; the status and the start of the answer.
    The target's address is checked where the client connects (PrivateAddress)."""
    url_require_http(delivery.url)
    headers = {
        "content-type": "application/json",
        "user-agent": "Wireflow-Webhooks/1",
        "webhook-id": delivery.message_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(delivery.execution.team.webhook_secret,
                                  delivery.message_id, timestamp, body),
    }
    with (outbound_client(allow_private=settings.WEBHOOK_ALLOW_PRIVATE,
                          timeout=settings.WEBHOOK_TIMEOUT) as client,
          client.stream("POST", delivery.url, content=body, headers=headers) as response):
        excerpt, _ = response_read_capped(response, limit=EXCERPT_BYTES)
        return response.status_code, excerpt.decode("utf-8", "replace")


def deliver_due() -> int:
    """Enqueue the retries that are due. Long Celery countdowns are unsafe on a Redis broker
    (redelivered after the visibility timeout), so retries wait in the database instead."""
    now = timezone.now()
    due = list(WebhookDelivery.objects.filter(
        status=WebhookDelivery.Status.PENDING, attempts__gt=0, next_attempt_at__lte=now
    ).values_list("pk", flat=True)[:500])
    for pk in due:
        # Claim it for a while so the next sweep does not send it twice.
        if WebhookDelivery.objects.filter(pk=pk, next_attempt_at__lte=now).update(
            next_attempt_at=now + timedelta(minutes=10)
        ):
            tasks.deliver_webhook.delay(str(pk))
    return len(due)
