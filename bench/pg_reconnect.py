"""How soon a database-backed request answers 200 again after a PostgreSQL outage, with the
pool settings before issue 14 (timeout 30 s, psycopg_pool's reconnect_timeout of 5 min) and
with today's (3 s, 1 s), one after the other in one run.

Each setting gets a PostgreSQL cluster of its own (initdb into a temporary directory, as
tests/reliability/test_postgres_restart.py does) and a daphne on it; four clients read
GET /api/v1/workflows in a loop while PostgreSQL is stopped (`pg_ctl stop -m fast`) for
OUTAGE seconds (default 40, the outage issue 14 measured by hand) and started again.
Not part of `make bench` (it takes about two minutes):

    python bench/pg_reconnect.py [OUTAGE_SECONDS]

Prints figures; never fails on time.
"""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wireflow_site.test_settings")

import django  # noqa: E402

django.setup()

import httpx  # noqa: E402

from tests.conftest import _free_port  # noqa: E402
from tests.live import LiveServer  # noqa: E402
from tests.reliability.procs_support import PrivatePostgres, RestartableRedis  # noqa: E402
from tests.reliability.test_postgres_restart import MAKE_KEY  # noqa: E402

logging.getLogger("httpx").setLevel(logging.WARNING)
CLIENTS = 4
SETTINGS = {
    "before (timeout 30 s, reconnect_timeout 300 s)": {"DB_POOL_TIMEOUT": "30",
                                                       "DB_RECONNECT_TIMEOUT": "300"},
    "today (timeout 3 s, reconnect_timeout 1 s)": {"DB_POOL_TIMEOUT": "3",
                                                   "DB_RECONNECT_TIMEOUT": "1"},
}


def measure(pool_env: dict[str, str], outage: float) -> str:
    postgres, redis_server = PrivatePostgres(), RestartableRedis().start()
    server = None
    try:
        postgres.init()
        env = {"DATABASE_URL": postgres.url, "REDIS_URL": redis_server.url,
               "CELERY_QUEUE": f"bench-pg-{uuid.uuid4().hex[:8]}", "RATE_LIMITS_ENABLED": "0",
               **pool_env}
        app_env = {**os.environ, **env}
        manage = [sys.executable, "manage.py"]
        subprocess.run([*manage, "migrate", "--verbosity", "0"], env=app_env, cwd=ROOT,
                       check=True)
        raw_key = subprocess.run([*manage, "shell", "-c", MAKE_KEY], env=app_env, cwd=ROOT,
                                 check=True, capture_output=True,
                                 text=True).stdout.strip().splitlines()[-1]
        server = LiveServer(url=f"http://127.0.0.1:{_free_port()}", extra_env=env)
        server.log = server.log.with_name(f"bench-pg-daphne-{os.getpid()}.log")
        server.start()
        answers: list[tuple[float, float, int]] = []  # started, answered, status (0: no answer)
        stop = threading.Event()

        def read() -> None:
            with httpx.Client(base_url=server.url, timeout=60,
                              headers={"Authorization": f"Bearer {raw_key}"}) as client:
                while not stop.is_set():
                    started = time.monotonic()
                    try:
                        status = client.get("/api/v1/workflows").status_code
                    except httpx.HTTPError:
                        status = 0
                    answers.append((started, time.monotonic(), status))
                    time.sleep(0.05)

        clients = [threading.Thread(target=read) for _ in range(CLIENTS)]
        for client in clients:
            client.start()
        time.sleep(1)
        postgres.stop("fast")
        down = time.monotonic()
        time.sleep(outage)
        postgres.start(wait=False)
        while not postgres.accepts_connections():
            time.sleep(0.01)
        up = time.monotonic()
        deadline = up + 90
        while time.monotonic() < deadline and not any(
                status == 200 and answered > up for _, answered, status in answers):
            time.sleep(0.05)
        stop.set()
        for client in clients:
            client.join(timeout=70)
        served = [answered for _, answered, status in answers if status == 200 and answered > up]
        during = [(answered - started, status) for started, answered, status in answers
                  if down < answered <= up]
        statuses = sorted({status for _, status in during})
        slowest = max((seconds for seconds, _ in during), default=0.0)
        first = f"{min(served) - up:.2f} s" if served else "none within 90 s"
        return (f"first 200 {first} after PostgreSQL accepted connections; during the outage "
                f"{len(during)} answers, statuses {statuses}, slowest {slowest:.1f} s")
    finally:
        if server is not None:
            server.stop()
        redis_server.crash()
        postgres.destroy()


def main() -> None:
    if not PrivatePostgres.available():
        sys.exit(f"no PostgreSQL server binaries in {PrivatePostgres.BIN}")
    outage = float(sys.argv[1]) if len(sys.argv) > 1 else 40.0
    print(f"PostgreSQL stopped (-m fast) for {outage:g} s, {CLIENTS} clients reading:")
    for label, pool_env in SETTINGS.items():
        print(f"  {label}: {measure(pool_env, outage)}", flush=True)


if __name__ == "__main__":
    main()
