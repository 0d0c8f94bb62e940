"""Image models on fal: text to image, image editing and upscaling, one declaration each.

Every declaration is written from the model's page on fal (fal.ai/models/<endpoint>, its
llms.txt: input schema and pricing), read on `CHECKED` in the stored copies of public pages
and code (the `search` corpora): `source` names what was read, `unconfirmed` says plainly what
was not found there and what the figure kept rests on.
"""

from graph.catalog.library import MEGAPIXEL, Answer, Field, Model, Price, Size

CHECKED = "2026-12-03"
FAL = "fal"
PRESETS = ("square_hd", "square", "portrait_4_3", "portrait_16_9", "landscape_4_3",
           "landscape_16_9")
KONTEXT_RATIOS = ("21:9", "16:9", "4:3", "3:2", "1:1", "2:3", "3:4", "9:16", "9:21")
IMAGES = Answer("images", "image", many=True)
IMAGE = Answer("image", "image")


def _prompt(max_length: int | None = None, required: bool = True) -> Field:
    return Field("prompt", "prompt", "Prompt", required=required, max_length=max_length)


def _image(name: str = "image_url", setting: str = "image", label: str = "Image") -> Field:
    return Field(name, "image", label, required=True, setting=setting)


def _num_images(high: int) -> Field:
    return Field("num_images", "integer", "Images", default=1, min=1, max=high,
                 description="Each image is billed.")


SEED = Field("seed", "seed", "Seed")
SAFETY_CHECKER = Field("enable_safety_checker", "boolean", "Safety checker", default=True)
# fal's llms.txt pages, as stored copies of them in public code give them (read 2026-12-03).
LLMS = "fal.ai/models/{}/llms.txt (input schema and pricing; a stored copy)"
OUTPUT_FORMAT = Field("output_format", "enum", "Format", default="jpeg",
                      options=("jpeg", "png"))
KONTEXT_SAFETY = Field("safety_tolerance", "enum", "Safety tolerance", default="2",
                       options=("1", "2", "3", "4", "5", "6"),
                       description="1 is the strictest moderation, 6 the most permissive.")
GUIDANCE = Field("guidance_scale", "number", "Guidance", default=3.5, min=1, max=20)

# --- text to image -----------------------------------------------------------------------------

FLUX_KONTEXT_T2I = Model(
    node_type="generate:flux_kontext_pro", label="FLUX.1 Kontext [pro]",
    vendor="Black Forest Labs", provider=FAL, endpoint="fal-ai/flux-pro/kontext/text-to-image",
    task="text-to-image",
    description="FLUX.1 Kontext [pro]: strong prompt following and typography, by aspect ratio.",
    fields=(_prompt(), SEED, GUIDANCE, _num_images(4), KONTEXT_SAFETY, OUTPUT_FORMAT,
            Field("aspect_ratio", "enum", "Aspect ratio", default="1:1",
                  options=KONTEXT_RATIOS)),
    answer=IMAGES, size=Size("aspect", "aspect_ratio"),
    price=Price("image", 0.04, count="num_images"), checked=CHECKED,
    source="fal's price line \"Your request will cost $0.04 per image\" and its OpenAPI "
    "schema (aspect ratios) as an integration recorded them on 2026-08-09; a parse of fal's "
    "llms.txt (safety_tolerance \"1\"–\"6\", num_images 1–4, guidance_scale 1–20)")

RECRAFT_V3 = Model(
    node_type="generate:recraft_v3", label="Recraft V3", vendor="Recraft", provider=FAL,
    endpoint="fal-ai/recraft/v3/text-to-image", task="text-to-image",
    description="Recraft V3: long text in images, brand styles and vector art.",
    fields=(_prompt(1000),
            Field("image_size", "enum", "Size", default="square_hd", options=PRESETS),
            Field("style", "enum", "Style", default="realistic_image",
                  options=("any", "realistic_image", "digital_illustration",
                           "vector_illustration", "realistic_image/b_and_w",
                           "realistic_image/hard_flash", "realistic_image/hdr",
                           "realistic_image/natural_light", "realistic_image/studio_portrait",
                           "realistic_image/motion_blur"),
                  description="Vector styles cost twice as much."),
            Field("enable_safety_checker", "boolean", "Safety checker", default=False,
                  our_default=True)),
    answer=IMAGES, size=Size("preset", "image_size"),
    price=Price("image", 0.04, by="style", tiers={"vector_illustration": 0.08}),
    checked=CHECKED, source="fal's pricing note for fal-ai/recraft/v3/text-to-image (\"$0.04 "
    "per image (or $0.08 if you are using a vector style)\"); a parse of its llms.txt "
    "(enable_safety_checker defaults to false there; we send true)",
    unconfirmed="fal's style enum has 85 values and the stored copies name only the first "
    "four; we declare the 10 we offer, so the simulator refuses the other 75")

