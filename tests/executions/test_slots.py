"""The provider concurrency limit lives in Redis and holds across processes and threads."""

from __future__ import annotations

import uuid
from concurrent.futures import ThreadPoolExecutor

from executions import slots


def provider() -> str:
    return f"test-{uuid.uuid4().hex[:8]}"


def test_no_more_than_the_limit_hold_a_slot_even_when_asking_at_once():
    name = provider()
    with ThreadPoolExecutor(16) as pool:
        granted = list(pool.map(lambda i: slots.acquire(name, f"n{i}", 5), range(64)))
    assert sum(granted) == 5
    assert slots.in_use(name) == 5


def test_a_freed_slot_wakes_the_first_in_line_and_asking_again_keeps_a_slot():
    name = provider()
    assert slots.acquire(name, "a", 1)
    assert slots.acquire(name, "a", 1)  # the holder asking again keeps its slot
    assert not slots.acquire(name, "b", 1)
    assert not slots.acquire(name, "c", 1)
    assert slots.release(name, "a") == "b"
    assert slots.acquire(name, "b", 1)
    assert slots.release(name, "b") == "c"
    assert slots.release(name, "nobody") is None


def test_a_dead_holders_slot_frees_itself_when_its_lease_ends(monkeypatch):
    name = provider()
    monkeypatch.setattr(slots, "LEASE_SECONDS", -1)
    assert slots.acquire(name, "dead", 1)
    monkeypatch.setattr(slots, "LEASE_SECONDS", 900)
    assert slots.acquire(name, "alive", 1)
