"""How ready nodes reach workers: inputs completed at start, the continuation that lets a worker
run the next node itself, and the queues (each message delivered once, polls on their own)."""

from __future__ import annotations

import time

import pytest
from django.conf import settings

from executions import dispatch, scheduler, worker
from executions.dispatch import Continuation
from executions.models import ExecutionStatus, NodeRun, NodeStatus
from executions.services import execution_start
from tests.graph.builders import edge, node
from wireflow_site.celery import app


def _ready(*pairs, provider=""):
    return [scheduler.Ready(node_run_id, lease, provider) for node_run_id, lease in pairs]


def test_a_continuation_keeps_one_ready_node_and_returns_the_rest():
    continuation = Continuation(until=time.monotonic() + 60)
    assert continuation.offer(_ready(("a", "1"), ("b", "2"), ("c", "3"))) == \
        _ready(("b", "2"), ("c", "3"))
    assert continuation.next[:2] == ("a", "1")
    # It holds one at most: later offers pass everything on.
    assert continuation.offer(_ready(("d", "4"))) == _ready(("d", "4"))
    assert continuation.next[:2] == ("a", "1")


def test_a_continuation_past_its_budget_keeps_nothing():
    continuation = Continuation(until=time.monotonic() - 1)
    assert continuation.offer(_ready(("a", "1"))) == _ready(("a", "1"))
    assert continuation.next is None


def test_a_continuation_keeps_only_work_of_the_queues_its_worker_consumes(monkeypatch):
    queues = app.amqp.queues
    monkeypatch.setattr(queues, "_consume_from", {settings.CELERY_TASK_DEFAULT_QUEUE:
                                                  queues[settings.CELERY_TASK_DEFAULT_QUEUE]})
    continuation = Continuation(until=time.monotonic() + 60)
    vendor, local = _ready(("flux", "1"), provider="bfl"), _ready(("up", "2"), provider="local")
    # A CPU worker keeps the local node and sends the vendor submit to the remote queue.
    assert continuation.offer(vendor + local) == vendor
    assert continuation.next == local[0]


def test_nodes_enqueue_sends_through_the_broker_what_the_continuation_does_not_keep(
        monkeypatch):

    sent = []
    monkeypatch.setattr(dispatch, "broker_publish",
                        lambda name, args, queue, **_: sent.append(tuple(args)))
    dispatch.node_runs_enqueue([scheduler.Ready("a", "1")])
    assert sent == [("a", "1")]  # no continuation: everything goes to the broker

    sent.clear()
    with dispatch.continuing(Continuation(until=time.monotonic() + 60)) as continuation:
        dispatch.node_runs_enqueue([scheduler.Ready("a", "1"), scheduler.Ready("b", "2")])
    assert continuation.next[:2] == ("a", "1")
    assert sent == [("b", "2")]


def test_a_task_that_fails_after_keeping_a_node_hands_it_to_the_broker(monkeypatch):

    sent = []
    monkeypatch.setattr(dispatch, "broker_publish",
                        lambda name, args, queue, **_: sent.append(tuple(args)))

    def body(node_run_id, lease):
        dispatch.node_runs_enqueue([scheduler.Ready("next", "lease-2")])  # kept by the continuation
        raise RuntimeError("crash after the successor became ready")

    with pytest.raises(RuntimeError):
        worker.task_run(body, "first", "lease-1")
    assert sent == [("next", "lease-2")]  # never stranded until the reaper's time


@pytest.mark.django_db(transaction=True)
def test_text_inputs_are_completed_when_the_run_starts(team, monkeypatch):
    sent = []
    monkeypatch.setattr(dispatch, "node_runs_enqueue", lambda ready: sent.extend(ready))
    nodes = [node("text", "input:text", {"prompt": "a heron"}),
             node("preview", "generate:local_preview", {"seed": 1, "width": 256, "height": 256})]
    edges = [edge("e1", "text", "prompt", "preview", "prompt")]

    execution = execution_start(team=team, nodes=nodes, edges=edges)

    text = NodeRun.objects.get(execution=execution, node_id="text")
    preview = NodeRun.objects.get(execution=execution, node_id="preview")
    assert text.status == NodeStatus.COMPLETED
    assert text.outputs == {"prompt": {"text": "a heron"}, "text": {"text": "a heron"}}
    assert text.cache_key and text.started_at == text.finished_at
    # Its successor has nothing left to wait for: queued at once, and the only task sent.
    assert preview.status == NodeStatus.QUEUED and preview.waiting_inputs == 0
    assert [r[:4] for r in sent] == [(str(preview.pk), preview.lease, "local", str(execution.pk))]


