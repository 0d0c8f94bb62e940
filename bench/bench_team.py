"""What the team workspace costs: an activity line on every change, the autosave path with and
without it, the usage page's reads on a busy team (5,000 runs, 10,000 ledger lines in 30
days) and the three-way merge of a teammate's save at the graph caps. Medians; prints
figures, asserts nothing about time.

Uses its own database (var/bench-team.sqlite3 unless DATABASE_URL is set) and the Redis of
REDIS_URL. Run from the repository root: python bench/bench_team.py (make bench runs it with
an embedded Redis).
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DATABASE_URL", f"sqlite:///{ROOT / 'var' / 'bench-team.sqlite3'}")
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "wireflow_site.settings")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.utils import timezone  # noqa: E402

from accounts.activity import Kind, activity_record  # noqa: E402
from accounts.models import CreditLedgerEntry, Team, User  # noqa: E402
from accounts.selectors import principal_for_user  # noqa: E402
from accounts.services import membership_set, team_create  # noqa: E402
from executions import usage  # noqa: E402
from executions.api.team_usage import CSV_COLUMNS  # noqa: E402
from executions.models import Execution  # noqa: E402
from graph import versions  # noqa: E402
from graph.merge import merge_graphs  # noqa: E402
from graph.models import WorkflowVersion  # noqa: E402
from graph.services import workflow_create, workflow_update  # noqa: E402

RUNS, WORKFLOWS, MEMBERS = 5000, 20, 8


def median_ms(action, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        action()
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


def graph(n: int) -> tuple[list, list]:
    nodes = [{"id": "text", "type": "basedNode", "position": {"x": n, "y": 0},
              "data": {"label": "text", "nodeType": "input:text", "config": {"prompt": f"{n}"}}},
             {"id": "up", "type": "basedNode", "position": {"x": 300, "y": 0},
              "data": {"label": "up", "nodeType": "process:upscale_local",
                       "config": {"scale": 2}}}]
    return nodes, []


def main() -> int:
    call_command("migrate", "--noinput", "-v", "0")
    CreditLedgerEntry.objects.filter(team__slug="bench-team").delete()  # its own database
    Team.objects.filter(slug="bench-team").delete()
    team = team_create(name="Bench team", slug="bench-team", plan="enterprise")
    users = []
    for n in range(MEMBERS):
        user = User.objects.filter(username=f"bench-member-{n}").first() or \
            User.objects.create_user(username=f"bench-member-{n}")
        membership_set(team=team, user=user, role="editor")
        users.append(user)
    actor = principal_for_user(users[0])
    workflows = [workflow_create(team=team, actor=actor, name=f"Workflow {n}", nodes=graph(n)[0],
                                 edges=[], strict=False)[0] for n in range(WORKFLOWS)]

    insert = median_ms(lambda: activity_record(
        team_id=team.pk, kind=Kind.RUN_STARTED, user=users[1], source="editor",
        workflow_id=workflows[0].pk, workflow_name="Workflow 0"), 300)
    counter = iter(range(10_000, 10_000_000))

    def save(log: bool):
        nodes, edges = graph(next(counter))
        workflow_update(workflow=workflows[1], actor=actor, changes={"nodes": nodes},
                        strict=False, log=log)

    save(True)  # the session's first line; the rest coalesce into it (one SELECT, no INSERT)
    plain, logged = [], []
    for _ in range(200):  # interleaved, so both see the same machine
        plain.append(median_ms(lambda: save(False), 1))
        logged.append(median_ms(lambda: save(True), 1))
    save_plain, save_logged = statistics.median(plain), statistics.median(logged)
    print(f"activity line insert: {insert:.2f} ms (median of 300)")
    print(f"autosave (workflow_update, 2 nodes): {save_plain:.2f} ms without the log, "
          f"{save_logged:.2f} ms with it (edits coalesced; median of 200 each)")
    # The 401 saves above are one editing burst: one version once the superseded ones go.
    saved_rows = WorkflowVersion.objects.filter(workflow=workflows[1]).count()
    versions.versions_prune(workflow=workflows[1], now=timezone.now() + versions.GRACE * 2)
    kept = WorkflowVersion.objects.filter(workflow=workflows[1]).count()
    print(f"version rows after 401 autosaves: {saved_rows} within the {versions.GRACE.seconds} s "
          f"grace, {kept} after it (create + the burst's newest)")

    # A teammate's save merged into ours at the caps (100 nodes, 500 edges), each side having
    # changed 10 nodes' settings: the pure merge the editor's preview and save run.
    big = [{"id": f"n{i}", "type": "basedNode", "position": {"x": i, "y": 0},
            "data": {"label": f"n{i}", "nodeType": "process:upscale_local",
                     "config": {"scale": 2, "note": f"{i}"}}} for i in range(100)]
    wires = [{"id": f"e{i}", "source": f"n{i % 99}", "sourceHandle": "out-image",
              "target": f"n{(i % 99) + 1}", "targetHandle": f"in-image-{i // 99}"}
             for i in range(500)]
    mine_nodes, theirs_nodes = [dict(n) for n in big], [dict(n) for n in big]
    for i in range(10):
        mine_nodes[i] = {**big[i], "data": {**big[i]["data"], "config": {"scale": 4}}}
        theirs_nodes[50 + i] = {**big[50 + i], "position": {"x": -i, "y": 9}}
    merge_ms = median_ms(lambda: merge_graphs(
        base={"nodes": big, "edges": wires}, mine={"nodes": mine_nodes, "edges": wires},
        theirs={"nodes": theirs_nodes, "edges": wires}), 50)
    print(f"three-way merge at the caps (100 nodes, 500 edges, 10 nodes changed per side): "
          f"{merge_ms:.1f} ms (median of 50)")

    now = timezone.now()
    rng = random.Random(7)
    runs = Execution.objects.bulk_create([
        Execution(team=team, workflow=rng.choice(workflows), created_by=rng.choice(users),
                  trigger="editor", created_at=now - timedelta(days=rng.random() * 29))
        for _ in range(RUNS)])
    lines = []
    for run in runs:
        reference = f"execution:{run.pk}"
        lines.append(CreditLedgerEntry(team=team, kind="charge", delta=-10, balance_after=0,
                                       reference=reference, created_at=run.created_at))
        lines.append(CreditLedgerEntry(team=team, kind="refund", delta=rng.randint(0, 9),
                                       balance_after=0, reference=reference,
                                       created_at=run.created_at + timedelta(seconds=30)))
    CreditLedgerEntry.objects.bulk_create(lines, batch_size=2000)
    summary = median_ms(lambda: usage.team_usage(team=team), 10)
    page = median_ms(lambda: usage.ledger_rows(team, usage.team_ledger(team=team)[:25]), 30)

    def export():
        entries = usage.team_ledger(team=team)
        rows = 0
        for start in range(0, entries.count(), 2000):
            rows += len(usage.ledger_rows(team, entries[start:start + 2000]))
        assert rows == len(lines) and len(CSV_COLUMNS) == 10

    csv_ms = median_ms(export, 3)
    print(f"usage summary, {RUNS} runs / {len(lines)} ledger lines in 30 days: "
          f"{summary:.0f} ms (median of 10)")
    print(f"ledger page of 25 with their runs: {page:.1f} ms; all {len(lines)} lines for the "
          f"CSV: {csv_ms:.0f} ms (median of 3)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
