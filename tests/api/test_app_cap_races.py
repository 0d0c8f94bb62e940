"""Thirty runs of one client app started at once, with team credits for all of them but an
app cap that covers three: exactly three start, twenty-seven get the cap's 429, and the app's
runs hold exactly the cap; the team is charged for those three only."""

from __future__ import annotations

import pytest

from accounts.models import CreditLedgerEntry
from clientapps.models import App
from clientapps.selectors import app_spent_today
from executions.models import Execution
from tests.concurrency import at_once, keyed_client
from tests.samples import WIREFLOW_EXAMPLE

pytestmark = pytest.mark.django_db(transaction=True)


def test_thirty_at_once_never_pass_the_apps_daily_cap(make_team, make_key, settings):
    settings.RATE_LIMITS_ENABLED = False  # this test is about the cap, not the plan's rate
    team = make_team(credits=1000)
    raw = make_key(team).raw_key
    client = keyed_client(raw)
    workflow_id = client.post("/api/v1/workflows", WIREFLOW_EXAMPLE,
                              format="json").json()["data"]["id"]
    slug = client.post("/api/v1/apps", {"workflowId": workflow_id, "title": "Race",
                                        "dailyCreditCap": 21, "access": "link"},
                       format="json").json()["data"]["slug"]
    answers = at_once(30, lambda: keyed_client(raw).post(
        f"/api/v1/apps/{slug}/run", {}, format="json"))
    statuses = [answer.status_code for answer in answers]
    assert statuses.count(202) == 3 and statuses.count(429) == 27, statuses
    assert {a.json()["code"] for a in answers if a.status_code == 429} == {"app_daily_cap"}
    app = App.objects.get(slug=slug)
    assert Execution.objects.filter(app_id=app.pk).count() == 3
    assert app_spent_today(app) == 21
    team.refresh_from_db()
    assert team.credit_balance == 1000 - 21
    holds = CreditLedgerEntry.objects.filter(team=team, kind="charge")
    assert holds.count() == 3