def test_nodes_over_a_providers_limit_wait_in_line_without_a_task(settings, monkeypatch):
    import uuid

    from executions import slots

    alias = f"limited-{uuid.uuid4().hex[:6]}"
    settings.PROVIDERS = {**settings.PROVIDERS, alias: {
        **settings.PROVIDERS["local"], "OPTIONS": {"max_concurrency": 2}}}
    sent = []
    monkeypatch.setattr(dispatch, "broker_publish",
                        lambda name, args, queue, **_: sent.append(tuple(args)))
    ready = [scheduler.Ready(str(uuid.uuid4()), f"lease-{i}", alias) for i in range(5)]
    dispatch.node_runs_enqueue(ready)
    assert sent == [(r.node_run_id, r.lease) for r in ready[:2]]  # a task only with a slot
    assert slots.in_use(alias) == 2 and slots.waiting(alias) == 3
    assert slots.release(alias, ready[0].node_run_id) == ready[2].node_run_id  # next in line


@pytest.mark.django_db(transaction=True)
def test_a_run_of_text_inputs_only_is_complete_at_once(team):
    execution = execution_start(team=team, nodes=[node("text", "input:text", {"prompt": "x"})],
                                edges=[])
    execution.refresh_from_db()
    assert execution.status == ExecutionStatus.COMPLETED
    assert execution.finished_at is not None


def test_vendor_work_has_a_queue_of_its_own_and_every_queue_its_own_binding():
    for name in ("executions.poll_node", "executions.cancel_remote", "executions.reap",
                 "executions.deliver_webhook"):
        assert app.amqp.router.route({}, name)["queue"].name == settings.CELERY_REMOTE_QUEUE
    assert app.amqp.router.route({}, "executions.run_node")["queue"].name == \
        settings.CELERY_TASK_DEFAULT_QUEUE
    # A node run goes where its provider's work is done: a vendor's on the remote queue.
    assert dispatch.queue_for("bfl") == dispatch.queue_for("google") == \
        settings.CELERY_REMOTE_QUEUE
    assert dispatch.queue_for("local") == dispatch.queue_for("") == \
        settings.CELERY_TASK_DEFAULT_QUEUE
    bindings = [(queue.exchange.name, queue.routing_key) for queue in app.amqp.queues.values()]
    # Two queues under one (exchange, key) would each receive a copy of every message.
    assert len(bindings) == len(set(bindings))


@pytest.mark.django_db(transaction=True)
def test_a_node_run_next_in_the_same_task_reads_its_inputs_from_memory(
        team, monkeypatch, django_assert_num_queries):
    monkeypatch.setattr(dispatch, "node_runs_enqueue", lambda ready: None)
    nodes = [node("text", "input:text", {"prompt": "a heron"}), node("r", "logic:router")]
    edges = [edge("e1", "text", "text", "r", "input")]
    execution = execution_start(team=team, nodes=nodes, edges=edges)
    router = NodeRun.objects.select_related("execution").get(execution=execution, node_id="r")
    text_outputs = NodeRun.objects.get(execution=execution, node_id="text").outputs

    with django_assert_num_queries(1):  # no continuation: the upstream outputs are read
        values, _ = worker.node_run_inputs(router)
    assert values == {"input": ["a heron"]}

    known = {(str(execution.pk), "text"): text_outputs}
    continuation = Continuation(until=time.monotonic() + 60, known=known)
    with dispatch.continuing(continuation), django_assert_num_queries(0):
        values, _ = worker.node_run_inputs(router)
    assert values == {"input": ["a heron"]}


