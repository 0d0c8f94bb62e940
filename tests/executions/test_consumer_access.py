"""A member's status sockets follow their membership: removed from the team (through the
service or in admin), the socket closes with 4403; a role that may still read runs, or a
change in another team, leaves it streaming. Real Redis channel layer, real consumer."""

from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync, sync_to_async
from django.db import transaction
from django.test import Client

from accounts.models import Membership
from accounts.services import membership_remove, membership_set
from executions.consumers import CLOSE_FORBIDDEN
from executions.services import execution_start
from tests.executions.test_consumer import _connect, _cookie_for
from tests.live import frame_events

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def watched(team, other_team, make_user):
    from accounts.selectors import principal_for_user
    from graph.services import workflow_create
    from tests.graph.builders import text_to_image

    member = make_user(team=team, role="editor")
    membership_set(team=other_team, user=member, role="editor")
    nodes, edges = text_to_image()
    workflow, _ = workflow_create(team=team, actor=principal_for_user(member), name="ws",
                                  nodes=nodes, edges=edges)
    return workflow, member, other_team


async def _open(workflow, member):
    communicator, connected, _ = await _connect(workflow.pk, await sync_to_async(_cookie_for)(
        member))
    assert connected
    assert (await communicator.receive_json_from(timeout=5))["type"] == "snapshot"
    return communicator


async def _closed_with(communicator) -> int:
    message = await communicator.receive_output(timeout=5)
    assert message["type"] == "websocket.close", message
    return message.get("code")


async def _still_streams(communicator, workflow) -> None:
    execution = await sync_to_async(execution_start)(
        team=workflow.team, workflow=workflow, nodes=workflow.nodes, edges=workflow.edges)
    event = frame_events(await communicator.receive_json_from(timeout=5))[0]
    assert event["executionId"] == str(execution.pk)


def test_a_member_removed_from_the_team_has_their_open_socket_closed_with_4403(watched):
    async_to_sync(_removed_scenario)(*watched)


async def _removed_scenario(workflow, member, other_team):
    communicator = await _open(workflow, member)
    assert await sync_to_async(membership_remove)(team=workflow.team, user=member)
    assert await _closed_with(communicator) == CLOSE_FORBIDDEN
    await communicator.disconnect()


def test_a_member_removed_in_admin_has_their_open_socket_closed_with_4403(watched, make_user):
    async_to_sync(_admin_scenario)(*watched)


def _admin_removes(membership: Membership) -> int:
    return _admin_deletes(f"/admin/accounts/membership/{membership.pk}/delete/")


async def _admin_scenario(workflow, member, other_team):
    communicator = await _open(workflow, member)
    membership = await sync_to_async(Membership.objects.get)(team=workflow.team, user=member)
    assert await sync_to_async(_admin_removes)(membership) == 302
    assert await _closed_with(communicator) == CLOSE_FORBIDDEN
    await communicator.disconnect()


def test_a_member_demoted_to_a_role_that_reads_runs_keeps_streaming(watched):
    async_to_sync(_demoted_scenario)(*watched)


async def _demoted_scenario(workflow, member, other_team):
    communicator = await _open(workflow, member)
    await sync_to_async(membership_set)(team=workflow.team, user=member, role="viewer")
    # Told what the new role allows (the editor turns read-only), and streaming on.
    assert await communicator.receive_json_from(timeout=5) == {
        "type": "access.changed", "role": "viewer", "canEdit": False, "canRun": False}
    # Leaving another team says nothing about this one.
    await sync_to_async(membership_remove)(team=other_team, user=member)
    await _still_streams(communicator, workflow)
    await communicator.disconnect()


def test_a_removal_that_rolls_back_closes_nothing(watched):
    async_to_sync(_rolled_back_scenario)(*watched)


def _remove_then_fail(team, member) -> None:
    with pytest.raises(RuntimeError), transaction.atomic():
        membership_remove(team=team, user=member)
        raise RuntimeError("the caller's transaction failed")


async def _rolled_back_scenario(workflow, member, other_team):
    communicator = await _open(workflow, member)
    await sync_to_async(_remove_then_fail)(workflow.team, member)
    await _still_streams(communicator, workflow)
    await communicator.disconnect()


def _admin_deletes(path: str) -> int:
    from accounts.models import User

    operator = User.objects.create_superuser(username="operator", password="pw")
    client = Client()
    client.force_login(operator)
    return client.post(path, {"post": "yes"}).status_code


def test_a_user_deleted_in_admin_has_their_open_socket_closed_with_4403(watched):
    async_to_sync(_deleted_scenario)(*watched)


async def _deleted_scenario(workflow, member, other_team):
    communicator = await _open(workflow, member)
    path = f"/admin/accounts/user/{member.pk}/delete/"
    assert await sync_to_async(_admin_deletes)(path) == 302
    assert await _closed_with(communicator) == CLOSE_FORBIDDEN
    await communicator.disconnect()


def test_a_user_deactivated_has_their_open_socket_closed_with_4403(watched):
    async_to_sync(_deactivated_scenario)(*watched)


async def _deactivated_scenario(workflow, member, other_team):
    communicator = await _open(workflow, member)

    def deactivate():
        member.is_active = False
        member.save(update_fields=["is_active"])

    await sync_to_async(deactivate)()
    assert await _closed_with(communicator) == CLOSE_FORBIDDEN
    await communicator.disconnect()
