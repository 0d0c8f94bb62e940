"""Presence and saves over the workflow WebSocket, with real WebSocket clients (the
`websockets` library) against a real daphne on loopback and the Redis channel layer: each
member sees who else has the workflow open (once per person, with their tab count), a closed
socket leaves within seconds, every save (API, node patch, restore, merge) is told to the
workflow's sockets without its graph, and another team's sockets never hear of any of it."""

from __future__ import annotations

import asyncio
import json
import time

import pytest
from asgiref.sync import async_to_sync
from django.test import Client

from executions.presence import initials

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.slow]


@pytest.fixture(scope="module")
def daphne(django_db_setup):
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


def test_every_save_is_told_to_the_workflows_sockets_without_its_graph(daphne, shared):
    async_to_sync(_saves_scenario)(daphne.url, shared)


async def _saved(socket, timeout: float = 5) -> dict:
    while True:
        message = json.loads(await asyncio.wait_for(socket.recv(), timeout))
        if message["type"] == "workflow.saved":
            return message


async def _saves_scenario(url, shared):
    from asgiref.sync import sync_to_async

    from accounts.models import User

    ours = shared["ours"]
    client = Client()
    await sync_to_async(client.force_login)(await User.objects.aget(username="ann"))
    api = f"/api/v1/workflows/{ours}"

    def call(method: str, path: str, body: dict | None = None) -> dict:
        response = getattr(client, method)(path, body or {}, content_type="application/json")
        assert response.status_code in (200, 201), response.content
        return response.json()["data"]

    call_ = sync_to_async(call)
    carl_own = await _open(url, shared["theirs"], shared["carl"])
    ann = await _open(url, ours, shared["ann"])
    bob = await _open(url, ours, shared["bob"])  # a viewer is told too: he may read it

    def told(saved: dict, version: int) -> dict:
        return {"type": "workflow.saved", "workflowId": ours, "version": version,
                "updatedAt": saved["updatedAt"], "author": "Ann Lee"}

    workflow = await sync_to_async(lambda: client.get(api).json())()
    nodes, edges = workflow["nodes"], workflow["edges"]
    first = workflow["version"]
    # The editor's save (POST with id) and PUT: each socket, its saver's too, hears it once.
    renamed = [{**nodes[0], "data": {**nodes[0]["data"], "label": "Renamed"}}, *nodes[1:]]
    saved = await call_("post", "/api/v1/workflows?strict=false",
                        {"id": ours, "nodes": renamed, "edges": edges,
                         "baseUpdatedAt": workflow["updatedAt"]})
    assert saved["version"] == first + 1
    for socket in (ann, bob):
        assert await _saved(socket) == told(saved, first + 1)
    saved = await call_("put", api, {"name": "ours", "nodes": nodes, "edges": edges})
    assert await _saved(ann) == told(saved, first + 2) == await _saved(bob)
    # One node patched; an earlier version restored; a merge saved.
    patched = await call_("patch", f"{api}/nodes/{nodes[0]['id']}", {"label": "Patched"})
    assert (await _saved(bob))["updatedAt"] == patched["updatedAt"]
    restored = await call_("post", f"{api}/versions/{first}/restore")
    event = await _saved(bob)
    assert event["version"] == first + 4 and "nodes" not in event and "edges" not in event
    assert event["updatedAt"] == restored["updatedAt"]
    merged = await call_("post", f"{api}/merge", {
        "strategy": "merge", "base": {"nodes": nodes, "edges": edges},
        "nodes": renamed, "edges": edges})
    assert (await _saved(bob))["version"] == merged["saved"]["version"] == first + 5
    # Another team's socket heard nothing of it all.
    assert await _silent(carl_own)
    for socket in (ann, bob, carl_own):
        await socket.close()


# --- what presence costs: one answer and one beat per process, however many sockets ---------
# In-process (channels' WebsocketCommunicator, the Redis pub/sub layer), with a bare channel of
# the layer in the presence group standing for another server process's socket.

async def _member_sockets(workflow_id: str, cookie: str, count: int) -> list:
    from channels.testing import WebsocketCommunicator

    from wireflow_site.asgi import application

    sockets = []
    for _ in range(count):
        socket = WebsocketCommunicator(
            application, f"/ws/workflows/{workflow_id}/",
            headers=[(b"origin", b"http://localhost"), (b"host", b"localhost"),
                     (b"cookie", cookie.encode())])
        assert (await socket.connect(timeout=5))[0]
        assert (await socket.receive_json_from(timeout=5))["type"] == "snapshot"
        sockets.append(socket)
    return sockets


async def _told(socket, timeout: float = 5) -> list[dict]:
    while True:
        message = await socket.receive_json_from(timeout=timeout)
        if message["type"] == "presence":
            return message["users"]


def test_a_process_answers_a_hello_once_and_beats_once_for_all_its_sockets(
        shared, monkeypatch):
    from executions import presence

    monkeypatch.setattr(presence, "BEAT", 0.3)
    monkeypatch.setattr(presence, "EXPIRY", 1.0)
    async_to_sync(_cost_scenario)(shared)


async def _cost_scenario(shared):
    from channels.layers import get_channel_layer

    from executions.presence import presence_group

    sockets = await _member_sockets(shared["ours"], shared["ann"], 5)  # Ann's five tabs
    layer = get_channel_layer()
    ghost = await layer.new_channel()  # a socket of a server process that will die
    group = presence_group(shared["ours"])
    await layer.group_add(group, ghost)
    heard: list[tuple[float, dict]] = []

    async def listen() -> None:
        while True:
            heard.append((time.monotonic(), await layer.receive(ghost)))

    listener = asyncio.create_task(listen())
    started = time.monotonic()
    await layer.group_send(group, {"type": "presence.hello", "channel": ghost,
                                   "userId": 10**9, "name": "Gus Host"})
    ghost_user = {"userId": 10**9, "name": "Gus Host", "initials": "GH", "tabs": 1}
    for socket in sockets:
        assert await _told(socket) == [ghost_user]
    # It never beats: within EXPIRY and a beat every tab has dropped it.
    for socket in sockets:
        assert await _told(socket) == []
    elapsed = time.monotonic() - started
    listener.cancel()
    await asyncio.gather(listener, return_exceptions=True)
    for socket in sockets:
        await socket.disconnect()
    assert elapsed < 1.0 + 2 * 0.3 + 1.0
    kinds = [message["type"] for _, message in heard]
    # One answer to the hello, listing all five tabs; then one beat per BEAT for all five
    # (five sockets each answering and beating on their own would be five of each).
    assert kinds.count("presence.here") == 1
    assert kinds.count("presence.beat") <= elapsed / 0.3 + 1
    for _, message in heard:
        if message["type"] in ("presence.here", "presence.beat"):
            assert len(message["members"]) == 5
            assert {m["name"] for m in message["members"]} == {"Ann Lee"}
            assert len({m["channel"] for m in message["members"]}) == 5
