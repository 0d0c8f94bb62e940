"""Writes a team's members make in the product (the team pages and /api/v1/teams/{id}/…):
roles, removals, API keys and invites. Each checks the actor's role on the team, changes
what it changes and appends its activity line in one transaction.

Who may (README's table): admins manage members and keys, but only owners touch owners (make
one, change one's role, remove one) or the plan; a member may leave; the last owner can be
neither demoted nor removed, so a team always has an owner."""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone
from rest_framework import exceptions

from accounts.activity import Kind, activity_record
from accounts.models import ApiKey, Invite, Membership, Team, User
from accounts.roles import MANAGE_KEYS, MANAGE_MEMBERS, MANAGE_TEAM, Role
from accounts.selectors import Principal
from accounts.services import NewApiKey, api_key_create, api_key_revoke, membership_set
from wireflow_site.errors import ApiError

log = logging.getLogger(__name__)

INVITE_DAYS_DEFAULT = 7
INVITE_DAYS_MAX = 30
KEY_DAYS_MAX = 3650


def _forbid(message: str) -> None:
    raise exceptions.PermissionDenied(message, code="insufficient_role")


def _require(actor: Principal, team: Team, scope: str, what: str) -> None:
    if actor.api_key is not None:
        _forbid(f"Only a signed-in member can {what}; API keys cannot")
    if not actor.can(team.pk, scope):
        _forbid(f"Your role on this team does not allow you to {what}")


def _owner_count(team: Team) -> int:
    return Membership.objects.filter(team=team, role=Role.OWNER).count()


def _lock_team(team: Team) -> None:
    """Owner changes of one team go one at a time, so two demotions cannot both pass the
    last-owner check."""
    Team.objects.select_for_update().filter(pk=team.pk).values_list("pk").first()


# --- members --------------------------------------------------------------------------------

def member_change_role(*, team: Team, actor: Principal, member: Membership,
                       role: str) -> Membership:
    if role not in Role.values:
        raise ApiError(f"Unknown role {role!r}. Valid: {', '.join(Role.values)}",
                       code="invalid_role")
    _require(actor, team, MANAGE_MEMBERS, "change roles")
    owner = actor.can(team.pk, MANAGE_TEAM)
    if Role.OWNER in (member.role, role) and not owner:
        _forbid("Only an owner can make an owner or change an owner's role")
    with transaction.atomic():
        _lock_team(team)
        member = Membership.objects.select_related("user").get(pk=member.pk)
        before = member.role
        if before == role:
            return member
        if before == Role.OWNER and _owner_count(team) == 1:
            raise ApiError("The team's last owner cannot be demoted: make another owner first",
                           code="last_owner", status=409)
        member = membership_set(team=team, user=member.user, role=role)
        activity_record(team_id=team.pk, kind=Kind.MEMBER_ROLE_CHANGED, user=actor.user,
                        subject=member.user.get_username(),
                        details={"from": before, "to": role})
    return member


def member_remove(*, team: Team, actor: Principal, member: Membership) -> None:
    """Take a member out of the team; their open sockets for it close (accounts.member_sockets,
    on the membership's delete). Anyone may leave; admins remove others, owners remove owners."""
    leaving = actor.user is not None and member.user_id == actor.user.pk and actor.api_key is None
    if not leaving:
        _require(actor, team, MANAGE_MEMBERS, "remove members")
        if member.role == Role.OWNER and not actor.can(team.pk, MANAGE_TEAM):
            _forbid("Only an owner can remove an owner")
    with transaction.atomic():
        _lock_team(team)
        member = Membership.objects.select_related("user").filter(pk=member.pk).first()
        if member is None:
            return
        if member.role == Role.OWNER and _owner_count(team) == 1:
            raise ApiError("The team's last owner cannot be removed: make another owner first",
                           code="last_owner", status=409)
        member.delete()
        activity_record(team_id=team.pk, kind=Kind.MEMBER_REMOVED, user=actor.user,
                        subject=member.user.get_username(),
                        details={"role": member.role, "left": leaving})


# --- API keys -------------------------------------------------------------------------------

