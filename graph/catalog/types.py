"""The shapes a node type is declared with: its inputs (ports and settings), outputs and cost."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

# Media carried along edges; "any" is a pass-through (a router's) port.
PORT_TYPES = frozenset({"text", "image", "video", "audio", "number", "any"})
# Value kinds of settings held in a node's `config`.
SETTING_KINDS = frozenset(
    {"string", "text", "integer", "number", "boolean", "enum", "color", "url", "seed"}
)

@dataclass(frozen=True)
class Usage:
    """What a run of a node consumed beyond its settings, where the vendor bills it: the
    megapixels of each reference image sent (BFL bills them), and how many images were
    delivered (None: as many as the settings ask for). The estimate fills it from the graph, the
    charge from what the provider reports, and both go through the same `credits` function."""

    references: tuple[float, ...] = ()
    images: int | None = None
    # Tokens, where the vendor bills them (an LLM): what the response's `usage` reported,
    # or in the estimate the most the request can use (see graph.catalog.llm).
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    characters: int | None = None  # text sent to a model priced per character (TTS)
    megapixels: tuple[float, ...] = ()  # each delivered image's size, where billed by it
    input_pixels: int | None = None  # the input image's size, for a model billed by output MP
    # The most pixels one delivered image may have (a larger one is refused when it is read, so
    # never billed): the estimate quotes an input of unknown size as this, a ceiling.
    pixel_cap: int | None = None


NO_USAGE = Usage()

# A node's price in credits from its effective config and its usage.
CreditsFn = Callable[[dict[str, Any], Usage], float]
# A built-in node's work: given its context (settings, values on its ports, upstream references;
# executions.outputs.HandlerContext), the outputs by port ({"text": …} or {"asset": id}).
Handler = Callable[[Any], dict[str, dict[str, Any]]]
# One problem a node's own config check finds: {"rule", "message", "fix", "input", ...}; the
# validator adds the node's id and name.
ConfigIssue = dict[str, Any]
ConfigCheck = Callable[[dict[str, Any]], list[ConfigIssue]]
# The most a run can consume, from its config, the text on each text port (None where it is not
# known before the run) and how many images it takes: the estimate quotes it, the charge is
# held to it (an LLM's prompt and completion tokens).
UsageCeiling = Callable[[dict[str, Any], dict[str, list[str | None]], int], "Usage"]


class NodeError(Exception):
    """A built-in node cannot do its work with what it was given; it fails and is not retried."""

    def __init__(self, message: str, *, kind: str = "invalid") -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind


def no_credits(config: dict[str, Any], usage: Usage = NO_USAGE) -> float:
    """The cost of a node that runs locally or not at all."""
    return 0


def flat_credits(amount: float) -> CreditsFn:
    """A cost that does not depend on the settings."""

    def credits(config: dict[str, Any], usage: Usage = NO_USAGE) -> float:
        return amount

    return credits


@dataclass(frozen=True)
class Input:
    """A wireable port (`is_port`) or a setting typed into `config`.

    `type` is a media type for ports and a value kind for settings. A `multiple` port takes up to
    `max_items` edges; an `inline` port may instead take its value from `config[id]`.
    """

    id: str
    label: str
    type: str
    is_port: bool
    required: bool = False
    default: Any = None
    min: float | None = None
    max: float | None = None
    enum: tuple[Any, ...] | None = None
    description: str = ""
    multiple: bool = False
    max_items: int | None = None
    multiple_of: int | None = None
    inline: bool = False

    def __post_init__(self) -> None:
        kinds = PORT_TYPES if self.is_port else SETTING_KINDS
        if self.type not in kinds:
            raise ValueError(f"input {self.id!r}: unknown type {self.type!r}")
        if self.enum is not None:
            object.__setattr__(self, "enum", tuple(self.enum))
        if (self.type == "enum") != bool(self.enum) and not self.is_port:
            raise ValueError(f"input {self.id!r}: an enum setting needs its options, and only it")
        if not self.is_port and (self.multiple or self.inline):
            raise ValueError(f"input {self.id!r}: only ports can be multiple or inline")
        if self.inline and self.type != "text":
            raise ValueError(f"input {self.id!r}: only text ports can be typed inline")
        if self.max_items is not None and not self.multiple:
            raise ValueError(f"input {self.id!r}: max_items needs multiple=True")

    def to_api(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "label": self.label,
            "type": self.type,
            "isPort": self.is_port,
            "required": self.required,
            "default": self.default,
            "min": self.min,
            "max": self.max,
            "enum": list(self.enum) if self.enum is not None else None,
            "description": self.description,
            "multiple": self.multiple,
            "maxItems": self.max_items,
            "multipleOf": self.multiple_of,
            "inline": self.inline,
        }


@dataclass(frozen=True)
class Output:
    id: str
    label: str
    type: str

    def __post_init__(self) -> None:
        if self.type not in PORT_TYPES:
            raise ValueError(f"output {self.id!r}: unknown media type {self.type!r}")

    def to_api(self) -> dict[str, Any]:
        return {"id": self.id, "label": self.label, "type": self.type}


@dataclass(frozen=True)
class SizeRule:
    """An output size a vendor constrains beyond each side's own bounds: both sides a multiple
    of `step` within [`min_side`, `max_side`], and at most `max_pixels` in all. Served by
    `GET /nodes` so the editor's size controls follow the model, not a constant."""

    width_input: str
    height_input: str
    max_pixels: int
    min_side: int
    max_side: int
    step: int

    def inputs(self) -> tuple[str, str]:
        return self.width_input, self.height_input

    def to_api(self) -> dict[str, Any]:
        return {"widthInput": self.width_input, "heightInput": self.height_input,
                "maxPixels": self.max_pixels, "minSide": self.min_side,
                "maxSide": self.max_side, "step": self.step}


