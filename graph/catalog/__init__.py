"""The node catalog: every node type, declared as data, one module per family."""

from graph.catalog.registry import Registry, catalog
from graph.catalog.types import Input, NodeSpec, Output

__all__ = ["Input", "NodeSpec", "Output", "Registry", "catalog"]
