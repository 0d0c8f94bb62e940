"""The API's JSON parser: DRF's, refusing the NUL character anywhere in the document.

PostgreSQL stores neither a `\\u0000` in jsonb nor a NUL byte in text, so a body carrying one
would be a 500 wherever it is saved (a node's config, a run's inputs, a stored idempotent
answer that echoes it). No JSON the API takes has a use for it: refused at the door with a 400,
on SQLite and PostgreSQL alike.
"""

from __future__ import annotations

from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError

NUL_REFUSED = "JSON strings may not contain the NUL character (\\u0000)"


def contains_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(contains_nul(key) or contains_nul(item) for key, item in value.items())
    if isinstance(value, list):
        return any(contains_nul(item) for item in value)
    return False


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        data = super().parse(stream, media_type, parser_context)
        if contains_nul(data):
            raise ParseError(NUL_REFUSED)
        return data
