"""Live status over WebSockets: the editor's consumer (members of the workflow's team only,
session auth), and the publisher that puts status events on the channel layer."""

from __future__ import annotations

import logging

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from channels.layers import get_channel_layer

from accounts.selectors import principal_for_user
from executions.events import ByGroup, workflow_group
from executions.selectors import execution_latest, execution_poll_payload
from graph.selectors import workflow_get
from wireflow_site.errors import ApiError

CLOSE_FORBIDDEN = 4403
log = logging.getLogger(__name__)


async def events_publish(by_group: ByGroup) -> None:
    """Subscribed to every burst of status events (executions.events.on_events): one
    channel-layer message per group, carrying its events in order."""
    layer = get_channel_layer()
    if layer is None:
        return
    for group, batch in by_group.items():
        try:
            await layer.group_send(group, {"type": "status.events", "events": batch})
        except Exception:  # noqa: BLE001 - Redis down must not fail the run; the DB has it
            log.warning("could not publish %d events to %s", len(batch), group, exc_info=True)


class WorkflowStatusConsumer(AsyncJsonWebsocketConsumer):
    """Checks membership once on connect, sends a snapshot of the latest run, then forwards."""

    group: str | None = None

    async def connect(self) -> None:
        workflow_id = self.scope["url_route"]["kwargs"]["workflow_id"]
        snapshot = await self._snapshot_if_member(self.scope.get("user"), workflow_id)
        if snapshot is None:
            await self.close(code=CLOSE_FORBIDDEN)
            return
        self.group = workflow_group(workflow_id)
        await self.channel_layer.group_add(self.group, self.channel_name)
        await self.accept()
        await self.send_json({"type": "snapshot", "workflowId": workflow_id,
                              "execution": snapshot["execution"]})

    async def disconnect(self, code: int) -> None:
        if self.group:
            await self.channel_layer.group_discard(self.group, self.channel_name)

    async def status_events(self, message) -> None:
        """A burst of events from one sender, in order: each goes out as its own frame."""
        for event in message["events"]:
            await self.send_json(event)

    @database_sync_to_async
    def _snapshot_if_member(self, user, workflow_id: str):
        if user is None or not user.is_authenticated:
            return None
        try:
            workflow = workflow_get(principal=principal_for_user(user), workflow_id=workflow_id)
        except ApiError:
            return None
        latest = execution_latest(workflow_id=workflow.pk)
        return {"execution": execution_poll_payload(latest) if latest else None}
