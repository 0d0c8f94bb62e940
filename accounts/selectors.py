"""Reads on teams and keys, and the principal a request acts as."""

from __future__ import annotations

from dataclasses import dataclass, field

from accounts.models import ApiKey, Membership, Team, User
from accounts.roles import ROLE_SCOPES


@dataclass
class Principal:
    """Who a request acts for: a member (through a session) or an API key, and where.

    `grants` maps each team id the principal may see to the scopes it holds there.
    """

    user: User | None
    api_key: ApiKey | None
    grants: dict[int, frozenset[str]] = field(default_factory=dict)
    teams: dict[int, Team] = field(default_factory=dict)

    def team_ids(self) -> list[int]:
        return list(self.grants)

    def can(self, team_id: int, scope: str) -> bool:
        return scope in self.grants.get(team_id, frozenset())

    def has_scope_anywhere(self, scope: str) -> bool:
        return any(scope in scopes for scopes in self.grants.values())

    def default_team(self) -> Team | None:
        """The team a create lands in when the client names none."""
        if self.api_key is not None:
            return self.api_key.team
        return next(iter(self.teams.values()), None)


def principal_for_api_key(api_key: ApiKey) -> Principal:
    return Principal(
        user=None,
        api_key=api_key,
        grants={api_key.team_id: frozenset(api_key.scopes)},
        teams={api_key.team_id: api_key.team},
    )


def principal_for_user(user: User) -> Principal:
    memberships = Membership.objects.filter(user=user).select_related("team").order_by(
        "created_at", "id"
    )
    return Principal(
        user=user,
        api_key=None,
        grants={m.team_id: ROLE_SCOPES[m.role] for m in memberships},
        teams={m.team_id: m.team for m in memberships},
    )


def user_active(user_id: int) -> User | None:
    """The user as stored now, if they may still sign in (a socket's user is read at connect
    and goes stale)."""
    return User.objects.filter(pk=user_id, is_active=True).first()


def api_key_by_hash(key_hash: str) -> ApiKey | None:
    # A unique lookup: .get() skips the ORDER BY that .first() would compile on every request.
    try:
        return ApiKey.objects.select_related("team").get(key_hash=key_hash)
    except ApiKey.DoesNotExist:
        return None


def team_by_slug(slug: str) -> Team | None:
    return Team.objects.filter(slug=slug).first()


def membership_list(*, user: User) -> list[Membership]:
    """The user's teams with their role in each, oldest membership first (the default team)."""
    return list(Membership.objects.filter(user=user).select_related("team").order_by(
        "created_at", "id"))
