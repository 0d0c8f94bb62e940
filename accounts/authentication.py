"""Bearer `sk-…` API keys, with the exact 401 messages the public API documents."""

from __future__ import annotations

import re

from django.contrib.auth.models import AnonymousUser
from django.utils import timezone
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions

from accounts.models import ApiKey
from accounts.services import api_key_for_request, hash_api_key

_BEARER_SK = re.compile(r"^Bearer (sk-[A-Za-z0-9_-]{8,200})$")


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """Authenticate `Authorization: Bearer sk-…`; no header lets the session try instead."""

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION")
        if header is None:
            return None
        return AnonymousUser(), api_key_from_header(header)

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'


def api_key_from_header(header: str) -> ApiKey:
    """The live key an `Authorization` header presents, or AuthenticationFailed with the
    documented message (the REST API and the MCP endpoint share it)."""
    match = _BEARER_SK.match(header.strip())
    if not match:
        raise exceptions.AuthenticationFailed(
            "Invalid API key format. Expected: Bearer sk-...", code="invalid_api_key_format"
        )
    api_key = api_key_for_request(key_hash=hash_api_key(match.group(1)))
    if api_key is None or api_key.is_revoked:
        raise exceptions.AuthenticationFailed("Invalid API key", code="invalid_api_key")
    if api_key.is_expired(timezone.now()):
        raise exceptions.AuthenticationFailed("API key has expired", code="api_key_expired")
    return api_key


class ApiKeyScheme(OpenApiAuthenticationExtension):
    """Describe `Bearer sk-…` keys in the OpenAPI schema."""

    target_class = "accounts.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "bearerFormat": "sk-…",
            "description": "An API key made in Django admin or with `manage.py createapikey`.",
        }
