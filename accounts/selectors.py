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
    roles: dict[int, str] = field(default_factory=dict)

    def team_ids(self) -> list[int]:
        return list(self.grants)

    def can(self, team_id: int, scope: str) -> bool:
        return scope in self.grants.get(team_id, frozenset())

    def role_on(self, team_id: int) -> str | None:
        """The member's role on the team (None for an API key, or a team they are not in)."""
        return self.roles.get(team_id)

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
        roles={m.team_id: m.role for m in memberships},
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


def team_for_principal(principal: Principal, team_id: int) -> Team:
    """The team in the path, if the principal may see it; another team is a 404 (never a 403,
    which would say it exists)."""
    from wireflow_site.errors import NotFound

    team = principal.teams.get(team_id)
    if team is None:
        raise NotFound("Team")
    return team


def team_members(*, team: Team) -> list[Membership]:
    return list(Membership.objects.filter(team=team).select_related("user").order_by(
        "created_at", "id"))


def team_member(*, team: Team, user_id: int) -> Membership:
    from wireflow_site.errors import NotFound

    membership = Membership.objects.select_related("user").filter(
        team=team, user_id=user_id).first()
    if membership is None:
        raise NotFound("Member")
    return membership


def team_invites(*, team: Team, pending_only: bool = True):
    from django.utils import timezone

    from accounts.models import Invite

    invites = Invite.objects.filter(team=team).select_related("created_by")
    if pending_only:
        invites = invites.filter(accepted_at__isnull=True, revoked_at__isnull=True,
                                 expires_at__gt=timezone.now())
    return list(invites)


def team_invite(*, team: Team, invite_id: int):
    from accounts.models import Invite
    from wireflow_site.errors import NotFound

    invite = Invite.objects.select_related("team", "created_by").filter(
        team=team, pk=invite_id).first()
    if invite is None:
        raise NotFound("Invite")
    return invite


def team_api_keys(*, team: Team) -> list[ApiKey]:
    return list(ApiKey.objects.filter(team=team).select_related("created_by"))


def team_api_key(*, team: Team, key_id: int) -> ApiKey:
    from wireflow_site.errors import NotFound

    api_key = ApiKey.objects.select_related("team", "created_by").filter(
        team=team, pk=key_id).first()
    if api_key is None:
        raise NotFound("API key")
    return api_key


def team_activity(*, team: Team, actor_id: int | None = None, workflow_id=None,
                  kind: str | None = None):
    """The team's log, newest first, filtered by person, workflow and kind (a queryset, for
    paging)."""
    from accounts.models import ActivityEvent

    events = ActivityEvent.objects.filter(team=team)
    if actor_id is not None:
        events = events.filter(actor_id=actor_id)
    if workflow_id is not None:
        events = events.filter(workflow_id=workflow_id)
    if kind:
        events = events.filter(kind=kind)
    return events.order_by("-created_at", "-id")
