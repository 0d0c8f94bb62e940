"""A worker's main process SIGKILLed in the middle of a run, on a stack of the test's own (Redis,
daphne, a worker and beat; remote providers pointed at the simulator), and started again under
its hostname as a supervisor would: every run ends, no vendor job is made twice, and credits
are exact. Each test prints how long the runs took to be final after the kill."""

from __future__ import annotations

import time

import httpx
import pytest

from tests.graph.builders import edge, node
from tests.reliability.procs_support import RestartableRedis, deployment_workers

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]

FINAL = ("COMPLETED", "FAILED", "CANCELLED")
# The supervisor's first restart comes a second after the exit (wireflow_site.runner).
RESTART_AFTER = 1.0
# Recovery is measured at the engine's defaults (wireflow_site.settings), not the suite's
# shorter ones.
PRODUCTION_TIMERS = {"ENGINE_LOST_AFTER": "15", "ENGINE_REAP_EVERY": "2"}


@pytest.fixture
def simulator(simulator_server):
    """The suite's simulator, with no jobs, scripts or counters, and its default latency."""
    httpx.post(f"{simulator_server.url}/__sim/reset").raise_for_status()
    return simulator_server


@pytest.fixture
def stack(simulator):
    """daphne, beat, and the two workers of a deployment: local rendering on processes, vendor
    calls and polls on threads. `restart(worker)` starts the same worker again (same hostname,
    no second beat), as a supervisor would."""
    from tests.conftest import _free_port
    from tests.live import LiveServer

    redis_server = RestartableRedis().start()
    env = {"REDIS_URL": redis_server.url, "SIMULATE": "1", "SIMULATOR_URL": simulator.url,
           "BFL_TIMEOUT": "30", **PRODUCTION_TIMERS}
    parts: list = []
    try:
        cpu, remote = deployment_workers(env)
        parts += [cpu.start(), remote.start()]
        server = LiveServer(url=f"http://127.0.0.1:{_free_port()}", extra_env=env)
        parts.append(server.start())

        def restart(worker):
            again = worker.twin()
            parts.append(again)
            return again.start()

        yield server, cpu, remote, restart
    finally:
        for part in reversed(parts):
            part.stop()
        redis_server.crash()


def _client(server, make_team, make_key, credits=10_000):
    team = make_team(credits=credits)
    http = httpx.Client(base_url=server.url, timeout=10,
                        headers={"Authorization": f"Bearer {make_key(team).raw_key}"})
    return team, http


def _run(http, graph: dict) -> str:
    created = http.post("/api/v1/workflows", json=graph)
    assert created.status_code == 201, created.text
    started = http.post(f"/api/v1/workflows/{created.json()['data']['id']}/execute", json={})
    assert started.status_code == 201, started.text
    return started.json()["executionId"]


def _wait_node(execution_id: str, node_id: str, check, timeout: float = 60) -> None:
    from executions.models import NodeRun

    deadline = time.monotonic() + timeout
    while True:
        found = NodeRun.objects.filter(execution_id=execution_id, node_id=node_id).first()
        if found is not None and check(found):
            return
        assert time.monotonic() < deadline, f"{node_id}: {found and found.status}"
        time.sleep(0.05)


def _wait_final(http, execution_ids: list[str], timeout: float = 90) -> dict[str, dict]:
    """Until every run is final, read from the database (the plan's 60 requests a minute
    would have the test sleep out a 429 to the next minute, up to 60 s it would count as the
    system's), then each run's poll answer through the API."""
    from executions.models import Execution
    from tests.executions.test_scheduler import wait_done

    deadline = time.monotonic() + timeout
    for execution in Execution.objects.filter(pk__in=execution_ids):
        wait_done(execution, timeout=max(0.0, deadline - time.monotonic()))
    done: dict[str, dict] = {}
    for execution_id in execution_ids:
        while execution_id not in done:  # the poll cache's head moves just after the commit
            response = http.get(f"/api/v1/workflows/executions/{execution_id}/poll")
            assert response.status_code == 200, response.text
            if response.json()["status"] in FINAL:
                done[execution_id] = response.json()
            else:
                assert time.monotonic() < deadline, response.text
                time.sleep(0.2)
    return done


def _credits_exact(team, execution_ids: list[str], before: int) -> None:
    from accounts.models import Team
    from executions.models import Execution

    charged = sum(Execution.objects.filter(pk__in=execution_ids)
                  .values_list("credits_charged", flat=True))
    assert before - Team.objects.get(pk=team.pk).credit_balance == charged


