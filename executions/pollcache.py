"""The poll endpoint's Redis cache: each run's head (team, seq) and its payloads by seq.

A poll between state changes reads both in one round trip and touches no database. The
database stays the truth:

- every seq bump (executions.events) advances the head after commit, before its events go
  out, so a client that has seen event N never polls back an older payload;
- the head only moves forward (writers and readers alike set it to the max), so a reader that
  read an old seq from the database cannot move it back;
- a head lives HEAD_SECONDS after its last bump: if a process died between a commit and the
  head update, polls read the database again within that time;
- a deleted run's head becomes a tombstone, which reads as a miss and is never advanced.
"""

from __future__ import annotations

from functools import cache
from typing import Any, NamedTuple

from django.conf import settings
from django.db import transaction
from django.db.models.signals import post_delete
from redis.commands.core import Script

from executions.models import Execution
from wireflow_site.redis_client import client

HEAD_SECONDS = 60
PAYLOAD_SECONDS = 600
_GONE = "gone"

# KEYS[1] head; ARGV: team, seq, ttl. Moves the head to "team:seq" unless it is at or past seq.
_ADVANCE = """
local current = redis.call('GET', KEYS[1])
if current == 'gone' then return 0 end
if current then
  local seq = tonumber(string.match(current, ':(%d+)$'))
  if seq >= tonumber(ARGV[2]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[1] .. ':' .. ARGV[2], 'EX', ARGV[3])
return 1
"""

# KEYS[1] head; ARGV[1] payload key prefix. Returns {head, payload at the head's seq}.
_READ = """
local head = redis.call('GET', KEYS[1])
if not head or head == 'gone' then return {false, false} end
local seq = string.match(head, ':(%d+)$')
return {head, redis.call('GET', ARGV[1] .. seq)}
"""


@cache
def _script(source: str) -> Script:
    return client().register_script(source)


class Head(NamedTuple):
    team_id: int
    seq: int
    payload: bytes | None  # the cached poll response at that seq, if built yet


def _head_key(execution_id: Any) -> str:
    return f"wireflow:poll:head:{execution_id}"


def _payload_prefix(execution_id: Any) -> str:
    return f"wireflow:poll:{execution_id}:"


def read(execution_id: Any) -> Head | None:
    head, payload = _script(_READ)(
        keys=[_head_key(execution_id)], args=[_payload_prefix(execution_id)])
    if head is None:
        return None
    team_id, _, seq = head.decode().partition(":")
    return Head(int(team_id), int(seq), payload)


def advance(heads: dict[Any, tuple[int, int]]) -> None:
    """Move each run's head forward to (team id, seq); one round trip for all of them."""
    if not heads:
        return
    script = _script(_ADVANCE)
    pipe = client().pipeline(transaction=False)
    for execution_id, (team_id, seq) in heads.items():
        script(keys=[_head_key(execution_id)], args=[team_id, seq, HEAD_SECONDS], client=pipe)
    pipe.execute()


def store(execution_id: Any, seq: int, payload: bytes) -> None:
    # A payload carries signed media URLs: never serve one past half their lifetime.
    ttl = max(1, min(PAYLOAD_SECONDS, settings.MEDIA_URL_LIFETIME // 2))
    client().set(_payload_prefix(execution_id) + str(seq), payload, ex=ttl)


def payload_forget(execution_id: Any, seq: int) -> None:
    """Drop the answer cached at `seq`: the run changed without an event (retention deleted
    some of its files), so the next poll builds it again."""
    client().delete(_payload_prefix(execution_id) + str(seq))


def tombstone(execution_id: Any) -> None:
    client().set(_head_key(execution_id), _GONE, ex=HEAD_SECONDS)


def _execution_deleted(sender, instance, **kwargs) -> None:
    pk = instance.pk
    transaction.on_commit(lambda: tombstone(pk))


def connect() -> None:
    """Cache coherence: a run deleted from anywhere (admin, a team's deletion) stops being
    served from the cache at once."""
    post_delete.connect(_execution_deleted, sender=Execution, dispatch_uid="poll-head-delete")
