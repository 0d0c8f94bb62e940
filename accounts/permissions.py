"""Request-level permission: every API request acts as a team principal (key or member)."""

from __future__ import annotations

from rest_framework import exceptions, permissions

from accounts.models import ApiKey
from accounts.selectors import Principal, principal_for_api_key, principal_for_user


def request_principal(request) -> Principal | None:
    cached = getattr(request, "_wireflow_principal", None)
    if cached is not None:
        return cached
    if isinstance(request.auth, ApiKey):
        principal = principal_for_api_key(request.auth)
    elif request.user is not None and request.user.is_authenticated:
        principal = principal_for_user(request.user)
    else:
        return None
    # On the Django request too, so middleware (rate-limit headers) can see who asked.
    getattr(request, "_request", request)._wireflow_principal = principal
    request._wireflow_principal = principal
    return principal


class IsTeamPrincipal(permissions.BasePermission):
    """Authenticated, and the view's `required_scopes[method]` held on at least one team.

    Object checks (which team) happen in the selectors: objects of teams the principal can't
    see are never found (404), and writes check the scope on the object's own team.
    """

    def has_permission(self, request, view) -> bool:
        principal = request_principal(request)
        if principal is None:
            raise exceptions.NotAuthenticated()
        scope = getattr(view, "required_scopes", {}).get(request.method)
        if scope and not principal.has_scope_anywhere(scope):
            raise exceptions.PermissionDenied(
                f"Missing required scope: {scope}", code="insufficient_scope"
            )
        request.principal = principal
        return True


def require_scope(principal: Principal, team_id: int, scope: str) -> None:
    """403 unless the principal holds `scope` on this team (keys: scopes; members: role)."""
    if principal.can(team_id, scope):
        return
    if principal.api_key is not None:
        message = f"Missing required scope: {scope}"
    else:
        message = f"Your role on this team does not allow this ({scope})"
    raise exceptions.PermissionDenied(message, code="insufficient_scope")
