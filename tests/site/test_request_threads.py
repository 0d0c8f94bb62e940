"""wireflow_site.request_threads: requests' synchronous work on WEB_THREADS kept threads."""

import asyncio
import json

import pytest
from asgiref.testing import ApplicationCommunicator

from tests.site import request_threads_urls
from wireflow_site.request_threads import PooledThreadsASGIHandler

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(autouse=True)
def _urls(settings):
    settings.ROOT_URLCONF = "tests.site.request_threads_urls"
    settings.ALLOWED_HOSTS = ["testserver"]


async def get(app, path: str, timeout: float = 10) -> dict:
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1",
             "method": "GET", "scheme": "http", "path": f"/{path}", "raw_path": f"/{path}".encode(),
             "query_string": b"", "root_path": "", "headers": [(b"host", b"testserver")],
             "client": ("127.0.0.1", 1), "server": ("testserver", 80)}
    communicator = ApplicationCommunicator(app, scope)
    await communicator.send_input({"type": "http.request", "body": b""})
    start = await communicator.receive_output(timeout)
    assert start["status"] == 200, start
    body = await communicator.receive_output(timeout)
    await communicator.wait(timeout)
    return json.loads(body["body"])


def test_requests_reuse_a_fixed_set_of_threads():
    app = PooledThreadsASGIHandler(3)

    async def many():
        return await asyncio.gather(*(get(app, "slow") for _ in range(12)))

    threads = {answer["thread"] for answer in asyncio.run(many())}
    # 12 concurrent requests ran on the 3 kept threads (Django's own handler: 12 new ones).
    assert len(threads) == 3
    again = asyncio.run(many())
    assert {answer["thread"] for answer in again} == threads


def test_a_blocked_request_holds_its_own_thread_only():
    app = PooledThreadsASGIHandler(2)
    request_threads_urls.gate.clear()

    async def scenario():
        blocked = asyncio.ensure_future(get(app, "blocked", timeout=15))
        await asyncio.sleep(0.2)
        # While one request waits on "another machine", the other thread answers.
        answers = [await get(app, "whoami", timeout=3) for _ in range(3)]
        assert not blocked.done()
        request_threads_urls.gate.set()
        held = await blocked
        assert {a["thread"] for a in answers} == {answers[0]["thread"]} != {held["thread"]}

    asyncio.run(scenario())


def test_at_least_one_thread():
    with pytest.raises(ValueError, match="WEB_THREADS"):
        PooledThreadsASGIHandler(0)


def test_when_every_kept_thread_is_held_a_request_gets_one_of_its_own_after_the_wait():
    app = PooledThreadsASGIHandler(1, spill_after=0.3)
    request_threads_urls.gate.clear()

    async def scenario():
        blocked = asyncio.ensure_future(get(app, "blocked", timeout=15))
        await asyncio.sleep(0.2)
        loop = asyncio.get_running_loop()
        started = loop.time()
        answer = await get(app, "whoami", timeout=5)  # the one kept thread is held
        waited = loop.time() - started
        request_threads_urls.gate.set()
        held = await blocked
        assert answer["thread"] != held["thread"]
        assert 0.25 <= waited < 3

    asyncio.run(scenario())