VENDOR_SETTING = "vendor"


@dataclass(frozen=True)
class Route:
    """One vendor serving a node's model: the `vendor` setting's value that picks it, the
    provider alias that speaks that vendor's API, the vendor's model id, and (for a fal route)
    the library declaration the request is built from and the simulator holds it to."""

    vendor: str
    provider: str
    model: str | None
    declaration: Any = None
    label: str = ""


@dataclass(frozen=True)
class NodeSpec:
    """One node type: what the palette shows, validation checks, the engine runs and bills.

    `credits(config, usage)` is the cost of one run given the node's effective config (defaults
    applied) and its `Usage`; `model_version` goes into the cache key, so bump it when the
    model's output changes. A remote node names the vendor's `model` id (or endpoint), the date
    that id and its `price_rule` were last checked against the vendor's own docs
    (`model_checked`), and, where its output size follows from its settings, `output_pixels`
    (used to price what it feeds into a model that bills its inputs). A node billed by what
    it consumes (tokens) declares its `usage_ceiling`: the estimate quotes it.

    An executable node is run either by its `provider` (an alias of settings.PROVIDERS) or by
    its `handler` (built-in work, no vendor). An `instant` node's outputs are its settings: it
    completes the moment a run starts, with no task. `check_config(config)` adds the node's own
    rules to validation (like ComfyUI's VALIDATE_INPUTS); the bounds of the inputs its
    `size_rule` names are checked by that rule instead of one side at a time.
    """

    node_type: str
    label: str
    category: str
    description: str
    inputs: tuple[Input, ...]
    outputs: tuple[Output, ...]
    provider: str | None
    model: str | None
    model_version: str
    credits: CreditsFn
    executable: bool = True
    cacheable: bool = True
    preview: bool = False
    handler: Handler | None = None
    instant: bool = False
    check_config: ConfigCheck | None = None
    size_rule: SizeRule | None = None
    model_checked: str = ""
    price_rule: str = ""
    output_pixels: Callable[[dict[str, Any]], int | None] | None = None
    usage_ceiling: UsageCeiling | None = None
    task: str = ""  # the palette's group: text-to-image, image-editing, upscaling, video, audio
    vendor: str = ""  # who makes the model, as users know it
    declaration: Any = None  # the library's Model (graph.catalog.library) it was made from
    # Where one model is served by several vendors: the choices of its `vendor` setting, the
    # first the default (see `route`).
    routes: tuple[Route, ...] = ()
    _ports: tuple[Input, ...] = field(init=False, repr=False, compare=False)
    _settings: tuple[Input, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for kind, items in (("input", self.inputs), ("output", self.outputs)):
            ids = [item.id for item in items]
            if len(ids) != len(set(ids)):
                raise ValueError(f"{self.node_type}: duplicate {kind} id")
        object.__setattr__(self, "_ports", tuple(i for i in self.inputs if i.is_port))
        object.__setattr__(self, "_settings", tuple(i for i in self.inputs if not i.is_port))
        if self.handler is not None and self.provider:
            raise ValueError(f"{self.node_type}: a node has a provider or a handler, not both")
        if self.instant and (self.handler is None or self._ports):
            raise ValueError(f"{self.node_type}: an instant node needs a handler and no ports")
        if self.provider not in (None, "local") and not (self.model and self.model_checked):
            raise ValueError(f"{self.node_type}: a remote node declares its vendor model id "
                             "and the date it was checked")
        if self.size_rule is not None:
            names = {s.id for s in self._settings}
            if not set(self.size_rule.inputs()) <= names:
                raise ValueError(f"{self.node_type}: its size rule names unknown settings")

    def route(self, config: dict[str, Any]) -> Route:
        """Who runs a node with this config: the route its `vendor` setting picks, else the
        node's own provider, model and declaration."""
        chosen = config.get(VENDOR_SETTING) if isinstance(config, dict) else None
        for route in self.routes:
            if route.vendor == chosen:
                return route
        if self.routes:
            return self.routes[0]
        return Route(vendor="", provider=self.provider or "", model=self.model,
                     declaration=self.declaration)

    def ports(self) -> tuple[Input, ...]:
        return self._ports

    def settings(self) -> tuple[Input, ...]:
        return self._settings

    def input(self, input_id: str) -> Input | None:
        return next((i for i in self.inputs if i.id == input_id), None)

    def output(self, output_id: str) -> Output | None:
        return next((o for o in self.outputs if o.id == output_id), None)

    def defaults(self) -> dict[str, Any]:
        """Every setting's default, as a new dict."""
        return {s.id: s.default for s in self._settings}

    def to_api(self) -> dict[str, Any]:
        """The `GET /nodes` shape of api.md, plus provider, model, preview and executable."""
        return {
            "nodeType": self.node_type,
            "label": self.label,
            "category": self.category,
            "description": self.description,
            "inputs": [i.to_api() for i in self.inputs],
            "outputs": [o.to_api() for o in self.outputs],
            "credits": math.ceil(self.credits(self.defaults(), NO_USAGE) or 0),
            "provider": self.provider,
            "model": self.model,
            "preview": self.preview,
            "executable": self.executable,
            "sizeRule": self.size_rule.to_api() if self.size_rule else None,
            "priceRule": self.price_rule or None,
            "modelChecked": self.model_checked or None,
            "task": self.task or None,
            "vendor": self.vendor or None,
        }
