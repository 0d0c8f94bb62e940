"""`Idempotency-Key` on creating POSTs: the first response is stored per team and key and
replayed (with `Idempotent-Replayed: true`) for 24 hours; the same key with another body is a
422, and a repeat while the first is still being handled is a 409. The unique (team, key) row
is the lock, so twenty identical requests at once create exactly one thing.
"""

from __future__ import annotations

import functools
import hashlib
import json
from datetime import timedelta

from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.response import Response

from accounts.models import IdempotencyRecord
from wireflow_site.errors import ApiError

LIFETIME = timedelta(hours=24)
ABANDONED = timedelta(minutes=5)
HEADER = "HTTP_IDEMPOTENCY_KEY"
KEPT_HEADERS = ("Location",)


def _request_hash(request) -> str:
    try:
        body = json.dumps(request.data, sort_keys=True, default=str)
    except (TypeError, ValueError):
        body = repr(request.data)
    material = f"{request.method} {request.path}\n{body}"
    return hashlib.sha256(material.encode()).hexdigest()


def _claim(team, key: str, digest: str) -> IdempotencyRecord | None:
    """Create the in-progress row (None: we own it) or return the existing one."""
    now = timezone.now()
    IdempotencyRecord.objects.filter(team=team, key=key, created_at__lt=now - LIFETIME).delete()
    # A first request that died mid-way (its process killed) must not block the key for a day.
    IdempotencyRecord.objects.filter(team=team, key=key, in_progress=True,
                                     created_at__lt=now - ABANDONED).delete()
    try:
        with transaction.atomic():
            IdempotencyRecord.objects.create(team=team, key=key, request_hash=digest)
        return None
    except IntegrityError:
        return IdempotencyRecord.objects.filter(team=team, key=key).first()


def idempotent_for_team(team_of):
    """Make a view method idempotent per team; `team_of(request, *args)` names the team."""

    def decorate(view_method):
        return _wrap(view_method, team_of)

    return decorate


def idempotent(view_method):
    """Decorate an APIView's `post`. The team is the caller's (a key's team, or a member's
    first team), so keys never collide across teams."""
    return _wrap(view_method, lambda request, *args, **kwargs: request.principal.default_team())


def _wrap(view_method, team_of):
    @functools.wraps(view_method)
    def wrapper(self, request, *args, **kwargs):
        key = request.META.get(HEADER, "").strip()
        team = team_of(request, *args, **kwargs) if key else None
        if not key or team is None:
            return view_method(self, request, *args, **kwargs)
        if len(key) > 255:
            raise ApiError("Idempotency-Key must be at most 255 characters",
                           code="invalid_idempotency_key")
        digest = _request_hash(request)
        existing = _claim(team, key, digest)
        if existing is not None:
            return _replay(existing, digest)
        try:
            response = view_method(self, request, *args, **kwargs)
        except ApiError as error:
            if error.status >= 500 or error.status == 429:  # transient: a retry may succeed
                IdempotencyRecord.objects.filter(team=team, key=key, in_progress=True).delete()
                raise
            _store(team, key, error.status, error.body(), error.headers)
            raise
        except Exception:
            IdempotencyRecord.objects.filter(team=team, key=key, in_progress=True).delete()
            raise
        if response.status_code >= 500:
            IdempotencyRecord.objects.filter(team=team, key=key, in_progress=True).delete()
        else:
            headers = {h: response[h] for h in KEPT_HEADERS if h in response}
            _store(team, key, response.status_code, response.data, headers)
        return response

    return wrapper


def _store(team, key, status_code, body, headers) -> None:
    IdempotencyRecord.objects.filter(team=team, key=key).update(
        in_progress=False, status_code=status_code,
        body=json.loads(json.dumps(body, default=str)), headers=dict(headers or {}),
    )


def _replay(record: IdempotencyRecord, digest: str) -> Response:
    if record is None:  # expired and removed between our two reads: ask to retry
        raise ApiError("A request with this Idempotency-Key is being processed",
                       code="idempotency_in_progress", status=409)
    if record.request_hash != digest:
        raise ApiError(
            "Idempotency-Key was already used with a different request body",
            code="idempotency_key_reused", status=422,
        )
    if record.in_progress:
        raise ApiError("A request with this Idempotency-Key is still being processed",
                       code="idempotency_in_progress", status=409)
    response = Response(record.body, status=record.status_code, headers=record.headers)
    response["Idempotent-Replayed"] = "true"
    return response
