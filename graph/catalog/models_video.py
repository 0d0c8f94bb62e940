"""Video and audio models on fal, one declaration each (see models_image for the sources rule).

Audio outputs wait for audio to be a media type end to end (executions/media_types.py); until
then the audio models are declared and priced here, and their runs are exercised against the
simulator only where the engine can store what they return.
"""

from graph.catalog.library import Answer, Field, Model, Price

CHECKED = "2026-12-03"
FAL = "fal"
VIDEO = Answer("video", "video")
AUDIO = Answer("audio", "audio")
RATIOS_3 = ("16:9", "9:16", "1:1")


def _prompt(max_length: int | None = None, required: bool = True) -> Field:
    return Field("prompt", "prompt", "Prompt", required=required, max_length=max_length)


IMAGE = Field("image_url", "image", "Image", required=True, setting="image")
SEED = Field("seed", "seed", "Seed")
NEGATIVE = Field("negative_prompt", "string", "Negative prompt", default="",
                 description="What the video should avoid.")

KLING_PROMPT_LIMIT = ("the 2,500-character limit on the prompt and the negative prompt is not "
                      "stated on fal's page (kept as declared before, not confirmed)")

KLING_2_1_I2V = Model(
    node_type="generate:kling_video", label="Kling Image to Video (fal)", vendor="Kuaishou",
    provider=FAL, endpoint="fal-ai/kling-video/v2.1/standard/image-to-video", task="video",
    description="Kling 2.1 animates an image into a 5 or 10 s video as the prompt says, "
    "keeping its aspect ratio.",
    fields=(IMAGE, _prompt(2500),
            Field("duration", "enum", "Duration (s)", default="5", options=("5", "10"),
                  choices=(5, 10), our_default=5, as_string=True),
            Field("negative_prompt", "string", "Negative prompt", max_length=2500,
                  default="blur, distort, and low quality", our_default="",
                  description="What the video should avoid."),
            Field("cfg_scale", "number", "Prompt adherence", default=0.5, min=0, max=1,
                  description="How closely the video follows the prompt (fal's cfg_scale).")),
    answer=VIDEO,
    price=Price("second", 0.056, seconds="duration",
                note="$0.28 for 5 s, $0.056 per further second"),
    checked=CHECKED, source="fal.ai/models/fal-ai/kling-video/v2.1/standard/image-to-video/"
    "llms.txt (a stored copy: \"For 5s video your request will cost $0.28. For every "
    "additional second you will be charged $0.056\"; the $0.25 / $0.05 kept before is the "
    "older figure integrations still quote)",
    unconfirmed=KLING_PROMPT_LIMIT)

KLING_2_5_T2V = Model(
    node_type="generate:kling_2_5_text_to_video", label="Kling 2.5 Turbo Pro (text to video)",
    vendor="Kuaishou", provider=FAL,
    endpoint="fal-ai/kling-video/v2.5-turbo/pro/text-to-video", task="video",
    description="Kling 2.5 Turbo Pro: cinematic text to video with fluid motion, 5 or 10 s.",
    fields=(_prompt(2500),
            Field("duration", "enum", "Duration (s)", default="5", options=("5", "10")),
            Field("aspect_ratio", "enum", "Aspect ratio", default="16:9", options=RATIOS_3),
            Field("negative_prompt", "string", "Negative prompt", max_length=2500,
                  default="blur, distort, and low quality", our_default=""),
            Field("cfg_scale", "number", "Prompt adherence", default=0.5, min=0, max=1)),
    answer=VIDEO,
    price=Price("second", 0.07, seconds="duration",
                note="$0.35 for 5 s, $0.07 per further second"),
    checked=CHECKED,
    source="fal.ai/models/fal-ai/kling-video/v2.5-turbo/pro/text-to-video/llms.txt (a stored "
    "copy: \"For 5s video your request will cost $0.35. For every aditional second you will "
    "be charged $0.07\"; duration 5 / 10, 16:9 / 9:16 / 1:1, cfg_scale 0–1, the default "
    "negative prompt)",
    unconfirmed=KLING_PROMPT_LIMIT)

VEO_3_FAST = Model(
    node_type="generate:veo_3_fast", label="Veo 3 Fast", vendor="Google", provider=FAL,
    endpoint="fal-ai/veo3/fast", task="video",
    description="Google Veo 3 Fast: text to video with native sound (dialogue, effects).",
    fields=(_prompt(),
            Field("aspect_ratio", "enum", "Aspect ratio", default="16:9",
                  options=("16:9", "9:16", "1:1"), choices=("16:9", "9:16"),
                  description="fal also takes 1:1 (outpainted); we offer 16:9 and 9:16."),
            Field("duration", "enum", "Duration", default="8s", options=("4s", "6s", "8s")),
            NEGATIVE,
            Field("generate_audio", "boolean", "Generate audio", default=True,
                  description="Sound costs half as much again."),
            SEED),
    answer=VIDEO,
    price=Price("second", 0.15, by="generate_audio", tiers={True: 0.15, False: 0.10},
                seconds="duration"),
    checked=CHECKED, source="fal.ai/models/fal-ai/veo3/fast/llms.txt (price; a stored copy of "
    "its schema: 16:9 / 9:16 / 1:1, 4s / 6s / 8s, sound off uses a third less)")

