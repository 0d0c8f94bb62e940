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


def test_a_freed_slot_goes_to_the_first_in_line_and_asking_again_keeps_a_slot():
    name = provider()
    assert slots.acquire(name, "a", 1)
    assert slots.acquire(name, "a", 1)  # the holder asking again keeps its slot
    assert not slots.acquire(name, "b", 1)
    assert not slots.acquire(name, "c", 1)
    assert slots.release(name, "a") == "b"
    assert not slots.acquire(name, "newcomer", 1)  # handed over: nobody takes it in between
    assert slots.acquire(name, "b", 1)
    assert slots.release(name, "b") == "c"
    assert slots.release(name, "c") == "newcomer"
    assert slots.release(name, "nobody") is None


def test_top_up_hands_slots_freed_without_a_release_to_those_waiting(monkeypatch):
    name = provider()
    monkeypatch.setattr(slots, "LEASE_SECONDS", -1)
    assert slots.acquire(name, "dead-1", 2) and slots.acquire(name, "dead-2", 2)
    monkeypatch.setattr(slots, "LEASE_SECONDS", 900)
    # Leases ran out but nobody released: the line would wait for ever without the top-up.
    slots.client().zadd(f"wireflow:slots:{name}:waiting", {"w1": 1, "w2": 2, "w3": 3})
    assert slots.top_up(name, 2) == ["w1", "w2"]
    assert slots.acquire(name, "w1", 2) and slots.acquire(name, "w2", 2)
    assert slots.waiting(name) == 1 and slots.top_up(name, 2) == []


def test_a_dead_holders_slot_frees_itself_when_its_lease_ends(monkeypatch):
    name = provider()
    monkeypatch.setattr(slots, "LEASE_SECONDS", -1)
    assert slots.acquire(name, "dead", 1)
    monkeypatch.setattr(slots, "LEASE_SECONDS", 900)
    assert slots.acquire(name, "alive", 1)


def test_a_slot_handed_to_a_node_that_stopped_waiting_is_passed_on(db):
    from executions import dispatch

    name = provider()
    holder, cancelled, also_gone = (str(uuid.uuid4()) for _ in range(3))
    assert slots.acquire(name, holder, 1)
    assert not slots.acquire(name, cancelled, 1)  # neither is a QUEUED node run any more
    assert not slots.acquire(name, also_gone, 1)
    dispatch.slot_free(name, holder)
    assert slots.in_use(name) == 0 and slots.waiting(name) == 0  # not stranded with them
