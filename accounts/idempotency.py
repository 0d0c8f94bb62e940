"""`Idempotency-Key` on creating POSTs: the first response is stored and replayed (with
`Idempotent-Replayed: true`) for 24 hours; the same key with another body is a 422, and a
repeat while the first is still being handled is a 409.

A record belongs to the team the request acts on *and* to the caller (one API key, one
member, or the key-less callers of one workflow's webhook), so no one replays an answer
given to someone else. The view's `team_of` resolves that team through the same checks the
operation makes (404 for what the caller cannot see, 403 for what it may not do) and runs on
every keyed request, the replays included: a removed member or a demoted role gets the normal
refusal, never the stored answer. (A revoked or expired key is refused by authentication.)

A view whose answer carries a secret (a new API key, an invite link) is `sealed`: its stored
answer is encrypted (Fernet) under a key derived from SECRET_KEY and the request's own
Idempotency-Key, so a copy of the database alone does not reveal it during its 24 hours.

The unique (team, caller, key) row is the lock, so twenty identical requests at once create
exactly one thing.

What the view writes, the answer it reads back and the answer stored for the key commit in one
transaction: a request that fails part-way, the database going away included, is answered with
an error and leaves nothing made behind it (keyed or not; a view that opts out of the
key-less transaction makes its writes in one of its own).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
from collections.abc import Callable
from datetime import timedelta

from cryptography.fernet import Fernet, InvalidToken
from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework.response import Response

from accounts.models import IdempotencyRecord, Team
from wireflow_site.errors import ApiError, database_timed_out

LIFETIME = timedelta(hours=24)
ABANDONED = timedelta(minutes=5)
HEADER = "HTTP_IDEMPOTENCY_KEY"
KEPT_HEADERS = ("Location",)

# team_of(request, *args, **kwargs): the team acted on, after the operation's own permission
# checks (raising their 403/404); None when the request is too malformed to name one (the
# view then answers its 400, which changes nothing and needs no replay).
TeamOf = Callable[..., Team | None]
CallerOf = Callable[..., str]


def principal_caller(request, *args, **kwargs) -> str:
    """The authenticated caller: one API key, or one member however they signed in."""
    principal = request.principal
    if principal.api_key is not None:
        return f"key:{principal.api_key.pk}"
    return f"user:{principal.user.pk}"


def idempotent(team_of: TeamOf, *, caller_of: CallerOf = principal_caller,
               keyless_atomic: bool = True, sealed: bool = False):
    """Make a view method idempotent per (team it acts on, caller, key).

    `keyless_atomic=False`: a request without a key runs the view outside a transaction of
    ours, for a view whose writes are one transaction already (a webhook trigger: the run,
    its node runs and its reservation commit together in the planner). On SQLite a
    transaction holds the database's one write lock from its first statement, so one around
    the whole view would hold it while the request works out the run, and serialise every
    HTTP process's triggers behind it. `sealed`: the stored answer is encrypted (it holds a
    secret: a new API key, an invite link)."""

    def decorate(view_method):
        return _wrap(view_method, team_of, caller_of, keyless_atomic, sealed)

    return decorate


def _check_key(key: str) -> None:
    if len(key) > 255 or not key.isprintable():  # no control characters, no NUL
        raise ApiError("Idempotency-Key must be at most 255 printable characters",
                       code="invalid_idempotency_key")


def idempotent_call(*, team: Team, caller: str, key: str, request: str,
                    call: Callable[[], dict]) -> tuple[dict, bool]:
    """The same record, lock and replay for a caller that is not a view (an MCP tool's
    `idempotencyKey`): `request` names the operation and its arguments (the same key with
    another one is a 422), `call` does it and returns its answer. Returns the answer and
    whether it was replayed; an error the first call raised (not a 5xx or 429) is raised
    again on a replay, as the REST replay answers it again. The caller has made the
    operation's own permission checks, on every call, the replays included."""
    key = key.strip()
    _check_key(key)
    if not key:
        raise ApiError("idempotencyKey must not be empty", code="invalid_idempotency_key")
    where = {"team": team, "caller": caller, "key": key}
    records = IdempotencyRecord.objects.filter(**where)
    digest = hashlib.sha256(request.encode()).hexdigest()
    existing = _claim(where, digest)
    if existing is not None:
        status_code, body, headers = _replayed(existing, digest)
        if status_code >= 400:
            extra = {k: v for k, v in body.items() if k not in ("error", "code")}
            raise ApiError(body.get("error", ""), code=body.get("code", "error"),
                           status=status_code, headers=headers, **extra)
        return body, True
    try:
        with transaction.atomic():
            answer = call()
            _store(records, 200, answer, {})
    except ApiError as error:
        if error.status >= 500 or error.status == 429:
            records.filter(in_progress=True).delete()
            raise
        _store(records, error.status, error.body(), error.headers)
        raise
    except Exception as error:
        if not database_timed_out(error):
            records.filter(in_progress=True).delete()
        raise
    return answer, False


