"""The team's activity log: one append-only row per change, written in the change's own
transaction (the caller's `transaction.atomic()`), so a rolled-back change leaves no line.

Autosave writes a version every 1.5 s while someone types; the log keeps one "edited" line
per person and workflow for every `EDIT_SESSION_GAP` (10 minutes) of editing."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from accounts.models import ActivityEvent, ApiKey, User

Kind = ActivityEvent.Kind
EDIT_SESSION_GAP = timedelta(minutes=10)
OPERATOR = "operator"


def actor_name(*, user: User | None, api_key: ApiKey | None) -> str:
    if api_key is not None:
        return f"key {api_key.name}"
    if user is not None:
        return user.get_username()
    return OPERATOR


def activity_record(
    *,
    team_id: int,
    kind: str,
    user: User | None = None,
    api_key: ApiKey | None = None,
    workflow_id: Any = None,
    **fields: Any,
) -> ActivityEvent | None:
    """Append one line (`fields` as `activity_line` takes them). An edit within an editing
    session already logged adds none."""
    now = timezone.now()
    if kind == Kind.WORKFLOW_EDITED and workflow_id is not None:
        last = (ActivityEvent.objects.filter(
            team_id=team_id, workflow_id=workflow_id, kind=Kind.WORKFLOW_EDITED,
            actor_id=getattr(user, "pk", None), api_key_id=getattr(api_key, "pk", None))
            .order_by("-created_at", "-id").values_list("created_at", flat=True).first())
        if last is not None and now - last < EDIT_SESSION_GAP:
            return None
    line = activity_line(team_id=team_id, kind=kind, user=user, api_key=api_key,
                         workflow_id=workflow_id, at=now, **fields)
    line.save(force_insert=True)
    return line


def activity_line(
    *,
    team_id: int,
    kind: str,
    user: User | None = None,
    api_key: ApiKey | None = None,
    source: str = "",
    workflow_id: Any = None,
    workflow_name: str = "",
    subject: str = "",
    details: dict[str, Any] | None = None,
    actor_label: str = "",
    at: datetime | None = None,
) -> ActivityEvent:
    """The line `activity_record` appends, unsaved, for a caller that inserts it itself (a run
    being accepted writes it with its own rows); not for edits (their sessions are checked).
    `actor_label` names an actor that is neither a member nor a key (a client app's visitor)."""
    return ActivityEvent(
        team_id=team_id, kind=Kind(kind), actor=user, api_key=api_key,
        actor_name=(actor_label or actor_name(user=user, api_key=api_key))[:200], source=source,
        workflow_id=workflow_id, workflow_name=workflow_name[:200], subject=subject[:254],
        details=details or {}, created_at=at or timezone.now())


def activity_by_principal(principal, **fields) -> ActivityEvent | None:
    """`activity_record` for whoever a request acts as (a member or an API key); None: an
    operator (admin, the command line)."""
    user = getattr(principal, "user", None)
    api_key = getattr(principal, "api_key", None)
    return activity_record(user=user, api_key=api_key, **fields)
