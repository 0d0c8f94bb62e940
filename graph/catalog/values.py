"""Whether a value fits a setting: its kind, bounds and options. Never raises on any value."""

from __future__ import annotations

import math
import re
from typing import Any, NamedTuple
from urllib.parse import urlsplit

from graph.catalog.types import Input

SEED_MAX = 2**32 - 1
_COLOR = re.compile(r"#(?:[0-9a-fA-F]{3}|[0-9a-fA-F]{6})")
_KIND_NAMES = {
    "string": "a string",
    "text": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "true or false",
    "color": "a hex colour such as #ff8800",
    "url": "an http(s) URL or an uploaded /media/… path",
    "seed": f"an integer from 0 to {SEED_MAX}, or null for a random seed",
}


class SettingError(NamedTuple):
    message: str
    fix: str | None


def show(value: Any, limit: int = 60) -> str:
    """A short repr of an untrusted value, for messages."""
    try:
        text = repr(value)
    except ValueError:  # an int too long to print
        return "<a huge number>"
    return text if len(text) <= limit else text[: limit - 1] + "…"


def is_empty(value: Any) -> bool:
    return value is None or value == ""


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _is_number(value: Any) -> bool:
    if isinstance(value, float):
        return math.isfinite(value)
    return _is_int(value)


def _is_url(value: str) -> bool:
    if value.startswith("/media/"):
        return ".." not in value.split("/") and "\\" not in value
    try:
        parts = urlsplit(value)
    except ValueError:
        return False
    return parts.scheme in ("http", "https") and bool(parts.hostname)


def _fits_kind(setting: Input, value: Any) -> bool:
    kind = setting.type
    if kind in ("string", "text"):
        return isinstance(value, str)
    if kind in ("integer", "seed"):
        return _is_int(value)
    if kind == "number":
        return _is_number(value)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "color":
        return isinstance(value, str) and _COLOR.fullmatch(value) is not None
    if kind == "url":
        return isinstance(value, str) and _is_url(value)
    return False  # enum: checked against its options


def _in_enum(options: tuple[Any, ...], value: Any) -> bool:
    # Same type as well as equal, so True is not 1 and 2.0 is not 2.
    return any(type(value) is type(option) and value == option for option in options)


def _bounds_error(setting: Input, value: float) -> SettingError | None:
    low, high = setting.min, setting.max
    if (low is not None and value < low) or (high is not None and value > high):
        if low is not None and high is not None:
            span = f"between {low} and {high}"
        else:
            span = f"at least {low}" if low is not None else f"at most {high}"
        message = f"'{setting.id}' must be {span}, got {show(value)}"
        return SettingError(message, f"use a value {span}")
    step = setting.multiple_of
    if step and _is_int(value) and value % step:
        near = (value + step // 2) // step * step
        if low is not None:
            near = max(near, math.ceil(low / step) * step)
        if high is not None:
            near = min(near, math.floor(high / step) * step)
        message = f"'{setting.id}' must be a multiple of {step}, got {value}"
        return SettingError(message, f"use {near}")
    return None


def check_setting(setting: Input, value: Any, *, bounds: bool = True) -> SettingError | None:
    """Why `value` does not fit `setting`, or None when it does.

    An empty value (null, or "" for string-like kinds) fits when the setting's own default is
    empty, and null always fits a seed (a random one); whether a *required* setting may be empty is
    the caller's question. With `bounds=False` only the kind is checked.
    """
    if value is None and (setting.type == "seed" or setting.default is None):
        return None
    if isinstance(value, str) and value == "" and is_empty(setting.default):
        return None
    if setting.type == "enum":
        options = setting.enum or ()
        if _in_enum(options, value):
            return None
        choices = ", ".join(show(o) for o in options)
        return SettingError(
            f"'{setting.id}' must be one of {choices}, got {show(value)}", f"use one of {choices}"
        )
    if not _fits_kind(setting, value):
        return SettingError(
            f"'{setting.id}' must be {_KIND_NAMES[setting.type]}, got {show(value)}",
            f"set '{setting.id}' to {_KIND_NAMES[setting.type]}",
        )
    if setting.type == "seed" and not 0 <= value <= SEED_MAX:
        return SettingError(
            f"'{setting.id}' must be from 0 to {SEED_MAX}, got {show(value)}",
            "use a seed in range, or null for a random one",
        )
    if bounds and setting.type in ("integer", "number"):
        return _bounds_error(setting, value)
    return None
