"""Every raw SQL statement of the engine, in one place, each with the reason it is not the ORM.

They run once or twice per node (the engine's hot path), where the ORM spent more compiling a
statement than the database spent running it, or they need `UPDATE … RETURNING` with
right-hand sides that read the old row, which the ORM cannot express (PostgreSQL and SQLite
≥ 3.35 both speak it). Table and column names always come from the models' `_meta`; values
go through each field's own conversion, so SQLite and PostgreSQL read and write them as the
ORM would.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from django.db import DEFAULT_DB_ALIAS, connection, connections
from django.db.models.fields import AutoFieldMixin

from executions.models import Execution, ExecutionStatus, NodeRun, NodeStatus
from graph.models import Workflow
from wireflow_site.partial import instance_from_row

# Node runs that are not finished: a run with one of these left is not over.
ACTIVE = (NodeStatus.PENDING, NodeStatus.QUEUED, NodeStatus.RUNNING)

_RUN = Execution._meta
_NODE = NodeRun._meta


def _run_column(name: str) -> str:
    return _RUN.get_field(name).column


def _node_column(name: str) -> str:
    return _NODE.get_field(name).column


def _run_pk(execution_id: Any) -> Any:
    return _RUN.pk.get_db_prep_value(execution_id, connection)


_LOCK_RUN_SQL = (f"SELECT 1 FROM {_RUN.db_table} WHERE {_run_column('id')} = %s FOR UPDATE")


def run_lock(execution_id: Any) -> None:
    """Take the run's row lock first in every transaction that changes its node runs, so all of
    them lock in the same order (run, then nodes) and can never deadlock each other. (SQLite
    has no row locks: its write transactions are serial already.) Raw SQL: it runs twice per
    node, and the ORM's version of this one-liner cost twice the statement itself."""
    if connection.features.has_select_for_update:
        with connection.cursor() as cursor:
            cursor.execute(_LOCK_RUN_SQL, [_run_pk(execution_id)])


class Numbers(NamedTuple):
    """The last sequence number a statement took for a run, and the run's team."""

    last: int
    team_id: int


def seq_take(execution_id: Any, count: int, *, charge: int = 0,
             simulated: bool = False) -> Numbers:
    """Take `count` sequence numbers of the run in one statement, inside the caller's
    transaction. Being an UPDATE of the run's row it also takes the run's row lock, so a
    transaction that starts with it needs no `run_lock`. A completed node's charge and
    simulated mark, totals on the same row, ride along instead of costing a statement each."""
    seq = _run_column("seq")
    assignments, params = [f"{seq} = {seq} + %s"], [count]
    if charge:
        charged = _run_column("credits_charged")
        assignments.append(f"{charged} = {charged} + %s")
        params.append(charge)
    if simulated:
        assignments.append(f"{_run_column('simulated')} = %s")
        params.append(True)
    params.append(_run_pk(execution_id))
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {_RUN.db_table} SET {', '.join(assignments)} "
                       f"WHERE {_run_column('id')} = %s "
                       f"RETURNING {seq}, {_run_column('team')}", params)
        last, team_id = cursor.fetchone()
    return Numbers(last, team_id)


class ClaimNumbers(NamedTuple):
    numbers: Numbers
    started: bool  # this claim started the run (QUEUED → RUNNING)


def seq_take_for_claim(execution_id: Any, now) -> ClaimNumbers:
    """A claim's first statement: the run's row lock and the number of the node's RUNNING
    event; for the run's first claim also QUEUED → RUNNING and a second number, for the run's
    own event. One statement where the ORM would need a SELECT and an UPDATE."""
    status, seq, started_at = (_run_column(n) for n in ("status", "seq", "started_at"))
    when = _RUN.get_field("started_at").get_db_prep_value(now, connection)
    queued = ExecutionStatus.QUEUED.value
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {_RUN.db_table} SET "
            f"{seq} = {seq} + CASE WHEN {status} = %s THEN 2 ELSE 1 END, "
            f"{started_at} = CASE WHEN {status} = %s THEN %s ELSE {started_at} END, "
            f"{status} = CASE WHEN {status} = %s THEN %s ELSE {status} END "
            f"WHERE {_run_column('id')} = %s "
            f"RETURNING {seq}, {_run_column('team')}, {started_at}",
            [queued, queued, when, queued, ExecutionStatus.RUNNING.value,
             _run_pk(execution_id)])
        row = cursor.fetchone()
    started = instance_from_row(Execution, [_RUN.get_field("started_at")], row[2:]).started_at
    return ClaimNumbers(Numbers(row[0], row[1]), started == now)


