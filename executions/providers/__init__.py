"""Providers by alias, resolved from settings.PROVIDERS with import_string and cached."""

from __future__ import annotations

import threading

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


_providers: dict[str, Provider] = {}
_making = threading.Lock()


def get_provider(alias: str) -> Provider:
    """The process's provider for `alias`, made once. Made under a lock: a worker's threads
    all ask at once when it starts, and each would otherwise build a provider of its own, and
    with it an HTTP client (its SSL context alone costs ~10 ms of CPU)."""
    provider = _providers.get(alias)
    if provider is None:
        with _making:
            provider = _providers.get(alias)
            if provider is None:
                provider = _providers[alias] = _provider_make(alias)
    return provider


def _provider_make(alias: str) -> Provider:
    try:
        config = settings.PROVIDERS[alias]
    except KeyError:
        raise ProviderError(f"No provider is configured for '{alias}'", kind="config") from None
    backend = import_string(config["BACKEND"])
    return backend(**config.get("OPTIONS", {}))


def _reset(*, setting, **kwargs):
    if setting == "PROVIDERS":
        with _making:
            _providers.clear()


setting_changed.connect(_reset)
