"""Completion webhooks: signed per Standard Webhooks (checked here by our own verifier),
retried with backoff, every attempt kept, private targets refused unless allowed."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import threading
import time
import tracemalloc
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.utils import timezone

from executions import webhooks
from executions.models import Execution, WebhookDelivery
from tests.api.test_executions import create, poll_until_done, quick_graph
from tests.servers import (
    PUBLIC_ADDRESS,
    RawServer,
    no_route_out,
    rebinding_dns,
    serve_drip,
    serve_huge,
)

pytestmark = pytest.mark.django_db(transaction=True)


class Receiver:
    """A loopback HTTP endpoint that records requests and answers with scripted statuses."""

    def __init__(self, statuses=()):
        self.requests: list[dict] = []
        self.statuses = list(statuses)
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers["content-length"]))
                receiver.requests.append({"headers": dict(self.headers), "body": body})
                code = receiver.statuses.pop(0) if receiver.statuses else 204
                self.send_response(code)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    instance = Receiver()
    yield instance
    instance.close()


def verify(secret: str, headers: dict, body: bytes, tolerance: int = 300) -> bool:
    """Standard Webhooks verification, written from the spec independently of our sender."""
    lowered = {k.lower(): v for k, v in headers.items()}
    msg_id, stamp = lowered["webhook-id"], lowered["webhook-timestamp"]
    if abs(time.time() - int(stamp)) > tolerance:
        return False
    key = base64.b64decode(secret.split("_", 1)[1])
    signed = msg_id.encode() + b"." + stamp.encode() + b"." + body
    expected = base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
    candidates = [part.split(",", 1)[1] for part in lowered["webhook-signature"].split()
                  if part.startswith("v1,")]
    return any(hmac.compare_digest(expected, candidate) for candidate in candidates)


def test_a_finished_run_is_posted_signed_to_its_webhook_url(api, team, live_worker, receiver,
                                                            settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    workflow_id = create(api, quick_graph())
    response = api.post(f"/api/v1/workflows/{workflow_id}/execute",
                        {"webhookUrl": receiver.url}, format="json")
    assert response.status_code == 201
    poll_until_done(api, response["Location"])
    deadline = time.monotonic() + 20
    while not receiver.requests and time.monotonic() < deadline:
        time.sleep(0.1)
    request = receiver.requests[0]
    team.refresh_from_db()
    assert verify(team.webhook_secret, request["headers"], request["body"])
    assert not verify(team.webhook_secret, request["headers"], request["body"] + b" ")
    event = json.loads(request["body"])
    assert event["type"] == "execution.completed"
    assert event["data"]["executionId"] == response.json()["executionId"]
    # The worker records the delivery once the receiver has answered: a moment after the
    # receiver saw the request.
    delivery = WebhookDelivery.objects.get()
    deadline = time.monotonic() + 10
    while delivery.status != "delivered" and time.monotonic() < deadline:
        time.sleep(0.1)
        delivery.refresh_from_db()
    assert delivery.status == "delivered" and delivery.attempt_log.count() == 1


def test_a_failed_delivery_is_retried_later_and_every_attempt_is_kept(team, settings,
                                                                       live_worker):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    flaky = Receiver(statuses=[500])
    try:
        execution = Execution.objects.create(team=team, status="COMPLETED",
                                             webhook_url=flaky.url)
        delivery = webhooks.deliveries_create(execution)[0]  # the worker sends it at once
        deadline = time.monotonic() + 20
        while delivery.attempts < 1 and time.monotonic() < deadline:
            time.sleep(0.1)
            delivery.refresh_from_db()
        assert delivery.status == "pending" and delivery.attempts == 1
        assert delivery.next_attempt_at > timezone.now()
        # Time passes: the beat sweep (every second in tests) sends it again.
        WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
        deadline = time.monotonic() + 20
        while delivery.status != "delivered" and time.monotonic() < deadline:
            time.sleep(0.2)
            delivery.refresh_from_db()
        assert delivery.status == "delivered" and delivery.attempts == 2
        assert [a.status_code for a in delivery.attempt_log.all()] == [500, 204]
        assert flaky.requests[0]["headers"]["webhook-id"] == flaky.requests[1]["headers"][
            "webhook-id"]
    finally:
        flaky.close()


def test_private_targets_are_refused_unless_allowed(api, team, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    workflow_id = create(api, quick_graph())
    for url in ("http://127.0.0.1:9/hook", "http://169.254.169.254/latest", "http://10.1.2.3/"):
        response = api.post(f"/api/v1/workflows/{workflow_id}/execute", {"webhookUrl": url},
                            format="json")
        assert response.status_code == 400, url
        assert response.json()["code"] == "invalid_request"
    execution = Execution.objects.create(team=team, status="FAILED")
    delivery = WebhookDelivery.objects.create(  # made here, so no worker races this test
        message_id="msg_private", execution=execution, url="http://127.0.0.1:9/hook",
        event_type="execution.failed", payload={"type": "execution.failed"})
    webhooks.deliver(str(delivery.pk))
    delivery.refresh_from_db()
    assert delivery.status == "refused"
    assert "loopback" in delivery.attempt_log.get().error


def pending_delivery(team, url: str) -> WebhookDelivery:
    """A delivery made here, not on a run's end, so no worker races the test to send it."""
    execution = Execution.objects.create(team=team, status="COMPLETED")
    return WebhookDelivery.objects.create(
        message_id=f"msg_{execution.pk.hex}", execution=execution, url=url,
        event_type="execution.completed", payload={"type": "execution.completed"})


