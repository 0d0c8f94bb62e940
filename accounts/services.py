"""Writes on teams, memberships, API keys and credits."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone

from accounts import keycache
from accounts.member_sockets import member_access_changed
from accounts.models import ApiKey, CreditLedgerEntry, Membership, Team, User
from accounts.roles import API_KEY_SCOPES, Role
from accounts.selectors import api_key_by_hash
from wireflow_site.errors import ApiError

KEY_PREFIX = "sk-"
KEY_RANDOM_BYTES = 32  # token_urlsafe(32) gives 43 characters


def hash_api_key(raw_key: str) -> str:
    return hashlib.sha256(raw_key.encode()).hexdigest()


def team_create(*, name: str, slug: str, plan: str = "free", owner: User | None = None) -> Team:
    with transaction.atomic():
        team = Team.objects.create(name=name, slug=slug, plan=plan)
        if owner is not None:
            Membership.objects.create(user=owner, team=team, role=Role.OWNER)
    return team


def membership_set(*, team: Team, user: User, role: str) -> Membership:
    """Add the user to the team with `role`, or change their role there. A changed role is
    told to their open sockets, which close if the new role no longer allows their stream."""
    role = Role(role)
    with transaction.atomic():
        before = Membership.objects.select_for_update().filter(team=team, user=user).first()
        membership, _ = Membership.objects.update_or_create(
            team=team, user=user, defaults={"role": role}
        )
        if before is not None and before.role != role:
            member_access_changed(team_id=team.pk, user_id=user.pk)
    return membership


def membership_remove(*, team: Team, user: User) -> bool:
    """Take the user out of the team (False if they were not in it); their open sockets for
    the team close (told by the delete signal, as for every other way a membership goes)."""
    removed, _ = Membership.objects.filter(team=team, user=user).delete()
    return bool(removed)


@dataclass(frozen=True)
class NewApiKey:
    api_key: ApiKey
    raw_key: str  # shown once, never stored


def api_key_create(
    *,
    team: Team,
    name: str,
    scopes: list[str] | None = None,
    expires_at: datetime | None = None,
    created_by: User | None = None,
) -> NewApiKey:
    """Make a key `sk-…` with 43 random characters; store its hash, prefix and last 4."""
    scopes = list(API_KEY_SCOPES) if scopes is None else list(dict.fromkeys(scopes))
    unknown = [s for s in scopes if s not in API_KEY_SCOPES]
    if unknown:
        raise ApiError(
            f"Unknown scope(s): {', '.join(unknown)}. Valid: {', '.join(API_KEY_SCOPES)}",
            code="invalid_scope",
        )
    if not name.strip():
        raise ApiError("An API key needs a name", code="invalid_request")
    raw_key = KEY_PREFIX + secrets.token_urlsafe(KEY_RANDOM_BYTES)
    api_key = ApiKey.objects.create(
        team=team,
        name=name.strip(),
        prefix=raw_key[:10],
        last4=raw_key[-4:],
        key_hash=hash_api_key(raw_key),
        scopes=scopes,
        expires_at=expires_at,
        created_by=created_by,
    )
    return NewApiKey(api_key=api_key, raw_key=raw_key)


def api_key_revoke(*, api_key: ApiKey) -> ApiKey:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    return api_key


LAST_USED_RESOLUTION = timedelta(seconds=keycache.KEY_CACHE_SECONDS)


def api_key_for_request(*, key_hash: str) -> ApiKey | None:
    """The key a request presents. Usually from its short-lived Redis copy (no database);
    on a miss from the database, touched, then copied. A copy is made just after a touch
    and lives no longer than the touch resolution, so hits never need to touch."""
    api_key = keycache.cached_api_key(key_hash)
    if api_key is not None:
        return api_key
    api_key = api_key_by_hash(key_hash)
    if api_key is None or api_key.is_revoked:
        return api_key
    api_key_touch(api_key=api_key)
    keycache.cache_api_key(api_key)
    return api_key


def api_key_touch(*, api_key: ApiKey) -> None:
    """Record use, at most once a minute per key so busy keys don't write on every request."""
    now = timezone.now()
    if api_key.last_used_at and now - api_key.last_used_at < LAST_USED_RESOLUTION:
        return
    ApiKey.objects.filter(pk=api_key.pk).update(last_used_at=now)
    api_key.last_used_at = now


