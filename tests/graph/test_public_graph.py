"""What a shared workflow shows of its settings (graph.services.public_graph): settings named
like secrets dropped, key-like values hidden wherever they are, ordinary values untouched."""

from __future__ import annotations

import pytest

from graph.services import HIDDEN, public_value

KEY_LIKE = [
    "sk-9f8e7d6c5b4a39281706f5e4d3c2",
    "sk_live_51H8abcdefghijklmnopqrstu",
    "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "Bearer eyJhbGciOiJIUzI1NiJ9",
    "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U",
    "AKIAIOSFODNN7EXAMPLE",
    "ghp_16C7e42F292c6912E7710c838347Ae178B4a",
    "xoxb-123456789012-abcdefghij",
    "AIzaSyA-1234567890abcdefghijklmnopqrstu",
    "9b2f4c6d8e0a1b3c5d7e9f0a2b4c6d8e",
    "dGhpcyBpcyBhIHZlcnkgbG9uZyBzZWNyZXQgdG9rZW4gdmFsdWUx",
    "https://media.example.com/assets/a.png?expires=1767225600&signature=Zk9x",
    "https://bucket.s3.amazonaws.com/a.png?X-Amz-Signature=abc123&X-Amz-Expires=60",
]
ORDINARY = [
    "a cow standing in a futuristic neon field, cinematic light",
    "#F4D35E on #0D3B66",
    "https://cdn.example.com/brand/logo.png",
    "slow cinematic push-in, the neon lights flicker",
    "supercalifragilisticexpialidocious-and-other-long-words-here",
    "16:9",
]


@pytest.mark.parametrize("value", KEY_LIKE)
def test_a_key_like_value_is_hidden_alone_and_inside_a_prompt(value):
    assert public_value(value) == HIDDEN
    assert public_value(f"make it bold. use {value} to log in") == \
        f"make it bold. use {HIDDEN} to log in"


@pytest.mark.parametrize("value", ORDINARY)
def test_an_ordinary_value_is_kept(value):
    assert public_value(value) == value


def test_settings_named_like_secrets_are_dropped_at_any_depth():
    shown = public_value({"prompt": "p", "apiKey": "x", "nested": {"auth_header": "y",
                          "ok": [1, "sk-9f8e7d6c5b4a39281706f5e4d3c2"]}, "seed": 7})
    assert shown == {"prompt": "p", "nested": {"ok": [1, HIDDEN]}, "seed": 7}
