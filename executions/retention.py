"""Retention: runs older than their team's plan keeps them (accounts.plans, `retention_days`),
and the runs of deleted workflows, are deleted with their files, in bounded batches; so are
uploads nothing has used for as long.

A file is never deleted while it is *protected*:
- a favourite (`Asset.favorite`);
- referenced by a saved workflow of its team: any URL of ours in a live workflow's definition
  that names it (an Image Input's uploaded image, an output URL pasted into a setting), and
  the outputs a node of such a workflow is pinned to (`data.pinned`, executions.pins), even
  while no kept run has used the pin yet (`referenced_names`);
- taken as an input by a run still kept (an Image Input naming it sets `last_used_at`), or
  reused from the cache by a run still kept (`NodeRun.cached_from`).

A run some of whose files are protected keeps those (and its rows, so their provenance stays)
and loses the rest; it is looked at again a day later (`Execution.pruned_at`). Files are
deleted from the storage after the rows' transaction commits: a storage error leaves an
orphaned file, never a row pointing at a missing one.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone

from accounts.models import Team
from accounts.plans import PLAN_LIMITS
from executions import pollcache
from executions.assets import asset_file_names, storage_delete
from executions.fetch import own_media_names
from executions.models import EXECUTION_DONE, RUN_SNAPSHOT, Asset, Execution, NodeRun
from executions.pins import pin_of
from graph.models import Workflow, WorkflowTemplate
from wireflow_site.errors import ApiError

log = logging.getLogger(__name__)
REVISIT_AFTER = timedelta(days=1)  # a run kept for its protected files is looked at again


@dataclass
class Pruned:
    executions: int = 0
    kept: int = 0  # runs kept for protected files
    assets: int = 0
    files: int = 0
    names: list[str] = field(default_factory=list, repr=False)

    def add(self, other: Pruned) -> None:
        self.executions += other.executions
        self.kept += other.kept
        self.assets += other.assets
        self.files += other.files


# --- what is referenced ----------------------------------------------------------------------

def _strings(value: Any) -> Iterable[str]:
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def _named(nodes: Any) -> set[str]:
    """The storage names of ours that URLs anywhere in a graph's nodes name."""
    names: set[str] = set()
    for text in _strings(nodes):
        if "/" in text and (text.startswith(("http://", "https://", "/"))):
            names.update(own_media_names(text))
    return names


# Other apps' models whose (team_id, <field>) names an asset retention must keep while the row
# exists, e.g. a client app's cover: ("clientapps.App", "cover_asset"), registered by that app's
# AppConfig.ready (so the engine imports none of them).
KEPT_ASSET_FIELDS: list[tuple[str, str]] = []


def asset_field_keep(model_label: str, name: str) -> None:
    if (model_label, name) not in KEPT_ASSET_FIELDS:
        KEPT_ASSET_FIELDS.append((model_label, name))


def _kept_by_other_apps(team_id: int) -> list:
    from django.apps import apps

    kept = []
    for label, name in KEPT_ASSET_FIELDS:
        model = apps.get_model(label)
        kept += list(model.objects.filter(team_id=team_id).exclude(
            **{f"{name}__isnull": True}).values_list(f"{name}_id", flat=True))
    return kept


def referenced_names(team_id: int) -> set[str]:
    """Storage names the team's saved (not deleted) workflows and its templates name by URL,
    anywhere in their definitions, its templates' covers and the assets other apps keep
    (`asset_field_keep`: client apps' covers)."""
    names: set[str] = set()
    pinned = Q()
    for nodes in Workflow.objects.filter(team_id=team_id, deleted_at__isnull=True).values_list(
            "nodes", flat=True).iterator():
        names.update(_named(nodes))
        for node in nodes if isinstance(nodes, list) else []:
            try:
                execution_id = pin_of(node)
            except ApiError:  # a malformed pin pins nothing
                continue
            if execution_id:
                pinned |= Q(node_run__execution_id=execution_id, node_run__node_id=node["id"])
    if pinned:
        names.update(Asset.objects.filter(pinned, node_run__execution__team_id=team_id)
                     .values_list("file", flat=True))
    covers = []
    for nodes, cover in WorkflowTemplate.objects.filter(team_id=team_id).values_list(
            "nodes", "cover_asset_id").iterator():
        names.update(_named(nodes))
        if cover is not None:
            covers.append(cover)
    covers += _kept_by_other_apps(team_id)
    if covers:
        names.update(Asset.objects.filter(team_id=team_id, pk__in=covers)
                     .values_list("file", flat=True))
    return names


