"""The built-in starter templates: one JSON file each in this directory, in the api.md
workflow shape plus `id` (a stable slug), `order`, and for a batch template a sample `batch`.
Read once; every file must hold a graph that passes strict validation (tests/graph)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any

DIRECTORY = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Starter:
    id: str
    name: str
    description: str
    tags: list[str]
    nodes: list[dict[str, Any]]
    edges: list[dict[str, Any]]
    batch: list[dict[str, Any]] = field(default_factory=list)
    order: int = 0


@cache
def starters() -> tuple[Starter, ...]:
    loaded = []
    for path in sorted(DIRECTORY.glob("*.json")):
        raw = json.loads(path.read_text(encoding="utf-8"))
        loaded.append(Starter(id=raw["id"], name=raw["name"], description=raw["description"],
                              tags=list(raw.get("tags", [])), nodes=raw["nodes"],
                              edges=raw["edges"], batch=list(raw.get("batch", [])),
                              order=int(raw.get("order", 0))))
    ids = [s.id for s in loaded]
    if len(set(ids)) != len(ids):
        raise ValueError(f"duplicate starter template ids in {DIRECTORY}: {ids}")
    return tuple(sorted(loaded, key=lambda s: (s.order, s.id)))


def starter_get(template_id: str) -> Starter | None:
    return next((s for s in starters() if s.id == template_id), None)