def _kill_and_restart(worker, restart) -> float:
    killed = time.monotonic()
    worker.kill_main()
    time.sleep(RESTART_AFTER)
    restart(worker)
    return killed


def _local_chain(n: int) -> dict:
    nodes = [node("prompt", "input:text", {"prompt": f"kill {n}"}),
             node("preview", "generate:local_preview", {"seed": n, "width": 768,
                                                         "height": 768}),
             node("video", "generate:image_to_video_local", {"duration": 4, "fps": 24})]
    edges = [edge("e1", "prompt", "prompt", "preview", "prompt"),
             edge("e2", "preview", "image", "video", "image")]
    return {"name": f"Kill {n}", "nodes": nodes, "edges": edges}


def test_a_worker_killed_during_local_nodes_is_back_on_them_at_once(stack, make_team,
                                                                    make_key):
    server, worker, _, restart = stack
    team, http = _client(server, make_team, make_key)
    before = team.credit_balance
    execution_ids = [_run(http, _local_chain(n)) for n in range(3)]
    _wait_node(execution_ids[0], "video", lambda run: run.status == "RUNNING")

    killed = _kill_and_restart(worker, restart)
    back = time.monotonic() - killed
    done = _wait_final(http, execution_ids)
    elapsed = time.monotonic() - killed
    print(f"\nworker SIGKILL during local video nodes: {len(done)} runs final "
          f"{elapsed:.1f} s after the kill (worker back after {back:.1f} s)")

    assert {body["status"] for body in done.values()} == {"COMPLETED"}
    _credits_exact(team, execution_ids, before)
    assert elapsed < 30


def _flux(prompt: str) -> dict:
    nodes = [node("text", "input:text", {"prompt": prompt}),
             node("flux", "generate:flux_2_pro", {"width": 512, "height": 512, "seed": 3})]
    return {"name": prompt[:40], "nodes": nodes,
            "edges": [edge("e1", "text", "prompt", "flux", "prompt")]}


def _vendor_submits(simulator) -> int:
    return httpx.get(f"{simulator.url}/__sim/stats").json()["stats"].get("bfl.submit", 0)


def test_a_worker_killed_during_a_vendor_submit_never_submits_it_again(
        stack, make_team, make_key, simulator):
    """The submit hangs at the vendor (its answer takes 10 s) when the worker dies. The vendor
    may have the job, so the node fails with that reason and is charged nothing."""
    from executions.models import NodeRun
    from executions.simulator.server import HANG_SECONDS

    server, _, worker, restart = stack
    team, http = _client(server, make_team, make_key)
    before = team.credit_balance
    execution_id = _run(http, _flux("a submit in flight sim:hang"))
    _wait_node(execution_id, "flux", lambda run: run.submitting_since is not None)
    submitted = time.monotonic()

    killed = _kill_and_restart(worker, restart)
    done = _wait_final(http, [execution_id])
    elapsed = time.monotonic() - killed
    print(f"\nworker SIGKILL during a vendor submit: final {elapsed:.1f} s after the kill")

    assert done[execution_id]["status"] == "FAILED"
    flux = NodeRun.objects.get(execution_id=execution_id, node_id="flux")
    assert flux.error_kind == "lost_submit" and "may have started it" in flux.error
    assert flux.credits == 0
    _credits_exact(team, [execution_id], before)
    assert elapsed < 30
    # The vendor answers the hung request at last: one job, and nobody asked for another.
    time.sleep(max(0.0, submitted + HANG_SECONDS + 1 - time.monotonic()))
    assert _vendor_submits(simulator) == 1


def test_a_worker_killed_while_its_vendor_jobs_run_polls_them_again_at_once(
        stack, make_team, make_key, simulator):
    """The handles were saved: the restarted worker polls the same jobs (their poll messages
    died with the worker) and submits nothing again."""
    server, _, worker, restart = stack
    simulator.state.latency = 6.0
    team, http = _client(server, make_team, make_key)
    before = team.credit_balance
    execution_ids = [_run(http, _flux(f"survive the kill {n}")) for n in range(3)]
    for execution_id in execution_ids:
        _wait_node(execution_id, "flux", lambda run: bool(run.remote))

    killed = _kill_and_restart(worker, restart)
    done = _wait_final(http, execution_ids)
    elapsed = time.monotonic() - killed
    print(f"\nworker SIGKILL while 3 vendor jobs run (6 s each): final {elapsed:.1f} s "
          "after the kill")

    assert {body["status"] for body in done.values()} == {"COMPLETED"}
    assert _vendor_submits(simulator) == 3
    _credits_exact(team, execution_ids, before)
    assert elapsed < 30
