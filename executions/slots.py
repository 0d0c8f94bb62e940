"""A per-provider concurrency limit shared by every worker, kept in Redis.

Holders sit in a sorted set scored by lease expiry (a dead worker's slot frees itself); nodes
over the limit wait in a FIFO sorted set and are woken, one per freed slot, by `release`.
A waiting node holds no worker: its task returns and comes back when woken.
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
if woken[1] then return woken[1] end
return false
"""


@cache
def _scripts():
    conn = client()
    return conn.register_script(_ACQUIRE), conn.register_script(_RELEASE)


def _keys(provider: str) -> list[str]:
    return [f"wireflow:slots:{provider}", f"wireflow:slots:{provider}:waiting"]


def acquire(provider: str, holder: str, limit: int) -> bool:
    """Take (or keep) a slot for `holder`; when full, put it in line and say no."""
    acquire_script, _ = _scripts()
    return bool(acquire_script(keys=_keys(provider),
                               args=[time.time(), holder, limit, LEASE_SECONDS]))


def renew(provider: str, holder: str) -> None:
    client().zadd(_keys(provider)[0], {holder: time.time() + LEASE_SECONDS}, xx=True)


def release(provider: str, holder: str) -> str | None:
    """Free `holder`'s slot; return the id of the waiting node to wake, if any."""
    _, release_script = _scripts()
    woken = release_script(keys=_keys(provider), args=[holder])
    return woken.decode() if isinstance(woken, bytes) else woken


def forget(provider: str, holder: str) -> None:
    """Drop a node from the waiting line (it was cancelled or finished otherwise)."""
    client().zrem(_keys(provider)[1], holder)


def in_use(provider: str) -> int:
    key = _keys(provider)[0]
    client().zremrangebyscore(key, "-inf", time.time())
    return client().zcard(key)
