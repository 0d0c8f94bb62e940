"""Live status over WebSockets: the editor's consumer (members of the workflow's team who may
read its runs, session auth; re-checked when their membership changes), and the publisher
that puts status events on the channel layer."""

from __future__ import annotations

import json
import logging

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import get_channel_layer

from accounts.member_sockets import member_group
from accounts.roles import Scope
from accounts.selectors import principal_for_user, user_active
from executions.events import ByGroup, workflow_group
from executions.presence import PresenceMixin
from executions.selectors import execution_latest, execution_poll_payload
from graph.selectors import workflow_get
from wireflow_site.errors import ApiError

CLOSE_FORBIDDEN = 4403
# Status events carry run outputs: the stream is for those who may read executions.
STREAM_SCOPE = Scope.EXECUTIONS_READ
log = logging.getLogger(__name__)
# Channel messages whose handlers never touch the database. channels (4.2+) runs Django's
# close_old_connections before every handler, in asgiref's one thread per process: with 200
# editors on a workflow that was a thread hop per socket for each burst of events and each
# presence message, queued one behind the other (README, "Intake under concurrency"). These
# handlers skip it; the others, and every database call here (database_sync_to_async closes
# old connections around itself), keep it.
NO_DATABASE = frozenset({"status.events", "presence.hello", "presence.here", "presence.beat",
                         "presence.bye"})


def frame_text(events: list) -> str:
    """One frame for a burst of events: a lone event as itself, several as
    `{"type": "events", "events": [...]}`."""
    return json.dumps(events[0] if len(events) == 1 else {"type": "events", "events": events})


async def events_publish(by_group: ByGroup) -> None:
    """Subscribed to every burst of status events (executions.events.on_events): one
    channel-layer message per group, carrying its events in order."""
    layer = get_channel_layer()
    if layer is None:
        return
    for group, batch in by_group.items():
        try:
            # The frame's text, encoded here once: the layer decodes a message once per socket
            # it reaches, and a string is the cheapest thing to decode 200 times.
            await layer.group_send(group, {"type": "status.events", "text": frame_text(batch)})
        except Exception:  # noqa: BLE001 - Redis down must not fail the run; the DB has it
            log.warning("could not publish %d events to %s", len(batch), group, exc_info=True)


class WorkflowStatusConsumer(PresenceMixin, AsyncJsonWebsocketConsumer):
    """Checks access on connect, sends a snapshot of the latest run, then forwards events,
    and who else has the workflow open (executions.presence).

    Access is checked again whenever the member's place in the team changes (a message to
    their `member.<team>.<user>` group, sent by the accounts services): a member removed
    from the team, or left with a role that cannot read runs, is closed with 4403."""

    group: str | None = None
    member_group: str | None = None
    closing = False

    async def connect(self) -> None:
        self.workflow_id = self.scope["url_route"]["kwargs"]["workflow_id"]
        user = self.scope.get("user")
        workflow = await self._workflow_if_allowed(user, self.workflow_id)
        if workflow is None:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.member_group = member_group(team_id=workflow.team_id, user_id=user.pk)
        await self.channel_layer.group_add(self.member_group, self.channel_name)
        # Checked again once in the group: a removal between the first check and joining
        # would otherwise be told to no one, and this socket would stream on.
        snapshot = await self._snapshot_if_allowed(user, self.workflow_id)
        if snapshot is None:
            await self._leave_groups()
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.group = workflow_group(self.workflow_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_json({"type": "snapshot", "workflowId": self.workflow_id,
                              "execution": snapshot["execution"]})
        await self.presence_join(workflow_id=self.workflow_id, user=user)

    async def dispatch(self, message) -> None:
        if message.get("type") in NO_DATABASE:
            await getattr(self, get_handler_name(message))(message)
            return
        await super().dispatch(message)

    async def disconnect(self, code: int) -> None:
        await self._leave_groups()

    async def _leave_groups(self) -> None:
        await self.presence_leave()
        for group in (self.group, self.member_group):
            if group:
                await self.channel_layer.group_discard(group, self.channel_name)
        self.group = self.member_group = None

    async def status_events(self, message) -> None:
        """A burst of events from one sender, in order, in one frame (`frame_text`, encoded
        by the publisher). Each frame costs daphne its framing and a write per socket, and a
        burst is told to every socket."""
        if self.closing:
            return
        text = message.get("text")
        if text is None:  # from a publisher of the release before (a rolling deploy)
            text = frame_text(message["events"])
        await self.send(text_data=text)

    async def member_access_changed(self, message) -> None:
        """The member was removed from the team or their role changed: may they still? If
        so, they are told what they may do now (`access.changed`: a viewer's editor turns
        read-only at once)."""
        if self.closing:
            return
        access = await self._access_if_allowed(self.scope.get("user"), self.workflow_id)
        if access is None:
            self.closing = True  # events already queued for this socket are not sent
            await self._leave_groups()
            await self.close(code=CLOSE_FORBIDDEN)
            return
        await self.send_json({"type": "access.changed", **access})

    @database_sync_to_async
    def _access_if_allowed(self, user, workflow_id: str):
        found = _stream_principal(user, workflow_id)
        if found is None:
            return None
        principal, workflow = found
        return {"role": principal.role_on(workflow.team_id),
                "canEdit": principal.can(workflow.team_id, Scope.WORKFLOWS_WRITE),
                "canRun": principal.can(workflow.team_id, Scope.WORKFLOWS_EXECUTE)}

    @database_sync_to_async
    def _workflow_if_allowed(self, user, workflow_id: str):
        return _stream_workflow(user, workflow_id)

    @database_sync_to_async
    def _snapshot_if_allowed(self, user, workflow_id: str):
        workflow = _stream_workflow(user, workflow_id)
        if workflow is None:
            return None
        latest = execution_latest(workflow_id=workflow.pk)
        return {"execution": execution_poll_payload(latest) if latest else None}


def _stream_principal(user, workflow_id: str):
    """(principal, workflow), if this user may watch the workflow's runs now (user and
    membership read fresh)."""
    if user is None or not user.is_authenticated:
        return None
    user = user_active(user.pk)
    if user is None:
        return None
    principal = principal_for_user(user)
    try:
        workflow = workflow_get(principal=principal, workflow_id=workflow_id)
    except ApiError:
        return None
    return (principal, workflow) if principal.can(workflow.team_id, STREAM_SCOPE) else None


def _stream_workflow(user, workflow_id: str):
    """The workflow, if this user may watch its runs now."""
    found = _stream_principal(user, workflow_id)
    return found[1] if found else None
