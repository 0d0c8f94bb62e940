"""Plan limits counted in Redis: requests per minute per key, executions per minute and per day
per team. A Lua script checks every window and counts only when all have room, so concurrent
callers are never over-admitted. Minute windows are fixed (they reset on the minute); the day
resets at 00:00 UTC.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.conf import settings
from rest_framework.throttling import BaseThrottle

from accounts.models import Team
from accounts.plans import limits_for
from wireflow_site.errors import ApiError
from wireflow_site.redis_client import client

EXECUTIONS_MESSAGE = "Too many workflow executions. Please try again later."
REQUESTS_MESSAGE = "Too many requests. Please try again later."

# KEYS: counters; ARGV: amounts then limits then ttls (n each). Returns {admitted, i, count}.
_ADMIT = """
local n = #KEYS
for i = 1, n do
  local limit = tonumber(ARGV[n + i])
  if limit >= 0 then
    local current = tonumber(redis.call('GET', KEYS[i]) or '0')
    if current + tonumber(ARGV[i]) > limit then return {0, i, current} end
  end
end
local first = 0
for i = 1, n do
  local value = redis.call('INCRBY', KEYS[i], ARGV[i])
  if i == 1 then first = value end
  if value == tonumber(ARGV[i]) then redis.call('EXPIRE', KEYS[i], ARGV[2 * n + i]) end
end
return {1, 0, first}
"""


@dataclass(frozen=True)
class Window:
    key: str
    amount: int
    limit: int | None  # None: unlimited
    reset: int  # unix seconds when it resets


def _windows(now: float) -> tuple[int, int]:
    minute_reset = (int(now) // 60 + 1) * 60
    day_reset = (int(now) // 86400 + 1) * 86400
    return minute_reset, day_reset


def _admit(windows: list[Window]) -> tuple[bool, Window | None, int]:
    if not settings.RATE_LIMITS_ENABLED:  # an operator's switch (load tests, benchmarks)
        return True, None, 0
    script = client().register_script(_ADMIT)
    now = int(time.time())
    args = ([w.amount for w in windows] + [-1 if w.limit is None else w.limit for w in windows]
            + [max(1, w.reset - now + 5) for w in windows])
    admitted, index, count = script(keys=[w.key for w in windows], args=args)
    return bool(admitted), (windows[index - 1] if index else None), int(count)


def _too_many(message: str, window: Window) -> ApiError:
    retry_after = max(1, window.reset - int(time.time()))
    return ApiError(
        message, code="rate_limited", status=429, retryAfter=window.reset,
        headers={"Retry-After": str(retry_after), "X-RateLimit-Limit": str(window.limit),
                 "X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(window.reset)},
    )


def execution_windows(team: Team, *, runs: int = 1, calls: int = 1) -> list[Window]:
    limits = limits_for(team.plan)
    minute_reset, day_reset = _windows(time.time())
    minute, day = minute_reset // 60, day_reset // 86400
    return [
        Window(f"wireflow:rl:exec:m:{team.pk}:{minute}", calls, limits.executions_per_minute,
               minute_reset),
        Window(f"wireflow:rl:exec:d:{team.pk}:{day}", runs, limits.executions_per_day,
               day_reset),
    ]


def executions_admit(team: Team, *, runs: int = 1, calls: int = 1) -> list[Window]:
    """Count `runs` executions started by `calls` calls (a batch is one call), or 429."""
    windows = execution_windows(team, runs=runs, calls=calls)
    admitted, full, _ = _admit(windows)
    if not admitted:
        raise _too_many(EXECUTIONS_MESSAGE, full)
    return windows


def executions_refund(windows: list[Window]) -> None:
    """Give the counts back when the run was not created after all (bad graph, no credits)."""
    pipe = client().pipeline()
    for window in windows:
        pipe.decrby(window.key, window.amount)
    pipe.execute()


def executions_today(team: Team) -> int:
    return int(client().get(execution_windows(team)[1].key) or 0)


def executions_this_minute(team: Team) -> int:
    return int(client().get(execution_windows(team)[0].key) or 0)


class PlanRequestThrottle(BaseThrottle):
    """Requests per minute per API key (browser sessions are held only to execution limits).
    Leaves the figures on the request for the X-RateLimit-* headers."""

    def allow_request(self, request, view) -> bool:
        api_key = getattr(request.principal, "api_key", None) if hasattr(
            request, "principal") else None
        if api_key is None:
            return True
        api_key_request_admit(api_key, on_figures=lambda figures: setattr(
            request._request, "rate_limit", figures))
        return True


def api_key_request_admit(api_key, *, on_figures=None) -> tuple[int, int, int]:
    """Count one request of this key against its plan's requests per minute, or 429 (the REST
    API's throttle and the MCP endpoint share the window). `on_figures` sees (limit,
    remaining, reset) before a refusal is raised, for the X-RateLimit-* headers."""
    minute_reset, _ = _windows(time.time())
    limit = limits_for(api_key.team.plan).requests_per_minute
    window = Window(f"wireflow:rl:req:{api_key.key_hash[:24]}:{minute_reset // 60}", 1, limit,
                    minute_reset)
    admitted, _, count = _admit([window])
    figures = (limit, max(0, limit - count) if admitted else 0, minute_reset)
    if on_figures is not None:
        on_figures(figures)
    if not admitted:
        raise _too_many(REQUESTS_MESSAGE, window)
    return figures


def webhook_request_admit(team: Team, scope: str) -> tuple[int, int, int]:
    """Webhook triggers count against a per-workflow request window of the team's plan."""
    minute_reset, _ = _windows(time.time())
    limit = limits_for(team.plan).requests_per_minute
    window = Window(f"wireflow:rl:req:hook:{scope}:{minute_reset // 60}", 1, limit, minute_reset)
    admitted, _, count = _admit([window])
    if not admitted:
        raise _too_many(REQUESTS_MESSAGE, window)
    return limit, max(0, limit - count), minute_reset


def session_figures(team: Team) -> tuple[int, int, int]:
    """For the browser (held only to execution limits): this minute's execution window."""
    window = execution_windows(team)[0]
    used = int(client().get(window.key) or 0)
    return window.limit, max(0, window.limit - used), window.reset


def window_admit(*, scope: str, limit: int, seconds: int, message: str = REQUESTS_MESSAGE,
                 code: str = "rate_limited") -> None:
    """Count one event in a fixed window of `seconds` named by `scope` (e.g. a client app's
    visitor), or 429 with Retry-After when the window already holds `limit` of them."""
    now = int(time.time())
    reset = (now // seconds + 1) * seconds
    window = Window(f"wireflow:rl:{scope}:{seconds}:{now // seconds}", 1, limit, reset)
    admitted, _, _ = _admit([window])
    if not admitted:
        error = _too_many(message, window)
        error.code = code
        raise error