def node_run_update(node_run: NodeRun, from_status: str, **values: Any) -> bool:
    """One conditional UPDATE of the node run: only under its lease and in `from_status`, so a
    stale task can only lose. Raw SQL with each field's own conversion: it runs twice per node,
    and the ORM spent more compiling this than the database spent running it."""
    fields = [_NODE.get_field(name) for name in values]
    assignments = ", ".join(f"{field.column} = %s" for field in fields)
    params = [None if value is None else field.get_db_prep_save(
        value.pk if isinstance(value, NodeRun) else value, connection)
        for field, value in zip(fields, values.values())]
    params += [_NODE.pk.get_db_prep_value(node_run.pk, connection), node_run.lease, from_status]
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {_NODE.db_table} SET {assignments} "
                       f"WHERE {_node_column('id')} = %s AND {_node_column('lease')} = %s "
                       f"AND {_node_column('status')} = %s", params)
        return cursor.rowcount == 1


def successors_count_down(execution_id: Any, node_ids: list[str], *, lease: str,
                          now, item_index: int | None = None) -> list[NodeRun]:
    """Count down these successors' waiting inputs and move those that reach zero PENDING →
    QUEUED under `lease`. Returns the node runs that became ready, whole (a ready node run next
    in this task needs no SELECT), in topological order. With `item_index`, only that item's
    node runs of a fan-out (executions.branches); else every node run of these nodes.

    One UPDATE … RETURNING does it all (every right-hand side reads the old row), which the
    ORM cannot express; it runs once per finished node, the engine's hottest statement."""
    column = {name: _node_column(name) for name in (
        "execution", "node_id", "status", "waiting_inputs", "lease", "queued_at", "item_index")}
    last_input = f"({column['status']} = %s AND {column['waiting_inputs']} = 1)"
    placeholders = ", ".join(["%s"] * len(node_ids))
    fields = list(_NODE.concrete_fields)
    sql = (
        f"UPDATE {_NODE.db_table} SET "
        f"{column['waiting_inputs']} = {column['waiting_inputs']} - 1, "
        f"{column['status']} = CASE WHEN {last_input} THEN %s ELSE {column['status']} END, "
        f"{column['lease']} = CASE WHEN {last_input} THEN %s ELSE {column['lease']} END, "
        f"{column['queued_at']} = CASE WHEN {last_input} THEN %s "
        f"ELSE {column['queued_at']} END "
        f"WHERE {column['execution']} = %s AND {column['node_id']} IN ({placeholders}) "
        + (f"AND {column['item_index']} = %s " if item_index is not None else "")
        + f"RETURNING {', '.join(field.column for field in fields)}"
    )
    pending = NodeStatus.PENDING.value
    params = [
        pending, NodeStatus.QUEUED.value,
        pending, lease,
        pending, _NODE.get_field("queued_at").get_db_prep_value(now, connection),
        _NODE.get_field("execution").target_field.get_db_prep_value(execution_id, connection),
        *node_ids,
        *([item_index] if item_index is not None else []),
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    ready = [run for run in (instance_from_row(NodeRun, fields, row) for row in rows)
             if run.status == NodeStatus.QUEUED and run.lease == lease]
    return sorted(ready, key=lambda run: (run.position, run.item_index or 0))


# What settling a run reads back from its row: its totals, where to report, and the rest of
# what its status event says. Other fields of the returned run load if read.
SETTLED_FIELDS = ("id", "team_id", "workflow_id", "status", "error", "started_at",
                  "finished_at", "credits_reserved", "credits_charged", "webhook_url", "seq")


def execution_settle_update(execution_id: Any, now) -> Execution | None:
    """QUEUED/RUNNING → COMPLETED, or FAILED if a node failed, once none of its node runs is
    left to run; also numbers the run's event. One UPDATE … RETURNING where the ORM would need
    a count, an update and a read. None while nodes are left (or the run was settled)."""
    status, finished_at, started_at, seq, pk_column = (
        _run_column(n) for n in ("status", "finished_at", "started_at", "seq", "id"))
    columns = [_RUN.get_field(name).column for name in SETTLED_FIELDS]
    when = _RUN.get_field("finished_at").get_db_prep_value(now, connection)
    pk = _run_pk(execution_id)
    node_status, of_run = _node_column("status"), _node_column("execution")
    active = ", ".join(["%s"] * len(ACTIVE))
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {_RUN.db_table} SET {status} = CASE WHEN EXISTS (SELECT 1 FROM "
            f"{_NODE.db_table} WHERE {of_run} = %s AND {node_status} = %s) THEN %s ELSE %s END, "
            f"{finished_at} = %s, {started_at} = COALESCE({started_at}, %s), {seq} = {seq} + 1 "
            f"WHERE {pk_column} = %s AND {status} IN (%s, %s) AND NOT EXISTS (SELECT 1 FROM "
            f"{_NODE.db_table} WHERE {of_run} = %s AND {node_status} IN ({active})) "
            f"RETURNING {', '.join(columns)}",
            [pk, NodeStatus.FAILED.value, ExecutionStatus.FAILED.value,
             ExecutionStatus.COMPLETED.value, when, when, pk, ExecutionStatus.QUEUED.value,
             ExecutionStatus.RUNNING.value, pk, *(s.value for s in ACTIVE)])
        row = cursor.fetchone()
    if row is None:
        return None
    return instance_from_row(Execution, [_RUN.get_field(name) for name in SETTLED_FIELDS], row)


# --- accepting a run -------------------------------------------------------------------------
# A trigger's lookup and inserts run once per accepted run. The ORM spent several times the
# database's own time compiling them (and hydrating every column of the workflow and its team):
# the statements are built once per process from `_meta`.

def _insert_sql(meta) -> tuple[str, list]:
    fields = [field for field in meta.concrete_fields if not field.generated
              and not (field.primary_key and isinstance(field, AutoFieldMixin))]
    columns = ", ".join(connection.ops.quote_name(field.column) for field in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    return f"INSERT INTO {connection.ops.quote_name(meta.db_table)} ({columns}) " \
           f"VALUES ({placeholders})", fields


_INSERTS: dict[Any, tuple[str, list]] = {}


class Prepared(NamedTuple):
    """New rows of one model, converted for the database and not yet written."""
    objs: list
    sql: str
    rows: list[list]


def rows_prepared(objs: list) -> Prepared:
    """Convert these new instances of one model for one INSERT, each value by its field as
    `bulk_create` converts it (`pre_save`, then `get_db_prep_save`): done before the
    transaction, so that on SQLite the write lock is not held for it."""
    if not objs:
        return Prepared([], "", [])
    model = type(objs[0])
    if model not in _INSERTS:
        _INSERTS[model] = _insert_sql(model._meta)
    sql, fields = _INSERTS[model]
    # The thread's connection itself, not the `connection` proxy: each field's conversion
    # reads the connection's attributes, and through the proxy each read is a thread-local
    # lookup (a quarter of this function's time).
    db = connections[DEFAULT_DB_ALIAS]
    return Prepared(objs, sql, [[field.get_db_prep_save(field.pre_save(obj, True), db)
                                 for field in fields] for obj in objs])


def rows_write(prepared: Prepared) -> None:
    """INSERT prepared rows in one executemany; no signals, as with `bulk_create`. Nothing is
    read back: a UUID key is the instance's own, and an auto-increment key is left to the
    database (the instance's `pk` stays None)."""
    if not prepared.objs:
        return
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        if len(prepared.rows) == 1:
            cursor.execute(prepared.sql, prepared.rows[0])
        else:
            cursor.executemany(prepared.sql, prepared.rows)
    for obj in prepared.objs:
        obj._state.adding = False
        obj._state.db = connection.alias


def workflow_run_counted(workflow_id: Any, now) -> None:
    """One more run of the workflow, started `now`: `execution_count + 1` in the statement."""
    meta = Workflow._meta
    count, last = (meta.get_field(name).column for name in ("execution_count",
                                                            "last_executed_at"))
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {meta.db_table} SET {count} = {count} + 1, {last} = %s "
            f"WHERE {meta.pk.column} = %s",
            [meta.get_field("last_executed_at").get_db_prep_save(now, connection),
             meta.pk.get_db_prep_value(workflow_id, connection)])


def _webhook_lookup_sql() -> tuple[str, list, list]:
    workflow, team = Workflow._meta, Workflow._meta.get_field("team").related_model._meta
    wf_fields, team_fields = list(workflow.concrete_fields), list(team.concrete_fields)
    columns = [f"w.{connection.ops.quote_name(f.column)}" for f in wf_fields] + \
              [f"t.{connection.ops.quote_name(f.column)}" for f in team_fields]
    column = {name: connection.ops.quote_name(workflow.get_field(name).column)
              for name in ("team", "webhook_id", "deleted_at")}
    sql = (f"SELECT {', '.join(columns)} FROM {connection.ops.quote_name(workflow.db_table)} w "
           f"JOIN {connection.ops.quote_name(team.db_table)} t "
           f"ON t.{connection.ops.quote_name(team.pk.column)} = w.{column['team']} "
           f"WHERE w.{column['webhook_id']} = %s AND w.{column['deleted_at']} IS NULL")
    return sql, wf_fields, team_fields


_WEBHOOK_LOOKUP: list[tuple[str, list, list]] = []


def workflow_by_webhook(webhook_id: str) -> Workflow | None:
    """The live workflow with this webhook id, with its team, in one statement, as
    `Workflow.objects.select_related("team").filter(webhook_id=…, deleted_at__isnull=True)`
    reads it: every trigger starts with it, and the ORM spent four times the statement's
    own cost compiling it and hydrating the two rows."""
    if not _WEBHOOK_LOOKUP:
        _WEBHOOK_LOOKUP.append(_webhook_lookup_sql())
    sql, wf_fields, team_fields = _WEBHOOK_LOOKUP[0]
    with connection.cursor() as cursor:
        cursor.execute(sql, [webhook_id])
        row = cursor.fetchone()
    if row is None:
        return None
    workflow = instance_from_row(Workflow, wf_fields, row[:len(wf_fields)])
    workflow.team = instance_from_row(team_fields[0].model, team_fields, row[len(wf_fields):])
    return workflow
