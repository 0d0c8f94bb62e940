"""Live status of a workflow's runs for the editor: members of its team only (session auth)."""

from __future__ import annotations

from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer

from executions.events import workflow_group

CLOSE_FORBIDDEN = 4403


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

    async def receive_json(self, content, **kwargs) -> None:
        if isinstance(content, dict) and content.get("type") == "resync":
            snapshot = await self._snapshot_if_member(self.scope.get("user"),
                                                      self.group.split(".", 1)[1])
            if snapshot is not None:
                await self.send_json({"type": "snapshot", **snapshot})

    async def status_events(self, message) -> None:
        """A burst of events from one sender, in order: each goes out as its own frame."""
        for event in message["events"]:
            await self.send_json(event)

    @database_sync_to_async
    def _snapshot_if_member(self, user, workflow_id: str):
        from accounts.selectors import principal_for_user
        from executions.selectors import execution_latest, execution_poll_payload
        from graph.selectors import workflow_get
        from wireflow_site.errors import ApiError

        if user is None or not user.is_authenticated:
            return None
        try:
            workflow = workflow_get(principal=principal_for_user(user), workflow_id=workflow_id)
        except ApiError:
            return None
        latest = execution_latest(workflow_id=workflow.pk)
        return {"execution": execution_poll_payload(latest) if latest else None}
