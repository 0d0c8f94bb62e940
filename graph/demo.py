"""The example workflows `make run` creates for the demo team, in the api.md workflow shape."""

from __future__ import annotations


def _node(node_id: str, node_type: str, label: str, x: int, config: dict, y: int = 200) -> dict:
    return {
        "id": node_id,
        "type": "basedNode",
        "position": {"x": x, "y": y},
        "data": {
            "label": label,
            "nodeType": node_type,
            "category": node_type.split(":")[0],
            "config": config,
        },
    }


def _edge(index: int, source: str, source_port: str, target: str, target_port: str) -> dict:
    return {
        "id": f"edge-{index}",
        "source": source,
        "sourceHandle": f"out-{source_port}",
        "target": target,
        "targetHandle": f"in-{target_port}",
    }


PROMPT = "a cow standing in a futuristic neon field, cinematic light"

BRIEF = "a reusable steel water bottle carried on a sunrise mountain hike"
SHOT_ROWS = (60, 330, 600)

# Brief → an LLM writes three shot prompts (JSON) and a voice-over line → FLUX.2 [pro] ×3 →
# Kling ×3 → text to speech → one 15-second cut with the voice-over and captions.
_AD = {
    "name": "Brief → LLM prompts → FLUX.2 ×3 → Kling ×3 → voice-over → finished cut",
    "description": "An LLM turns a one-line brief into three shot prompts and a voice-over "
    "line; FLUX.2 [pro] renders each shot, Kling animates it, ElevenLabs reads the line and "
    "Assemble Video cuts the clips into one 16:9 MP4 with the voice-over and captions. Needs "
    "OpenAI, BFL and fal keys, or SIMULATE=1 for the offline simulator.",
    "tags": ["demo", "ad", "llm", "video"],
    "nodes": [
        _node("brief", "input:text", "Brief", 0, {"prompt": BRIEF}, y=330),
        _node("shots", "llm:chat", "Shot prompts", 330, {
            "prompt": "Write 3 image prompts for a 15-second ad: {input}. Answer in JSON as "
                      '{"prompts": ["…", "…", "…"]}, one cinematic 16:9 shot each.',
            "json_mode": True, "seed": 11}, y=200),
        _node("script", "llm:chat", "Voice-over line", 330, {
            "prompt": "Write a one-sentence voice-over for a 15-second ad: {input}",
            "seed": 12}, y=520),
        *(_node(f"shot-{n}", "utility:json_extract", f"Shot {n + 1}", 660,
                {"path": f"prompts[{n}]"}, y=SHOT_ROWS[n]) for n in range(3)),
        *(_node(f"flux-{n}", "generate:flux_2_pro", f"FLUX.2 shot {n + 1}", 990,
                {"width": 1024, "height": 576, "seed": 100 + n}, y=SHOT_ROWS[n])
          for n in range(3)),
        *(_node(f"kling-{n}", "generate:kling_video", f"Kling shot {n + 1}", 1320,
                {"duration": 5, "prompt": "slow cinematic push-in, gentle camera drift"},
                y=SHOT_ROWS[n]) for n in range(3)),
        _node("voice", "generate:tts_elevenlabs", "Voice-over", 1320, {"voice": "Rachel"},
              y=870),
        _node("cut", "compose:video", "Finished cut", 1650, {
            "transition": "cut", "aspect_ratio": "16:9", "resolution": 720}, y=330),
    ],
    "edges": [
        _edge(1, "brief", "prompt", "shots", "input"),
        _edge(2, "brief", "prompt", "script", "input"),
        *(_edge(10 + n, "shots", "text", f"shot-{n}", "json") for n in range(3)),
        *(_edge(20 + n, f"shot-{n}", "text", f"flux-{n}", "prompt") for n in range(3)),
        *(_edge(30 + n, f"flux-{n}", "image", f"kling-{n}", "image") for n in range(3)),
        *(_edge(40 + n, f"kling-{n}", "video", "cut", "clips") for n in range(3)),
        _edge(50, "script", "text", "voice", "text"),
        _edge(51, "voice", "audio", "cut", "voice"),
        _edge(52, "script", "text", "cut", "captions"),
    ],
}

