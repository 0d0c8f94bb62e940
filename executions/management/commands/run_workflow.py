"""Run a saved workflow (by id) or a workflow file through the same Celery path as the API.

Shows a live progress bar per node and prints the result as JSON: node states, output files'
URLs, timings. Ctrl-C cancels the run.
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from accounts.models import Team
from executions.assets import asset_url
from executions.models import Asset, Execution, NodeRun
from executions.outputs import ref_asset_ids
from executions.selectors import execution_poll_payload
from executions.services import execution_cancel, execution_start, workflow_execute
from graph.models import Workflow
from wireflow_site.celery import app as celery_app
from wireflow_site.errors import ApiError

BAR = 24
SYMBOL = {"COMPLETED": "✔", "CACHED": "↺", "FAILED": "✘", "SKIPPED": "·", "CANCELLED": "■"}


class Command(BaseCommand):
    help = "Run a workflow (id or JSON file) on the Celery workers and print the result as JSON."

    def add_arguments(self, parser):
        parser.add_argument("workflow", help="a workflow id, or a path to a workflow JSON file")
        parser.add_argument("--inputs", default="{}", help='per-run inputs: {"nodeId": value}')
        parser.add_argument("--target", default=None, help="run only this node and its inputs")
        parser.add_argument("--force", action="store_true", help="ignore cached results")
        parser.add_argument("--team", default=None, help="team slug (for a file; default: demo)")
        parser.add_argument("--timeout", type=float, default=900, help="seconds to wait")
        parser.add_argument("--no-worker-check", action="store_true")

    def handle(self, *args, **options):
        try:
            inputs = json.loads(options["inputs"])
        except json.JSONDecodeError as exc:
            raise CommandError(f"--inputs is not valid JSON: {exc}") from exc
        if not isinstance(inputs, dict):
            raise CommandError('--inputs must be a JSON object: {"nodeId": value}')
        if not options["no_worker_check"] and not celery_app.control.ping(timeout=2):
            raise CommandError("No Celery worker answered. Start the app with `make run` "
                               "(or a worker with `celery -A wireflow_site worker`).")
        team, workflow, nodes, edges = self._load(options["workflow"], options["team"])
        try:
            run_options = {"trigger": Execution.Trigger.CLI, "inputs": inputs,
                        "target_node_id": options["target"], "force": options["force"]}
            if workflow is not None:  # a saved workflow: as the API starts it
                execution = workflow_execute(workflow=workflow, actor=None, **run_options)
            else:  # a workflow file: its graph, as the team's
                execution = execution_start(team=team, nodes=nodes, edges=edges, **run_options)
        except ApiError as error:
            detail = json.dumps(error.body(), indent=2)
            raise CommandError(f"{error.message}\n{detail}") from error
        self.stderr.write(f"Execution {execution.pk} started\n")
        try:
            self._watch(execution, options["timeout"])
        except KeyboardInterrupt:
            execution_cancel(execution=execution)
            self.stderr.write("\nCancelled.\n")
        execution.refresh_from_db()
        self.stdout.write(json.dumps(self._result(execution), indent=2))
        if execution.status != "COMPLETED":
            sys.exit(1)

    def _load(self, ref: str, team_slug: str | None):
        path = Path(ref)
        if path.suffix == ".json" or path.exists():
            try:
                data = json.loads(path.read_text())
            except (OSError, json.JSONDecodeError) as exc:
                raise CommandError(f"Cannot read {ref}: {exc}") from exc
            team = Team.objects.filter(slug=team_slug or "demo").first()
            if team is None:
                raise CommandError(f"No team '{team_slug or 'demo'}' (use --team SLUG)")
            return team, None, data.get("nodes", []), data.get("edges", [])
        workflow = Workflow.objects.filter(pk=ref if _is_uuid(ref) else None,
                                           deleted_at__isnull=True).first()
        if workflow is None:
            raise CommandError(f"No workflow {ref} (give a workflow id or a .json file)")
        return workflow.team, workflow, workflow.nodes, workflow.edges

    def _watch(self, execution: Execution, timeout: float) -> None:
        tty = self.stderr.isatty()
        deadline = time.monotonic() + timeout
        shown: dict[str, tuple[str, int]] = {}
        drawn = 0
        while True:
            execution.refresh_from_db()
            runs = list(NodeRun.objects.filter(execution=execution).order_by("position"))
            if tty:
                if drawn:
                    self.stderr.write(f"\x1b[{drawn}F")
                for run in runs:
                    self.stderr.write("\x1b[2K" + _bar(run) + "\n")
                drawn = len(runs)
            else:
                for run in runs:
                    state = (run.status, int(run.progress * 10))
                    if shown.get(run.node_id) != state:
                        shown[run.node_id] = state
                        self.stderr.write(_bar(run) + "\n")
            if execution.is_done:
                return
            if time.monotonic() > deadline:
                execution_cancel(execution=execution)
                raise CommandError(f"Timed out after {timeout:.0f}s; the run was cancelled")
            time.sleep(0.25)

    def _result(self, execution: Execution) -> dict:
        payload = execution_poll_payload(execution)
        files = {}
        for run in execution.node_runs.all():
            for port, ref in run.outputs.items():
                ids = ref_asset_ids(ref)
                found = {str(a.pk): a for a in Asset.objects.filter(pk__in=ids)}
                for index, pk in enumerate(ids):
                    if pk in found:
                        name = f"{run.node_id}.{port}" + (f".{index + 1}" if index else "")
                        files[name] = asset_url(found[pk])
        payload["files"] = files
        payload["durationSeconds"] = (
            round((execution.finished_at - execution.created_at).total_seconds(), 3)
            if execution.finished_at else None
        )
        return payload


def _bar(run: NodeRun) -> str:
    filled = int(round(run.progress * BAR))
    symbol = SYMBOL.get(run.status, " ")
    bar = "█" * filled + "░" * (BAR - filled)
    note = f"  {run.error[:80]}" if run.error else ""
    return f"{symbol} {run.node_id[:24]:<24} {bar} {run.status:<9}{note}"


def _is_uuid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True
