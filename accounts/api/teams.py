"""/api/v1/teams/{teamId}/…: members, invites, API keys and the activity log, and
/api/v1/invites/{token}: an invite's page data and its acceptance.

Each view checks the team first (another team's is a 404), then the role or scope, then
calls one service of accounts.workspace. Managing members and keys needs a signed-in member
(their scopes `team:members` / `team:keys` are never given to API keys)."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import selectors, workspace
from accounts.api import team_serializers as s
from accounts.idempotency import idempotent
from accounts.models import ActivityEvent, ApiKey, Invite, Membership
from accounts.permissions import require_scope
from accounts.roles import MANAGE_KEYS, MANAGE_MEMBERS, Scope
from wireflow_site.errors import ApiError, ErrorOut, NotFound

MAX_ID = 2**31 - 1
PAGE_MAX = 100


def iso(value) -> str | None:
    if value is None:
        return None
    return value.isoformat().replace("+00:00", "Z")


def _body(serializer_class, request: Request) -> dict:
    if not isinstance(request.data, dict):
        raise ApiError("The request body must be a JSON object", code="invalid_request")
    unknown = sorted(set(request.data) - set(serializer_class().fields))
    if unknown:
        raise ApiError(f"Invalid request: unknown field(s): {', '.join(unknown)}",
                       code="invalid_request", fields={k: ["Unknown field."] for k in unknown})
    serializer = serializer_class(data=request.data)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


def _object_id(value: int, what: str) -> int:
    if value > MAX_ID:  # past what the database's integer holds: no such row
        raise NotFound(what)
    return value


def _team(request: Request, team_id: int, scope: str):
    team = selectors.team_for_principal(request.principal, _object_id(team_id, "Team"))
    require_scope(request.principal, team.pk, scope)
    return team


def _page(request: Request) -> tuple[int, int]:
    try:
        limit = max(1, min(PAGE_MAX, int(request.query_params.get("limit", 50))))
        offset = max(0, int(request.query_params.get("offset", 0)))
    except ValueError:
        raise ApiError("limit and offset must be integers", code="invalid_request") from None
    if offset > MAX_ID:
        raise ApiError(f"offset must be at most {MAX_ID}", code="invalid_request")
    return limit, offset


PAGE_PARAMS = [
    OpenApiParameter("limit", int, description=f"At most {PAGE_MAX}; 50 if not given"),
    OpenApiParameter("offset", {"type": "integer", "maximum": MAX_ID}),
]


def _base_url(request: Request) -> str:
    from django.conf import settings

    return settings.PUBLIC_BASE_URL or request.build_absolute_uri("/")


# --- teams and members ----------------------------------------------------------------------

def team_item(principal, team) -> dict:
    role = None
    if principal.api_key is None:
        role = (Membership.objects.filter(team=team, user=principal.user)
                .values_list("role", flat=True).first())
    return {"id": team.pk, "name": team.name, "slug": team.slug, "plan": team.plan,
            "role": role}


def member_out(membership: Membership, *, principal, show_email: bool) -> dict:
    return {"userId": membership.user_id, "username": membership.user.get_username(),
            "email": (membership.user.email or "") if show_email else None,
            "role": membership.role, "joinedAt": iso(membership.created_at),
            "isYou": principal.user is not None and membership.user_id == principal.user.pk}


class TeamListApi(APIView):
    """The caller's teams with their role in each (a key: its own team)."""

    @extend_schema(operation_id="teams_list", responses={200: s.TeamListOut})
    def get(self, request: Request) -> Response:
        principal = request.principal
        if principal.api_key is not None:
            return Response({"data": [team_item(principal, principal.api_key.team)]})
        return Response({"data": [
            {"id": m.team_id, "name": m.team.name, "slug": m.team.slug, "plan": m.team.plan,
             "role": m.role} for m in selectors.membership_list(user=principal.user)]})


class TeamMemberListApi(APIView):
    required_scopes = {"GET": Scope.WORKFLOWS_READ}

    @extend_schema(operation_id="teams_members_list", responses={200: s.MemberListOut})
    def get(self, request: Request, team_id: int) -> Response:
        team = _team(request, team_id, Scope.WORKFLOWS_READ)
        show_email = request.principal.can(team.pk, MANAGE_MEMBERS)
        return Response({"data": [
            member_out(m, principal=request.principal, show_email=show_email)
            for m in selectors.team_members(team=team)]})


