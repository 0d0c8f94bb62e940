"""A short-lived Redis copy of the API keys requests present, so an authenticated request
that needs nothing else from the database (a poll between changes) opens no connection.

Coherence: the copy lives KEY_CACHE_SECONDS at most. Whenever a key or its team is saved or
deleted, the key's entry is overwritten after commit with a tombstone for that long, and
readers only ever add an entry where none exists (SET NX), so a reader that loaded the row
before the change can never put the old row back. A tombstone reads as a miss: those
requests go to the database until it expires. Fields not copied here (a team's credit
balance, say) are deferred on the rebuilt instances and load fresh from the database if read.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime

from django.db import transaction
from django.db.models.signals import post_delete, post_save

from accounts.models import ApiKey, Team
from wireflow_site.partial import partial_instance
from wireflow_site.redis_client import client

KEY_CACHE_SECONDS = 60  # also the resolution of last_used_at (accounts.services)
_TOMBSTONE = b"-"
_KEY_FIELDS = ("id", "team_id", "name", "prefix", "last4", "key_hash", "scopes", "created_at",
               "expires_at", "revoked_at", "last_used_at")
_TEAM_FIELDS = ("id", "name", "slug", "plan")
_TIMES = {"created_at", "expires_at", "revoked_at", "last_used_at"}


def _cache_key(key_hash: str) -> str:
    return f"wireflow:apikey:{key_hash}"


def cached_api_key(key_hash: str) -> ApiKey | None:
    """The key from its Redis copy, or None when there is none (or only a tombstone)."""
    raw = client().get(_cache_key(key_hash))
    if not raw or raw == _TOMBSTONE:
        return None
    record = json.loads(raw)
    values = {f: datetime.fromisoformat(record[f]) if f in _TIMES and record[f] else record[f]
              for f in _KEY_FIELDS}
    api_key = partial_instance(ApiKey, values)
    api_key.team = partial_instance(Team, record["team"])
    return api_key


def cache_api_key(api_key: ApiKey) -> None:
    """Keep a copy of a key just read from the database, unless an entry (or a tombstone
    left by a change) is already there."""
    record = {f: getattr(api_key, f) for f in _KEY_FIELDS}
    for name in _TIMES:
        record[name] = record[name].isoformat() if record[name] else None
    record["team"] = {f: getattr(api_key.team, f) for f in _TEAM_FIELDS}
    client().set(_cache_key(api_key.key_hash), json.dumps(record), nx=True,
                 ex=KEY_CACHE_SECONDS)


def forget_api_keys(key_hashes: Iterable[str]) -> None:
    """After the current transaction commits, tombstone these keys' copies."""
    hashes = [h for h in key_hashes if h]
    if not hashes:
        return

    def tombstone() -> None:
        pipe = client().pipeline(transaction=False)
        for key_hash in hashes:
            pipe.set(_cache_key(key_hash), _TOMBSTONE, ex=KEY_CACHE_SECONDS)
        pipe.execute()

    transaction.on_commit(tombstone)


def _key_changed(sender, instance: ApiKey, created: bool = False, **kwargs) -> None:
    if not created:  # a new key's hash has never been seen, so nothing can be stale
        forget_api_keys([instance.key_hash])


def _team_changed(sender, instance: Team, **kwargs) -> None:
    # (A deleted team's keys go first, each with its own post_delete.)
    forget_api_keys(ApiKey.objects.filter(team_id=instance.pk).values_list("key_hash",
                                                                          flat=True))


def connect() -> None:
    """Cache coherence, not business logic: any save of a key or team, from a service, the
    admin or a shell, must drop the copies."""
    post_save.connect(_key_changed, sender=ApiKey, dispatch_uid="apikey-cache-save")
    post_delete.connect(_key_changed, sender=ApiKey, dispatch_uid="apikey-cache-delete")
    post_save.connect(_team_changed, sender=Team, dispatch_uid="team-apikey-cache-save")