def _credits_apply(
    *, team: Team, delta: int, kind: str, reason: str, reference: str = "", created_by=None
) -> CreditLedgerEntry:
    """Change a balance and append its ledger row in one transaction; never below zero.

    One conditional UPDATE … RETURNING checks and moves the balance: its row lock serialises
    concurrent callers, and its WHERE refuses a change that would go below zero. (Inside a
    caller's transaction no savepoint is needed: an error here fails the caller as well.)"""
    table, column = Team._meta.db_table, Team._meta.get_field("credit_balance").column
    with transaction.atomic(savepoint=False):
        with connection.cursor() as cursor:
            cursor.execute(
                f"UPDATE {table} SET {column} = {column} + %s "
                f"WHERE id = %s AND {column} + %s >= 0 RETURNING {column}",
                [delta, team.pk, delta])
            row = cursor.fetchone()
        if row is None:
            available = Team.objects.filter(pk=team.pk).values_list(
                "credit_balance", flat=True).get()
            raise ApiError(
                f"Insufficient credits. Required: {-delta}, Available: {available}",
                code="insufficient_credits",
                status=402,
                insufficientCredits=True,
                requiredCredits=-delta,
                availableCredits=available,
            )
        new_balance = row[0]
        entry = CreditLedgerEntry.objects.create(
            team_id=team.pk,
            kind=kind,
            delta=delta,
            balance_after=new_balance,
            reason=reason,
            reference=reference,
            created_by=created_by,
        )
    team.credit_balance = new_balance
    return entry


def credits_grant(*, team: Team, amount: int, reason: str = "", created_by=None):
    if amount <= 0:
        raise ApiError("A grant must be a positive number of credits", code="invalid_amount")
    return _credits_apply(
        team=team,
        delta=amount,
        kind=CreditLedgerEntry.Kind.GRANT,
        reason=reason or "Credits granted",
        created_by=created_by,
    )


def credits_set(*, team: Team, balance: int, reason: str = "", created_by=None):
    """Bring the balance to `balance` with one adjustment row (no row when already there)."""
    if balance < 0:
        raise ApiError("A balance cannot be negative", code="invalid_amount")
    with transaction.atomic():
        current = Team.objects.select_for_update().get(pk=team.pk).credit_balance
        if current == balance:
            team.credit_balance = current
            return None
        return _credits_apply(
            team=team,
            delta=balance - current,
            kind=CreditLedgerEntry.Kind.ADJUSTMENT,
            reason=reason or f"Balance set to {balance}",
            created_by=created_by,
        )


def credits_reserve(*, team: Team, amount: int, reference: str) -> None:
    """Hold a run's estimated cost; 402 (nothing held) when the balance is short."""
    if amount > 0:
        _credits_apply(team=team, delta=-amount, kind=CreditLedgerEntry.Kind.CHARGE,
                       reason="Reserved for a run", reference=reference)


def credits_release(*, team: Team, amount: int, reference: str) -> None:
    """Give back the part of a reservation that was not spent."""
    if amount > 0:
        _credits_apply(team=team, delta=amount, kind=CreditLedgerEntry.Kind.REFUND,
                       reason="Unspent reservation returned", reference=reference)


def team_rotate_webhook_secret(*, team: Team) -> str:
    """A new Standard Webhooks signing secret; deliveries sign with it from now on."""
    from accounts.models import new_webhook_secret

    team.webhook_secret = new_webhook_secret()
    team.save(update_fields=["webhook_secret"])
    return team.webhook_secret
