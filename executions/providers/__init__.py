"""Providers by alias, resolved from settings.PROVIDERS with import_string and cached."""

from __future__ import annotations

from functools import cache

from django.conf import settings
from django.core.signals import setting_changed
from django.utils.module_loading import import_string

from executions.providers.base import (
    Job,
    Media,
    OutputFile,
    Pending,
    Provider,
    ProviderError,
    Result,
    Stopped,
)

__all__ = ["Job", "Media", "OutputFile", "Pending", "Provider", "ProviderError", "Result",
           "Stopped", "get_provider"]


@cache
def get_provider(alias: str) -> Provider:
    try:
        config = settings.PROVIDERS[alias]
    except KeyError:
        raise ProviderError(f"No provider is configured for '{alias}'", kind="config") from None
    backend = import_string(config["BACKEND"])
    return backend(**config.get("OPTIONS", {}))


def _reset(*, setting, **kwargs):
    if setting == "PROVIDERS":
        get_provider.cache_clear()


setting_changed.connect(_reset)
