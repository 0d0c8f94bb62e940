"""The vendor request/response transforms, pure: canned vendor JSON in, requests, results and
errors out. No network."""

from __future__ import annotations

import base64
import io
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from PIL import Image

from executions.providers import Job, Pending, ProviderError, bfl, fal, google
from executions.providers.http import (
    output_file,
    plain_error,
    retry_after_header,
    sniff_mime,
    status_kind,
)
from graph.catalog.library import Answer


def png(size=(8, 6)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 10, 10)).save(buffer, "PNG")
    return buffer.getvalue()


def flux(model="flux-2-pro", seed=7, references=(), **config) -> Job:
    settings = {"width": 1024, "height": 768, "output_format": "png", "safety_tolerance": 3,
                "prompt_upsampling": True, **config}
    return Job(node_type=f"generate:{model.replace('-', '_')}", model=model, config=settings,
               inputs={"prompt": ["a lighthouse"], "reference_images": list(references)},
               seed=seed)


# --- the HTTP layer's maps ----------------------------------------------------------------------

@pytest.mark.parametrize("status, kind", [(402, "payment"), (429, "rate_limited"),
                                          (401, "config"), (403, "config"), (408, "timeout"),
                                          (500, "server"), (503, "server"), (400, "invalid"),
                                          (404, "invalid"), (422, "invalid")])
def test_http_statuses_map_to_error_kinds(status, kind):
    assert status_kind(status) == kind


def test_vendor_error_text_is_read_from_detail_lists_and_plain_text():
    validation = {"detail": [{"loc": ["body", "width"], "msg": "must be a multiple of 16"}]}
    assert plain_error(422, validation).message == "width: must be a multiple of 16"
    assert plain_error(402, {"detail": "Insufficient credits"}).message == "Insufficient credits"
    assert plain_error(502, "<html>Bad gateway</html>").message == "<html>Bad gateway</html>"
    assert plain_error(500, "").message == "HTTP 500"


def test_retry_after_is_read_as_seconds_or_as_a_date():
    assert retry_after_header("3") == 3.0
    assert retry_after_header(None) is None and retry_after_header("soon") is None
    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 <= retry_after_header(later) <= 30


def test_downloaded_files_are_typed_by_their_bytes_not_the_declared_type():
    assert sniff_mime(png(), "application/octet-stream") == "image/png"
    assert sniff_mime(b"\xff\xd8\xff\xe0rest", "") == "image/jpeg"
    assert sniff_mime(b"\x00\x00\x00\x18ftypmp42", "") == "video/mp4"
    assert output_file(png(), "binary/octet-stream", vendor="X").extension == "png"
    with pytest.raises(ProviderError) as raised:
        output_file(b"<html>", "text/html", vendor="X")
    assert raised.value.kind == "failed" and "text/html" in raised.value.message


# --- Black Forest Labs ----------------------------------------------------------------------------

def test_bfl_request_carries_the_node_settings_and_the_seed():
    body, references = bfl.build_request(flux())
    # prompt_upsampling is documented for [flex] only: [pro] is not sent it.
    assert body == {"prompt": "a lighthouse", "width": 1024, "height": 768, "seed": 7,
                    "output_format": "png", "safety_tolerance": 3}
    assert references == []


@pytest.mark.parametrize("model", ["flux-2-max", "flux-2-klein-4b", "flux-2-klein-9b"])
def test_bfl_flex_only_settings_go_to_no_other_model(model):
    body, _ = bfl.build_request(flux(model, steps=28, guidance=3.5))
    assert not {"steps", "guidance", "prompt_upsampling"} & set(body)


def test_bfl_flex_adds_steps_guidance_and_upsampling_and_a_missing_seed_is_left_out():
    body, _ = bfl.build_request(flux("flux-2-flex", seed=None, steps=28, guidance=3.5))
    assert body["steps"] == 28 and body["guidance"] == 3.5 and "seed" not in body
    assert body["prompt_upsampling"] is True


