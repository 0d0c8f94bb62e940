"""Team workspace routes: /api/v1/teams/{teamId}/… and /api/v1/invites/{token}."""

from django.urls import path

from accounts.api import teams

app_name = "accounts"

urlpatterns = [
    path("teams", teams.TeamListApi.as_view(), name="teams"),
    path("teams/<int:team_id>/members", teams.TeamMemberListApi.as_view(), name="members"),
    path("teams/<int:team_id>/members/<int:user_id>", teams.TeamMemberApi.as_view(),
         name="member"),
    path("teams/<int:team_id>/invites", teams.TeamInviteListApi.as_view(), name="invites"),
    path("teams/<int:team_id>/invites/<int:invite_id>", teams.TeamInviteApi.as_view(),
         name="invite"),
    path("teams/<int:team_id>/invites/<int:invite_id>/resend",
         teams.TeamInviteResendApi.as_view(), name="invite-resend"),
    path("teams/<int:team_id>/keys", teams.TeamKeyListApi.as_view(), name="keys"),
    path("teams/<int:team_id>/keys/<int:key_id>/revoke", teams.TeamKeyRevokeApi.as_view(),
         name="key-revoke"),
    path("teams/<int:team_id>/activity", teams.TeamActivityApi.as_view(), name="activity"),
    path("invites/<str:token>", teams.InviteDetailApi.as_view(), name="invite-detail"),
    path("invites/<str:token>/accept", teams.InviteAcceptApi.as_view(), name="invite-accept"),
]
