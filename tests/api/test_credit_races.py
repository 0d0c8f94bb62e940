"""Fifty executions started at once against a balance that covers ten: exactly ten start,
forty get the 402, and the balance ends at zero, never below."""

from __future__ import annotations

import pytest

from accounts.models import CreditLedgerEntry
from executions.models import Execution
from tests.concurrency import at_once, keyed_client
from tests.samples import WIREFLOW_EXAMPLE

pytestmark = pytest.mark.django_db(transaction=True)


def test_fifty_at_once_never_overdraw(make_team, make_key, settings):
    settings.RATE_LIMITS_ENABLED = False  # this test is about credits, not the plan's rate
    team = make_team(credits=70)  # Nano Banana 2 costs 7: ten runs
    raw = make_key(team).raw_key
    workflow_id = keyed_client(raw).post("/api/v1/workflows", WIREFLOW_EXAMPLE,
                                         format="json").json()["data"]["id"]
    statuses = at_once(50, lambda: keyed_client(raw).post(
        f"/api/v1/workflows/{workflow_id}/execute", {}, format="json").status_code)
    assert statuses.count(201) == 10 and statuses.count(402) == 40
    team.refresh_from_db()
    assert team.credit_balance == 0
    assert Execution.objects.filter(team=team).count() == 10
    ledger = list(CreditLedgerEntry.objects.filter(team=team).values_list("balance_after",
                                                                           flat=True))
    assert min(ledger) >= 0