IDEOGRAM_V3 = Model(
    node_type="generate:ideogram_v3", label="Ideogram V3", vendor="Ideogram", provider=FAL,
    endpoint="fal-ai/ideogram/v3", task="text-to-image",
    description="Ideogram V3: lettering-first design images; speed trades cost for quality.",
    fields=(_prompt(),
            Field("rendering_speed", "enum", "Rendering speed", default="BALANCED",
                  options=("TURBO", "BALANCED", "QUALITY")),
            Field("image_size", "enum", "Size", default="square_hd", options=PRESETS),
            _num_images(8), SEED,
            Field("expand_prompt", "boolean", "Expand prompt", default=True),
            Field("negative_prompt", "string", "Negative prompt", default="")),
    answer=IMAGES, size=Size("preset", "image_size"),
    price=Price("image", 0.06, by="rendering_speed", tiers={"TURBO": 0.03, "BALANCED": 0.06,
                                                               "QUALITY": 0.09},
                count="num_images"),
    checked=CHECKED, source="a parse of fal's llms.txt for fal-ai/ideogram/v3 ($0.03 / $0.06 / "
    "$0.09); Ideogram's own API pricing (3.0 Turbo $0.03, Default $0.06, Quality $0.09); "
    "fal.ai/docs model-api-reference ideogram-v3 (num_images 1–8, rendering_speed)")

IMAGEN_4 = Model(
    node_type="generate:imagen_4", label="Imagen 4", vendor="Google", provider=FAL,
    endpoint="fal-ai/imagen4/preview", task="text-to-image",
    description="Google's Imagen 4: photorealism and clean text, by aspect ratio.",
    fields=(_prompt(),
            Field("negative_prompt", "string", "Negative prompt", default=""),
            Field("aspect_ratio", "enum", "Aspect ratio", default="1:1",
                  options=("1:1", "16:9", "9:16", "3:4", "4:3")),
            _num_images(4), SEED),
    answer=IMAGES, size=Size("aspect", "aspect_ratio"),
    price=Price("image", 0.04, count="num_images"), checked=CHECKED,
    source=LLMS.format("fal-ai/imagen4/preview") + " for the schema; Lumenfall's catalog for "
    "the price (fal-ai/imagen4/preview $0.04 per image, source fal's API page, effective "
    "2026-01-26; Google's own Imagen 4 price is the same)",
    unconfirmed="the stored copy of fal's llms.txt has no pricing section: $0.04 is fal's "
    "price as Lumenfall records it from fal's page (the $0.05 kept before came from a reseller "
    "comparison that also misquotes fal's Imagen 4 Ultra)")

SEEDREAM_4 = Model(
    node_type="generate:seedream_4", label="Seedream 4.0", vendor="ByteDance", provider=FAL,
    endpoint="fal-ai/bytedance/seedream/v4/text-to-image", task="text-to-image",
    description="ByteDance Seedream 4.0: one model for generating and editing, up to 4K.",
    fields=(_prompt(),
            Field("image_size", "enum", "Size", default="square_hd", options=PRESETS,
                  description="fal also takes {width, height}; we offer its named sizes."),
            _num_images(6), SEED, SAFETY_CHECKER),
    answer=IMAGES, size=Size("preset", "image_size"),
    price=Price("image", 0.03, count="num_images"), checked=CHECKED,
    source=LLMS.format("fal-ai/bytedance/seedream/v4/text-to-image") + " ($0.03 per image)",
    unconfirmed="left out: max_images (multi-image sequences). fal's default size is "
    "2048×2048 and it asks for 960²–4096² pixels in all; its page does not say whether it "
    "refuses or enlarges our smaller presets (the edit app enlarges them): priced per image "
    "either way")

FLUX_SCHNELL = Model(
    node_type="generate:flux_1_schnell", label="FLUX.1 [schnell]", vendor="Black Forest Labs",
    provider=FAL, endpoint="fal-ai/flux/schnell", task="text-to-image",
    description="FLUX.1 [schnell]: a 12B model in 1–4 steps; cheap drafts, priced by megapixel.",
    fields=(_prompt(),
            Field("image_size", "enum", "Size", default="landscape_4_3", options=PRESETS),
            Field("num_inference_steps", "integer", "Steps", default=4, min=1, max=12),
            SEED, _num_images(4), SAFETY_CHECKER),
    answer=IMAGES, size=Size("preset", "image_size"),
    price=Price("megapixel", 0.003, count="num_images"), checked=CHECKED,
    source=LLMS.format("fal-ai/flux/schnell") + " (\"$0.003 per megapixels\"; "
    "num_inference_steps 1–12)")

