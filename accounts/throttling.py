"""Login throttling beyond django-axes' one limit: axes counts failures per (username,
address) pair against LOGIN_FAILURE_LIMIT; this handler also counts an address's failures
across every username it tried (password spraying) against the higher
LOGIN_ADDRESS_FAILURE_LIMIT, so colleagues behind one office address are not locked out by one
another's typos, but one address cannot try five passwords on each of a thousand accounts."""

from __future__ import annotations

from axes.attempts import get_cool_off_threshold
from axes.handlers.database import AxesDatabaseHandler
from axes.helpers import get_failure_limit
from axes.models import AccessAttempt
from django.conf import settings
from django.db.models import Sum


class AddressAwareAxesHandler(AxesDatabaseHandler):
    """AxesDatabaseHandler whose failure count reaches the limit (a lockout, with axes' page
    and cool-off) once the request's address is over its own limit, whatever the username."""

    def get_failures(self, request, credentials: dict | None = None) -> int:
        failures = super().get_failures(request, credentials)
        limit = get_failure_limit(request, credentials)
        if failures < limit and self.address_failures(request) >= \
                settings.LOGIN_ADDRESS_FAILURE_LIMIT:
            return limit
        return failures

    @staticmethod
    def address_failures(request) -> int:
        address = getattr(request, "axes_ip_address", None)
        if not address:
            return 0
        found = AccessAttempt.objects.filter(
            ip_address=address, attempt_time__gte=get_cool_off_threshold(request),
        ).aggregate(total=Sum("failures_since_start"))
        return found["total"] or 0
