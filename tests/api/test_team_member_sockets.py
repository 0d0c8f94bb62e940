"""Removing a member through the team API closes their open status sockets for that team
(4403); demoting them to viewer keeps the stream (viewers read runs) and tells it what the
role allows now. Real Redis channel layer, real consumer, as in
tests/executions/test_consumer_access.py."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from rest_framework.test import APIClient

from executions.consumers import CLOSE_FORBIDDEN
from tests.executions.test_consumer_access import _closed_with, _open, _still_streams

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def watched(team, make_user):
    from accounts.selectors import principal_for_user
    from graph.services import workflow_create
    from tests.graph.builders import text_to_image

    member = make_user(team=team, role="editor")
    admin = make_user(team=team, role="admin")
    nodes, edges = text_to_image()
    workflow, _ = workflow_create(team=team, actor=principal_for_user(member), name="ws",
                                  nodes=nodes, edges=edges)
    client = APIClient()
    client.force_login(admin)
    return workflow, member, client


def test_a_member_removed_through_the_api_has_their_socket_closed(watched):
    async_to_sync(_removed)(*watched)


async def _removed(workflow, member, admin):
    communicator = await _open(workflow, member)
    response = await sync_to_async(admin.delete)(
        f"/api/v1/teams/{workflow.team_id}/members/{member.pk}")
    assert response.status_code == 204
    assert await _closed_with(communicator) == CLOSE_FORBIDDEN
    await communicator.disconnect()


def test_a_member_demoted_to_viewer_through_the_api_keeps_streaming(watched):
    async_to_sync(_demoted)(*watched)


async def _demoted(workflow, member, admin):
    communicator = await _open(workflow, member)
    response = await sync_to_async(admin.patch)(
        f"/api/v1/teams/{workflow.team_id}/members/{member.pk}", {"role": "viewer"},
        format="json")
    assert response.status_code == 200
    assert await communicator.receive_json_from(timeout=5) == {
        "type": "access.changed", "role": "viewer", "canEdit": False, "canRun": False}
    await _still_streams(communicator, workflow)
    await communicator.disconnect()
