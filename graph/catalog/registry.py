"""The registry of node types, filled at import time from one module per family."""

from __future__ import annotations

import re
from collections.abc import Iterable

from graph.catalog import (
    audio,
    compose,
    generate,
    inputs,
    library,
    llm,
    logic,
    models_image,
    models_video,
    process,
    utility,
)
from graph.catalog.types import NodeSpec
from graph.catalog.values import check_setting

NODE_TYPE_PATTERN = re.compile(
    r"(input|generate|process|compose|audio|utility|logic|llm):[a-z0-9_]+")


class Registry:
    """Node specs by `node_type`; refuses malformed names, duplicates and invalid defaults."""

    def __init__(self, specs: Iterable[NodeSpec] = ()) -> None:
        self._specs: dict[str, NodeSpec] = {}
        for spec in specs:
            self.register(spec)

    def register(self, spec: NodeSpec) -> NodeSpec:
        name = spec.node_type
        if not isinstance(name, str) or not NODE_TYPE_PATTERN.fullmatch(name):
            raise ValueError(
                f"malformed node type {name!r}: expected <family>:<snake_case>, family one of "
                "input, generate, process, compose, audio, utility, logic, llm"
            )
        if spec.category != name.split(":", 1)[0]:
            raise ValueError(f"{name}: category {spec.category!r} does not match its family")
        if spec.executable and spec.provider is None and spec.handler is None:
            raise ValueError(f"{name}: an executable node needs a provider or a handler")
        if name in self._specs:
            raise ValueError(f"node type {name} is already registered")
        for setting in spec.settings():
            error = check_setting(setting, setting.default)
            if error is not None:
                raise ValueError(f"{name}: default of {error.message}")
        self._specs[name] = spec
        return spec

    def get(self, node_type: object) -> NodeSpec | None:
        return self._specs.get(node_type) if isinstance(node_type, str) else None

    def all(self) -> tuple[NodeSpec, ...]:
        return tuple(self._specs.values())

    def node_types(self) -> tuple[str, ...]:
        return tuple(self._specs)

    def __contains__(self, node_type: object) -> bool:
        return self.get(node_type) is not None

    def __len__(self) -> int:
        return len(self._specs)


# The model library: every declared remote model, one node type each.
MODELS = models_image.MODELS + models_video.MODELS

catalog = Registry(
    [spec for family in (inputs, generate, process, compose, audio, logic, utility, llm)
     for spec in family.SPECS]
    + [library.to_spec(model) for model in MODELS]
)
