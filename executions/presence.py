"""Presence: who else has a workflow open, told over the workflow's own WebSocket.

Each editor socket that passed the consumer's access check joins `presence.<workflowId>` and
says hello; every other socket there answers it directly (so the newcomer learns who is
already in), and each one beats every `BEAT` seconds. A socket that closes says goodbye, so
a closed tab leaves at once; one whose process died without a word is dropped when it has
not beaten for `EXPIRY`. Nothing is stored: the group holds only sockets that passed the
check, so another team never hears of it. Each socket sends its editor
`{"type": "presence", "workflowId", "users": [{"userId", "name", "initials", "tabs"}]}` with
everyone but its own user whenever that list changes (nothing while it stays empty)."""

from __future__ import annotations

import asyncio
import time
from typing import Any

BEAT = 10.0
EXPIRY = 3 * BEAT


def presence_group(workflow_id: str) -> str:
    return f"presence.{workflow_id}"


def initials(name: str) -> str:
    parts = [part for part in name.replace(".", " ").replace("_", " ").split() if part]
    if len(parts) >= 2:
        return (parts[0][0] + parts[1][0]).upper()
    return (name[:2] or "?").upper()


class PresenceMixin:
    """For the workflow consumer: `presence_join` once access is granted, `presence_leave`
    when the socket goes (or loses access); the `presence_*` methods are channel handlers."""

    presence: str | None = None
    _beater: asyncio.Task | None = None

    async def presence_join(self, *, workflow_id: str, user) -> None:
        name = user.get_full_name().strip() or user.get_username()
        self.me = {"channel": self.channel_name, "userId": user.pk, "name": name}
        self.peers: dict[str, dict[str, Any]] = {}
        self.presence_sent: list = []  # told only when someone else is there
        self.presence_workflow = workflow_id
        self.presence = presence_group(workflow_id)
        await self.channel_layer.group_add(self.presence, self.channel_name)
        await self.channel_layer.group_send(self.presence, {"type": "presence.hello", **self.me})
        self._beater = asyncio.create_task(self._beat())

    async def presence_leave(self) -> None:
        if self._beater is not None:
            self._beater.cancel()
            self._beater = None
        if self.presence is None:
            return
        group, self.presence = self.presence, None
        await self.channel_layer.group_discard(group, self.channel_name)
        await self.channel_layer.group_send(group, {"type": "presence.bye",
                                                    "channel": self.channel_name})

    async def presence_hello(self, message) -> None:
        if self.presence is None or message["channel"] == self.channel_name:
            return
        self._seen(message)
        await self.channel_layer.send(message["channel"], {"type": "presence.here", **self.me})
        await self._presence_tell()

    async def presence_here(self, message) -> None:
        if self.presence is None or message["channel"] == self.channel_name:
            return
        self._seen(message)
        await self._presence_tell()

    presence_beat = presence_here

    async def presence_bye(self, message) -> None:
        if self.presence is None:
            return
        if self.peers.pop(message["channel"], None) is not None:
            await self._presence_tell()

    def _seen(self, message) -> None:
        self.peers[message["channel"]] = {"userId": message["userId"], "name": message["name"],
                                          "at": time.monotonic()}

    async def _beat(self) -> None:
        while self.presence is not None:
            await asyncio.sleep(BEAT)
            if self.presence is None:
                return
            try:
                await self.channel_layer.group_send(self.presence,
                                                    {"type": "presence.beat", **self.me})
            except Exception:  # noqa: BLE001 - Redis away: the next beat tries again
                continue
            cutoff = time.monotonic() - EXPIRY
            gone = [channel for channel, peer in self.peers.items() if peer["at"] < cutoff]
            for channel in gone:
                del self.peers[channel]
            if gone:
                await self._presence_tell()

    async def _presence_tell(self) -> None:
        users: dict[int, dict[str, Any]] = {}
        for peer in self.peers.values():
            if peer["userId"] == self.me["userId"]:
                continue  # my other tabs are not someone else
            entry = users.setdefault(peer["userId"], {
                "userId": peer["userId"], "name": peer["name"],
                "initials": initials(peer["name"]), "tabs": 0})
            entry["tabs"] += 1
        listed = sorted(users.values(), key=lambda user: (user["name"].lower(), user["userId"]))
        if listed == self.presence_sent or getattr(self, "closing", False):
            return
        self.presence_sent = listed
        await self.send_json({"type": "presence", "workflowId": self.presence_workflow,
                              "users": listed})