VEO_3 = Model(
    node_type="generate:veo_3", label="Veo 3", vendor="Google", provider=FAL,
    endpoint="fal-ai/veo3", task="video",
    description="Google Veo 3: its highest-quality text to video, with native sound.",
    fields=VEO_3_FAST.fields,
    answer=VIDEO,
    price=Price("second", 0.40, by="generate_audio", tiers={True: 0.40, False: 0.20},
                seconds="duration"),
    checked=CHECKED, source="fal's pricing note for fal-ai/veo3 (\"$0.20 (audio off) or "
    "$0.40 (audio on)\" per second, a generated copy of fal's pricing data); the schema is "
    "veo3/fast's",
    unconfirmed="the stored copy of fal's veo3 schema lists a duration of \"8s\" only (the "
    "veo3/fast copy lists 4s / 6s / 8s); we offer veo3/fast's three for both")

HAILUO_02 = Model(
    node_type="generate:hailuo_02", label="MiniMax Hailuo 02 (image to video)",
    vendor="MiniMax", provider=FAL, endpoint="fal-ai/minimax/hailuo-02/standard/image-to-video",
    task="video",
    description="MiniMax Hailuo 02: physics-aware image to video, 6 or 10 s at 768p or 512p.",
    fields=(_prompt(), IMAGE,
            Field("duration", "enum", "Duration (s)", default="6", options=("6", "10")),
            Field("prompt_optimizer", "boolean", "Prompt optimizer", default=True),
            Field("resolution", "enum", "Resolution", default="768P",
                  options=("512P", "768P"))),
    answer=VIDEO,
    price=Price("second", 0.045, by="resolution", tiers={"768P": 0.045, "512P": 0.017},
                seconds="duration"),
    checked=CHECKED,
    source="fal.ai/models/fal-ai/minimax/hailuo-02/standard/image-to-video/llms.txt")

SEEDANCE_PRO_FAST = Model(
    node_type="generate:seedance_1_pro_fast", label="Seedance 1.0 Pro Fast (image to video)",
    vendor="ByteDance", provider=FAL,
    endpoint="fal-ai/bytedance/seedance/v1/pro/fast/image-to-video", task="video",
    description="ByteDance Seedance 1.0 Pro Fast: image to video at low cost, up to 1080p.",
    fields=(_prompt(), IMAGE,
            Field("aspect_ratio", "enum", "Aspect ratio", default="auto",
                  options=("21:9", "16:9", "4:3", "1:1", "3:4", "9:16", "auto")),
            Field("resolution", "enum", "Resolution", default="1080p",
                  options=("480p", "720p", "1080p")),
            Field("duration", "enum", "Duration (s)", default="5",
                  options=tuple(str(n) for n in range(2, 13)), choices=("5", "10")),
            SEED),
    answer=VIDEO,
    # $1.0 per million video tokens, tokens = height × width × 24 fps × seconds / 1024.
    price=Price("second", 0.0486, by="resolution",
                tiers={"1080p": 0.0486, "720p": 0.0216, "480p": 0.00972}, seconds="duration",
                note="fal's $1 per million video tokens at 24 fps"),
    checked=CHECKED,
    source="fal.ai/models/fal-ai/bytedance/seedance/v1/pro/fast/image-to-video/llms.txt "
    "(price); an integration's notes from fal's API page (480p / 720p / 1080p, 2–12 s in "
    "whole seconds, the aspect ratios)",
    unconfirmed="the 2–12 s duration range is an integration's reading of fal's page, not "
    "fal's own text; we offer 5 and 10")

LUMA_RAY_2 = Model(
    node_type="generate:luma_ray_2", label="Luma Ray 2", vendor="Luma AI", provider=FAL,
    endpoint="fal-ai/luma-dream-machine/ray-2", task="video",
    description="Luma Ray 2: realistic text to video with coherent motion, 5 or 9 s.",
    fields=(_prompt(5000),
            Field("aspect_ratio", "enum", "Aspect ratio", default="16:9",
                  options=("16:9", "9:16", "4:3", "3:4", "21:9", "9:21")),
            Field("loop", "boolean", "Loop", default=False),
            Field("resolution", "enum", "Resolution", default="540p",
                  options=("540p", "720p", "1080p"), description="720p costs 2×, 1080p 4×."),
            Field("duration", "enum", "Duration", default="5s", options=("5s", "9s"))),
    answer=VIDEO,
    price=Price("second", 0.10, by="resolution", tiers={"540p": 0.10, "720p": 0.20,
                                                         "1080p": 0.40}, seconds="duration"),
    checked=CHECKED, source="fal.ai/models/fal-ai/luma-dream-machine/ray-2/llms.txt (a stored "
    "copy for the schema; an integration's summary of it fetched 2026-04-17 for the price: "
    "\"$0.5 per 5 seconds (540p). 720p is 2×, 1080p is 4×\"; the image-to-video sibling's "
    "line reads the same)",
    unconfirmed="whether fal bills 9 s as 9 seconds ($0.90 at 540p, as we charge) or as two "
    "5-second blocks ($1.00) is not stated")

