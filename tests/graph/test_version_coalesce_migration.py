"""graph/migrations/0005 coalesces an existing history as saves coalesce live: each run of one
author's autosaves keeps its newest version; a version a run used, one restored from, the
latest and every non-edit version stay."""

from __future__ import annotations

import importlib
from datetime import timedelta

import pytest
from django.apps import apps
from django.utils import timezone

from accounts.activity import Kind, activity_record
from executions.models import Execution
from graph.models import Workflow, WorkflowVersion

pytestmark = pytest.mark.django_db
coalesce = importlib.import_module("graph.migrations.0005_named_and_coalesced_versions").coalesce


def test_the_migration_keeps_one_version_per_burst_and_what_is_referenced(team, make_user):
    eve, bob = make_user(team=team), make_user(team=team)
    workflow = Workflow.objects.create(team=team, name="Old", version=40)
    start = timezone.now() - timedelta(hours=3)
    plan = [(1, "create", eve, 0)]
    plan += [(n, "update", eve, (n - 1) * 1.5) for n in range(2, 22)]  # eve: 30 s of autosave
    plan += [(n, "update", bob, 60 + n) for n in range(22, 26)]  # bob takes over
    plan += [(n, "update", bob, 1200 + n) for n in range(26, 31)]  # bob, 20 min later
    plan += [(31, "restore", bob, 1300)]
    plan += [(n, "patch_node", eve, 1400 + n * 60) for n in range(32, 41)]  # 9 min, no gap
    for number, source, user, seconds in plan:
        WorkflowVersion.objects.create(
            workflow=workflow, number=number, name="Old", nodes=[{"id": f"n{number}"}],
            source=source, created_by=user, created_at=start + timedelta(seconds=seconds))
    ran = WorkflowVersion.objects.get(workflow=workflow, number=10)
    Execution.objects.create(team=team, workflow=workflow, workflow_version=ran)
    activity_record(team_id=team.pk, kind=Kind.VERSION_RESTORED, workflow_id=workflow.pk,
                    details={"number": 23, "as": 31})

    coalesce(apps, None)

    kept = list(WorkflowVersion.objects.filter(workflow=workflow).order_by("number")
                .values_list("number", "saves"))
    assert kept == [(1, 1), (10, 9), (21, 11), (23, 2), (25, 2), (30, 5), (31, 1), (40, 9)]
    last = WorkflowVersion.objects.get(workflow=workflow, number=40)
    assert last.started_at == start + timedelta(seconds=1400 + 32 * 60)
    assert Execution.objects.get().workflow_version_id == ran.pk
