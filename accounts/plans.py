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


PLAN_LIMITS: dict[str, PlanLimits] = {
    Plan.FREE: PlanLimits(10, 10, 50),
    Plan.STARTER: PlanLimits(20, 10, 200),
    Plan.PRO: PlanLimits(60, 10, 1_000),
    Plan.ENTERPRISE: PlanLimits(200, 10, None),
}


def limits_for(plan: str) -> PlanLimits:
    return PLAN_LIMITS[Plan(plan)]