@pytest.mark.django_db(transaction=True)
def test_a_claim_that_loses_changes_nothing_and_uses_no_event_number(team, monkeypatch):
    monkeypatch.setattr(dispatch, "node_runs_enqueue", lambda ready: None)
    nodes = [node("text", "input:text", {"prompt": "a heron"}),
             node("preview", "generate:local_preview", {"seed": 1, "width": 256, "height": 256})]
    execution = execution_start(team=team, nodes=nodes,
                                edges=[edge("e1", "text", "prompt", "preview", "prompt")])
    preview = NodeRun.objects.select_related("execution").get(execution=execution,
                                                               node_id="preview")
    seq = type(execution).objects.get(pk=execution.pk).seq
    stale = NodeRun.objects.select_related("execution").get(pk=preview.pk)
    stale.lease = "an-older-lease"
    assert not scheduler.node_run_claim(stale)
    run = type(execution).objects.get(pk=execution.pk)
    assert run.seq == seq and run.status == ExecutionStatus.QUEUED  # no gap, not started
    assert run.started_at is None
    assert scheduler.node_run_claim(preview)
    preview.refresh_from_db()
    assert preview.status == NodeStatus.RUNNING and preview.started_at is not None
    run = type(execution).objects.get(pk=execution.pk)
    assert run.seq == seq + 2  # the node's event, then the run's
    assert run.status == ExecutionStatus.RUNNING and run.started_at == preview.started_at


def test_polls_aim_at_the_vendors_expected_finish_from_when_the_job_was_submitted():
    from datetime import timedelta

    from django.utils import timezone

    from executions.providers import Pending

    # Claimed 3 s ago but submitted 0.5 s ago (it waited in between): a quarter done at 0.5 s
    # means 1.5 s to go, not 9 s.
    run = NodeRun(started_at=timezone.now() - timedelta(seconds=3))
    handle = {"id": "job", worker.SUBMITTED_AT: time.time() - 0.5}
    wait = worker.next_poll(run, Pending(handle=handle, progress=0.25))
    assert 1.45 < wait < 1.65
    # Landing a moment early (99 % done) looks again shortly, not a whole round later.
    assert worker.next_poll(run, Pending(handle=handle, progress=0.99)) <= 0.1
    # Without the vendor's progress: its suggested interval, slowing down as the job ages.
    assert worker.next_poll(NodeRun(started_at=timezone.now()), Pending(handle={})) == 0.5


@pytest.mark.django_db(transaction=True)
def test_a_node_made_ready_comes_back_whole_so_the_next_step_reads_nothing(team, monkeypatch):
    sent = []
    monkeypatch.setattr(dispatch, "node_runs_enqueue", lambda ready: sent.extend(ready))
    nodes = [node("text", "input:text", {"prompt": "x"}), node("r0", "logic:router"),
             node("r1", "logic:router", {})]
    edges = [edge("e1", "text", "text", "r0", "input"), edge("e2", "r0", "output", "r1", "input")]
    execution = execution_start(team=team, nodes=nodes, edges=edges)
    first = NodeRun.objects.select_related("execution").get(pk=sent.pop().node_run_id)
    assert scheduler.node_run_claim(first)
    assert worker.node_run_finish(first, made={"output": {"text": "x"}},
                                  output_api={"images": [], "videos": [], "text": "x"})
    (ready,) = sent
    stored = NodeRun.objects.get(execution=execution, node_id="r1")
    assert ready.row is not None and ready.row.pk == stored.pk
    for field in NodeRun._meta.concrete_fields:  # every field, converted as the ORM reads it
        assert getattr(ready.row, field.attname) == getattr(stored, field.attname), field.name