MMAUDIO_V2 = Model(
    node_type="generate:mmaudio_v2", label="MMAudio V2 (video to audio)", vendor="MMAudio",
    provider=FAL, endpoint="fal-ai/mmaudio-v2", task="audio",
    description="Adds a soundtrack matched to a video's action; returns the video with sound.",
    fields=(Field("video_url", "video", "Video", required=True, setting="video"),
            _prompt(required=False),
            Field("negative_prompt", "string", "Negative prompt", default=""),
            SEED,
            Field("num_steps", "integer", "Steps", default=25, min=4, max=50),
            Field("duration", "number", "Duration (s)", default=8, min=1, max=30),
            Field("cfg_strength", "number", "Guidance", default=4.5, min=0, max=20)),
    answer=VIDEO,
    price=Price("second", 0.001, seconds="duration"),
    checked=CHECKED, source="fal.ai/models/fal-ai/mmaudio-v2/api; fal's pricing data as two "
    "integrations copied it (\"$0.001 per seconds\")")

ELEVENLABS_VOICES = ("Aria", "Roger", "Sarah", "Laura", "Charlie", "George", "Callum",
                     "River", "Liam", "Charlotte", "Alice", "Matilda", "Will", "Jessica",
                     "Eric", "Chris", "Brian", "Daniel", "Lily", "Bill", "Rachel")

TTS_ELEVENLABS = Model(
    node_type="generate:tts_elevenlabs", label="Text to Speech (ElevenLabs Multilingual v2)",
    vendor="ElevenLabs", provider=FAL, endpoint="fal-ai/elevenlabs/tts/multilingual-v2",
    task="audio",
    description="ElevenLabs Multilingual v2: lifelike speech in 29 languages, priced by text.",
    fields=(Field("text", "prompt", "Text", required=True, max_length=5000),
            Field("voice", "enum", "Voice", default="Rachel", options=ELEVENLABS_VOICES),
            Field("stability", "number", "Stability", default=0.5, min=0, max=1),
            Field("similarity_boost", "number", "Similarity", default=0.75, min=0, max=1),
            Field("speed", "number", "Speed", default=1, min=0.7, max=1.2)),
    answer=AUDIO,
    price=Price("kchars", 0.10, text="text", max_chars=5000,
                note="quoted from the text typed in or wired from a Text Input, else as the "
                "5,000 it takes at most; charged by the characters sent"),
    checked=CHECKED, source="an integration's table \"checked against official fal "
    "documentation on September 18, 2026\" ($0.10 per 1,000 characters, stock voice Rachel)",
    unconfirmed="fal's schema for this endpoint was not found in the stored pages on "
    "2026-12-03: the voice list beyond Rachel, the stability / similarity defaults and the "
    "0.7–1.2 speed bounds are not confirmed there")

SOUND_EFFECTS = Model(
    node_type="generate:sound_effects", label="Sound Effects (ElevenLabs)",
    vendor="ElevenLabs", provider=FAL, endpoint="fal-ai/elevenlabs/sound-effects",
    task="audio",
    description="Sound effects from a description (\"rain on a tin roof\"), up to 22 s.",
    fields=(Field("text", "prompt", "Description", required=True),
            Field("duration_seconds", "number", "Duration (s)", default=5, min=0.5, max=22),
            Field("prompt_influence", "number", "Prompt influence", default=0.3, min=0,
                  max=1)),
    answer=Answer("audio", "audio", seconds="duration_seconds"),
    price=Price("second", 0.002, seconds="duration_seconds"),
    checked=CHECKED, source="fal's pricing data for fal-ai/elevenlabs/sound-effects as two "
    "integrations copied it (\"$0.002 per seconds\")",
    unconfirmed="duration_seconds is optional at fal (the model picks one); we always send "
    "it so the price is known. Its 0.5–22 s bounds are an integration's summary of fal's "
    "page, not fal's own schema text")

MUSIC_LYRIA_2 = Model(
    node_type="generate:music_lyria_2", label="Music (Lyria 2)", vendor="Google",
    provider=FAL, endpoint="fal-ai/lyria2", task="audio",
    description="Google Lyria 2: 30 s of instrumental music from a description.",
    fields=(_prompt(),
            Field("negative_prompt", "string", "Negative prompt", default="low quality"),
            SEED),
    answer=Answer("audio", "audio", default_seconds=30),
    price=Price("run", 0.10, note="$0.10 per 30 s clip"),
    checked=CHECKED, source="fal.ai/models/fal-ai/lyria2/llms.txt (a stored copy: \"$0.1 per "
    "30 seconds\")")

MODELS = (KLING_2_1_I2V, KLING_2_5_T2V, VEO_3_FAST, VEO_3, HAILUO_02, SEEDANCE_PRO_FAST,
          LUMA_RAY_2, MMAUDIO_V2, TTS_ELEVENLABS, SOUND_EFFECTS, MUSIC_LYRIA_2)
