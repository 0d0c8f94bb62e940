"""The node catalog: every node type, declared as data, one module per family."""

from graph.catalog.registry import Registry, catalog
from graph.catalog.types import NO_USAGE, Input, NodeError, NodeSpec, Output, SizeRule, Usage

__all__ = ["NO_USAGE", "Input", "NodeError", "NodeSpec", "Output", "Registry", "SizeRule", "Usage",
           "catalog"]
