"""Presence: who else has a workflow open, told over the workflow's own WebSocket.

Each editor socket that passed the consumer's access check joins `presence.<workflowId>` and
says hello (the others add it). The sockets of one workflow in one server process share that
process's `_Local` entry, and only the process speaks for them: its oldest socket answers a
hello with every socket the process holds (so the newcomer learns who is already in), and one
task per process and workflow beats every `BEAT` seconds with the same list. A socket that
closes says goodbye, so a closed tab leaves at once; the sockets of a process that died
without a word are dropped when no beat has named them for `EXPIRY`. So n sockets on a
workflow cost one hello and one goodbye each, and a beat per process, told to each socket:
not n answers per hello and n² beats per period, which at 200 editors on one workflow kept
daphne busy and held status events seconds behind (README, "Intake under concurrency").

Nothing is stored: the group holds only sockets that passed the check, so another team never
hears of it. Each socket sends its editor
`{"type": "presence", "workflowId", "users": [{"userId", "name", "initials", "tabs"}]}` with
everyone but its own user whenever that list changes (nothing while it stays empty)."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
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


class _Local:
    """This process's presence sockets on one workflow (oldest first), and their beat."""

    def __init__(self, group: str) -> None:
        self.group = group
        self.sockets: dict[str, PresenceMixin] = {}
        self.beater: asyncio.Task | None = None

    def members(self) -> list[dict[str, Any]]:
        return [socket.me for socket in self.sockets.values()]

    async def beat(self) -> None:
        while self.sockets:
            await asyncio.sleep(BEAT)
            if not self.sockets:
                return
            speaker = next(iter(self.sockets.values()))
            try:
                await speaker.channel_layer.group_send(
                    self.group, {"type": "presence.beat", "members": self.members()})
            except Exception:  # noqa: BLE001 - Redis away: the next beat tries again
                pass
            cutoff = time.monotonic() - EXPIRY
            for socket in list(self.sockets.values()):
                try:
                    await socket.presence_expire(cutoff)
                except Exception:  # noqa: BLE001 - a socket closing meanwhile; the rest go on
                    continue


# (event loop, workflow id) -> this process's sockets on it. Keyed by loop too: a test's
# event loop, gone with its test, never shares an entry with the next one.
_local: dict[tuple[asyncio.AbstractEventLoop, str], _Local] = {}


class PresenceMixin:
    """For the workflow consumer: `presence_join` once access is granted, `presence_leave`
    when the socket goes (or loses access); the `presence_*` methods are channel handlers."""

    presence: str | None = None

    async def presence_join(self, *, workflow_id: str, user) -> None:
        name = user.get_full_name().strip() or user.get_username()
        self.me = {"channel": self.channel_name, "userId": user.pk, "name": name}
        self.peers: dict[str, dict[str, Any]] = {}  # channel -> userId, name, at
        self.peer_tabs: Counter = Counter()  # userId -> sockets, my own user left out
        self.peer_names: dict[Any, str] = {}
        self.presence_sent: list = []  # told only when someone else is there
        self.presence_workflow = workflow_id
        self.presence = presence_group(workflow_id)
        key = (asyncio.get_running_loop(), workflow_id)
        local = _local.get(key)
        if local is None:
            local = _local[key] = _Local(self.presence)
        local.sockets[self.channel_name] = self
        if local.beater is None:
            local.beater = asyncio.create_task(local.beat())
        self._local_key = key
        await self.channel_layer.group_add(self.presence, self.channel_name)
        await self.channel_layer.group_send(self.presence, {"type": "presence.hello", **self.me})

    async def presence_leave(self) -> None:
        if self.presence is None:
            return
        group, self.presence = self.presence, None
        local = _local.get(self._local_key)
        if local is not None:
            local.sockets.pop(self.channel_name, None)
            if not local.sockets:
                del _local[self._local_key]
                if local.beater is not None:
                    local.beater.cancel()
        await self.channel_layer.group_discard(group, self.channel_name)
        await self.channel_layer.group_send(group, {"type": "presence.bye",
                                                    "channel": self.channel_name})

    async def presence_hello(self, message) -> None:
        """A newcomer: add it; this process's oldest socket answers it with every socket
        the process holds on the workflow."""
        if self.presence is None or message["channel"] == self.channel_name:
            return
        changed = self._seen(message, time.monotonic())
        local = _local.get(self._local_key)
        if local is not None and next(iter(local.sockets)) == self.channel_name:
            members = [m for m in local.members() if m["channel"] != message["channel"]]
            await self.channel_layer.send(message["channel"],
                                          {"type": "presence.here", "members": members})
        if changed:
            await self._presence_tell()

    async def presence_here(self, message) -> None:
        """A process's sockets: in answer to my hello, or its beat (presence.beat)."""
        if self.presence is None:
            return
        now = time.monotonic()
        changed = False
        # A process of the version before speaks for one socket: the message is the member.
        for member in message.get("members") or [message]:
            if member["channel"] != self.channel_name:
                changed = self._seen(member, now) or changed
        if changed:
            await self._presence_tell()

    presence_beat = presence_here

    async def presence_bye(self, message) -> None:
        if self.presence is None:
            return
        if self._forget(message["channel"]):
            await self._presence_tell()

    async def presence_expire(self, cutoff: float) -> None:
        """Drop the peers no beat has named since `cutoff` (their process died)."""
        if self.presence is None:
            return
        gone = [channel for channel, peer in self.peers.items() if peer["at"] < cutoff]
        changed = False
        for channel in gone:
            changed = self._forget(channel) or changed
        if changed:
            await self._presence_tell()

    def _seen(self, member, now: float) -> bool:
        """Note a peer; True if what this socket tells its editor may have changed."""
        peer = self.peers.get(member["channel"])
        if peer is not None and (peer["userId"], peer["name"]) == (member["userId"],
                                                                  member["name"]):
            peer["at"] = now
            return False
        forgot = peer is not None and self._forget(member["channel"])  # renamed
        self.peers[member["channel"]] = {"userId": member["userId"], "name": member["name"],
                                         "at": now}
        if member["userId"] == self.me["userId"]:
            return forgot  # my other tabs are not someone else
        self.peer_tabs[member["userId"]] += 1
        self.peer_names[member["userId"]] = member["name"]
        return True

    def _forget(self, channel: str) -> bool:
        peer = self.peers.pop(channel, None)
        if peer is None or peer["userId"] == self.me["userId"]:
            return False
        self.peer_tabs[peer["userId"]] -= 1
        if self.peer_tabs[peer["userId"]] <= 0:
            del self.peer_tabs[peer["userId"]]
            del self.peer_names[peer["userId"]]
        return True

    async def _presence_tell(self) -> None:
        listed = sorted(({"userId": user_id, "name": self.peer_names[user_id],
                          "initials": initials(self.peer_names[user_id]), "tabs": tabs}
                         for user_id, tabs in self.peer_tabs.items()),
                        key=lambda user: (user["name"].lower(), user["userId"]))
        if listed == self.presence_sent or getattr(self, "closing", False):
            return
        self.presence_sent = listed
        await self.send_json({"type": "presence", "workflowId": self.presence_workflow,
                              "users": listed})