def test_bfl_reference_images_are_numbered_input_image_to_input_image_8(make_media):
    media = [make_media((4 + i, 4)) for i in range(9)]
    body, references = bfl.build_request(flux(references=media))
    keys = [key for key in body if key.startswith("input_image")]
    assert keys == ["input_image"] + [f"input_image_{n}" for n in range(2, 9)]
    assert base64.b64decode(body["input_image_2"]) == media[1].read()
    assert references == pytest.approx([(4 + i) * 4 / 1024**2 for i in range(8)])
    klein, _ = bfl.build_request(flux("flux-2-klein-4b", references=media))
    assert [key for key in klein if key.startswith("input_image")] == [
        "input_image", "input_image_2", "input_image_3", "input_image_4"]


def test_a_reference_over_4_mp_is_scaled_down_to_4_mp_before_it_is_sent(make_media):
    big = make_media((3000, 2000))  # 5.7 MP
    body, references = bfl.build_request(flux(references=[big]))
    with Image.open(io.BytesIO(base64.b64decode(body["input_image"]))) as sent:
        width, height = sent.size
    assert width * height <= 4 * 1024**2 and abs(width / height - 1.5) < 0.01
    assert references == pytest.approx([width * height / 1024**2])


def test_bfl_submit_answer_becomes_a_handle_with_the_given_polling_url():
    answer = {"id": "t-1", "polling_url": "https://api.us1.bfl.ai/v1/get_result?id=t-1",
              "cost": 3.0}
    # BFL quotes the cost on submit (not with the result): it is kept with the job.
    assert bfl.parse_submit(answer) == {"id": "t-1", "polling_url": answer["polling_url"],
                                        "cost": 3.0}
    with pytest.raises(ProviderError):
        bfl.parse_submit({"id": "t-1"})


def test_bfl_poll_statuses():
    handle = {"id": "t-1", "polling_url": "https://x/v1/get_result?id=t-1", "cost": 4.5,
              "references": [0.25]}
    pending = bfl.parse_poll({"id": "t-1", "status": "Pending", "progress": 0.4}, handle)
    assert isinstance(pending, Pending) and pending.progress == 0.4 and pending.handle == handle
    assert bfl.parse_poll({"status": "Pending", "progress": 40}, handle).progress == 0.4
    assert bfl.parse_poll({"status": "Pending", "progress": None}, handle).progress is None
    ready = bfl.parse_poll({"id": "t-1", "status": "Ready", "result": {
        "sample": "https://delivery.bfl.ai/x/sample.png", "seed": 7}}, handle)
    assert ready.sample.endswith("sample.png") and ready.meta == {
        "vendor_id": "t-1", "seed": 7, "cost": 4.5, "usage": {"references": [0.25]}}


@pytest.mark.parametrize("payload, kind, words", [
    ({"status": "Request Moderated", "details": {"Moderation Reasons": ["Derivative Works"]}},
     "moderated", "Request Moderated: Moderation Reasons: Derivative Works"),
    ({"status": "Content Moderated", "details": {"Moderation Reasons": ["NSFW"]}},
     "moderated", "Content Moderated: Moderation Reasons: NSFW"),
    ({"status": "Error", "details": {"error": "GPU fell over"}}, "failed", "GPU fell over"),
    ({"status": "Task not found"}, "not_found", "Task not found"),
    ({"status": "Ready", "result": {}}, "failed", "no result URL"),
    ({"status": "Exploded"}, "failed", "unknown status"),
])
def test_bfl_poll_failures_carry_the_vendors_reason(payload, kind, words):
    with pytest.raises(ProviderError) as raised:
        bfl.parse_poll(payload, {"id": "t-1", "polling_url": "u"})
    assert raised.value.kind == kind and words in raised.value.message


# --- Google Gemini --------------------------------------------------------------------------------

def test_gemini_request_has_the_prompt_the_references_inline_and_the_image_config(make_media):
    reference = make_media()
    job = Job(node_type="generate:nano_banana_2", model="gemini-3.1-flash-image",
              config={"aspect_ratio": "16:9", "image_size": "2K", "num_images": 1},
              inputs={"prompt": ["a cat"], "reference_images": [reference]}, seed=5)
    body = google.build_request(job)
    assert body["contents"] == [{"role": "user", "parts": [
        {"text": "a cat"},
        {"inline_data": {"mime_type": "image/png", "data": reference.base64()}}]}]
    assert body["generationConfig"] == {"responseModalities": ["IMAGE"], "seed": 5,
                                        "imageConfig": {"aspectRatio": "16:9",
                                                        "imageSize": "2K"}}
    # The images of a num_images node differ by seed.
    assert google.build_request(job, 2)["generationConfig"]["seed"] == 7