FLUX_DEV = Model(
    node_type="generate:flux_1_dev", label="FLUX.1 [dev]", vendor="Black Forest Labs",
    provider=FAL, endpoint="fal-ai/flux/dev", task="text-to-image",
    description="FLUX.1 [dev]: the open-weights 12B FLUX, priced by output megapixel.",
    fields=(_prompt(),
            Field("image_size", "enum", "Size", default="landscape_4_3", options=PRESETS),
            Field("num_inference_steps", "integer", "Steps", default=28, min=1, max=50),
            GUIDANCE, SEED, _num_images(4), SAFETY_CHECKER),
    answer=IMAGES, size=Size("preset", "image_size"),
    price=Price("megapixel", 0.025, count="num_images"), checked=CHECKED,
    source=LLMS.format("fal-ai/flux/dev") + " (\"$0.025 per megapixels\"; "
    "num_inference_steps 1–50, guidance_scale 1–20)")

# --- image editing -----------------------------------------------------------------------------

REMOVE_BACKGROUND = Model(
    node_type="process:remove_background", label="Remove Background (Bria)", vendor="Bria",
    provider=FAL, endpoint="fal-ai/bria/background/remove", task="image-editing",
    description="Bria RMBG 2.0: cuts the subject out onto a transparent background.",
    fields=(_image(),),
    answer=Answer("image", "image", transparent=True), size=Size("input", "image_url"),
    price=Price("image", 0.018), checked=CHECKED,
    source=LLMS.format("fal-ai/bria/background/remove") + " (\"$0.018 per generations\"; "
    "image_url required)")

FLUX_KONTEXT_EDIT = Model(
    node_type="process:flux_kontext_edit", label="FLUX.1 Kontext [pro] Edit",
    vendor="Black Forest Labs", provider=FAL, endpoint="fal-ai/flux-pro/kontext",
    task="image-editing",
    description="Edits an image as the prompt says (\"make it night\"), keeping the rest.",
    fields=(_prompt(), _image(), SEED, GUIDANCE, _num_images(4), KONTEXT_SAFETY, OUTPUT_FORMAT,
            Field("aspect_ratio", "enum", options=KONTEXT_RATIOS, hidden=True)),
    answer=IMAGES, size=Size("input", "image_url"),
    price=Price("image", 0.04, count="num_images"), checked=CHECKED,
    source="fal's price line for fal-ai/flux-pro/kontext (\"$0.04 per image\") and its "
    "OpenAPI schema (image_url required, an optional aspect_ratio enum, not offered) as an "
    "integration recorded them on 2026-08-09")

FLUX_FILL = Model(
    node_type="process:flux_fill", label="FLUX.1 Fill [pro] (inpaint)",
    vendor="Black Forest Labs", provider=FAL, endpoint="fal-ai/flux-pro/v1/fill",
    task="image-editing",
    description="Inpainting: repaints the white part of a mask as the prompt describes.",
    fields=(_prompt(), _image(), _image("mask_url", "mask", "Mask"), SEED, _num_images(4),
            Field("safety_tolerance", "enum", "Safety tolerance", default="2",
                  options=("1", "2", "3", "4", "5", "6")), OUTPUT_FORMAT),
    answer=IMAGES, size=Size("input", "image_url"),
    price=Price("megapixel", 0.05, count="num_images",
                note="an input of unknown size is quoted at the pixel cap"),
    checked=CHECKED, source="fal.ai/docs model-api-reference for fal-ai/flux-pro/v1/fill (a "
    "stored copy: \"$0.05 per megapixel\", billed by rounding up to the nearest megapixel; "
    "num_images 1–4, safety_tolerance 1–6 default 2, jpeg / png)")

SEEDREAM_4_EDIT = Model(
    node_type="process:seedream_4_edit", label="Seedream 4.0 Edit", vendor="ByteDance",
    provider=FAL, endpoint="fal-ai/bytedance/seedream/v4/edit", task="image-editing",
    description="Reference-guided edit: combine up to 10 images as the prompt says.",
    fields=(_prompt(),
            Field("image_urls", "images", "Images", required=True, max_items=10,
                  setting="images"),
            Field("image_size", "enum", "Size", default="square_hd", options=PRESETS),
            _num_images(6), SEED, SAFETY_CHECKER),
    answer=IMAGES, size=Size("preset", "image_size"),
    price=Price("image", 0.03, count="num_images"), checked=CHECKED,
    source=LLMS.format("fal-ai/bytedance/seedream/v4/edit") + " (\"$0.03 per images\"; "
    "image_urls: up to 10, fal keeps the last 10 of more, which our port never sends)")

