"""A per-provider concurrency limit shared by every worker, kept in Redis.

Holders sit in a sorted set scored by lease expiry (a dead worker's slot frees itself); nodes
over the limit wait in a FIFO sorted set. A waiting node holds no worker and no timer: its
task returns, and `release` hands the freed slot straight to the first in line (who then
finds it already holds one), so no newcomer can take it in between. The reaper's `top_up`
covers slots freed by an expired lease, and a woken node that no longer wants its slot.
"""

from __future__ import annotations

import time
from functools import cache

from wireflow_site.redis_client import client

LEASE_SECONDS = 900

_ACQUIRE = """
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZSCORE', KEYS[1], ARGV[2]) or redis.call('ZCARD', KEYS[1]) < tonumber(ARGV[3]) then
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[4]), ARGV[2])
  redis.call('ZREM', KEYS[2], ARGV[2])
  return 1
end
redis.call('ZADD', KEYS[2], 'NX', now, ARGV[2])
return 0
"""

_RELEASE = """
local removed = redis.call('ZREM', KEYS[1], ARGV[1])
if removed == 0 then return false end
local woken = redis.call('ZPOPMIN', KEYS[2])
if woken[1] then
  redis.call('ZADD', KEYS[1], tonumber(ARGV[2]) + tonumber(ARGV[3]), woken[1])
  return woken[1]
end
return false
"""

# Hand every free slot to the next in line. ARGV: now, limit, lease seconds.
_TOP_UP = """
local now = tonumber(ARGV[1])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
local free = tonumber(ARGV[2]) - redis.call('ZCARD', KEYS[1])
local woken = {}
while free > 0 do
  local next = redis.call('ZPOPMIN', KEYS[2])
  if not next[1] then break end
  redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), next[1])
  table.insert(woken, next[1])
  free = free - 1
end
return woken
"""


@cache
def _scripts():
    conn = client()
    return (conn.register_script(_ACQUIRE), conn.register_script(_RELEASE),
            conn.register_script(_TOP_UP))


def _keys(provider: str) -> list[str]:
    return [f"wireflow:slots:{provider}", f"wireflow:slots:{provider}:waiting"]


def acquire(provider: str, holder: str, limit: int) -> bool:
    """Take (or keep) a slot for `holder`; when full, put it in line and say no."""
    acquire_script, _, _ = _scripts()
    return bool(acquire_script(keys=_keys(provider),
                               args=[time.time(), holder, limit, LEASE_SECONDS]))


def renew(provider: str, holder: str) -> None:
    client().zadd(_keys(provider)[0], {holder: time.time() + LEASE_SECONDS}, xx=True)


def release(provider: str, holder: str) -> str | None:
    """Free `holder`'s slot, handing it to the first waiting node: return that node's id (to
    wake; it holds the slot now), if any."""
    _, release_script, _ = _scripts()
    woken = release_script(keys=_keys(provider), args=[holder, time.time(), LEASE_SECONDS])
    return woken.decode() if isinstance(woken, bytes) else woken


def top_up(provider: str, limit: int) -> list[str]:
    """Hand every free slot to the next waiting node; return the ids to wake."""
    _, _, top_up_script = _scripts()
    woken = top_up_script(keys=_keys(provider), args=[time.time(), limit, LEASE_SECONDS])
    return [w.decode() if isinstance(w, bytes) else w for w in woken]


def waiting(provider: str) -> int:
    return client().zcard(_keys(provider)[1])


def forget(provider: str, holder: str) -> None:
    """Drop a node from the waiting line (it was cancelled or finished otherwise)."""
    client().zrem(_keys(provider)[1], holder)


def in_use(provider: str) -> int:
    key = _keys(provider)[0]
    client().zremrangebyscore(key, "-inf", time.time())
    return client().zcard(key)