class References:
    """Referenced names per team, read once per pass."""

    def __init__(self) -> None:
        self.by_team: dict[int, set[str]] = {}

    def of(self, team_id: int) -> set[str]:
        if team_id not in self.by_team:
            self.by_team[team_id] = referenced_names(team_id)
        return self.by_team[team_id]


def _protected(asset: Asset, *, referenced: set[str], used_since: datetime | None) -> bool:
    """`used_since`: a use as an input since then protects it (None: any use, for a plan that
    keeps runs for ever)."""
    return (asset.favorite or asset.file.name in referenced
            or (asset.last_used_at is not None
                and (used_since is None or asset.last_used_at >= used_since)))


def used_since(plan: str, now: datetime) -> datetime | None:
    """From when a run is still kept on this plan (None: all are)."""
    days = PLAN_LIMITS[plan].retention_days
    return None if days is None else now - timedelta(days=days)


# --- deleting --------------------------------------------------------------------------------

def _delete_files_on_commit(names: list[str]) -> None:
    if names:
        transaction.on_commit(lambda: _delete_files(names))


def _delete_files(names: list[str]) -> None:
    try:
        storage_delete(names)
    except Exception:  # noqa: BLE001 - an orphaned file is logged, never a failed prune
        log.exception("could not delete %d stored file(s)", len(names))


def execution_prune(execution: Execution, *, references: References,
                    used_since: datetime | None, force: bool = False) -> Pruned:
    """Delete the run's files that are not protected; the run itself too when none is left
    (always with `force`: an explicit delete, whose protected files stay as team assets)."""
    pruned = Pruned()
    with transaction.atomic():
        assets = list(Asset.objects.select_for_update().filter(node_run__execution=execution))
        referenced = references.of(execution.team_id)
        keep = [a for a in assets if _protected(a, referenced=referenced, used_since=used_since)]
        reused = NodeRun.objects.filter(cached_from__execution=execution).exclude(
            execution=execution).values_list("cached_from_id", flat=True)
        reused_runs = set(reused)
        keep += [a for a in assets if a not in keep and a.node_run_id in reused_runs]
        gone = [a for a in assets if a not in keep]
        names = [name for asset in gone for name in asset_file_names(asset)]
        Asset.objects.filter(pk__in=[a.pk for a in gone]).delete()
        if keep and not force:
            # What lost its files is no cache hit any more.
            NodeRun.objects.filter(pk__in={a.node_run_id for a in gone}).update(cache_key="")
            Execution.objects.filter(pk=execution.pk).update(pruned_at=timezone.now())
            pruned.kept = 1
            if gone:  # its cached poll answer names files that are no more
                pk, seq = execution.pk, execution.seq
                transaction.on_commit(lambda: pollcache.payload_forget(pk, seq), robust=True)
        else:
            if keep:  # an explicit delete: protected files stay, as the team's
                Asset.objects.filter(pk__in=[a.pk for a in keep]).update(node_run=None)
            Execution.objects.filter(pk=execution.pk).delete()
            pruned.executions = 1
        _delete_files_on_commit(names)
    pruned.assets, pruned.files, pruned.names = len(gone), len(names), names
    return pruned


