"""Compose nodes: combine media and text into a new image, or clips, sound and captions into
a finished video."""

from graph.catalog.types import Input, NodeSpec, Output, no_credits

MAX_CLIPS = 20

TEXT_OVERLAY = NodeSpec(
    node_type="compose:text_overlay",
    label="Text Overlay",
    category="compose",
    description="Writes text over an image, optionally on a coloured band.",
    inputs=(
        Input("image", "Image", "image", is_port=True, required=True),
        Input("text", "Text", "text", is_port=True, inline=True,
              description="Wire a text output here, or type the text in."),
        Input("font_size", "Font size", "integer", is_port=False, default=48, min=8, max=512),
        Input("color", "Text colour", "color", is_port=False, default="#ffffff"),
        Input("background", "Band colour", "color", is_port=False, default="",
              description="Colour of a band behind the text; empty for none."),
        Input("position", "Position", "enum", is_port=False, default="bottom",
              enum=("top", "center", "bottom")),
    ),
    outputs=(Output("image", "Image", "image"),),
    provider="local",
    model=None,
    model_version="1",
    credits=no_credits,
)

VIDEO = NodeSpec(
    node_type="compose:video",
    label="Assemble Video",
    category="compose",
    description="Joins clips in the order they are wired (hard cuts or crossfades), fits them "
    "to one frame, lays a voice-over and music under them (the music ducked under the voice), "
    "burns in captions and gives one MP4 (H.264/AAC). Local and free.",
    inputs=(
        Input("clips", "Clips", "video", is_port=True, required=True, multiple=True,
              max_items=MAX_CLIPS, description="Play in the order their edges were wired; "
              "any size or frame rate, with or without sound."),
        Input("voice", "Voice-over", "audio", is_port=True,
              description="Laid from the start. Longer than the clips: see 'Longer voice-over'."),
        Input("music", "Music", "audio", is_port=True,
              description="Looped to the video's length and faded out at the end."),
        Input("captions", "Captions", "text", is_port=True, inline=True,
              description="One caption a line, timed evenly (one per clip when there are as "
              "many lines as clips), or SRT text with its own times. Empty for none."),
        Input("transition", "Transition", "enum", is_port=False, default="cut",
              enum=("cut", "fade", "dissolve", "fadeblack", "wipeleft", "slideleft")),
        Input("transition_duration", "Transition (s)", "number", is_port=False, default=0.5,
              min=0.1, max=3, description="At most half the shortest clip."),
        Input("aspect_ratio", "Aspect ratio", "enum", is_port=False, default="16:9",
              enum=("16:9", "9:16", "1:1", "4:5", "first"),
              description="'first' keeps the first clip's."),
        Input("fit", "Fit", "enum", is_port=False, default="pad", enum=("pad", "crop"),
              description="pad: whole clips with black bars; crop: fill the frame."),
        Input("resolution", "Resolution (short side)", "enum", is_port=False, default=720,
              enum=(480, 720, 1080)),
        Input("fps", "Frame rate", "integer", is_port=False, default=30, min=12, max=60),
        Input("clip_volume", "Clip sound volume", "number", is_port=False, default=1.0, min=0,
              max=4, description="The clips' own sound; 0 mutes it."),
        Input("voice_volume", "Voice volume", "number", is_port=False, default=1.0, min=0,
              max=4),
        Input("music_volume", "Music volume", "number", is_port=False, default=0.35, min=0,
              max=4),
        Input("ducking", "Duck music under voice", "boolean", is_port=False, default=True),
        Input("caption_position", "Caption position", "enum", is_port=False,
              default="bottom", enum=("bottom", "center", "top")),
        Input("caption_size", "Caption size", "enum", is_port=False, default="medium",
              enum=("small", "medium", "large")),
        Input("long_voice", "Longer voice-over", "enum", is_port=False, default="hold",
              enum=("hold", "slow", "cut"),
              description="When the voice-over runs past the clips: hold the last frame until "
              "it ends, slow the last clip (up to 4×, then hold), or cut the voice with the "
              "clips."),
    ),
    outputs=(Output("video", "Video", "video"),),
    provider="local",
    model=None,
    model_version="2",
    credits=no_credits,
)

SPECS = (TEXT_OVERLAY, VIDEO)
