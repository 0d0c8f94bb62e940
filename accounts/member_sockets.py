"""Tell a member's open WebSockets that their place in a team changed.

Every socket a member opens for a team's stream joins `member_group(team, user)`. When that
membership is removed or its role changes, `member_access_changed` sends one message to the
group after the change commits; each consumer then re-checks what its stream needs and closes
(4403) if the member no longer may. Membership is otherwise checked only at connect.

Removal is caught where every path meets, the Membership delete signal: the service, the
admin's membership pages, and the cascade when a whole user or team is deleted. A user
deactivated (is_active off) is told too, in every team they belong to.
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


def on_membership_deleted(sender, instance, **_kwargs) -> None:
    member_access_changed(team_id=instance.team_id, user_id=instance.user_id)


def on_user_saved(sender, instance, created, **_kwargs) -> None:
    if created or instance.is_active:
        return
    from accounts.models import Membership

    for team_id in Membership.objects.filter(user=instance).values_list("team_id", flat=True):
        member_access_changed(team_id=team_id, user_id=instance.pk)


def connect() -> None:
    from django.db.models.signals import post_delete, post_save

    from accounts.models import Membership, User

    post_delete.connect(on_membership_deleted, sender=Membership,
                        dispatch_uid="member_sockets.membership_deleted")
    post_save.connect(on_user_saved, sender=User, dispatch_uid="member_sockets.user_saved")


def _send(group: str) -> None:
    layer = get_channel_layer()
    if layer is None:
        return
    try:
        async_to_sync(layer.group_send)(group, {"type": ACCESS_CHANGED})
    except Exception:  # noqa: BLE001 - the change is committed; say loudly what stays open
        log.error("could not tell the sockets of %s that their access changed", group,
                  exc_info=True)