def uploads_prune(team_id: int, *, cutoff: datetime, references: References,
                  limit: int) -> Pruned:
    """Uploads (and fetched input images) made before `cutoff`, not used since, and not
    protected: deleted with their files."""
    pruned = Pruned()
    stale = Asset.objects.filter(
        team_id=team_id, node_run__isnull=True, favorite=False, created_at__lt=cutoff,
    ).filter(Q(last_used_at__isnull=True) | Q(last_used_at__lt=cutoff))
    if not stale.exists():  # the common case: no workflow of the team need be read
        return pruned
    # Referenced ones are left out of the query, so however many there are, the batch
    # reaches the deletable ones behind them.
    stale = stale.exclude(file__in=references.of(team_id))
    with transaction.atomic():
        gone = list(stale.select_for_update(skip_locked=True).order_by("created_at")[:limit])
        names = [name for asset in gone for name in asset_file_names(asset)]
        Asset.objects.filter(pk__in=[a.pk for a in gone]).delete()
        _delete_files_on_commit(names)
    pruned.assets, pruned.files, pruned.names = len(gone), len(names), names
    return pruned


# --- the periodic pass -----------------------------------------------------------------------

def _due(found, now: datetime):
    return found.filter(status__in=EXECUTION_DONE).filter(
        Q(pruned_at__isnull=True) | Q(pruned_at__lt=now - REVISIT_AFTER))


def retention_prune(*, now: datetime | None = None, batch: int = 100,
                    budget: float = 30.0) -> Pruned:
    """One pass of the periodic task: batches of `batch` expired runs (their plan's retention
    passed, or their workflow deleted) and of stale uploads, until none is left or `budget`
    seconds are spent; the next pass carries on."""
    now = now or timezone.now()
    until = time.monotonic() + budget
    total = Pruned()
    references = References()
    plans = {plan: limits.retention_days for plan, limits in PLAN_LIMITS.items()
             if limits.retention_days is not None}
    expired = Q(workflow__deleted_at__isnull=False)
    for plan, days in plans.items():
        expired |= Q(team__plan=plan, created_at__lt=now - timedelta(days=days))
    while True:  # at least one batch, then as many as the budget allows
        runs = list(_due(Execution.objects.filter(expired), now).defer(*RUN_SNAPSHOT).annotate(
            team_plan=F("team__plan")).order_by("created_at")[:batch])
        for execution in runs:
            total.add(execution_prune(execution, references=references,
                                      used_since=used_since(execution.team_plan, now)))
        if len(runs) < batch or time.monotonic() >= until:
            break
    for team_id, plan in Team.objects.filter(plan__in=list(plans)).values_list("id", "plan"):
        if time.monotonic() >= until:
            break
        total.add(uploads_prune(team_id, cutoff=now - timedelta(days=plans[plan]),
                                references=references, limit=batch))
    if total.executions or total.assets:
        log.info("retention: %d run(s) and %d file(s) deleted, %d run(s) kept for favourite "
                 "or referenced files", total.executions, total.files, total.kept)
    return total


# --- explicit deletes ------------------------------------------------------------------------

def workflow_files_delete(*, workflow_id: Any, batch: int = 100, budget: float = 30.0) -> bool:
    """A deleted workflow's runs and their files (protected files stay, as retention keeps
    them). True when none is left to look at; else the caller sends it again."""
    until = time.monotonic() + budget
    references = References()
    now = timezone.now()
    while True:
        runs = list(_due(Execution.objects.filter(workflow_id=workflow_id,
                                                  workflow__deleted_at__isnull=False), now)
                    .defer(*RUN_SNAPSHOT).annotate(team_plan=F("team__plan"))[:batch])
        for execution in runs:
            execution_prune(execution, references=references,
                            used_since=used_since(execution.team_plan, now))
        if len(runs) < batch:
            return True
        if time.monotonic() >= until:
            return False


def execution_delete(*, execution: Execution) -> Pruned:
    """An explicit delete of a finished run: its rows, and its files that nothing protects
    (those stay among the team's assets)."""
    return execution_prune(execution, references=References(), force=True,
                           used_since=used_since(execution.team.plan, timezone.now()))