def test_gemini_inline_image_is_decoded():
    data = png()
    payload = {"candidates": [{"content": {"parts": [
        {"text": "Here you go"},
        {"inlineData": {"mimeType": "image/png", "data": base64.b64encode(data).decode()}}]},
        "finishReason": "STOP"}], "modelVersion": "gemini-3.1-flash-image"}
    image = google.parse_response(payload)
    assert image.data == data and image.mime == "image/png" and image.extension == "png"


def test_a_gemini_thought_image_is_a_draft_not_the_result():
    draft, final = png((4, 4)), png((8, 8))
    payload = {"candidates": [{"content": {"parts": [
        {"text": "Sketching the layout", "thought": True},
        {"inlineData": {"mimeType": "image/png", "data": base64.b64encode(draft).decode()},
         "thought": True},
        {"inlineData": {"mimeType": "image/png", "data": base64.b64encode(final).decode()},
         "thoughtSignature": "c2ln"}]}, "finishReason": "STOP"}]}
    assert google.parse_response(payload).data == final
    only_thoughts = {"candidates": [{"content": {"parts": payload["candidates"][0]["content"][
        "parts"][:2]}, "finishReason": "NO_IMAGE"}]}
    with pytest.raises(ProviderError) as raised:
        google.parse_response(only_thoughts)
    assert raised.value.kind == "retryable" and "Sketching" not in raised.value.message


def _finished(reason, text=None):
    parts = [{"text": text}] if text else []
    return {"candidates": [{"content": {"role": "model", "parts": parts},
                            "finishReason": reason}]}


@pytest.mark.parametrize("payload, kind, words", [
    ({"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}}, "moderated",
     "PROHIBITED_CONTENT"),
    ({"promptFeedback": {"blockReason": "OTHER"}}, "moderated", "OTHER"),
    ({"candidates": [{"finishReason": "IMAGE_SAFETY", "finishMessage": "Unsafe image"}]},
     "moderated", "IMAGE_SAFETY: Unsafe image"),
    (_finished("IMAGE_PROHIBITED_CONTENT"), "moderated", "IMAGE_PROHIBITED_CONTENT"),
    (_finished("SAFETY"), "moderated", "SAFETY"),
    (_finished("RECITATION"), "moderated", "RECITATION"),
    (_finished("IMAGE_RECITATION"), "moderated", "IMAGE_RECITATION"),
    (_finished("SPII"), "moderated", "SPII"),
    (_finished("BLOCKLIST"), "moderated", "BLOCKLIST"),
    # No image, but nothing was refused: a retry may work (and no image was billed).
    (_finished("NO_IMAGE"), "retryable", "NO_IMAGE"),
    (_finished("IMAGE_OTHER"), "retryable", "IMAGE_OTHER"),
    (_finished("OTHER"), "retryable", "OTHER"),
    (_finished("MAX_TOKENS"), "retryable", "MAX_TOKENS"),
    (_finished("MALFORMED_RESPONSE"), "retryable", "MALFORMED_RESPONSE"),
    ({"candidates": []}, "retryable", "no reason given"),
    (_finished("LANGUAGE"), "invalid", "LANGUAGE"),
    # The model chose to answer in words: its words are the reason.
    (_finished("STOP", "I cannot draw that."), "failed", "I cannot draw that."),
])
def test_gemini_answers_without_an_image_are_read_as_google_documents(payload, kind, words):
    with pytest.raises(ProviderError) as raised:
        google.parse_response(payload)
    assert raised.value.kind == kind and words in raised.value.message
    assert raised.value.transient == (kind == "retryable")


def test_gemini_errors_read_status_retry_info_and_bad_keys():
    exhausted = {"error": {"code": 429, "status": "RESOURCE_EXHAUSTED", "message": "Quota",
                           "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo",
                                        "retryDelay": "37s"}]}}
    said = google.describe_error(429, exhausted)
    assert said.kind == "rate_limited" and said.retry_after == 37.0
    assert said.message == "RESOURCE_EXHAUSTED Quota"
    bad_key = {"error": {"code": 400, "status": "INVALID_ARGUMENT", "message": "Bad key",
                         "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo",
                                      "reason": "API_KEY_INVALID"}]}}
    assert google.describe_error(400, bad_key).kind == "config"
    invalid = google.describe_error(400, {"error": {"status": "INVALID_ARGUMENT",
                                                    "message": "bad ratio"}})
    assert invalid.kind is None and "bad ratio" in invalid.message
    gone = google.describe_error(404, {"error": {"status": "NOT_FOUND", "message": "models/x"}})
    assert gone.kind == "not_found"


