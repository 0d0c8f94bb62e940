"""Fifty executions started at once against a balance that covers ten: exactly ten start,
forty get the 402, and the balance ends at zero, never below."""

from __future__ import annotations

import threading

import pytest
from django.db import connection
from rest_framework.test import APIClient

from accounts.models import CreditLedgerEntry
from executions.models import Execution
from tests.samples import WIREFLOW_EXAMPLE

pytestmark = pytest.mark.django_db(transaction=True)


def test_fifty_at_once_never_overdraw(make_team, make_key, settings):
    settings.RATE_LIMITS_ENABLED = False  # this test is about credits, not the plan's rate
    team = make_team(credits=40)  # Nano Banana 2 costs 4: ten runs
    raw = make_key(team).raw_key
    setup = APIClient()
    setup.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
    workflow_id = setup.post("/api/v1/workflows", WIREFLOW_EXAMPLE,
                             format="json").json()["data"]["id"]
    barrier = threading.Barrier(50)
    statuses: list[int] = []

    def call():
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
        try:
            barrier.wait()
            statuses.append(client.post(f"/api/v1/workflows/{workflow_id}/execute", {},
                                        format="json").status_code)
        finally:
            connection.close()

    threads = [threading.Thread(target=call) for _ in range(50)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses.count(201) == 10 and statuses.count(402) == 40
    team.refresh_from_db()
    assert team.credit_balance == 0
    assert Execution.objects.filter(team=team).count() == 10
    ledger = list(CreditLedgerEntry.objects.filter(team=team).values_list("balance_after",
                                                                           flat=True))
    assert min(ledger) >= 0
