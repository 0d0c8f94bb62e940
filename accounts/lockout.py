"""The page a throttled login gets (django-axes' AXES_LOCKOUT_CALLABLE)."""

from __future__ import annotations

import math

from axes.helpers import get_cool_off
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render


def login_lockout_response(request: HttpRequest, original_response: HttpResponse | None = None,
                           credentials: dict | None = None) -> HttpResponse:
    """429 with our login page's look, saying why and when to try again. Every attempt during
    a lockout starts the cool-off again (axes' default), so "in N minutes" holds from now."""
    cool_off = get_cool_off(request)
    minutes = math.ceil(cool_off.total_seconds() / 60) if cool_off else None
    return render(request, "registration/locked_out.html", {"minutes": minutes}, status=429)
