"""Presence over the workflow WebSocket, with real WebSocket clients (the `websockets`
library) against a real daphne on loopback and the Redis channel layer: each member sees who
else has the workflow open (once per person, with their tab count), a closed socket leaves
within seconds, and another team's sockets never hear of it."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from asgiref.sync import async_to_sync
from django.test import Client

from executions.presence import initials

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture
def daphne():
    from tests.conftest import _free_port
    from tests.live import LiveServer

    server = LiveServer(url=f"http://127.0.0.1:{_free_port()}").start()
    yield server
    server.stop()


def _cookie(user) -> str:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}"


@pytest.fixture
def shared(team, other_team, make_user):
    from accounts.selectors import principal_for_user
    from graph.services import workflow_create
    from tests.graph.builders import text_to_image

    ann = make_user(team=team, role="editor", username="ann")
    ann.first_name, ann.last_name = "Ann", "Lee"
    ann.save()
    bob = make_user(team=team, role="viewer", username="bob")
    carl = make_user(team=other_team, role="owner", username="carl")
    nodes, edges = text_to_image()
    ours, _ = workflow_create(team=team, actor=principal_for_user(ann), name="ours",
                              nodes=nodes, edges=edges)
    theirs, _ = workflow_create(team=other_team, actor=principal_for_user(carl),
                                name="theirs", nodes=nodes, edges=edges)
    return {"ann": _cookie(ann), "bob": _cookie(bob), "carl": _cookie(carl),
            "ours": str(ours.pk), "theirs": str(theirs.pk), "ids": (ann.pk, bob.pk)}


async def _open(url: str, workflow_id: str, cookie: str):
    import websockets

    socket = await websockets.connect(
        f"{url.replace('http', 'ws')}/ws/workflows/{workflow_id}/",
        additional_headers={"Cookie": cookie, "Origin": url})
    assert json.loads(await asyncio.wait_for(socket.recv(), 5))["type"] == "snapshot"
    return socket


async def _presence(socket, timeout: float = 5) -> list[dict]:
    while True:
        message = json.loads(await asyncio.wait_for(socket.recv(), timeout))
        if message["type"] == "presence":
            return message["users"]


async def _silent(socket, seconds: float = 1.0) -> bool:
    try:
        message = await asyncio.wait_for(socket.recv(), seconds)
    except TimeoutError:
        return True
    raise AssertionError(f"unexpected message {message}")


def test_two_members_see_each_other_and_a_closed_tab_leaves_within_seconds(daphne, shared):
    async_to_sync(_scenario)(daphne.url, shared)


async def _scenario(url, shared):
    ann_id, bob_id = shared["ids"]
    carl_own = await _open(url, shared["theirs"], shared["carl"])
    ann = await _open(url, shared["ours"], shared["ann"])
    bob = await _open(url, shared["ours"], shared["bob"])
    assert await _presence(bob) == [{"userId": ann_id, "name": "Ann Lee", "initials": "AL",
                                     "tabs": 1}]
    assert await _presence(ann) == [{"userId": bob_id, "name": "bob", "initials": "BO",
                                     "tabs": 1}]
    # Ann's second tab: she is counted once, with two tabs; her own tabs never list her.
    ann_2 = await _open(url, shared["ours"], shared["ann"])
    assert [u["tabs"] for u in await _presence(bob)] == [2]
    assert [u["userId"] for u in await _presence(ann_2)] == [bob_id]
    # Bob closes his tab: both of Ann's tabs are told within seconds.
    started = time.monotonic()
    await bob.close()
    assert await _presence(ann) == [] and await _presence(ann_2) == []
    assert time.monotonic() - started < 3
    await ann_2.close()
    # Another team's socket heard nothing of it all; and cannot join ours.
    assert await _silent(carl_own)
    import websockets

    with pytest.raises(websockets.exceptions.WebSocketException):
        stranger = await _open(url, shared["ours"], shared["carl"])
        await stranger.recv()
    await ann.close()
    await carl_own.close()


def test_initials_from_names():
    assert initials("Ann Lee") == "AL"
    assert initials("olga") == "OL"
    assert initials("j.smith") == "JS"
    assert initials("") == "?"