def _request_hash(request) -> str:
    try:
        body = json.dumps(request.data, sort_keys=True, default=str)
    except (TypeError, ValueError):
        body = repr(request.data)
    material = f"{request.method} {request.path}\n{body}"
    return hashlib.sha256(material.encode()).hexdigest()


def _claim(where: dict, digest: str) -> IdempotencyRecord | None:
    """Create the in-progress row (None: we own it) or return the existing one."""
    records = IdempotencyRecord.objects.filter(**where)
    now = timezone.now()
    records.filter(created_at__lt=now - LIFETIME).delete()
    # A first request that died mid-way (its process killed) must not block the key for a day.
    records.filter(in_progress=True, created_at__lt=now - ABANDONED).delete()
    try:
        with transaction.atomic():
            IdempotencyRecord.objects.create(**where, request_hash=digest)
        return None
    except IntegrityError:
        return records.first()


class _Seal:
    """Encrypts a stored answer under SECRET_KEY and the Idempotency-Key that made it."""

    def __init__(self, where: dict) -> None:
        material = f"idempotency\n{where['team'].pk}\n{where['caller']}\n{where['key']}"
        digest = hmac.new(settings.SECRET_KEY.encode(), material.encode(), hashlib.sha256)
        self.fernet = Fernet(base64.urlsafe_b64encode(digest.digest()))

    def close(self, body) -> dict:
        plain = json.dumps(body, default=str).encode()
        return {"sealed": self.fernet.encrypt(plain).decode()}

    def open(self, stored) -> dict | None:
        try:
            return json.loads(self.fernet.decrypt(stored["sealed"].encode()))
        except (InvalidToken, KeyError, TypeError, ValueError):
            return None


def _wrap(view_method, team_of: TeamOf, caller_of: CallerOf, keyless_atomic: bool,
          sealed: bool):
    @functools.wraps(view_method)
    def wrapper(self, request, *args, **kwargs):
        key = request.META.get(HEADER, "").strip()
        if not key:
            if not keyless_atomic:
                return view_method(self, request, *args, **kwargs)
            with transaction.atomic():
                return view_method(self, request, *args, **kwargs)
        _check_key(key)
        team = team_of(request, *args, **kwargs)
        if team is None:
            with transaction.atomic():
                return view_method(self, request, *args, **kwargs)
        where = {"team": team, "caller": caller_of(request, *args, **kwargs), "key": key}
        records = IdempotencyRecord.objects.filter(**where)
        digest = _request_hash(request)
        seal = _Seal(where) if sealed else None
        existing = _claim(where, digest)
        if existing is not None:
            return _replay(existing, digest, seal)
        try:
            with transaction.atomic():
                response = view_method(self, request, *args, **kwargs)
                if response.status_code < 500:
                    headers = {h: response[h] for h in KEPT_HEADERS if h in response}
                    _store(records, response.status_code, response.data, headers, seal)
        except ApiError as error:
            if error.status >= 500 or error.status == 429:  # transient: a retry may succeed
                records.filter(in_progress=True).delete()
                raise
            _store(records, error.status, error.body(), error.headers, seal)
            raise
        except Exception as error:
            # Free the key for a retry, unless the database just gave no connection for the
            # pool's whole timeout: a second wait would only double the client's.
            if not database_timed_out(error):
                records.filter(in_progress=True).delete()
            raise
        if response.status_code >= 500:
            records.filter(in_progress=True).delete()
        return response

    return wrapper


def _store(records, status_code, body, headers, seal: _Seal | None = None) -> None:
    records.update(
        in_progress=False, status_code=status_code,
        body=seal.close(body) if seal else json.loads(json.dumps(body, default=str)),
        headers=dict(headers or {}),
    )


def _replay(record: IdempotencyRecord | None, digest: str,
            seal: _Seal | None = None) -> Response:
    status_code, body, headers = _replayed(record, digest, seal)
    response = Response(body, status=status_code, headers=headers)
    response["Idempotent-Replayed"] = "true"
    return response


def _replayed(record: IdempotencyRecord | None, digest: str,
              seal: _Seal | None = None) -> tuple[int, dict, dict]:
    """The stored answer (status, body, headers) to replay, or the 409/422 refusing it."""
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
    body = record.body
    if seal is not None:
        body = seal.open(record.body)
        if body is None:  # SECRET_KEY changed since: the answer cannot be read back
            raise ApiError("The first answer to this Idempotency-Key can no longer be read; "
                           "use a new key", code="idempotency_key_reused", status=422)
    return record.status_code, body, record.headers