# A product photo (a procedural stand-in: swap in an Image Input with your own) → background
# removed → placed in a new scene by FLUX.1 Kontext → upscaled ×2 by Clarity.
_PRODUCT = {
    "name": "Product photo → background removal → new scene → upscale",
    "description": "Removes the photo's background (Bria), puts the product in a new scene "
    "with FLUX.1 Kontext [pro] and upscales it ×2 (Clarity). The photo here is a procedural "
    "stand-in: replace it with an Image Input holding your product. Needs a fal key, or "
    "SIMULATE=1 for the offline simulator.",
    "tags": ["demo", "product", "edit"],
    "nodes": [
        _node("note", "utility:sticky_note", "Your photo", 0, {
            "text": "Replace 'Product photo' with an Image Input of your product (drop a file "
                    "on the canvas)."}, y=40),
        _node("photo", "generate:local_preview", "Product photo", 0, {
            "prompt": "a studio photo of a ceramic coffee mug", "width": 768, "height": 768,
            "seed": 5}),
        _node("cutout", "process:remove_background", "Remove background", 330, {}),
        _node("scene", "process:flux_kontext_edit", "New scene", 660, {
            "prompt": "place the product on a marble kitchen counter in soft morning light, "
                      "shallow depth of field", "seed": 21, "output_format": "png"}),
        _node("upscale", "process:upscale_clarity", "Upscale ×2", 990, {"upscale_factor": 2}),
    ],
    "edges": [
        _edge(1, "photo", "image", "cutout", "image"),
        _edge(2, "cutout", "image", "scene", "image"),
        _edge(3, "scene", "image", "upscale", "image"),
    ],
}

STYLES = ("watercolor", "oil painting", "pencil sketch", "pop art", "ukiyo-e woodblock",
          "art deco poster", "pixel art", "charcoal drawing", "bauhaus poster", "claymation",
          "neon noir", "paper origami")

# One prompt over a List of twelve styles (fan-out: one generation per style) into a contact
# sheet by a Collect node.
_STYLES = {
    "name": "One prompt × 12 styles → contact sheet",
    "description": "A List of twelve styles fans the prompt out: a Prompt Template joins the "
    "subject and each style, FLUX.2 [klein] 4B renders each, and Collect lays the twelve out "
    "on one contact sheet. Needs a BFL key, or SIMULATE=1 for the offline simulator.",
    "tags": ["demo", "fan-out", "styles"],
    "nodes": [
        _node("subject", "input:text", "Subject", 0,
              {"prompt": "a red fox curled up in fresh snow"}, y=80),
        _node("styles", "utility:list", "Styles", 0, {"items": "\n".join(STYLES)}, y=320),
        _node("prompt", "utility:prompt_concat", "Subject, style", 330,
              {"template": "{a}, {b}"}),
        _node("render", "generate:flux_2_klein_4b", "FLUX.2 [klein] 4B", 660,
              {"width": 512, "height": 512, "seed": 42}),
        _node("sheet", "utility:collect", "Contact sheet", 990, {"columns": 4, "cell": 256}),
    ],
    "edges": [
        _edge(1, "subject", "prompt", "prompt", "a"),
        _edge(2, "styles", "item", "prompt", "b"),
        _edge(3, "prompt", "text", "render", "prompt"),
        _edge(4, "render", "image", "sheet", "images"),
    ],
}


DEMO_WORKFLOWS: list[dict] = [
    {
        "name": "Flux 2 Pro → upscale → image-to-video",
        "description": "FLUX.2 [pro] renders the prompt, ESRGAN upscales it ×2 and Kling "
        "animates it. Needs BFL and fal keys, or SIMULATE=1 for the offline simulator.",
        "tags": ["demo", "flux"],
        "nodes": [
            _node("text-input-1", "input:text", "Prompt", 100, {"prompt": PROMPT}),
            _node("flux-1", "generate:flux_2_pro", "FLUX.2 [pro]", 450,
                  {"width": 1024, "height": 768, "output_format": "png"}),
            _node("upscale-1", "process:upscale_esrgan", "Upscale ×2", 800, {"scale": 2}),
            _node("video-1", "generate:kling_video", "Image to video", 1150,
                  {"duration": 5, "prompt": "slow cinematic push-in, the neon lights flicker"}),
        ],
        "edges": [
            _edge(1, "text-input-1", "prompt", "flux-1", "prompt"),
            _edge(2, "flux-1", "image", "upscale-1", "image"),
            _edge(3, "upscale-1", "image", "video-1", "image"),
        ],
    },
    {
        "name": "Local preview → upscale → image-to-video (offline)",
        "description": "Runs with no network: a procedural preview image (not an AI "
        "generation), a Lanczos ×2 upscale and a pan-and-zoom MP4.",
        "tags": ["demo", "offline"],
        "nodes": [
            _node("text-input-1", "input:text", "Prompt", 100, {"prompt": PROMPT}),
            _node("preview-1", "generate:local_preview", "Local preview", 450,
                  {"width": 512, "height": 512, "seed": 7}),
            _node("upscale-1", "process:upscale_local", "Upscale ×2", 800, {"scale": 2}),
            _node("video-1", "generate:image_to_video_local", "Pan & zoom video", 1150,
                  {"duration": 3}),
        ],
        "edges": [
            _edge(1, "text-input-1", "prompt", "preview-1", "prompt"),
            _edge(2, "preview-1", "image", "upscale-1", "image"),
            _edge(3, "upscale-1", "image", "video-1", "image"),
        ],
    },
    _AD,
    _PRODUCT,
    _STYLES,
]
