"""Where an accepted trigger's time goes: pyinstrument over N key-less triggers of the 3-node
workflow of bench_intake, through Django's handler in this process (no network, no worker).

    .venv/bin/python -m wireflow_site.embedded_redis -- .venv/bin/python bench/profile_intake.py

Prints what one accepted trigger costs unprofiled (wall, and CPU of this process's threads)
and under the profiler, then pyinstrument's call tree (PROFILE_RUNS, default 300;
PROFILE_HTML names a file to write the HTML report to). SQLite in a temporary directory unless
DATABASE_URL is set. Not part of `make bench` (a profiler's overhead is not a figure).
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
TMP = Path(tempfile.mkdtemp(prefix="profile-intake-"))
os.environ.setdefault("DATABASE_URL", f"sqlite:///{TMP / 'db.sqlite3'}")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wireflow_site.settings")
os.environ.update({"DEBUG": "0", "HTTPS": "0", "RATE_LIMITS_ENABLED": "0",
                   "WIREFLOW_VAR_DIR": str(TMP), "LOG_LEVEL": "WARNING",
                   "SECRET_KEY": "profile-intake-" + "x" * 40})
RUNS = int(os.environ.get("PROFILE_RUNS", "300"))

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402
from pyinstrument import Profiler  # noqa: E402

from accounts.selectors import Principal  # noqa: E402
from accounts.services import credits_set, team_create  # noqa: E402
from bench.support import TRIGGER_EDGES, TRIGGER_NODES  # noqa: E402
from graph.services import workflow_create  # noqa: E402


def main() -> int:
    call_command("migrate", "--noinput", "-v", "0")
    team = team_create(name="Profile intake", slug=f"profile-{time.time_ns()}",
                       plan="enterprise")
    credits_set(team=team, balance=10**12)
    workflow, _ = workflow_create(
        team=team, actor=Principal(user=None, api_key=None), name="profile 3 nodes",
        nodes=TRIGGER_NODES, edges=TRIGGER_EDGES)
    client = Client(HTTP_HOST="127.0.0.1")
    url = f"/api/v1/workflow/{workflow.webhook_id}/trigger"
    body = json.dumps({"t": "a product photo of a red sneaker"})
    for _ in range(20):  # warm: imports, connections, caches
        assert client.post(url, body, content_type="application/json").status_code == 202
    with CaptureQueriesContext(connection) as queries:
        assert client.post(url, body, content_type="application/json").status_code == 202
    print(f"one trigger's statements ({len(queries)}):")
    for query in queries:
        print(f"  {query['sql'][:150]}")
    # Unprofiled first: what one accepted run costs this process (CPU of all its threads, the
    # event sender's included; the database and Redis servers' own CPU is not in it).
    cpu, start = time.process_time(), time.perf_counter()
    for _ in range(RUNS):
        assert client.post(url, body, content_type="application/json").status_code == 202
    print(f"{RUNS} triggers unprofiled: {(time.perf_counter() - start) / RUNS * 1000:.2f} ms "
          f"each, {(time.process_time() - cpu) / RUNS * 1000:.2f} ms of CPU")
    profiler = Profiler(interval=0.0005)
    start = time.perf_counter()
    with profiler:
        for _ in range(RUNS):
            response = client.post(url, body, content_type="application/json")
            assert response.status_code == 202, response.content
    elapsed = time.perf_counter() - start
    print(f"{RUNS} triggers: {elapsed / RUNS * 1000:.2f} ms each under the profiler "
          f"({os.environ['DATABASE_URL'].split(':')[0]})")
    print(profiler.output_text(unicode=True, color=False, show_all=False))
    if os.environ.get("PROFILE_HTML"):
        Path(os.environ["PROFILE_HTML"]).write_text(profiler.output_html())
    return 0


if __name__ == "__main__":
    sys.exit(main())