def test_the_light_publish_sends_the_message_celery_sends_but_for_its_ids():
    import json
    import uuid

    from executions import tasks

    queue = f"{settings.CELERY_TASK_DEFAULT_QUEUE}-envelope-{uuid.uuid4().hex[:8]}"
    broker = dispatch._broker_client()
    args = (str(uuid.uuid4()), "lease-1")
    try:
        tasks.run_node.apply_async(args, queue=queue)
        task_id = dispatch.broker_publish(tasks.run_node.name, args, queue)
        ours, celerys = (json.loads(broker.lpop(queue)) for _ in range(2))
    finally:
        broker.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")
    assert ours["headers"]["id"] == ours["headers"]["root_id"] == task_id
    assert ours["properties"]["correlation_id"] == task_id
    _assert_same_message(ours, celerys, args, unique=("id", "root_id"))


def test_a_poll_scheduled_inside_a_task_is_celerys_message_with_its_parent_and_eta():
    """From inside a worker's task, with a countdown: the message apply_async sends (its
    parent and root recorded, its `eta` the countdown from now), in one LPUSH."""
    import json
    import uuid
    from datetime import datetime, timedelta

    from celery._state import _task_stack

    from executions import tasks

    queue = f"{settings.CELERY_TASK_DEFAULT_QUEUE}-poll-envelope-{uuid.uuid4().hex[:8]}"
    broker = dispatch._broker_client()
    args = (str(uuid.uuid4()), "lease-2")
    sender = tasks.run_node
    sender.push_request(id="the-submitting-task", root_id="its-root", called_directly=False)
    _task_stack.push(sender)
    try:
        assert app.current_worker_task is sender
        tasks.poll_node.apply_async(args, queue=queue, countdown=2.5)
        before = datetime.now(tz=app.timezone)
        dispatch.broker_publish(tasks.poll_node.name, args, queue, countdown=2.5)
        after = datetime.now(tz=app.timezone)
        ours, celerys = (json.loads(broker.lpop(queue)) for _ in range(2))
    finally:
        _task_stack.pop()
        sender.pop_request()
        broker.delete(queue, f"_kombu.binding.{queue}", f"_kombu.binding_permanent.{queue}")
    assert ours["headers"]["parent_id"] == celerys["headers"]["parent_id"] == "the-submitting-task"
    assert ours["headers"]["root_id"] == celerys["headers"]["root_id"] == "its-root"
    eta = datetime.fromisoformat(ours["headers"]["eta"])
    assert before + timedelta(seconds=2.5) <= eta <= after + timedelta(seconds=2.5)
    assert abs(eta - datetime.fromisoformat(celerys["headers"]["eta"])) < timedelta(seconds=1)
    _assert_same_message(ours, celerys, args, unique=("id", "eta"))


@pytest.mark.django_db
def test_polls_and_retries_go_to_their_queues_through_the_light_publish(
        monkeypatch, django_capture_on_commit_callbacks):
    sent = []
    monkeypatch.setattr(dispatch, "broker_publish",
                        lambda name, args, queue, countdown=0.0: sent.append(
                            (name, args, queue, countdown)))
    with django_capture_on_commit_callbacks(execute=True):
        dispatch.node_run_schedule("poll", "n1", "l1", 1.5)
        dispatch.node_run_schedule("run", "n2", "l2", -1, provider="bfl")
        dispatch.node_run_schedule("run", "n3", "l3", 0.25)
        assert sent == []  # after commit only
    assert sent == [
        ("executions.poll_node", ("n1", "l1"), settings.CELERY_REMOTE_QUEUE, 1.5),
        ("executions.run_node", ("n2", "l2"), settings.CELERY_REMOTE_QUEUE, 0.0),
        ("executions.run_node", ("n3", "l3"), settings.CELERY_TASK_DEFAULT_QUEUE, 0.25)]


def _assert_same_message(ours: dict, celerys: dict, args: tuple, *, unique: tuple) -> None:
    """Our LPUSHed message is Celery's own, but for the headers and properties that are
    unique per message."""
    import base64
    import json

    for message in (ours, celerys):
        for key in unique:
            message["headers"].pop(key)
        for key in ("correlation_id", "delivery_tag"):
            message["properties"].pop(key)
    assert ours == celerys
    assert json.loads(base64.b64decode(ours["body"]))[0] == list(args)
