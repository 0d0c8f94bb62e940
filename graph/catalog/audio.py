"""Audio nodes that run on our own servers with ffmpeg, free: trim, loudness normalisation and
a two-track mix. Each takes sounds on `audio` ports and gives one sound (AAC in M4A)."""

from __future__ import annotations

from typing import Any

from graph.catalog.types import ConfigIssue, Input, NodeSpec, Output, no_credits

_AUDIO_IN = Input("audio", "Audio", "audio", is_port=True, required=True)
_AUDIO_OUT = Output("audio", "Audio", "audio")
MAX_SECONDS = 4 * 3600


def _trim_check(config: dict[str, Any]) -> list[ConfigIssue]:
    start, end = config.get("start"), config.get("end")
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (start, end))
    if numbers and end <= start:
        return [{"rule": "invalid_setting", "input": "end",
                 "message": f"'end' ({end:g} s) must come after 'start' ({start:g} s)",
                 "fix": "set 'end' after 'start', or leave it empty to keep to the end"}]
    return []


TRIM = NodeSpec(
    node_type="audio:trim",
    label="Trim Audio",
    category="audio",
    description="Keeps the part of a sound between two times, with a short fade at each cut "
    "so it does not click. Local and free.",
    inputs=(
        _AUDIO_IN,
        Input("start", "Start (s)", "number", is_port=False, default=0, min=0, max=MAX_SECONDS),
        Input("end", "End (s)", "number", is_port=False, default=None, min=0, max=MAX_SECONDS,
              description="Empty keeps the sound to its end; past its end is its end."),
        Input("fade", "Fade (s)", "number", is_port=False, default=0.02, min=0, max=10,
              description="Fade in at the start and out at the end; 0 for a hard cut."),
    ),
    outputs=(_AUDIO_OUT,),
    provider="local",
    model=None,
    model_version="1",
    credits=no_credits,
    check_config=_trim_check,
)

NORMALIZE = NodeSpec(
    node_type="audio:normalize",
    label="Normalise Loudness",
    category="audio",
    description="Brings a sound to a loudness target (EBU R128, measured then corrected in "
    "two passes): -16 LUFS for voice and podcasts, -14 for streaming, -23 for broadcast. "
    "Local and free.",
    inputs=(
        _AUDIO_IN,
        Input("target", "Loudness (LUFS)", "number", is_port=False, default=-16, min=-40,
              max=-5, description="Integrated loudness to reach."),
        Input("true_peak", "True peak (dBTP)", "number", is_port=False, default=-1.5, min=-9,
              max=0, description="The highest the waveform may reach."),
        Input("loudness_range", "Loudness range (LU)", "number", is_port=False, default=11,
              min=1, max=20, description="How much the loudness may vary over time."),
    ),
    outputs=(_AUDIO_OUT,),
    provider="local",
    model=None,
    model_version="1",
    credits=no_credits,
)

MIX = NodeSpec(
    node_type="audio:mix",
    label="Mix Two Tracks",
    category="audio",
    description="Plays two sounds together, each at its own volume (music under a voice, "
    "effects over music), as one stereo track. Local and free.",
    inputs=(
        Input("audio", "Track A", "audio", is_port=True, required=True),
        Input("audio_b", "Track B", "audio", is_port=True, required=True),
        Input("volume_a", "Volume A", "number", is_port=False, default=1.0, min=0, max=4,
              description="A gain: 1 as it is, 0.5 half as loud (-6 dB), 2 twice (+6 dB)."),
        Input("volume_b", "Volume B", "number", is_port=False, default=1.0, min=0, max=4),
        Input("duration", "Length", "enum", is_port=False, default="longest",
              enum=("longest", "shortest", "first"),
              description="As long as the longer track, the shorter one, or track A."),
    ),
    outputs=(_AUDIO_OUT,),
    provider="local",
    model=None,
    model_version="1",
    credits=no_credits,
)

SPECS = (TRIM, NORMALIZE, MIX)