class TeamMemberApi(APIView):
    """PATCH: change a member's role. DELETE: remove them (or leave, for yourself)."""

    required_scopes = {"PATCH": MANAGE_MEMBERS, "DELETE": Scope.WORKFLOWS_READ}

    @extend_schema(operation_id="teams_members_update", request=s.RoleIn,
                   responses={200: s.MemberItemOut,
                              409: OpenApiResponse(ErrorOut, description="`last_owner`")})
    def patch(self, request: Request, team_id: int, user_id: int) -> Response:
        team = _team(request, team_id, MANAGE_MEMBERS)
        member = selectors.team_member(team=team, user_id=_object_id(user_id, "Member"))
        data = _body(s.RoleIn, request)
        member = workspace.member_change_role(team=team, actor=request.principal,
                                              member=member, role=data["role"])
        return Response({"data": member_out(member, principal=request.principal,
                                            show_email=True)})

    @extend_schema(operation_id="teams_members_remove",
                   responses={204: None,
                              409: OpenApiResponse(ErrorOut, description="`last_owner`")})
    def delete(self, request: Request, team_id: int, user_id: int) -> Response:
        team = _team(request, team_id, Scope.WORKFLOWS_READ)
        member = selectors.team_member(team=team, user_id=_object_id(user_id, "Member"))
        workspace.member_remove(team=team, actor=request.principal, member=member)
        return Response(status=status.HTTP_204_NO_CONTENT)


# --- invites --------------------------------------------------------------------------------

def invite_out(invite: Invite) -> dict:
    return {"id": invite.pk, "email": invite.email, "role": invite.role,
            "state": invite.state(),
            "invitedBy": invite.created_by.get_username() if invite.created_by else None,
            "createdAt": iso(invite.created_at), "expiresAt": iso(invite.expires_at),
            "sentAt": iso(invite.sent_at)}


def sent_out(sent: workspace.SentInvite, request: Request) -> dict:
    return {**invite_out(sent.invite),
            "url": workspace.invite_url(sent.token, _base_url(request)),
            "emailSent": sent.email_sent, "emailError": sent.email_error}


class TeamInviteListApi(APIView):
    """GET: pending invites. POST: invite someone by email (mailed) or by link."""

    required_scopes = {"GET": MANAGE_MEMBERS, "POST": MANAGE_MEMBERS}

    @extend_schema(operation_id="teams_invites_list", responses={200: s.InviteListOut})
    def get(self, request: Request, team_id: int) -> Response:
        team = _team(request, team_id, MANAGE_MEMBERS)
        return Response({"data": [invite_out(i) for i in selectors.team_invites(team=team)]})

    @extend_schema(operation_id="teams_invites_create", request=s.InviteIn,
                   responses={201: s.InviteSentOut,
                              409: OpenApiResponse(ErrorOut, description="`already_member`")})
    @idempotent(lambda request, team_id: _team(request, team_id, MANAGE_MEMBERS), sealed=True)
    def post(self, request: Request, team_id: int) -> Response:
        team = _team(request, team_id, MANAGE_MEMBERS)
        data = _body(s.InviteIn, request)
        sent = workspace.invite_create(
            team=team, actor=request.principal, email=data.get("email", ""),
            role=data["role"], expires_in_days=data.get("expiresInDays"),
            base_url=_base_url(request))
        return Response({"data": sent_out(sent, request)}, status=status.HTTP_201_CREATED)


class TeamInviteApi(APIView):
    """DELETE: revoke a pending invite (its link stops working)."""

    required_scopes = {"DELETE": MANAGE_MEMBERS}

    @extend_schema(operation_id="teams_invites_revoke",
                   responses={200: s.InviteItemOut,
                              409: OpenApiResponse(ErrorOut, description="`invite_accepted`")})
    def delete(self, request: Request, team_id: int, invite_id: int) -> Response:
        team = _team(request, team_id, MANAGE_MEMBERS)
        invite = selectors.team_invite(team=team, invite_id=_object_id(invite_id, "Invite"))
        invite = workspace.invite_revoke(team=team, actor=request.principal, invite=invite)
        return Response({"data": invite_out(invite)})


class TeamInviteResendApi(APIView):
    required_scopes = {"POST": MANAGE_MEMBERS}

    @extend_schema(operation_id="teams_invites_resend", request=None,
                   responses={200: s.InviteSentOut,
                              409: OpenApiResponse(ErrorOut, description="Accepted or revoked")})
    def post(self, request: Request, team_id: int, invite_id: int) -> Response:
        team = _team(request, team_id, MANAGE_MEMBERS)
        invite = selectors.team_invite(team=team, invite_id=_object_id(invite_id, "Invite"))
        sent = workspace.invite_resend(team=team, actor=request.principal, invite=invite,
                                       base_url=_base_url(request))
        return Response({"data": sent_out(sent, request)})


