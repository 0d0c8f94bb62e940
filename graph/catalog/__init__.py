"""The node catalog: every node type, declared as data, one module per family."""

from graph.catalog.registry import Registry, catalog
from graph.catalog.types import Input, NodeError, NodeSpec, Output, SizeRule

__all__ = ["Input", "NodeError", "NodeSpec", "Output", "Registry", "SizeRule", "catalog"]