# --- upscaling ---------------------------------------------------------------------------------

ESRGAN_MODELS = ("RealESRGAN_x4plus", "RealESRGAN_x2plus", "RealESRGAN_x4plus_anime_6B",
                 "RealESRGAN_x4_v3", "RealESRGAN_x4_wdn_v3", "RealESRGAN_x4_anime_v3")

UPSCALE_ESRGAN = Model(
    node_type="process:upscale_esrgan", label="Upscale (ESRGAN, fal)", vendor="Real-ESRGAN",
    provider=FAL, endpoint="fal-ai/esrgan", task="upscaling",
    description="Enlarges an image ×2 or ×4 with the ESRGAN super-resolution model on fal.",
    fields=(_image(),
            Field("scale", "number", "Scale", default=2, min=1, max=8, choices=(2, 4)),
            Field("tile", "integer", default=0, min=0, max=10**6, hidden=True),
            Field("face", "boolean", default=False, hidden=True),
            Field("model", "enum", default=ESRGAN_MODELS[0], options=ESRGAN_MODELS, hidden=True),
            Field("output_format", "enum", default="png", options=("png", "jpeg"),
                  hidden=True)),
    answer=IMAGE, size=Size("input", "image_url", scale="scale"),
    price=Price("run", 0.02, note="fal bills $0.00111 per compute second: 2 credits cover 18 s"),
    checked=CHECKED, source=LLMS.format("fal-ai/esrgan") + " (\"$0.00111 per compute "
    "second\")",
    unconfirmed="fal prices ESRGAN by compute time, which is known only after the run; we "
    "charge a flat 2 credits, the price of 18 s: a run fal bills longer costs us the "
    "difference")

UPSCALE_CLARITY = Model(
    node_type="process:upscale_clarity", label="Clarity Upscaler", vendor="Clarity AI",
    provider=FAL, endpoint="fal-ai/clarity-upscaler", task="upscaling",
    description="Creative upscaling up to ×4 that adds detail; priced by output megapixel.",
    fields=(_image(),
            Field("prompt", "string", "Prompt", default="masterpiece, best quality, highres"),
            Field("upscale_factor", "number", "Scale", default=2, min=1, max=4),
            Field("negative_prompt", "string", "Negative prompt",
                  default="(worst quality, low quality, normal quality:2)"),
            Field("creativity", "number", "Creativity", default=0.35, min=0, max=1),
            Field("resemblance", "number", "Resemblance", default=0.6, min=0, max=1),
            SEED),
    answer=IMAGE, size=Size("input", "image_url", scale="upscale_factor"),
    price=Price("megapixel", 0.03,
                note="of the upscaled image; an input of unknown size is quoted at the pixel cap"),
    checked=CHECKED, source="fal.ai/models/fal-ai/clarity-upscaler/llms.txt")

UPSCALE_RECRAFT_CRISP = Model(
    node_type="process:upscale_recraft_crisp", label="Recraft Crisp Upscale", vendor="Recraft",
    provider=FAL, endpoint="fal-ai/recraft/upscale/crisp", task="upscaling",
    description="Sharpens and enlarges an image faithfully, without inventing detail.",
    fields=(Field("image_url", "image", "Image", required=True, setting="image",
                  formats=("image/png",)),),
    answer=IMAGE, size=Size("input", "image_url", factor=4),
    price=Price("image", 0.004), checked=CHECKED,
    source=LLMS.format("fal-ai/recraft/upscale/crisp") + " (\"$0.004 per images\"); "
    "Recraft's own docs ($0.004 per crisp upscale)",
    unconfirmed="the output's size is stated by neither fal nor Recraft in the stored pages "
    "(×4 is kept: it only sizes the estimate of what follows, the price is per image). fal "
    "says the input must be a PNG: another image is converted to PNG before it is sent")

UPSCALE_SEEDVR = Model(
    node_type="process:upscale_seedvr", label="SeedVR2 Upscale", vendor="ByteDance",
    provider=FAL, endpoint="fal-ai/seedvr/upscale/image", task="upscaling",
    description="SeedVR2 one-step restoration and upscaling of photos.",
    fields=(_image(),
            Field("upscale_factor", "number", "Scale", default=2, min=1, max=10), SEED),
    answer=IMAGE, size=Size("input", "image_url", scale="upscale_factor"),
    price=Price("megapixel", 0.001,
                note="of the upscaled image; an input of unknown size is quoted at the pixel cap"),
    checked=CHECKED,
    source=LLMS.format("fal-ai/seedvr/upscale/image") + " (\"$0.001 per megapixels\"; "
    "upscale_factor 1–10, default 2)")

