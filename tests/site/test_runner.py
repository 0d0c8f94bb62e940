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
