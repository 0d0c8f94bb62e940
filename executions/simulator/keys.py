"""Well-formed sample API keys for the simulator, and each vendor's key format.

No Django and no other imports from the project: settings and tests import it freely. The
samples only have the vendors' shape; no vendor would accept them.

    BFL     a UUID                                   (x-key header)
    Gemini  "AIza" + 35 characters of [A-Za-z0-9_-] (x-goog-api-key header or ?key=)
    fal     "<key id UUID>:<32 hex secret>"          (Authorization: Key …)
    OpenAI  "sk-" + at least 20 of [A-Za-z0-9_-]   (Authorization: Bearer …)
    OpenRouter  "sk-or-v1-" + 64 hex                 (Authorization: Bearer …)
"""

from __future__ import annotations

import re

BFL_KEY = "5f0c5a8e-3b1d-4c52-9d7e-6a4f1b2c3d4e"
GEMINI_KEY = "AIzaSyD-simulator_sample_key_0123456789"
FAL_KEY = "0b8e7c2a-4d6f-4e1a-9c3b-7f5d2e1a0c9b:3f9a1c7e5b2d4f6a8c0e1b3d5f7a9c2e"

OPENAI_KEY = "sk-proj-simulator_sample_key_0123456789abcdefABCDEF"
OPENROUTER_KEY = "sk-or-v1-" + "5e1a" * 16

SAMPLE_KEYS = {"bfl": BFL_KEY, "google": GEMINI_KEY, "fal": FAL_KEY, "openai": OPENAI_KEY,
               "openrouter": OPENROUTER_KEY}

_UUID = r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}"
FORMATS = {
    "bfl": re.compile(_UUID),
    "google": re.compile(r"AIza[A-Za-z0-9_-]{35}"),
    "fal": re.compile(_UUID + r":[0-9a-fA-F]{32}"),
    "openai": re.compile(r"sk-[A-Za-z0-9_-]{20,}"),
    "openrouter": re.compile(r"sk-or-v1-[0-9a-f]{64}"),
}


def well_formed(vendor: str, key: str) -> bool:
    """Whether `key` has the shape `vendor` issues keys in."""
    return FORMATS[vendor].fullmatch(key or "") is not None
