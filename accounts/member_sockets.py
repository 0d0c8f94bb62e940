"""Tell a member's open WebSockets that their place in a team changed.

Every socket a member opens for a team's stream joins `member_group(team, user)`. When that
membership is removed or its role changes, `member_access_changed` sends one message to the
group after the change commits; each consumer then re-checks what its stream needs and closes
(4403) if the member no longer may. Membership is otherwise checked only at connect.
"""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from django.db import transaction

log = logging.getLogger(__name__)

ACCESS_CHANGED = "member.access_changed"  # the consumer's `member_access_changed` handler


def member_group(*, team_id: int, user_id: int) -> str:
    return f"member.{team_id}.{user_id}"


def member_access_changed(*, team_id: int, user_id: int) -> None:
    """After commit (a rolled-back change must close nothing), ask the member's sockets for
    the team to re-check their access."""
    group = member_group(team_id=team_id, user_id=user_id)
    transaction.on_commit(lambda: _send(group))


def _send(group: str) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, {"type": ACCESS_CHANGED})
    except Exception:  # noqa: BLE001 - the change is committed; say loudly what stays open
        log.error("could not tell the sockets of %s that their access changed", group,
                  exc_info=True)
