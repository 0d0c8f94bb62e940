"""Input and output shapes of /api/v1/teams/{teamId}/… and /api/v1/invites/{token} (the views
build the output dicts; these are their schema)."""

from __future__ import annotations

from rest_framework import serializers

from accounts.models import ActivityEvent
from accounts.plans import Plan
from accounts.roles import API_KEY_SCOPES, Role
from wireflow_site.fields import StrictCharField, StrictIntegerField


class StrictEmailField(serializers.EmailField, StrictCharField):
    pass


# --- teams and members ----------------------------------------------------------------------

class TeamItemOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    slug = serializers.CharField()
    plan = serializers.ChoiceField(Plan.values)
    role = serializers.ChoiceField(Role.values, allow_null=True,
                                   help_text="The caller's role there (null for an API key).")


class TeamListOut(serializers.Serializer):
    data = TeamItemOut(many=True)


class MemberOut(serializers.Serializer):
    userId = serializers.IntegerField()
    username = serializers.CharField()
    email = serializers.CharField(allow_null=True, help_text="Shown to the team's admins only.")
    role = serializers.ChoiceField(Role.values)
    joinedAt = serializers.CharField()
    isYou = serializers.BooleanField()


class MemberListOut(serializers.Serializer):
    data = MemberOut(many=True)


class MemberItemOut(serializers.Serializer):
    data = MemberOut()


class RoleIn(serializers.Serializer):
    role = serializers.ChoiceField(Role.values)

    closed = True


# --- invites --------------------------------------------------------------------------------

class InviteIn(serializers.Serializer):
    email = StrictEmailField(required=False, allow_blank=True,
                             help_text="Mailed the link; leave out to invite by link only.")
    role = serializers.ChoiceField(Role.values, default=Role.EDITOR)
    expiresInDays = StrictIntegerField(required=False, min_value=1, max_value=30,
                                       help_text="7 if not given.")

    closed = True


class InviteOut(serializers.Serializer):
    id = serializers.IntegerField()
    email = serializers.CharField(allow_blank=True)
    role = serializers.ChoiceField(Role.values)
    state = serializers.ChoiceField(["pending", "accepted", "revoked", "expired"])
    invitedBy = serializers.CharField(allow_null=True)
    createdAt = serializers.CharField()
    expiresAt = serializers.CharField()
    sentAt = serializers.CharField(allow_null=True)


class InviteListOut(serializers.Serializer):
    data = InviteOut(many=True)


class InviteSentResult(InviteOut):
    url = serializers.CharField(help_text="The invite link: shown now only (resend makes a "
                                          "new one).")
    emailSent = serializers.BooleanField()
    emailError = serializers.CharField(allow_blank=True)


class InviteSentOut(serializers.Serializer):
    data = InviteSentResult()


class InviteItemOut(serializers.Serializer):
    data = InviteOut()


class InvitePublicResult(serializers.Serializer):
    teamName = serializers.CharField()
    role = serializers.ChoiceField(Role.values)
    invitedBy = serializers.CharField(allow_null=True)
    expiresAt = serializers.CharField()


class InvitePublicOut(serializers.Serializer):
    data = InvitePublicResult()


class InviteAcceptedOut(serializers.Serializer):
    data = TeamItemOut()


# --- API keys -------------------------------------------------------------------------------

class KeyIn(serializers.Serializer):
    name = StrictCharField(max_length=100)
    scopes = serializers.ListField(child=serializers.ChoiceField(API_KEY_SCOPES),
                                   required=False, help_text="All scopes if not given.")
    expiresInDays = StrictIntegerField(required=False, allow_null=True, min_value=1,
                                       max_value=3650, help_text="Never expires if not given.")

    closed = True


class KeyOut(serializers.Serializer):
    id = serializers.IntegerField()
    name = serializers.CharField()
    masked = serializers.CharField(help_text="The first 10 characters … the last 4.")
    scopes = serializers.ListField(child=serializers.CharField())
    createdBy = serializers.CharField(allow_null=True)
    createdAt = serializers.CharField()
    lastUsedAt = serializers.CharField(allow_null=True)
    expiresAt = serializers.CharField(allow_null=True)
    revokedAt = serializers.CharField(allow_null=True)
    state = serializers.ChoiceField(["active", "expired", "revoked"])


class KeyListOut(serializers.Serializer):
    data = KeyOut(many=True)
    scopes = serializers.DictField(child=serializers.CharField(),
                                   help_text="Every scope a key may hold and what it allows.")


class KeyCreatedResult(KeyOut):
    key = serializers.CharField(help_text="The key itself: shown now only, never again.")


class KeyCreatedOut(serializers.Serializer):
    data = KeyCreatedResult()


class KeyItemOut(serializers.Serializer):
    data = KeyOut()


# --- activity -------------------------------------------------------------------------------

class ActivityOut(serializers.Serializer):
    id = serializers.IntegerField()
    at = serializers.CharField()
    kind = serializers.ChoiceField(ActivityEvent.Kind.values)
    summary = serializers.CharField(help_text="The line as the activity page shows it.")
    actor = serializers.CharField(help_text="A username, `key <name>`, or `operator`.")
    actorId = serializers.IntegerField(allow_null=True)
    source = serializers.CharField(allow_blank=True,
                                   help_text="editor, api, webhook, batch, cli, admin or empty")
    workflowId = serializers.UUIDField(allow_null=True)
    workflowName = serializers.CharField(allow_blank=True)
    subject = serializers.CharField(allow_blank=True)
    details = serializers.DictField()


class PageMeta(serializers.Serializer):
    total = serializers.IntegerField()
    limit = serializers.IntegerField()
    offset = serializers.IntegerField()


class ActivityListOut(serializers.Serializer):
    data = ActivityOut(many=True)
    meta = PageMeta()