def team_api_key_create(*, team: Team, actor: Principal, name: str, scopes: list[str] | None,
                        expires_in_days: int | None) -> NewApiKey:
    """The same rules as `manage.py createapikey`: scopes from API_KEY_SCOPES (all when none
    are named), an optional expiry in whole days from now."""
    _require(actor, team, MANAGE_KEYS, "manage API keys")
    if expires_in_days is not None and not 1 <= expires_in_days <= KEY_DAYS_MAX:
        raise ApiError(f"expiresInDays must be between 1 and {KEY_DAYS_MAX}",
                       code="invalid_request")
    expires_at = timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None
    with transaction.atomic():
        new = api_key_create(team=team, name=name, scopes=scopes, expires_at=expires_at,
                             created_by=actor.user)
        activity_record(team_id=team.pk, kind=Kind.KEY_CREATED, user=actor.user,
                        subject=new.api_key.name,
                        details={"key": new.api_key.masked, "scopes": new.api_key.scopes})
    return new


def team_api_key_revoke(*, team: Team, actor: Principal, api_key: ApiKey) -> ApiKey:
    _require(actor, team, MANAGE_KEYS, "manage API keys")
    with transaction.atomic():
        was_revoked = api_key.is_revoked
        api_key = api_key_revoke(api_key=api_key)
        if not was_revoked:
            activity_record(team_id=team.pk, kind=Kind.KEY_REVOKED, user=actor.user,
                            subject=api_key.name, details={"key": api_key.masked})
    return api_key


# --- invites --------------------------------------------------------------------------------

def invite_token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class SentInvite:
    invite: Invite
    token: str  # in the link; shown to the admin who made it, mailed, never stored
    email_sent: bool
    email_error: str = ""


def invite_url(token: str, base_url: str) -> str:
    return f"{base_url.rstrip('/')}/invite/{token}"


def _check_invite_role(team: Team, actor: Principal, role: str) -> None:
    if role not in Role.values:
        raise ApiError(f"Unknown role {role!r}. Valid: {', '.join(Role.values)}",
                       code="invalid_role")
    _require(actor, team, MANAGE_MEMBERS, "invite members")
    if role == Role.OWNER and not actor.can(team.pk, MANAGE_TEAM):
        _forbid("Only an owner can invite an owner")


def invite_create(*, team: Team, actor: Principal, email: str, role: str,
                  expires_in_days: int | None, base_url: str) -> SentInvite:
    """An invite with a role and an expiry; mailed when it names an email (else the admin
    copies the link). The email goes out after the invite is committed."""
    _check_invite_role(team, actor, role)
    days = INVITE_DAYS_DEFAULT if expires_in_days is None else expires_in_days
    if not 1 <= days <= INVITE_DAYS_MAX:
        raise ApiError(f"expiresInDays must be between 1 and {INVITE_DAYS_MAX}",
                       code="invalid_request")
    email = email.strip().lower()
    if email and Membership.objects.filter(team=team, user__email__iexact=email).exists():
        raise ApiError(f"{email} is already a member of this team", code="already_member",
                       status=409)
    token = secrets.token_urlsafe(32)
    with transaction.atomic():
        invite = Invite.objects.create(
            team=team, email=email, role=role, token_hash=invite_token_hash(token),
            created_by=actor.user, expires_at=timezone.now() + timedelta(days=days))
        activity_record(team_id=team.pk, kind=Kind.MEMBER_INVITED, user=actor.user,
                        subject=email or "by link", details={"role": role, "invite": invite.pk})
    return _mail(invite, token, base_url)


def invite_resend(*, team: Team, actor: Principal, invite: Invite, base_url: str) -> SentInvite:
    """A new link (the old one stops working) and a fresh expiry, mailed again."""
    _check_invite_role(team, actor, invite.role)
    if invite.state() in ("accepted", "revoked"):
        raise ApiError(f"This invite was {invite.state()}", code=f"invite_{invite.state()}",
                       status=409)
    token = secrets.token_urlsafe(32)
    days = max(1, round((invite.expires_at - invite.created_at) / timedelta(days=1)))
    invite.token_hash = invite_token_hash(token)
    invite.expires_at = timezone.now() + timedelta(days=days)
    invite.save(update_fields=["token_hash", "expires_at"])
    return _mail(invite, token, base_url)


