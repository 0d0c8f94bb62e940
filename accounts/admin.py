"""Django admin for operators: teams, members, keys and the credit ledger."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.db import transaction
from django.db.models import Count
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import path, reverse

from accounts import services
from accounts.activity import Kind, activity_record
from accounts.models import (
    ActivityEvent,
    ApiKey,
    CreditLedgerEntry,
    Invite,
    Membership,
    Team,
    User,
)
from accounts.roles import API_KEY_SCOPES
from wireflow_site.errors import ApiError


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user", "team"]


def _set_member(request, *, team, user, role) -> Membership:
    """membership_set, with its line in the team's log (an operator added or re-roled them)."""
    with transaction.atomic():
        before = Membership.objects.filter(team=team, user=user).values_list(
            "role", flat=True).first()
        membership = services.membership_set(team=team, user=user, role=role)
        if before is None:
            activity_record(team_id=team.pk, kind=Kind.MEMBER_JOINED, user=request.user,
                            source="admin", subject=user.get_username(), details={"role": role})
        elif before != role:
            activity_record(team_id=team.pk, kind=Kind.MEMBER_ROLE_CHANGED, user=request.user,
                            source="admin", subject=user.get_username(),
                            details={"from": before, "to": role})
    return membership


def _remove_member(request, *, team, user) -> None:
    with transaction.atomic():
        if services.membership_remove(team=team, user=user):
            activity_record(team_id=team.pk, kind=Kind.MEMBER_REMOVED, user=request.user,
                            source="admin", subject=user.get_username())


class MembershipsThroughServices:
    """Membership rows edited inline go through the services, so a removed or re-roled
    member's open sockets re-check their access (accounts.member_sockets)."""

    def save_formset(self, request, form, formset, change):
        if formset.model is not Membership:
            return super().save_formset(request, form, formset, change)
        rows = formset.save(commit=False)
        for row in formset.deleted_objects:
            _remove_member(request, team=row.team, user=row.user)
        for row, changed in formset.changed_objects:
            if {"team", "user"} & set(changed):  # moved: the old pair loses its membership
                old = Membership.objects.select_related("team", "user").get(pk=row.pk)
                _remove_member(request, team=old.team, user=old.user)
        for row in rows:
            row.pk = _set_member(request, team=row.team, user=row.user, role=row.role).pk
        return None


@admin.register(User)
class UserAdmin(MembershipsThroughServices, BaseUserAdmin):
    inlines = [MembershipInline]
    list_display = ["username", "email", "is_staff", "is_active", "team_list", "last_login"]

    @admin.display(description="Teams")
    def team_list(self, user: User) -> str:
        return ", ".join(m.team.slug for m in user.memberships.select_related("team"))


class CreditGrantForm(forms.Form):
    amount = forms.IntegerField(min_value=1, help_text="Credits to add to each selected team.")
    reason = forms.CharField(max_length=300, required=False)


@admin.register(Team)
class TeamAdmin(MembershipsThroughServices, admin.ModelAdmin):
    list_display = ["name", "slug", "plan", "credit_balance", "member_count", "created_at"]
    list_filter = ["plan", "created_at"]
    search_fields = ["name", "slug"]
    prepopulated_fields = {"slug": ["name"]}
    readonly_fields = ["credit_balance", "webhook_secret", "created_at"]
    inlines = [MembershipInline]
    actions = ["grant_credits", "rotate_webhook_secret"]

    @admin.action(description="Rotate the webhook signing secret")
    def rotate_webhook_secret(self, request, queryset):
        for team in queryset:
            services.team_rotate_webhook_secret(team=team)
        self.message_user(request, f"New signing secret for {queryset.count()} team(s); "
                                   "receivers must use the new one.", messages.SUCCESS)

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(_members=Count("memberships"))

    @admin.display(description="Members", ordering="_members")
    def member_count(self, team: Team) -> int:
        return team._members

    @admin.action(description="Grant credits to the selected teams")
    def grant_credits(self, request, queryset):
        if "apply" in request.POST:
            form = CreditGrantForm(request.POST)
            if form.is_valid():
                for team in queryset:
                    services.credits_grant(
                        team=team,
                        amount=form.cleaned_data["amount"],
                        reason=form.cleaned_data["reason"] or "Granted in admin",
                        created_by=request.user,
                    )
                self.message_user(
                    request,
                    f"Granted {form.cleaned_data['amount']} credits to {queryset.count()} team(s).",
                    messages.SUCCESS,
                )
                return None
        else:
            form = CreditGrantForm()
        return render(
            request,
            "admin/accounts/grant_credits.html",
            {**self.admin_site.each_context(request), "form": form, "teams": queryset,
             "title": "Grant credits", "action": "grant_credits"},
        )


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "team", "role", "created_at"]
    list_filter = ["role", "team"]
    search_fields = ["user__username", "user__email", "team__slug", "team__name"]
    autocomplete_fields = ["user", "team"]

    # Through the services, so the member's open sockets re-check their access.
    def get_readonly_fields(self, request, obj=None):
        return ["user", "team"] if obj is not None else []  # a move is a remove and an add

    def save_model(self, request, obj, form, change):
        obj.pk = _set_member(request, team=obj.team, user=obj.user, role=obj.role).pk

    def delete_model(self, request, obj):
        _remove_member(request, team=obj.team, user=obj.user)

    def delete_queryset(self, request, queryset):
        for membership in queryset.select_related("team", "user"):
            _remove_member(request, team=membership.team, user=membership.user)


