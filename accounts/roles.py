"""Roles and scopes: what a member or an API key may do.

A scope names one kind of operation; API keys carry scopes directly and a member's role grants
a fixed set of them, so one check serves both.

| role   | may                                                                           |
|--------|-------------------------------------------------------------------------------|
| viewer | read workflows, executions and usage; never edits or runs anything            |
| editor | + create, edit, delete and run workflows                                      |
| admin  | + manage API keys and members (but not owners)                                |
| owner  | + everything on the team, including other admins and owners and the plan      |
"""

from __future__ import annotations

from django.db import models


class Scope(models.TextChoices):
    WORKFLOWS_READ = "workflows:read", "Read workflows"
    WORKFLOWS_WRITE = "workflows:write", "Create, edit and delete workflows"
    WORKFLOWS_EXECUTE = "workflows:execute", "Run workflows"
    EXECUTIONS_READ = "executions:read", "Read executions and their outputs"
    USAGE_READ = "usage:read", "Read credits and usage"
    APPS_EXECUTE = "apps:execute", "Run the team's client apps"


# Scopes only a member can hold (never granted to an API key).
MANAGE_KEYS = "team:keys"
MANAGE_MEMBERS = "team:members"
MANAGE_TEAM = "team:owner"

API_KEY_SCOPES: tuple[str, ...] = tuple(Scope.values)


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    EDITOR = "editor", "Editor"
    VIEWER = "viewer", "Viewer"


_VIEWER = frozenset({Scope.WORKFLOWS_READ, Scope.EXECUTIONS_READ, Scope.USAGE_READ})
_EDITOR = _VIEWER | {Scope.WORKFLOWS_WRITE, Scope.WORKFLOWS_EXECUTE, Scope.APPS_EXECUTE}
_ADMIN = _EDITOR | {MANAGE_KEYS, MANAGE_MEMBERS}
_OWNER = _ADMIN | {MANAGE_TEAM}

ROLE_SCOPES: dict[str, frozenset[str]] = {
    Role.VIEWER: frozenset(str(s) for s in _VIEWER),
    Role.EDITOR: frozenset(str(s) for s in _EDITOR),
    Role.ADMIN: frozenset(str(s) for s in _ADMIN),
    Role.OWNER: frozenset(str(s) for s in _OWNER),
}