def invite_revoke(*, team: Team, actor: Principal, invite: Invite) -> Invite:
    _check_invite_role(team, actor, invite.role)
    if invite.state() == "accepted":
        raise ApiError("This invite was already accepted", code="invite_accepted", status=409)
    with transaction.atomic():
        if invite.revoked_at is None:
            invite.revoked_at = timezone.now()
            invite.save(update_fields=["revoked_at"])
            activity_record(team_id=team.pk, kind=Kind.INVITE_REVOKED, user=actor.user,
                            subject=invite.email or "by link", details={"invite": invite.pk})
    return invite


def _mail(invite: Invite, token: str, base_url: str) -> SentInvite:
    if not invite.email:
        return SentInvite(invite=invite, token=token, email_sent=False)
    inviter = invite.created_by.get_username() if invite.created_by else "A teammate"
    link = invite_url(token, base_url)
    try:
        send_mail(
            subject=f"{inviter} invited you to {invite.team.name} on Wireflow",
            message=(f"{inviter} invited you to join the team {invite.team.name} on Wireflow "
                     f"as {invite.get_role_display().lower()}.\n\nAccept: {link}\n\n"
                     f"The link works once, until {invite.expires_at:%Y-%m-%d %H:%M} UTC.\n"),
            from_email=settings.DEFAULT_FROM_EMAIL, recipient_list=[invite.email])
    except Exception as error:  # noqa: BLE001 - the invite stands; the admin sees why
        log.warning("invite %s: the email to %s was not sent: %r", invite.pk, invite.email,
                    error)
        return SentInvite(invite=invite, token=token, email_sent=False,
                          email_error=f"The email could not be sent ({type(error).__name__}); "
                                      "copy the link instead")
    invite.sent_at = timezone.now()
    invite.save(update_fields=["sent_at"])
    return SentInvite(invite=invite, token=token, email_sent=True)


def invite_by_token(token: str) -> Invite | None:
    if not isinstance(token, str) or not token or len(token) > 200:
        return None
    return Invite.objects.select_related("team", "created_by").filter(
        token_hash=invite_token_hash(token)).first()


def invite_check(invite: Invite | None) -> Invite:
    if invite is None:
        raise ApiError("This invite link is not valid", code="not_found", status=404)
    state = invite.state()
    if state != "pending":
        messages = {"accepted": "This invite was already used",
                    "revoked": "This invite was revoked",
                    "expired": "This invite has expired: ask for a new one"}
        raise ApiError(messages[state], code=f"invite_{state}", status=410)
    return invite


def invite_accept(*, token: str, user: User) -> Membership:
    """Join the team with the invite's role. Single use: the invite's row is locked and marked
    accepted in the same transaction as the membership."""
    with transaction.atomic():
        invite = invite_check(invite_by_token(token))
        invite = Invite.objects.select_for_update().select_related("team").get(pk=invite.pk)
        invite_check(invite)
        team = invite.team
        if Membership.objects.filter(team=team, user=user).exists():
            raise ApiError(f"You are already a member of {team.name}", code="already_member",
                           status=409)
        membership = membership_set(team=team, user=user, role=invite.role)
        invite.accepted_at = timezone.now()
        invite.accepted_by = user
        invite.save(update_fields=["accepted_at", "accepted_by"])
        activity_record(team_id=team.pk, kind=Kind.MEMBER_JOINED, user=user,
                        subject=user.get_username(),
                        details={"role": invite.role, "invite": invite.pk,
                                 "invitedBy": invite.created_by.get_username()
                                 if invite.created_by else ""})
    return membership


def invite_accept_new_account(*, token: str, username: str, password: str,
                              email: str = "") -> Membership:
    """Accept by making an account (username, password checked by Django's validators)."""
    from django.contrib.auth.password_validation import validate_password
    from django.core.exceptions import ValidationError

    username = username.strip()
    if not username or len(username) > 150:
        raise ApiError("Choose a username (at most 150 characters)", code="invalid_request")
    if User.objects.filter(username__iexact=username).exists():
        raise ApiError("That username is taken", code="username_taken", status=409)
    candidate = User(username=username, email=email)
    try:
        User.username_validator(username)
        validate_password(password, candidate)
    except ValidationError as error:
        raise ApiError(" ".join(error.messages), code="invalid_request") from None
    try:
        with transaction.atomic():
            invite = invite_check(invite_by_token(token))
            user = User.objects.create_user(username=username, password=password,
                                            email=email or invite.email)
            return invite_accept(token=token, user=user)
    except IntegrityError:  # the same name taken in between
        raise ApiError("That username is taken", code="username_taken", status=409) from None
