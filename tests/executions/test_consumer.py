"""The status WebSocket over a Redis channel layer: members get a snapshot then numbered events;
strangers and anonymous visitors are refused."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from channels.layers import get_channel_layer
from channels.testing import WebsocketCommunicator
from django.test import Client

from accounts.selectors import principal_for_user
from executions.consumers import events_publish
from executions.events import workflow_group
from executions.services import execution_start
from graph.services import workflow_create
from tests.graph.builders import text_to_image
from tests.live import frame_events
from wireflow_site.asgi import application

pytestmark = pytest.mark.django_db(transaction=True)


def _cookie_for(user) -> bytes:
    client = Client()
    client.force_login(user)
    return f"sessionid={client.cookies['sessionid'].value}".encode()


async def _connect(workflow_id, cookie: bytes | None):
    headers = [(b"origin", b"http://localhost"), (b"host", b"localhost")]
    if cookie:
        headers.append((b"cookie", cookie))
    communicator = WebsocketCommunicator(application, f"/ws/workflows/{workflow_id}/",
                                         headers=headers)
    connected, code = await communicator.connect(timeout=5)
    return communicator, connected, code


async def _watching(workflow, member) -> WebsocketCommunicator:
    """A member's socket on the workflow, past its snapshot."""
    cookie = await sync_to_async(_cookie_for)(member)
    communicator, connected, _ = await _connect(workflow.pk, cookie)
    assert connected
    await communicator.receive_json_from(timeout=5)  # the snapshot
    return communicator


@pytest.fixture
def workflow_and_members(team, other_team, make_user):
    member = make_user(team=team, role="viewer")
    stranger = make_user(team=other_team, role="owner")
    nodes, edges = text_to_image()
    workflow, _ = workflow_create(team=team, actor=principal_for_user(member), name="ws",
                                  nodes=nodes, edges=edges)
    return workflow, member, stranger


def test_a_member_gets_a_snapshot_then_numbered_events(workflow_and_members):
    async_to_sync(_member_scenario)(*workflow_and_members)


async def _member_scenario(workflow, member, stranger):
    cookie = await sync_to_async(_cookie_for)(member)
    communicator, connected, _ = await _connect(workflow.pk, cookie)
    assert connected
    snapshot = await communicator.receive_json_from(timeout=5)
    assert snapshot == {"type": "snapshot", "workflowId": str(workflow.pk), "execution": None}

    execution = await sync_to_async(execution_start)(
        team=workflow.team, workflow=workflow, nodes=workflow.nodes, edges=workflow.edges
    )
    # The run's first events were handed over together: one frame carries them, in order.
    frame = await communicator.receive_json_from(timeout=5)
    assert frame["type"] == "events" and len(frame["events"]) > 1
    event = frame["events"][0]
    assert event["type"] == "execution.status" and event["status"] == "QUEUED"
    assert event["executionId"] == str(execution.pk) and event["seq"] == 1
    assert [e["seq"] for e in frame["events"]] == list(range(1, len(frame["events"]) + 1))
    assert {e["type"] for e in frame["events"][1:]} == {"node.status"}
    await communicator.disconnect()

    # A reconnecting client gets the latest run in its snapshot, with the same sequence.
    communicator, connected, _ = await _connect(workflow.pk, cookie)
    snapshot = await communicator.receive_json_from(timeout=5)
    assert snapshot["execution"]["executionId"] == str(execution.pk)
    assert snapshot["execution"]["seq"] >= 1
    await communicator.disconnect()


def test_a_stranger_and_an_anonymous_visitor_are_refused(workflow_and_members):
    async_to_sync(_stranger_scenario)(*workflow_and_members)


async def _stranger_scenario(workflow, member, stranger):
    cookie = await sync_to_async(_cookie_for)(stranger)
    for credentials in (cookie, None):
        communicator, connected, _ = await _connect(workflow.pk, credentials)
        assert not connected
        await communicator.disconnect()


def test_the_socket_stays_open_past_the_redis_receive_timeout(workflow_and_members):
    async_to_sync(_long_scenario)(*workflow_and_members)


async def _long_scenario(workflow, member, stranger):
    import asyncio

    communicator = await _watching(workflow, member)
    await asyncio.sleep(7)  # longer than channels_redis's 5 s blocking receive
    execution = await sync_to_async(execution_start)(
        team=workflow.team, workflow=workflow, nodes=workflow.nodes, edges=workflow.edges
    )
    event = frame_events(await communicator.receive_json_from(timeout=5))[0]
    assert event["executionId"] == str(execution.pk)
    await communicator.disconnect()


def test_a_burst_from_a_publisher_of_the_release_before_is_told_the_same(workflow_and_members):
    """During a rolling deploy an older worker publishes the events themselves, not the text."""
    async_to_sync(_older_publisher_scenario)(*workflow_and_members)


async def _older_publisher_scenario(workflow, member, stranger):
    communicator = await _watching(workflow, member)
    burst = [{"type": "node.status", "seq": 7, "nodeId": "a", "status": "RUNNING"},
             {"type": "node.status", "seq": 8, "nodeId": "a", "status": "COMPLETED"}]
    group = workflow_group(workflow.pk)
    await get_channel_layer().group_send(group, {"type": "status.events", "events": burst})
    assert await communicator.receive_json_from(timeout=5) == {"type": "events", "events": burst}
    await events_publish({group: burst})
    assert await communicator.receive_json_from(timeout=5) == {"type": "events", "events": burst}
    await events_publish({group: burst[:1]})
    assert await communicator.receive_json_from(timeout=5) == burst[0]
    await communicator.disconnect()