def test_a_huge_webhook_answer_is_never_read_whole_only_its_excerpt_is_kept(team, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    size = 64 * 2**20
    target = RawServer(lambda server, conn: serve_huge(server, conn, size=size))
    try:
        delivery = pending_delivery(team, f"http://127.0.0.1:{target.port}/hook")
        tracemalloc.start()
        try:
            webhooks.deliver(str(delivery.pk))
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
        delivery.refresh_from_db()
        attempt = delivery.attempt_log.get()
        assert delivery.status == "delivered" and attempt.status_code == 200
        assert set(attempt.response_excerpt) == {"y"} and len(attempt.response_excerpt) <= 4096
        assert peak < 4 * 2**20, peak  # the 64 MB answer never sat in memory
        time.sleep(0.2)  # the server notices the hang-up on its next write
        assert target.sent < size / 4  # and most of it was never even downloaded
    finally:
        target.close()


def test_a_webhook_target_dripping_its_answer_is_cut_off_at_the_deadline(team, settings):
    settings.WEBHOOK_ALLOW_PRIVATE = True
    settings.WEBHOOK_TIMEOUT = 2
    target = RawServer(serve_drip)  # headers at once, then a byte a second for 8 s
    try:
        delivery = pending_delivery(team, f"http://127.0.0.1:{target.port}/hook")
        started = time.monotonic()
        webhooks.deliver(str(delivery.pk))
        elapsed = time.monotonic() - started
        delivery.refresh_from_db()
        assert elapsed < 3, elapsed
        assert delivery.status == "pending"  # retried later, like any failed attempt
        assert delivery.attempt_log.get().error.startswith("ReadTimeout")
    finally:
        target.close()


def test_a_webhook_target_rebinding_to_loopback_after_the_check_is_never_reached(
        team, settings, monkeypatch, receiver):
    settings.WEBHOOK_ALLOW_PRIVATE = False
    port = receiver.server.server_port
    rebinding_dns(monkeypatch, name="rebind.test", answers=[PUBLIC_ADDRESS, "127.0.0.1"])
    dialled = no_route_out(monkeypatch)
    delivery = pending_delivery(team, f"http://rebind.test:{port}/hook")
    webhooks.deliver(str(delivery.pk))
    delivery.refresh_from_db()
    assert receiver.requests == [] and dialled == [(PUBLIC_ADDRESS, port)]
    assert delivery.status == "pending"
    assert delivery.attempt_log.get().error.startswith("ConnectError")