class ApiKeyCreateForm(forms.ModelForm):
    scopes = forms.MultipleChoiceField(
        choices=[(s, s) for s in API_KEY_SCOPES],
        initial=list(API_KEY_SCOPES),
        widget=forms.CheckboxSelectMultiple,
    )

    class Meta:
        model = ApiKey
        fields = ["team", "name", "scopes", "expires_at"]


def _shown_once_key(key_id: int) -> str:
    return f"accounts.new_api_key.{key_id}"


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "team", "masked", "scope_list", "created_at", "expires_at",
                    "revoked_at", "last_used_at"]
    list_filter = ["team", ("revoked_at", admin.EmptyFieldListFilter), "expires_at"]
    search_fields = ["name", "prefix", "last4", "team__slug"]
    readonly_fields = ["prefix", "last4", "key_hash", "created_by", "created_at",
                       "last_used_at", "revoked_at"]
    actions = ["revoke"]
    autocomplete_fields = ["team"]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = ApiKeyCreateForm
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        if obj is None:
            return []
        return [*self.readonly_fields, "team", "scopes"]

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["team", "name", "scopes", "expires_at"]
        return super().get_fields(request, obj)

    def save_model(self, request, obj, form, change):
        if change:
            return super().save_model(request, obj, form, change)
        try:
            with transaction.atomic():
                new = services.api_key_create(
                    team=form.cleaned_data["team"],
                    name=form.cleaned_data["name"],
                    scopes=form.cleaned_data["scopes"],
                    expires_at=form.cleaned_data.get("expires_at"),
                    created_by=request.user,
                )
                activity_record(team_id=new.api_key.team_id, kind=Kind.KEY_CREATED,
                                user=request.user, source="admin", subject=new.api_key.name,
                                details={"key": new.api_key.masked,
                                         "scopes": new.api_key.scopes})
        except ApiError as error:
            self.message_user(request, error.message, messages.ERROR)
            return None
        obj.pk = new.api_key.pk
        # Kept in the server-side session (database sessions) for one read by `created_view`:
        # never in a message, which the default storage writes into a cookie.
        request.session[_shown_once_key(obj.pk)] = new.raw_key
        return None

    def response_add(self, request, obj, post_url_continue=None):
        if _shown_once_key(obj.pk) in request.session:
            return HttpResponseRedirect(
                reverse("admin:accounts_apikey_created", args=[obj.pk]))
        return super().response_add(request, obj, post_url_continue)

    def get_urls(self):
        return [path("<int:key_id>/created/", self.admin_site.admin_view(self.created_view),
                     name="accounts_apikey_created"), *super().get_urls()]

    def created_view(self, request, key_id: int):
        """The new key, once: the first read takes it out of the session."""
        key = get_object_or_404(ApiKey, pk=key_id)
        raw_key = request.session.pop(_shown_once_key(key.pk), None)
        return render(request, "admin/accounts/apikey_created.html", {
            **self.admin_site.each_context(request), "title": f"API key {key.name}",
            "key": key, "raw_key": raw_key, "opts": self.model._meta,
        })

    @admin.display(description="Key")
    def masked(self, key: ApiKey) -> str:
        return key.masked

    @admin.display(description="Scopes")
    def scope_list(self, key: ApiKey) -> str:
        return ", ".join(key.scopes)

    @admin.action(description="Revoke the selected keys")
    def revoke(self, request, queryset):
        for key in queryset:
            with transaction.atomic():
                if not key.is_revoked:
                    activity_record(team_id=key.team_id, kind=Kind.KEY_REVOKED,
                                    user=request.user, source="admin", subject=key.name,
                                    details={"key": key.masked})
                services.api_key_revoke(api_key=key)
        self.message_user(request, f"Revoked {queryset.count()} key(s).", messages.SUCCESS)


@admin.register(CreditLedgerEntry)
class CreditLedgerAdmin(admin.ModelAdmin):
    """The ledger is append-only: visible, never edited or deleted (use 'Grant credits')."""

    list_display = ["created_at", "team", "kind", "delta", "balance_after", "reason",
                    "reference", "created_by"]
    list_filter = ["kind", "team", "created_at"]
    search_fields = ["team__slug", "reason", "reference"]
    date_hierarchy = "created_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class ReadOnlyAdmin(admin.ModelAdmin):
    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ActivityEvent)
class ActivityEventAdmin(ReadOnlyAdmin):
    """The teams' activity logs: append-only, as the team pages show them."""

    list_display = ["created_at", "team", "actor_name", "kind", "workflow_name", "subject",
                    "source"]
    list_filter = ["kind", "source", "team"]
    search_fields = ["team__slug", "actor_name", "workflow_name", "subject"]
    date_hierarchy = "created_at"


@admin.register(Invite)
class InviteAdmin(ReadOnlyAdmin):
    """Invites are made, resent and revoked by the teams' admins on /team; shown here."""

    list_display = ["created_at", "team", "email", "role", "created_by", "expires_at",
                    "accepted_at", "revoked_at"]
    list_filter = ["role", "team"]
    search_fields = ["team__slug", "email"]
    exclude = ["token_hash"]