# --- routes: a model another node type runs, served by fal too -------------------------------

# FLUX.2 [pro] on fal, the `vendor: fal` route of generate:flux_2_pro (BFL's own API is the
# other): text to image at fal-ai/flux-2-pro, and with reference images at its edit app
# fal-ai/flux-2-pro/edit (the same fields and `image_urls`); width and height go as fal's
# custom image_size. fal prices both alike, as BFL does: $0.03 for the first megapixel of
# output and $0.015 per further megapixel of input and output, rounded up (the node's rule).
FLUX_2_FAL_PRICE = Price("megapixel", 0.015,
                         note="$0.03 the first megapixel, $0.015 each further one of output "
                         "and of every reference: the node's FLUX.2 rule")
FLUX_2_FAL_SOURCE = ("fal's llms.txt for fal-ai/flux-2-pro and fal-ai/flux-2-pro/edit (input "
                     "schema and pricing; a stored copy in the code corpus); the text-to-image "
                     "app's size bounds from its OpenAPI schema as an integration recorded "
                     "them on 2026-08-09 (multiples of 16, 256–2560 a side, 4.19 MP)")
FLUX_2_FAL_UNCONFIRMED = ("the edit app's size bounds and its most number of image_urls are not "
                          "stated in the stored pages; we hold it to the text-to-image app's "
                          "sides and BFL's 8 references, each scaled to 4 MP at most")
FAL_FLUX_2_MIN_SIDE, FAL_FLUX_2_MAX_SIDE = 256, 2560
FLUX_2_TOLERANCE = Field("safety_tolerance", "enum", "Safety tolerance", default="2",
                         options=("1", "2", "3", "4", "5"), as_string=True)

FLUX_2_PRO_EDIT_FAL = Model(
    node_type="generate:flux_2_pro", label="FLUX.2 [pro] Edit (fal)",
    vendor="Black Forest Labs", provider=FAL, endpoint="fal-ai/flux-2-pro/edit",
    task="image-editing",
    description="FLUX.2 [pro] served by fal: edits and combines reference images as the "
    "prompt says.",
    fields=(_prompt(),
            Field("image_urls", "images", "Reference images", required=True,
                  setting="reference_images", max_pixels=4 * MEGAPIXEL,
                  description="The node's reference images, each sent at most 4 MP."),
            Field("image_size", "size", "Size", default="auto", options=("auto",),
                  description="{width, height} from the node's Width and Height."),
            SEED, FLUX_2_TOLERANCE,
            Field("enable_safety_checker", "boolean", default=True, hidden=True),
            OUTPUT_FORMAT),
    answer=IMAGES, size=Size("preset", "image_size"), price=FLUX_2_FAL_PRICE,
    checked=CHECKED, source=FLUX_2_FAL_SOURCE, unconfirmed=FLUX_2_FAL_UNCONFIRMED)

FLUX_2_PRO_FAL = Model(
    node_type="generate:flux_2_pro", label="FLUX.2 [pro] (fal)", vendor="Black Forest Labs",
    provider=FAL, endpoint="fal-ai/flux-2-pro", task="text-to-image",
    description="FLUX.2 [pro] served by fal: text to image at a width and height.",
    fields=(_prompt(),
            Field("image_size", "size", "Size", min=FAL_FLUX_2_MIN_SIDE, max=FAL_FLUX_2_MAX_SIDE,
                  description="{width, height} from the node's Width and Height."),
            SEED, FLUX_2_TOLERANCE,
            Field("enable_safety_checker", "boolean", default=True, hidden=True),
            OUTPUT_FORMAT),
    answer=IMAGES, size=Size("preset", "image_size"), price=FLUX_2_FAL_PRICE,
    checked=CHECKED, source=FLUX_2_FAL_SOURCE, unconfirmed=FLUX_2_FAL_UNCONFIRMED,
    edit=FLUX_2_PRO_EDIT_FAL)

MODELS = (FLUX_KONTEXT_T2I, RECRAFT_V3, IDEOGRAM_V3, IMAGEN_4, SEEDREAM_4, FLUX_SCHNELL,
          FLUX_DEV, REMOVE_BACKGROUND, FLUX_KONTEXT_EDIT, FLUX_FILL, SEEDREAM_4_EDIT,
          UPSCALE_ESRGAN, UPSCALE_CLARITY, UPSCALE_RECRAFT_CRISP, UPSCALE_SEEDVR)
