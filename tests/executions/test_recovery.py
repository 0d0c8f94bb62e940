"""At most one vendor job per node attempt, and recovery in seconds: the intent to submit is
committed before the request leaves, a node found with an intent and no job handle is failed
(not submitted again) unless the operator opts in, and the dispatcher's rules for what is late
(a quiet worker, a late task, a worker that starts again under its hostname).

The node runs here are driven by calling the worker's entry points in the test's process (no
broker), with the real providers pointed at the simulator. That the intent is committed before
the request leaves is seen from another process in tests/reliability/test_worker_kill.py."""

from __future__ import annotations

import pytest
from django.utils import timezone

from executions import scheduler, worker
from executions.models import NodeRun, NodeStatus
from executions.planner import execution_create
from tests.executions.conftest import sim_stats
from tests.graph.builders import edge, node

pytestmark = pytest.mark.django_db


def _flux_run(team, prompt="a lighthouse"):
    nodes = [node("text", "input:text", {"prompt": prompt}),
             node("flux", "generate:flux_2_pro", {"width": 512, "height": 512, "seed": 3})]
    execution, _ = execution_create(team=team, nodes=nodes,
                                    edges=[edge("e1", "text", "prompt", "flux", "prompt")])
    return NodeRun.objects.get(execution=execution, node_id="flux")


def _ago(seconds: float):
    return timezone.now() - timezone.timedelta(seconds=seconds)


@pytest.fixture
def team(make_team):
    return make_team(credits=10_000)


def test_a_node_found_mid_submit_is_failed_not_submitted_again_and_costs_nothing(
        team, simulated):
    flux = _flux_run(team)
    NodeRun.objects.filter(pk=flux.pk).update(submitting_since=_ago(30), attempts=1)
    worker.node_run_execute(str(flux.pk), flux.lease)

    flux.refresh_from_db()
    assert flux.status == NodeStatus.FAILED and flux.error_kind == "lost_submit"
    assert "BFL may have started it" in flux.error and flux.credits == 0
    assert sim_stats(simulated).get("bfl.submit", 0) == 0
    flux.execution.refresh_from_db()
    assert flux.execution.status == "FAILED" and flux.execution.credits_charged == 0


def test_an_operator_who_opts_in_gets_the_lost_submit_sent_again(team, simulated, settings):
    settings.ENGINE = {**settings.ENGINE, "resubmit_lost": True}
    flux = _flux_run(team)
    NodeRun.objects.filter(pk=flux.pk).update(submitting_since=_ago(30), attempts=1)
    worker.node_run_execute(str(flux.pk), flux.lease)

    flux.refresh_from_db()
    assert flux.status == NodeStatus.RUNNING and flux.remote and flux.attempts == 2
    assert flux.submitting_since is None  # the handle is saved: a job we know of
    assert sim_stats(simulated)["bfl.submit"] == 1


def test_a_submit_refused_before_it_left_is_retried_with_the_intent_cleared(
        team, simulated, settings):
    from tests.conftest import _free_port
    from tests.executions.conftest import point_providers_at

    point_providers_at(settings, f"http://127.0.0.1:{_free_port()}", timeout=2)  # nobody there
    flux = _flux_run(team)
    worker.node_run_execute(str(flux.pk), flux.lease)

    flux.refresh_from_db()
    assert flux.status == NodeStatus.QUEUED and flux.attempts == 1  # backing off, to retry
    assert flux.submitting_since is None and flux.due_at > timezone.now() - \
        timezone.timedelta(seconds=1)


def test_a_submit_whose_answer_is_lost_fails_the_node_without_a_retry(team, simulated,
                                                                     settings):
    from tests.executions.conftest import point_providers_at

    point_providers_at(settings, simulated.url, timeout=0.5)
    flux = _flux_run(team, prompt="sim:hang")
    worker.node_run_execute(str(flux.pk), flux.lease)

    flux.refresh_from_db()
    assert flux.status == NodeStatus.FAILED and flux.attempts == 1
    assert "may have started" in flux.error and flux.credits == 0


# --- what the dispatcher finds late ----------------------------------------------------------

def _running(flux, **fields):
    NodeRun.objects.filter(pk=flux.pk).update(status=NodeStatus.RUNNING, **fields)


def test_a_quiet_worker_loses_its_node_after_lost_after_not_minutes(team):
    flux = _flux_run(team)
    _running(flux, heartbeat_at=_ago(20), owner="gone@host/1")
    resent = scheduler.node_runs_reap_stale(lost_after=15)
    assert [(r.task, r.node_run_id) for r in resent] == [("run", str(flux.pk))]
    flux.refresh_from_db()
    assert flux.status == NodeStatus.QUEUED and flux.lease == resent[0].lease


def test_a_remote_job_backing_off_is_left_alone_until_its_poll_is_late(team):
    flux = _flux_run(team)
    _running(flux, heartbeat_at=_ago(60), remote={"id": "job"},
             due_at=timezone.now() + timezone.timedelta(seconds=30))  # a poll retry, due later
    assert scheduler.node_runs_reap_stale(lost_after=15) == []
    NodeRun.objects.filter(pk=flux.pk).update(due_at=_ago(16))  # its poll message was lost
    resent = scheduler.node_runs_reap_stale(lost_after=15)
    assert [(r.task, r.node_run_id) for r in resent] == [("poll", str(flux.pk))]


def test_a_late_queued_node_is_sent_again_under_its_own_lease_once_per_interval(team):
    flux = _flux_run(team)
    lease = flux.lease
    NodeRun.objects.filter(pk=flux.pk).update(status=NodeStatus.QUEUED, queued_at=_ago(20))
    resent = scheduler.node_runs_overdue(lost_after=15)
    assert [(r.task, r.node_run_id, r.lease) for r in resent] == [("run", str(flux.pk), lease)]
    assert scheduler.node_runs_overdue(lost_after=15) == []  # not again before 15 s more


def test_a_worker_that_starts_again_takes_back_its_predecessors_nodes_at_once(team):
    flux = _flux_run(team)
    _running(flux, heartbeat_at=timezone.now(), owner="w1@host/old")
    other = _flux_run(team)
    _running(other, heartbeat_at=timezone.now(), owner="w2@host/alive")
    assert scheduler.node_runs_reap_stale(lost_after=15) == []  # both heartbeats are fresh
    resent = scheduler.node_runs_reclaim(hostname="w1@host", owner="w1@host/new")
    assert [r.node_run_id for r in resent] == [str(flux.pk)]
    assert scheduler.node_runs_reclaim(hostname="w1@host", owner="w1@host/new") == []
