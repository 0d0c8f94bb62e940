"""`make run`'s runner tells commands run beside it (run_workflow, shell) where it serves."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _base_url(var_dir: Path, **env: str) -> str:
    environ = {k: v for k, v in os.environ.items() if k not in ("PORT", "PUBLIC_BASE_URL")}
    environ.update(WIREFLOW_VAR_DIR=str(var_dir), DJANGO_SETTINGS_MODULE="wireflow_site.settings",
                   **env)
    out = subprocess.run(
        [sys.executable, "-c", "import django; django.setup(); from django.conf import settings; "
                               "print(settings.DEFAULT_BASE_URL)"],
        cwd=ROOT, env=environ, capture_output=True, text=True, check=True)
    return out.stdout.strip()


def test_a_command_beside_make_run_builds_urls_where_it_serves(tmp_path):
    from wireflow_site.runner import Runner

    assert _base_url(tmp_path) == "http://127.0.0.1:8000"  # nothing running: the default
    runner = Runner()
    runner.host, runner.port = "0.0.0.0", 8123
    (tmp_path / "base.url").write_text(runner.base_url())  # what start() writes
    assert _base_url(tmp_path) == "http://127.0.0.1:8123"
    assert _base_url(tmp_path, PORT="9000") == "http://127.0.0.1:9000"  # its own server wins


def _alive(pid: int) -> bool:
    """Running (a zombie waiting for its new parent to reap it counts as gone)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def _supervise_until_restarted(child, timeout: float = 10) -> float:
    """Supervise until the child runs again; the seconds that took."""
    import time

    before = child.process.pid
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        child.supervise(time.monotonic())
        if child.process.pid != before and child.process.poll() is None:
            return time.monotonic() - start
        time.sleep(0.05)
    raise AssertionError(f"{child.name} was not restarted within {timeout} s")


def test_a_child_that_dies_is_restarted_after_a_doubling_backoff_that_resets_once_stable(
        capsys):
    import signal

    from wireflow_site.runner import Child

    child = Child("sleeper", [sys.executable, "-c", "import time; time.sleep(120)"])
    child.start()
    try:
        os.kill(child.process.pid, signal.SIGKILL)
        first = _supervise_until_restarted(child)
        os.kill(child.process.pid, signal.SIGKILL)
        second = _supervise_until_restarted(child)
        assert 0.9 <= first < 1.8 and 1.9 <= second < 2.8, (first, second)
        assert child.restarts == 2 and child.delay == 4
        child.STABLE_AFTER = 0.5  # it has now stayed up "long enough": the backoff starts over
        import time

        time.sleep(0.6)
        os.kill(child.process.pid, signal.SIGKILL)
        assert 0.9 <= _supervise_until_restarted(child) < 1.8
        err = capsys.readouterr().err
        assert "sleeper exited with code -9; restarting in 1 s" in err
        assert "sleeper exited with code -9; restarting in 2 s" in err
        assert f"sleeper restarted (pid {child.process.pid})" in err
    finally:
        child.process.kill()
        child.process.wait()


def test_a_sigkilled_runner_leaves_no_child_behind_not_even_its_embedded_redis(tmp_path):
    import signal
    import time

    script = (
        "import sys, time\n"
        "from wireflow_site.embedded_redis import EmbeddedRedis\n"
        "from wireflow_site.runner import Runner\n"
        "runner = Runner()\n"
        "runner.redis = EmbeddedRedis(workdir=sys.argv[1]).start()\n"
        "for name in ('daphne', 'celery', 'beat'):\n"
        "    runner.spawn(name, [sys.executable, '-c', 'import time; time.sleep(120)'])\n"
        "print(runner.redis.process.pid, *[c.process.pid if hasattr(c, 'process') else c[1].pid"
        " for c in runner.children], flush=True)\n"
        "time.sleep(120)\n"
    )
    runner = subprocess.Popen([sys.executable, "-c", script, str(tmp_path)], cwd=ROOT,
                              stdout=subprocess.PIPE, text=True)
    pids = [int(pid) for pid in runner.stdout.readline().split()]
    assert len(pids) == 4 and all(_alive(pid) for pid in pids)
    runner.send_signal(signal.SIGKILL)
    runner.wait()
    deadline = time.monotonic() + 5
    while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    left = [pid for pid in pids if _alive(pid)]
    for pid in left:  # don't leave them to the next test either
        os.kill(pid, signal.SIGKILL)
    assert not left, f"still running after the runner was SIGKILLed: {left}"


def _queues_and_hostname(argv: list[str]) -> tuple[str, str]:
    return argv[argv.index("--queues") + 1], argv[argv.index("--hostname") + 1]


def test_make_run_starts_one_worker_of_each_kind_and_one_beat(tmp_path):
    from wireflow_site.runner import worker_layout

    layout = worker_layout({}, var_dir=tmp_path, hosts=0, nodename="laptop")
    assert [name for name, _, _ in layout] == ["celery", "celery-remote", "beat"]
    assert [_queues_and_hostname(argv) for _, argv, _ in layout[:2]] == [
        ("celery", "wireflow@laptop"), ("celery.remote", "remote@laptop")]
    assert all(env == {} for _, _, env in layout)  # the runner's own var dir


def test_the_production_layout_starts_n_hosts_of_both_workers_with_var_dirs_of_their_own(
        tmp_path):
    from wireflow_site.runner import worker_layout

    layout = worker_layout({"CELERY_QUEUE": "jobs", "CELERY_REMOTE_CONCURRENCY": "32"},
                           var_dir=tmp_path, hosts=3, nodename="box")
    workers = [(name, argv, env) for name, argv, env in layout if name != "beat"]
    assert len(workers) == 6
    assert sorted(_queues_and_hostname(argv) for _, argv, _ in workers) == [
        *[("jobs", f"wireflow-{i}@box") for i in (1, 2, 3)],
        *[("jobs.remote", f"remote-{i}@box") for i in (1, 2, 3)]]
    remote = [argv for name, argv, _ in workers if name.startswith("celery-remote")]
    assert all(argv[argv.index("--pool") + 1] == "threads"
               and argv[argv.index("--concurrency") + 1] == "32" for argv in remote)
    # No two hosts share a var dir; both workers of one host share theirs.
    var_dirs = {name: env["WIREFLOW_VAR_DIR"] for name, _, env in workers}
    assert len(set(var_dirs.values())) == 3
    assert var_dirs["celery-2"] == var_dirs["celery-remote-2"] == str(tmp_path / "hosts/host2")
    assert [name for name, argv, _ in layout if "beat" in argv] == ["beat"]  # exactly one


def test_the_production_layout_refuses_sqlite_and_a_nonsense_worker_count(monkeypatch):
    import pytest

    from wireflow_site.runner import Runner

    monkeypatch.setenv("WORKERS", "0")
    with pytest.raises(ValueError, match="WORKERS"):
        Runner(prod=True)
    monkeypatch.setenv("WORKERS", "2")
    monkeypatch.setenv("DATABASE_URL", "sqlite:///var/db.sqlite3")
    with pytest.raises(ValueError, match="PostgreSQL"):
        Runner(prod=True).prepare_production()
