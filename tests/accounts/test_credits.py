import pytest
from django.core.management import call_command

from accounts.models import CreditLedgerEntry, Team
from accounts.services import credits_grant, credits_set
from wireflow_site.errors import ApiError


def test_grant_appends_a_ledger_row_with_the_balance_after(team):
    credits_grant(team=team, amount=100, reason="welcome")
    credits_grant(team=team, amount=50)
    team.refresh_from_db()
    assert team.credit_balance == 150
    rows = list(CreditLedgerEntry.objects.filter(team=team).order_by("id"))
    assert [(r.delta, r.balance_after, r.kind) for r in rows] == [
        (100, 100, "grant"), (50, 150, "grant")]


def test_set_writes_one_adjustment_and_nothing_when_unchanged(team):
    credits_grant(team=team, amount=100)
    credits_set(team=team, balance=30)
    credits_set(team=team, balance=30)
    team.refresh_from_db()
    assert team.credit_balance == 30
    assert list(CreditLedgerEntry.objects.filter(team=team).values_list("delta", flat=True)
                .order_by("id")) == [100, -70]


def test_balance_never_goes_negative(team):
    with pytest.raises(ApiError):
        credits_set(team=team, balance=-1)
    with pytest.raises(ApiError):
        credits_grant(team=team, amount=0)
    assert Team.objects.get(pk=team.pk).credit_balance == 0
    assert not CreditLedgerEntry.objects.exists()


def test_credits_command_grants_and_sets(team, capsys):
    call_command("credits", "--team", team.slug, "--grant", "25")
    call_command("credits", "--team", team.slug, "--set", "10")
    assert Team.objects.get(pk=team.pk).credit_balance == 10
    assert capsys.readouterr().out.strip().splitlines()[-1] == f"{team.slug}: 10 credits"
