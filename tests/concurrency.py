"""Real concurrent requests: N threads released together by a barrier."""

from __future__ import annotations

import threading
from collections.abc import Callable

from django.db import connection
from rest_framework.test import APIClient


def keyed_client(raw_key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw_key}")
    return client


def at_once(count: int, call: Callable[[], int]) -> list[int]:
    """Run `call` in `count` threads started at the same instant; return what each returned."""
    barrier = threading.Barrier(count)
    results: list[int] = []

    def run():
        try:
            barrier.wait()
            results.append(call())
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return results
