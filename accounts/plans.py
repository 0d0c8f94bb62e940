"""Plans and their limits, exactly as the public API documents them."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import models


class Plan(models.TextChoices):
    FREE = "free", "Free"
    STARTER = "starter", "Starter"
    PRO = "pro", "Pro"
    ENTERPRISE = "enterprise", "Enterprise"


@dataclass(frozen=True)
class PlanLimits:
    requests_per_minute: int
    executions_per_minute: int
    executions_per_day: int | None  # None: unlimited
    # Days a run and its files are kept (executions.retention); None: for ever.
    retention_days: int | None = None


PLAN_LIMITS: dict[str, PlanLimits] = {
    Plan.FREE: PlanLimits(10, 10, 50, retention_days=7),
    Plan.STARTER: PlanLimits(20, 10, 200, retention_days=30),
    Plan.PRO: PlanLimits(60, 10, 1_000, retention_days=90),
    Plan.ENTERPRISE: PlanLimits(200, 10, None, retention_days=None),
}


def limits_for(plan: str) -> PlanLimits:
    return PLAN_LIMITS[Plan(plan)]