GONE = OpenApiResponse(ErrorOut, description="`invite_accepted`, `invite_revoked` or "
                                             "`invite_expired`")


class InviteDetailApi(APIView):
    """What an invite link offers, for the signed-in person who opened it."""

    @extend_schema(operation_id="invites_retrieve",
                   responses={200: s.InvitePublicOut, 410: GONE})
    def get(self, request: Request, token: str) -> Response:
        invite = workspace.invite_check(workspace.invite_by_token(token))
        return Response({"data": {
            "teamName": invite.team.name, "role": invite.role,
            "invitedBy": invite.created_by.get_username() if invite.created_by else None,
            "expiresAt": iso(invite.expires_at)}})


class InviteAcceptApi(APIView):
    """Join the invite's team as the signed-in user (the link page makes an account first
    for someone who has none)."""

    @extend_schema(operation_id="invites_accept", request=None,
                   responses={201: s.InviteAcceptedOut, 403: ErrorOut, 410: GONE,
                              409: OpenApiResponse(ErrorOut, description="`already_member`")})
    def post(self, request: Request, token: str) -> Response:
        if request.principal.api_key is not None:
            raise ApiError("An invite is accepted by a signed-in person, not an API key",
                           code="forbidden", status=403)
        membership = workspace.invite_accept(token=token, user=request.principal.user)
        team = membership.team
        return Response({"data": {"id": team.pk, "name": team.name, "slug": team.slug,
                                  "plan": team.plan, "role": membership.role}},
                        status=status.HTTP_201_CREATED)


# --- API keys -------------------------------------------------------------------------------

def key_out(api_key: ApiKey) -> dict:
    state = ("revoked" if api_key.is_revoked else "expired" if api_key.is_expired()
             else "active")
    return {"id": api_key.pk, "name": api_key.name, "masked": api_key.masked,
            "scopes": list(api_key.scopes),
            "createdBy": api_key.created_by.get_username() if api_key.created_by else None,
            "createdAt": iso(api_key.created_at), "lastUsedAt": iso(api_key.last_used_at),
            "expiresAt": iso(api_key.expires_at), "revokedAt": iso(api_key.revoked_at),
            "state": state}


def scope_help() -> dict[str, str]:
    return {str(scope): scope.label for scope in Scope}


class TeamKeyListApi(APIView):
    required_scopes = {"GET": MANAGE_KEYS, "POST": MANAGE_KEYS}

    @extend_schema(operation_id="teams_keys_list", responses={200: s.KeyListOut})
    def get(self, request: Request, team_id: int) -> Response:
        team = _team(request, team_id, MANAGE_KEYS)
        return Response({"data": [key_out(k) for k in selectors.team_api_keys(team=team)],
                         "scopes": scope_help()})

    @extend_schema(operation_id="teams_keys_create", request=s.KeyIn,
                   responses={201: s.KeyCreatedOut})
    @idempotent(lambda request, team_id: _team(request, team_id, MANAGE_KEYS), sealed=True)
    def post(self, request: Request, team_id: int) -> Response:
        team = _team(request, team_id, MANAGE_KEYS)
        data = _body(s.KeyIn, request)
        new = workspace.team_api_key_create(
            team=team, actor=request.principal, name=data["name"],
            scopes=data.get("scopes"), expires_in_days=data.get("expiresInDays"))
        return Response({"data": {**key_out(new.api_key), "key": new.raw_key}},
                        status=status.HTTP_201_CREATED)


class TeamKeyRevokeApi(APIView):
    required_scopes = {"POST": MANAGE_KEYS}

    @extend_schema(operation_id="teams_keys_revoke", request=None,
                   responses={200: s.KeyItemOut})
    def post(self, request: Request, team_id: int, key_id: int) -> Response:
        team = _team(request, team_id, MANAGE_KEYS)
        api_key = selectors.team_api_key(team=team, key_id=_object_id(key_id, "API key"))
        api_key = workspace.team_api_key_revoke(team=team, actor=request.principal,
                                                api_key=api_key)
        return Response({"data": key_out(api_key)})


# --- activity -------------------------------------------------------------------------------

