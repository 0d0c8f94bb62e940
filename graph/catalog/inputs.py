"""Input nodes: where a workflow's values come from. Their `config` holds the value."""

from graph.catalog.types import Input, NodeSpec, Output, no_credits


def text_outputs(context) -> dict:
    """The text, as it is, on both outputs."""
    text = str(context.config.get("prompt") or "")
    return {"prompt": {"text": text}, "text": {"text": text}}


def image_outputs(context) -> dict:
    """The image at the node's URL, stored as one of the team's assets."""
    return {"image": context.image_from_url(context.config.get("url"))}


def audio_outputs(context) -> dict:
    """The sound at the node's URL, stored as one of the team's assets."""
    return {"audio": context.media_from_url(context.config.get("url"), "audio")}


TEXT_INPUT = NodeSpec(
    node_type="input:text",
    label="Text Input",
    category="input",
    description="A piece of text such as a prompt, offered on two outputs (prompt and text).",
    inputs=(
        Input("prompt", "Text", "text", is_port=False, default="",
              description="The text this node passes on."),
    ),
    outputs=(Output("prompt", "Prompt", "text"), Output("text", "Text", "text")),
    provider=None,
    model=None,
    model_version="1",
    credits=no_credits,
    handler=text_outputs,
    instant=True,
)

IMAGE_INPUT = NodeSpec(
    node_type="input:image",
    label="Image Input",
    category="input",
    description="An image: an uploaded media URL or an https URL.",
    inputs=(
        Input("url", "Image URL", "url", is_port=False, required=True,
              description="A /media/… URL from POST /media/upload, or an https URL."),
    ),
    outputs=(Output("image", "Image", "image"),),
    provider=None,
    model=None,
    model_version="1",
    credits=no_credits,
    handler=image_outputs,
)

AUDIO_INPUT = NodeSpec(
    node_type="input:audio",
    label="Audio Input",
    category="input",
    description="A sound (voice-over, music, effects): an uploaded media URL or an https URL "
    "of an MP3, WAV, M4A, AAC, Ogg or FLAC file.",
    inputs=(
        Input("url", "Audio URL", "url", is_port=False, required=True,
              description="A /media/… URL from POST /media/upload, or an https URL."),
    ),
    outputs=(Output("audio", "Audio", "audio"),),
    provider=None,
    model=None,
    model_version="1",
    credits=no_credits,
    handler=audio_outputs,
)

SPECS = (TEXT_INPUT, IMAGE_INPUT, AUDIO_INPUT)
