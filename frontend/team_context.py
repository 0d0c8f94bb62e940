"""Which team the team pages show, and the header's team menu (a template context processor).

The team is the one named by `?team=<id>` (remembered in the session), else the one last
chosen, else the user's oldest membership. Only the user's own teams can be chosen."""

from __future__ import annotations

from django.utils.functional import SimpleLazyObject

from accounts.models import Membership
from accounts.selectors import membership_list

SESSION_KEY = "wireflow_team_id"


def current_membership(request, memberships: list[Membership] | None = None
                       ) -> Membership | None:
    if memberships is None:
        memberships = membership_list(user=request.user)
    by_team = {m.team_id: m for m in memberships}
    asked = request.GET.get("team", "")
    if asked.isascii() and asked.isdigit() and int(asked) in by_team:
        request.session[SESSION_KEY] = int(asked)
        return by_team[int(asked)]
    remembered = request.session.get(SESSION_KEY)
    if remembered in by_team:
        return by_team[remembered]
    return memberships[0] if memberships else None


def team_menu(request) -> dict:
    """`team_menu`: the user's teams with their role in each and the current one; evaluated
    only by a page that shows the header's menu."""

    def build():
        user = getattr(request, "user", None)
        if user is None or not user.is_authenticated:
            return None
        memberships = membership_list(user=user)
        if not memberships:
            return None
        current = current_membership(request, memberships)
        return {"current": current, "teams": memberships}

    return {"team_menu": SimpleLazyObject(build)}