def activity_summary(event: ActivityEvent) -> str:
    what = event.get_kind_display()
    target = event.workflow_name or event.subject
    if event.kind == ActivityEvent.Kind.MEMBER_JOINED and event.subject != event.actor_name:
        line = (f"{event.actor_name} added {event.subject} to the team as "
                f"{event.details.get('role', '')}")
    elif event.kind == ActivityEvent.Kind.MEMBER_JOINED:
        line = f"{event.actor_name} joined the team as {event.details.get('role', '')}"
    elif event.kind == ActivityEvent.Kind.MEMBER_ROLE_CHANGED:
        line = (f"{event.actor_name} changed the role of {event.subject} from "
                f"{event.details.get('from')} to {event.details.get('to')}")
    elif event.kind == ActivityEvent.Kind.MEMBER_INVITED:
        who = "someone by link" if event.subject == "by link" else event.subject
        line = f"{event.actor_name} invited {who} as {event.details.get('role', '')}"
    elif event.kind == ActivityEvent.Kind.WORKFLOW_RENAMED:
        line = (f"{event.actor_name} renamed workflow {event.details.get('from', '')!r} to "
                f"{event.workflow_name!r}")
    elif event.kind == ActivityEvent.Kind.VERSION_NAMED:
        line = (f"{event.actor_name} named version {event.details.get('number')} of "
                f"{target} {event.details.get('label', '')!r}")
    elif event.kind == ActivityEvent.Kind.VERSION_RESTORED and "number" in event.details:
        line = (f"{event.actor_name} restored version {event.details.get('number')} of "
                f"{target} (as version {event.details.get('as')})")
    else:
        line = f"{event.actor_name} {what} {target}".rstrip()
    if event.source and event.kind in (ActivityEvent.Kind.RUN_STARTED,
                                       ActivityEvent.Kind.RUN_CANCELLED):
        app = event.details.get("app") if isinstance(event.details, dict) else None
        named = f" {app['name']}" if isinstance(app, dict) and app.get("name") else ""
        line += f" (from {event.source}{named})"
    return line


def activity_out(event: ActivityEvent) -> dict:
    return {"id": event.pk, "at": iso(event.created_at), "kind": event.kind,
            "summary": activity_summary(event), "actor": event.actor_name,
            "actorId": event.actor_id, "source": event.source,
            "workflowId": str(event.workflow_id) if event.workflow_id else None,
            "workflowName": event.workflow_name, "subject": event.subject,
            "details": event.details}


def activity_filters(params) -> dict:
    """The log's filters from a query string: `actor` (a user id), `workflowId`, `kind`."""
    import uuid

    filters: dict = {}
    actor = params.get("actor")
    if actor is not None:
        if not (actor.isascii() and actor.isdigit()) or int(actor) > MAX_ID:
            raise ApiError("actor must be a user id", code="invalid_request")
        filters["actor_id"] = int(actor)
    workflow_id = params.get("workflowId")
    if workflow_id is not None:
        try:
            filters["workflow_id"] = uuid.UUID(workflow_id)
        except ValueError:
            raise ApiError("workflowId must be a workflow id (a UUID)",
                           code="invalid_request") from None
    kind = params.get("kind")
    if kind is not None:
        if kind not in ActivityEvent.Kind.values:
            raise ApiError(f"kind must be one of {', '.join(ActivityEvent.Kind.values)}",
                           code="invalid_request")
        filters["kind"] = kind
    return filters


class TeamActivityApi(APIView):
    required_scopes = {"GET": Scope.WORKFLOWS_READ}

    @extend_schema(
        operation_id="teams_activity",
        parameters=[OpenApiParameter("actor", {"type": "integer", "minimum": 0,
                                               "maximum": MAX_ID},
                                     description="Only this person's actions (a user id)"),
                    OpenApiParameter("workflowId", {"type": "string", "format": "uuid"}),
                    OpenApiParameter("kind", str, enum=ActivityEvent.Kind.values),
                    *PAGE_PARAMS],
        responses={200: s.ActivityListOut})
    def get(self, request: Request, team_id: int) -> Response:
        team = _team(request, team_id, Scope.WORKFLOWS_READ)
        limit, offset = _page(request)
        events = selectors.team_activity(team=team, **activity_filters(request.query_params))
        page = list(events[offset:offset + limit])
        return Response({"data": [activity_out(e) for e in page],
                         "meta": {"total": events.count(), "limit": limit, "offset": offset}})
