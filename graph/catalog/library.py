"""The model library: a remote model declared as data, turned into a node type.

A `Model` names its vendor and endpoint, lists the fields of the vendor's own input schema
(`Field`: the name the vendor uses, its type, bounds, options and default), says where the output
is in the vendor's answer (`Answer`), how big an image output is (`Size`), and how the vendor
prices a run (`Price`). From that one declaration come the node's ports and settings (the
palette, the inspector form, validation), its credits (the estimate and the charge), the request
body the provider sends (executions.providers.fal builds it field by field) and what the
provider simulator accepts (it validates each request against the same fields).

Adding a model is adding one `Model(...)` to a family module (graph/catalog/models_*.py).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from graph.catalog.types import NO_USAGE, CreditsFn, Input, NodeSpec, Output, Usage

# Field kinds: a value in the JSON body, or media sent as a data URI (one, or a list of them).
VALUE_KINDS = frozenset({"string", "integer", "number", "boolean", "enum", "seed"})
MEDIA_KINDS = {"image": "image", "images": "image", "video": "video", "audio": "audio"}
# "size": fal's custom image size, an object {"width", "height"} from our width/height settings.
FIELD_KINDS = VALUE_KINDS | set(MEDIA_KINDS) | {"prompt", "size"}
TASKS = ("text-to-image", "image-editing", "upscaling", "video", "audio")
MEGAPIXEL = 1024 * 1024
# With no usage at all (GET /nodes' example price), an input image is taken as this many
# megapixels. The estimate never uses it: an input of unknown size is quoted at the pixel cap
# (Usage.pixel_cap, see executions.pricing), and the charge follows the delivered images.
EXAMPLE_INPUT_MEGAPIXELS = 1.0
# fal's named image sizes (image_size as an enum), width × height.
FAL_IMAGE_SIZES = {"square_hd": (1024, 1024), "square": (512, 512),
                   "portrait_4_3": (768, 1024), "portrait_16_9": (576, 1024),
                   "landscape_4_3": (1024, 768), "landscape_16_9": (1024, 576)}
# About one megapixel at an aspect ratio, in multiples of 32 (what the simulator draws and the
# estimate assumes for models that take an aspect ratio instead of a size).
ASPECT_SIZES = {"1:1": (1024, 1024), "16:9": (1344, 768), "9:16": (768, 1344),
                "4:3": (1184, 864), "3:4": (864, 1184), "3:2": (1248, 832), "2:3": (832, 1248),
                "21:9": (1536, 640), "9:21": (640, 1536), "4:5": (896, 1152), "5:4": (1152, 896)}


@dataclass(frozen=True)
class Field:
    """One field of the vendor's input schema.

    `kind`: string | integer | number | boolean | enum | seed (an integer, filled from the run's
    resolved seed) | prompt (a text port that may be typed inline) | image | images | video |
    audio (ports; media goes as a data URI, `images` as a list of them).

    `setting` keeps an older input id where a saved workflow already uses one; `choices`
    narrows what we offer to a subset the vendor accepts (the vendor's own rule stays
    `min`/`max`/`options`, which is what the simulator holds requests to); `as_string` sends
    our value as a string (Kling takes "5", our saved workflows hold 5); `hidden` is in the
    vendor's schema but not offered (never sent by us; the simulator still knows it).
    `max_pixels` (image ports): the vendor bills the megapixels of these images, so one larger
    is scaled down to that many pixels before it is sent, and the megapixels sent are the
    run's `references` usage (FLUX.2 [pro] edit on fal, as BFL does). `formats` (image
    ports): the image types the vendor takes; another is converted to the first before it is
    sent (Recraft's crisp upscale takes PNG only). A `size` field's `options` are the named
    sizes it takes beyond fal's presets (e.g. "auto").
    """

    name: str
    kind: str
    label: str = ""
    required: bool = False
    default: Any = None
    min: float | None = None
    max: float | None = None
    options: tuple[Any, ...] = ()
    max_length: int | None = None
    max_items: int | None = None
    description: str = ""
    setting: str | None = None
    choices: tuple[Any, ...] | None = None
    as_string: bool = False
    hidden: bool = False
    our_default: Any = None  # our setting's default where it differs from the vendor's
    max_pixels: int | None = None
    formats: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.kind not in FIELD_KINDS:
            raise ValueError(f"field {self.name!r}: unknown kind {self.kind!r}")
        if self.kind == "enum" and not self.options or \
                self.options and self.kind not in ("enum", "size"):
            raise ValueError(f"field {self.name!r}: an enum field needs its options, and only "
                             "it (and a size field its extra named sizes) has them")
        if (self.max_pixels is not None or self.formats) and self.kind not in ("image",
                                                                               "images"):
            raise ValueError(f"field {self.name!r}: only an image port has max_pixels or "
                             "formats")
        object.__setattr__(self, "options", tuple(self.options))

    @property
    def input_id(self) -> str:
        return self.setting or self.name

    @property
    def is_port(self) -> bool:
        return self.kind == "prompt" or self.kind in MEDIA_KINDS

    def to_input(self) -> Input:
        label = self.label or self.name.replace("_", " ").capitalize()
        if self.kind == "prompt":
            return Input(self.input_id, label, "text", is_port=True, required=self.required,
                         inline=True, description=self.description
                         or "Wire a text output here, or type it in.")
        if self.kind in MEDIA_KINDS:
            many = self.kind == "images"
            return Input(self.input_id, label, MEDIA_KINDS[self.kind], is_port=True,
                         required=self.required, multiple=many,
                         max_items=self.max_items if many else None,
                         description=self.description)
        if self.kind == "seed":
            return Input(self.input_id, label, "seed", is_port=False,
                         description=self.description
                         or "The same seed and settings give the same result; empty for random.")
        default = self.default if self.our_default is None else self.our_default
        options = self.choices if self.choices is not None else self.options
        if self.kind == "enum" or self.choices is not None:
            return Input(self.input_id, label, "enum", is_port=False, default=default,
                         enum=options, description=self.description)
        kind = self.kind
        if default is None and self.kind == "string":
            default = ""
        return Input(self.input_id, label, kind, is_port=False, default=default, min=self.min,
                     max=self.max, description=self.description)


@dataclass(frozen=True)
class Answer:
    """Where the output is in the vendor's answer: `key` holds a file object `{"url", …}` or a
    list of them (`many`), of media `type`, delivered on our output port `port`."""

    key: str
    type: str
    many: bool = False
    port: str = ""
    seconds: str | None = None  # the field giving a video's or audio's length, if not "duration"
    default_seconds: float = 5.0  # when no field gives it
    transparent: bool = False  # an image with alpha (a cut-out), always PNG

    @property
    def output_port(self) -> str:
        return self.port or self.type


@dataclass(frozen=True)
class Size:
    """How big an image output is, from the request: `preset` (fal's named sizes in field
    `field`), `aspect` (about a megapixel at the ratio in `field`), `input` (the size of the
    image in field `field`, times the number in `scale` when there is one, else `factor`)."""

    rule: str
    field: str
    scale: str | None = None
    factor: float = 1.0


@dataclass(frozen=True)
class Price:
    """The vendor's published price of one run, in US dollars (1 credit = $0.01).

    `unit`: image (× the images asked for, in `count`) | megapixel (of the output, rounded up
    to whole megapixels per image, × `count`) | second (of the output, from `seconds`, a number
    or a string such as "5" or "8s") | kchars (per 1,000 characters of the text in `text`) |
    run (per request). `usd` is the price per unit; `by` names a field whose value picks the
    price from `tiers` (`usd` where the value is not listed)."""

    unit: str
    usd: float
    by: str | None = None
    tiers: dict[Any, float] = field(default_factory=dict)
    count: str | None = None
    seconds: str | None = None
    text: str | None = None
    max_chars: int = 5000
    note: str = ""

    def __post_init__(self) -> None:
        if self.unit not in ("image", "megapixel", "second", "kchars", "run"):
            raise ValueError(f"unknown price unit {self.unit!r}")
        if self.unit == "second" and not self.seconds:
            raise ValueError("a per-second price names its duration field")
        if self.unit == "kchars" and not self.text:
            raise ValueError("a per-character price names its text field")


@dataclass(frozen=True)
class Model:
    """One remote model, declared from the vendor's published schema and pricing."""

    node_type: str
    label: str
    vendor: str  # who makes it, as users know it ("Black Forest Labs", "Google", …)
    provider: str  # the alias that runs it ("fal")
    endpoint: str
    task: str
    description: str
    fields: tuple[Field, ...]
    answer: Answer
    price: Price
    checked: str
    size: Size | None = None
    source: str = ""  # where the schema and price were read
    unconfirmed: str = ""  # what could not be confirmed there
    model_version: str = "1"
    # The same model's endpoint for a request with images (fal's `…/edit` apps): a run with
    # media on one of its image ports goes there instead (FLUX.2 [pro] on fal).
    edit: Model | None = None

    def __post_init__(self) -> None:
        if self.task not in TASKS:
            raise ValueError(f"{self.node_type}: unknown task {self.task!r}")
        names = [f.name for f in self.fields]
        if len(names) != len(set(names)):
            raise ValueError(f"{self.node_type}: duplicate field")
        referred = [self.price.by, self.price.count, self.price.seconds, self.price.text,
                    *((self.size.field, self.size.scale) if self.size else ())]
        unknown = {name for name in referred if name} - set(names)
        if unknown:
            raise ValueError(f"{self.node_type}: price or size names unknown fields {unknown}")
        if self.edit is not None and not any(f.kind in MEDIA_KINDS for f in self.edit.fields):
            raise ValueError(f"{self.node_type}: its edit endpoint takes no images")

    def for_media(self, has_media) -> Model:
        """The declaration a request goes to: the edit endpoint's when `has_media(input_id)`
        is true for one of its image ports, else this one."""
        edit = self.edit
        if edit is not None and any(has_media(f.input_id) for f in edit.fields
                                    if f.kind in MEDIA_KINDS and self.field(f.name) is None):
            return edit
        return self

    def field(self, name: str) -> Field | None:
        return next((f for f in self.fields if f.name == name), None)

    def offered(self) -> tuple[Field, ...]:
        return tuple(f for f in self.fields if not f.hidden)


# --- sizes and prices --------------------------------------------------------------------------

def _value(model: Model, values: dict[str, Any], name: str) -> Any:
    """A field's value in a request-like mapping by vendor name, else its default."""
    found = model.field(name)
    value = values.get(name)
    return found.default if value is None and found is not None else value


def image_size(model: Model, values: dict[str, Any],
               input_size: tuple[int, int] | None = None) -> tuple[int, int] | None:
    """The output image size a request asks for (vendor field names), when it can be told."""
    size = model.size
    if size is None:
        return None
    chosen = _value(model, values, size.field)
    if size.rule == "preset":
        if isinstance(chosen, dict):
            width, height = chosen.get("width"), chosen.get("height")
            return (width, height) if isinstance(width, int) and isinstance(height, int) \
                else None
        return FAL_IMAGE_SIZES.get(chosen) if isinstance(chosen, str) else None
    if size.rule == "aspect":
        return ASPECT_SIZES.get(chosen) if isinstance(chosen, str) else None
    if input_size is None:
        return None
    scale = _value(model, values, size.scale) if size.scale else size.factor
    if isinstance(scale, bool) or not isinstance(scale, (int, float)) or scale <= 0:
        return None
    return max(1, round(input_size[0] * scale)), max(1, round(input_size[1] * scale))


def _seconds(value: Any) -> float | None:
    if isinstance(value, str):
        value = value.strip().removesuffix("s")
        try:
            value = float(value)
        except ValueError:
            return None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    return float(value) if 0 < value <= 3600 else None


def _count(value: Any) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= 100 \
        else 1


def _megapixel_units(model: Model, values: dict[str, Any], usage: Usage, images: int) -> int:
    """Whole megapixels billed: each delivered image's own, at most `images` of them (the
    charge), else the size the settings ask for, else the input's size (the estimate reads it
    off the graph) times the scale squared, each image held to `usage.pixel_cap` (a larger one
    is refused when read, never billed). The estimate quotes an input of unknown size as the
    cap itself: a ceiling."""
    if usage.megapixels:
        return sum(max(1, math.ceil(mp - 1e-9)) for mp in usage.megapixels[:images])
    size = model.size
    if size is not None and size.rule == "input":
        scale = values.get(size.scale) if size.scale else size.factor
        if isinstance(scale, bool) or not isinstance(scale, (int, float)) or scale <= 0:
            scale = 1
        pixels = usage.input_pixels or EXAMPLE_INPUT_MEGAPIXELS * MEGAPIXEL
        pixels = pixels * scale * scale
        if usage.pixel_cap:
            pixels = min(pixels, usage.pixel_cap)
        return images * max(1, math.ceil(pixels / MEGAPIXEL - 1e-9))
    width, height = image_size(model, values) or (1024, 1024)
    return images * max(1, math.ceil(width * height / MEGAPIXEL - 1e-9))


def credits_for(model: Model) -> CreditsFn:
    """The credits of one run from the node's effective config (our input ids) and usage:
    the price's unit × how many units the settings ask for (or the vendor reports)."""
    price = model.price
    by_setting = {f.name: f.input_id for f in model.fields}

    def setting(config: dict[str, Any], name: str | None) -> Any:
        """A field's value as the vendor would get it (so tiers match the vendor's values)."""
        if name is None:
            return None
        declared = model.field(name)
        value = config.get(by_setting[name])
        if value is None:
            return declared.default
        return str(value) if declared.as_string else value

    def credits(config: dict[str, Any], usage: Usage = NO_USAGE) -> float:
        usd = price.usd
        if price.by is not None:
            usd = price.tiers.get(setting(config, price.by), price.usd)
        asked = _count(setting(config, price.count)) if price.count else 1
        # What was delivered, never more than was asked for (and quoted).
        images = min(usage.images, asked) if usage.images is not None else asked
        if price.unit == "image":
            units = images
        elif price.unit == "megapixel":
            units = _megapixel_units(model, {name: setting(config, name) for name in by_setting},
                                     usage, images)
        elif price.unit == "second":
            units = _seconds(setting(config, price.seconds)) or 0
        elif price.unit == "kchars":
            characters = usage.characters
            if characters is None:
                text = config.get(by_setting[price.text])
                text = text.strip() if isinstance(text, str) else ""
                characters = len(text) if text else price.max_chars
            units = characters / 1000
        else:
            units = 1
        return round(usd * 100 * units, 6)

    return credits


def price_rule(model: Model) -> str:
    """The price in words, from the declaration (the README table and GET /nodes show it)."""
    price = model.price
    unit = {"image": "per image", "megapixel": "per output megapixel (rounded up)",
            "second": "per second of output", "kchars": "per 1,000 characters",
            "run": "per run"}[price.unit]

    def credits(usd: float) -> str:
        return f"{round(usd * 100, 4):g}"

    if price.by is None:
        text = f"{credits(price.usd)} credits {unit}"
    else:
        def shown(value: Any) -> str:
            return ("on" if value else "off") if isinstance(value, bool) else str(value)

        tiers = ", ".join(f"{shown(value)} {credits(usd)}" for value, usd in price.tiers.items())
        text = f"credits {unit} by {price.by}: {tiers}"
        chooser = model.field(price.by)
        covered = chooser.kind == "boolean" or (chooser.options and
                                                set(chooser.options) <= set(price.tiers))
        if not covered:
            text += f"; otherwise {credits(price.usd)}"
    return text + (f" ({price.note})" if price.note else "")


def output_pixels_for(model: Model):
    """The output size from the settings, where it follows from them (prices references)."""
    if model.size is None or model.size.rule == "input":
        return None
    by_setting = {f.name: f.input_id for f in model.fields}

    def pixels(config: dict[str, Any]) -> int | None:
        size = image_size(model, {name: config.get(key) for name, key in by_setting.items()})
        return size[0] * size[1] if size else None

    return pixels


def check_config_for(model: Model):
    """The vendor's own text limits, checked while the graph is edited (not only refused by
    the vendor at run time): a text typed in longer than the field takes."""
    limited = [f for f in model.offered() if f.max_length and f.kind in ("string", "prompt")]
    if not limited:
        return None

    def check(config: dict[str, Any]) -> list[dict[str, Any]]:
        issues = []
        for item in limited:
            value = config.get(item.input_id)
            if isinstance(value, str) and len(value.strip()) > item.max_length:
                issues.append({
                    "rule": "text_too_long", "input": item.input_id,
                    "message": f"'{item.input_id}' is {len(value.strip()):,} characters; "
                               f"{model.label} takes at most {item.max_length:,}",
                    "fix": f"shorten it to {item.max_length:,} characters"})
        return issues

    return check


def to_spec(model: Model) -> NodeSpec:
    """The node type a declaration makes."""
    family = model.node_type.split(":", 1)[0]
    answer = model.answer
    return NodeSpec(
        node_type=model.node_type,
        label=model.label,
        category=family,
        description=model.description,
        inputs=tuple(f.to_input() for f in model.offered()),
        outputs=(Output(answer.output_port, answer.output_port.capitalize(), answer.type),),
        provider=model.provider,
        model=model.endpoint,
        model_version=model.model_version,
        credits=credits_for(model),
        model_checked=model.checked,
        price_rule=price_rule(model),
        output_pixels=output_pixels_for(model),
        check_config=check_config_for(model),
        task=model.task,
        vendor=model.vendor,
        declaration=model,
    )


def model_table() -> str:
    """The README's model library table, from the declarations (a test keeps them equal)."""
    from graph.catalog.registry import MODELS

    rows = ["| node | task | vendor | model id | price rule | checked on |",
            "| --- | --- | --- | --- | --- | --- |"]
    for model in sorted(MODELS, key=lambda m: (TASKS.index(m.task), m.node_type)):
        rows.append(f"| `{model.node_type}` | {model.task} | {model.vendor} | "
                    f"`{model.endpoint}` | {price_rule(model)} | {model.checked} |")
    return "\n".join(rows)
