"""Output shapes of the developer endpoints, for the OpenAPI schema (the views build the dicts).

A help text that starts with "(addition)" marks a field api.md does not list."""

from __future__ import annotations

from rest_framework import serializers

from accounts.plans import Plan


class SpendDayOut(serializers.Serializer):
    date = serializers.DateField(help_text="A UTC day.")
    credits = serializers.IntegerField(help_text="Net credits spent that day (refunds deducted).")


class UsageResult(serializers.Serializer):
    teamId = serializers.IntegerField(help_text="(addition)")
    plan = serializers.ChoiceField(Plan.values, help_text="(addition)")
    balance = serializers.IntegerField(help_text="Credits left.")
    executionsToday = serializers.IntegerField()
    executionsPerDay = serializers.IntegerField(
        allow_null=True, help_text="The plan's daily quota; null: unlimited.")
    executionsPerMinute = serializers.IntegerField(help_text="(addition)")
    requestsPerMinute = serializers.IntegerField(help_text="(addition)")
    retentionDays = serializers.IntegerField(
        allow_null=True, help_text="(addition) Days runs and their files are kept before "
        "retention deletes them (favourites and referenced files excepted); null: for ever.")
    dayResetsAt = serializers.CharField(help_text="(addition) When the daily quota resets.")
    spendByDay = SpendDayOut(many=True, help_text="The last 30 days with any spend, oldest first.")


class UsageOut(serializers.Serializer):
    data = UsageResult()


class WebhookSecretResult(serializers.Serializer):
    teamId = serializers.IntegerField(help_text="(addition)")
    secret = serializers.CharField(
        help_text="(addition) Signs completion webhooks (`whsec_…`).")
    scheme = serializers.CharField(help_text="(addition) How deliveries are signed.")


class WebhookSecretOut(serializers.Serializer):
    data = WebhookSecretResult()
