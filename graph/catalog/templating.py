"""`{name}` placeholders in prompt templates, filled from the text on a node's ports.

Only names the node offers are replaced; any other brace (a JSON example in a prompt, `{x}` in
code) stays as it is written, so a template never fails on its own text.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

PLACEHOLDER = re.compile(r"\{([a-z][a-z0-9_]*)\}")


def render(template: str, values: Mapping[str, str]) -> str:
    """`template` with each `{name}` of `values` replaced by its text."""
    return PLACEHOLDER.sub(lambda m: values.get(m.group(1), m.group(0)), template)


def names_used(template: str) -> set[str]:
    return set(PLACEHOLDER.findall(template))


def rendered_bytes(template: str, sizes: Mapping[str, int]) -> int:
    """The UTF-8 size of `render(template, values)` where `sizes[name]` is (at most) the size
    of each value: an upper bound when the sizes are."""
    total, last = 0, 0
    for match in PLACEHOLDER.finditer(template):
        name = match.group(1)
        if name not in sizes:
            continue
        total += len(template[last:match.start()].encode()) + sizes[name]
        last = match.end()
    return total + len(template[last:].encode())
