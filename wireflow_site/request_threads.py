"""Django's ASGI handler with each request's synchronous work on a thread kept for it.

Under ASGI, Django runs a request's synchronous middleware and view in a thread made for that
request (asgiref's ThreadSensitiveContext) and joins it afterwards. With 32 requests in flight a
daphne process then holds 32 threads contending for the GIL with its event loop: the loop that
reads requests and writes answers gets the GIL between them, so answers wait behind everyone's
time slices (p99 of a trigger at 32 clients 2–3 s, `GET /healthz` 200–500 ms), and every request
pays a thread start and join and opens a database connection of its own (a new thread has none).

Here a fixed set of WEB_THREADS threads serves the requests in turn (asgiref's
ThreadSensitiveContext with an executor the caller owns, as asgiref documents): a request takes
an idle thread, runs its synchronous parts there, and gives it back; a request that finds none
idle waits for one, up to SPILL_AFTER (1 s), and then runs on a thread of its own as under
Django's handler. The threads keep their database connections across requests, recycled as
Django recycles them (CONN_MAX_AGE, health checks, the pool on PostgreSQL). Several threads,
not one: a request blocked on another machine (an object-store upload, an SMTP server) holds
its thread only, not the whole process. The middleware chain runs synchronously on that thread,
as under WSGI (one crossing in, one out), instead of Django's async chain.
"""

from __future__ import annotations

import asyncio
import threading
from collections import deque
from concurrent.futures import ThreadPoolExecutor

from asgiref.sync import ThreadSensitiveContext, sync_to_async
from django.core.handlers.asgi import ASGIHandler


class _Executors:
    """Idle single-thread executors, handed to waiting requests first come, first served.
    Safe across event loops (a test suite runs many), hence a lock and plain futures."""

    def __init__(self, executors: list[ThreadPoolExecutor]) -> None:
        self._idle = deque(executors)
        self._waiters: deque[asyncio.Future] = deque()
        self._lock = threading.Lock()

    async def take(self, wait: float) -> ThreadPoolExecutor | None:
        """An idle executor, waiting up to `wait` seconds for one; None if none came."""
        with self._lock:
            if self._idle:
                return self._idle.popleft()
            waiter = asyncio.get_running_loop().create_future()
            self._waiters.append(waiter)
        try:
            # wait_for returns the executor if it was handed over as the time ran out.
            return await asyncio.wait_for(waiter, wait)
        except TimeoutError:
            return None  # give_back() skips a waiter that is done
        except asyncio.CancelledError:
            # The request went away while waiting: _hand() gives the executor back, unless
            # it was handed over just before the cancellation reached us.
            if waiter.done() and not waiter.cancelled():
                self.give_back(waiter.result())
            raise

    def give_back(self, executor: ThreadPoolExecutor) -> None:
        with self._lock:
            while self._waiters:
                waiter = self._waiters.popleft()
                if not waiter.done():
                    waiter.get_loop().call_soon_threadsafe(self._hand, waiter, executor)
                    return
            self._idle.append(executor)

    def _hand(self, waiter: asyncio.Future, executor: ThreadPoolExecutor) -> None:
        if waiter.done():  # its request went away meanwhile
            self.give_back(executor)
        else:
            waiter.set_result(executor)


# How long a request waits for a kept thread before it takes one of its own, as Django's
# handler would give it: long enough that under load requests queue for the kept threads
# (a few ms each), short enough that when every kept thread waits on another machine (a
# database that went away: each request then waits out its connect timeout) `/healthz` and
# the rest still answer within about a second.
SPILL_AFTER = 1.0


class PooledThreadsASGIHandler(ASGIHandler):
    def __init__(self, threads: int, spill_after: float = SPILL_AFTER) -> None:
        if threads < 1:
            raise ValueError("WEB_THREADS must be at least 1")
        super().__init__()
        self.threads = threads
        self.spill_after = spill_after
        self._executors = _Executors(
            [ThreadPoolExecutor(max_workers=1, thread_name_prefix="request")
             for _ in range(threads)])

    def load_middleware(self, is_async: bool = False) -> None:
        # The middleware chain as under WSGI: every middleware and the view run in one go on
        # the request's thread. In Django's async chain the bottom of the stack is async, so a
        # sync view, each process_view and each response's render each cross back to the
        # thread on their own: three round trips between the event loop and the thread per
        # request, about a quarter of a daphne's CPU in a profile of triggers at 32 clients.
        super().load_middleware(is_async=False)

    async def get_response_async(self, request):
        return await sync_to_async(self.get_response, thread_sensitive=True)(request)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            raise ValueError(
                f"Django can only handle ASGI/HTTP connections, not {scope['type']}.")
        executor = await self._executors.take(self.spill_after)
        if executor is None:  # every kept thread is held: a thread of its own
            async with ThreadSensitiveContext():
                await self.handle(scope, receive, send)
            return
        try:
            async with ThreadSensitiveContext(executor=executor):
                await self.handle(scope, receive, send)
        finally:
            self._executors.give_back(executor)