# --- fal ------------------------------------------------------------------------------------------

def test_fal_inputs_send_the_image_as_a_data_uri(make_media):
    image = make_media()
    esrgan = fal.build_request(Job(node_type="process:upscale_esrgan", model="fal-ai/esrgan",
                                   config={"scale": 4}, inputs={"image": [image]}))
    assert esrgan == {"image_url": image.data_uri(), "scale": 4}
    kling = fal.build_request(Job(
        node_type="generate:kling_video", model="fal-ai/kling-video/v2.1/standard/image-to-video",
        config={"duration": 10, "aspect_ratio": "9:16", "negative_prompt": "blur",
                "cfg_scale": 0.7},
        inputs={"image": [image], "prompt": ["waves"]}))
    # Kling 2.1's schema has no aspect_ratio (the video keeps the image's).
    assert kling == {"image_url": image.data_uri(), "prompt": "waves", "duration": "10",
                     "negative_prompt": "blur", "cfg_scale": 0.7}
    with pytest.raises(ProviderError) as no_prompt:
        fal.build_request(Job(node_type="generate:kling_video", model="fal-ai/kling-video/v2.1/"
                              "standard/image-to-video", config={"duration": 5},
                              inputs={"image": [image], "prompt": ["  "]}))
    assert no_prompt.value.kind == "invalid" and "prompt" in no_prompt.value.message
    with pytest.raises(ProviderError) as raised:
        fal.build_request(Job(node_type="process:upscale_esrgan", model="fal-ai/esrgan",
                              config={"scale": 2}))
    assert raised.value.kind == "invalid"


def test_fal_handle_status_and_output_parsing():
    root = "https://queue.fal.run/fal-ai/esrgan/requests/r-1"
    handle = fal.parse_submit({"request_id": "r-1", "status_url": f"{root}/status",
                               "response_url": root, "cancel_url": f"{root}/cancel"})
    assert handle == {"request_id": "r-1", "status_url": f"{root}/status", "response_url": root,
                      "cancel_url": f"{root}/cancel"}
    assert isinstance(fal.parse_status({"status": "IN_QUEUE", "queue_position": 3}, handle),
                      Pending)
    assert fal.parse_status({"status": "COMPLETED"}, handle) is None
    video, images = Answer("video", "video"), Answer("images", "image", many=True)
    assert fal.parse_output({"video": {"url": "https://v3.fal.media/a.mp4"}}, video) == \
        ["https://v3.fal.media/a.mp4"]
    assert fal.parse_output({"images": [{"url": "https://v3.fal.media/a.png"},
                                        {"url": "https://v3.fal.media/b.png"}]}, images) == \
        ["https://v3.fal.media/a.png", "https://v3.fal.media/b.png"]


def test_fal_failures_carry_the_vendors_detail():
    with pytest.raises(ProviderError) as failed:
        fal.parse_status({"status": "COMPLETED", "error": "Out of memory",
                          "error_type": "runner_error"}, {})
    assert failed.value.kind == "failed" and "Out of memory" in failed.value.message
    with pytest.raises(ProviderError) as empty:
        fal.parse_output({"detail": "nothing to show"}, Answer("image", "image"))
    assert empty.value.kind == "failed" and "nothing to show" in empty.value.message
    flagged = fal.describe_error(422, {"detail": [{"loc": ["body", "prompt"], "msg": "flagged",
                                                   "type": "content_policy_violation"}]})
    assert flagged.kind == "moderated" and flagged.message == "prompt: flagged"
    assert fal.describe_error(422, {"detail": "bad image"}).kind is None
