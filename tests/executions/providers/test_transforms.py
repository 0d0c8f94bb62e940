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
    body = bfl.build_request(flux())
    assert body == {"prompt": "a lighthouse", "width": 1024, "height": 768, "seed": 7,
                    "output_format": "png", "safety_tolerance": 3, "prompt_upsampling": True}


def test_bfl_flex_adds_steps_and_guidance_and_a_missing_seed_is_left_out():
    body = bfl.build_request(flux("flux-2-flex", seed=None, steps=28, guidance=3.5))
    assert body["steps"] == 28 and body["guidance"] == 3.5 and "seed" not in body


def test_bfl_reference_images_are_numbered_input_image_to_input_image_8(make_media):
    media = [make_media((4 + i, 4)) for i in range(9)]
    body = bfl.build_request(flux(references=media))
    keys = [key for key in body if key.startswith("input_image")]
    assert keys == ["input_image"] + [f"input_image_{n}" for n in range(2, 9)]
    assert base64.b64decode(body["input_image_2"]) == media[1].read()


def test_bfl_submit_answer_becomes_a_handle_with_the_given_polling_url():
    answer = {"id": "t-1", "polling_url": "https://api.us1.bfl.ai/v1/get_result?id=t-1",
              "cost": 3.0}
    assert bfl.parse_submit(answer) == {"id": "t-1", "polling_url": answer["polling_url"]}
    with pytest.raises(ProviderError):
        bfl.parse_submit({"id": "t-1"})


def test_bfl_poll_statuses():
    handle = {"id": "t-1", "polling_url": "https://x/v1/get_result?id=t-1"}
    pending = bfl.parse_poll({"id": "t-1", "status": "Pending", "progress": 0.4}, handle)
    assert isinstance(pending, Pending) and pending.progress == 0.4 and pending.handle == handle
    assert bfl.parse_poll({"status": "Pending", "progress": 40}, handle).progress == 0.4
    assert bfl.parse_poll({"status": "Pending", "progress": None}, handle).progress is None
    ready = bfl.parse_poll({"id": "t-1", "status": "Ready", "cost": 4.5, "result": {
        "sample": "https://delivery.bfl.ai/x/sample.png", "seed": 7}}, handle)
    assert ready.sample.endswith("sample.png") and ready.meta == {"vendor_id": "t-1", "seed": 7,
                                                                  "cost": 4.5}


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
    job = Job(node_type="generate:nano_banana_2", model="gemini-3.1-flash-image-preview",
              config={"aspect_ratio": "16:9", "num_images": 1},
              inputs={"prompt": ["a cat"], "reference_images": [reference]}, seed=5)
    body = google.build_request(job)
    assert body["contents"] == [{"role": "user", "parts": [
        {"text": "a cat"},
        {"inline_data": {"mime_type": "image/png", "data": reference.base64()}}]}]
    assert body["generationConfig"] == {"responseModalities": ["IMAGE"], "seed": 5,
                                        "imageConfig": {"aspectRatio": "16:9"}}


def test_gemini_inline_image_is_decoded():
    data = png()
    payload = {"candidates": [{"content": {"parts": [
        {"text": "Here you go"},
        {"inlineData": {"mimeType": "image/png", "data": base64.b64encode(data).decode()}}]},
        "finishReason": "STOP"}], "modelVersion": "gemini-3.1-flash-image-preview"}
    image = google.parse_response(payload)
    assert image.data == data and image.mime == "image/png" and image.extension == "png"


@pytest.mark.parametrize("payload, words", [
    ({"promptFeedback": {"blockReason": "PROHIBITED_CONTENT"}}, "PROHIBITED_CONTENT"),
    ({"candidates": [{"finishReason": "IMAGE_SAFETY", "finishMessage": "Unsafe image"}]},
     "IMAGE_SAFETY: Unsafe image"),
    ({"candidates": [{"content": {"parts": [{"text": "I cannot draw that."}]},
                      "finishReason": "STOP"}]}, "I cannot draw that."),
    ({"candidates": []}, "no reason given"),
])
def test_gemini_answers_without_an_image_are_moderation_with_the_reason(payload, words):
    with pytest.raises(ProviderError) as raised:
        google.parse_response(payload)
    assert raised.value.kind == "moderated" and words in raised.value.message


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


# --- fal ------------------------------------------------------------------------------------------

def test_fal_inputs_send_the_image_as_a_data_uri(make_media):
    image = make_media()
    esrgan = fal.build_request(Job(node_type="process:upscale_esrgan", model="fal-ai/esrgan",
                                   config={"scale": 4}, inputs={"image": [image]}))
    assert esrgan == {"image_url": image.data_uri(), "scale": 4}
    kling = fal.build_request(Job(
        node_type="generate:kling_video", model="fal-ai/kling-video/v2.1/standard/image-to-video",
        config={"duration": 10, "aspect_ratio": "9:16", "negative_prompt": "blur"},
        inputs={"image": [image], "prompt": ["waves"]}))
    assert kling == {"image_url": image.data_uri(), "prompt": "waves", "duration": "10",
                     "aspect_ratio": "9:16", "negative_prompt": "blur"}
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
    assert fal.parse_output({"video": {"url": "https://v3.fal.media/a.mp4"}}) == \
        ("video", "https://v3.fal.media/a.mp4")
    assert fal.parse_output({"image": {"url": "https://v3.fal.media/a.png"}})[0] == "image"


def test_fal_failures_carry_the_vendors_detail():
    with pytest.raises(ProviderError) as failed:
        fal.parse_status({"status": "COMPLETED", "error": "Out of memory",
                          "error_type": "runner_error"}, {})
    assert failed.value.kind == "failed" and "Out of memory" in failed.value.message
    with pytest.raises(ProviderError) as empty:
        fal.parse_output({"detail": "nothing to show"})
    assert empty.value.kind == "failed" and "nothing to show" in empty.value.message
    flagged = fal.describe_error(422, {"detail": [{"loc": ["body", "prompt"], "msg": "flagged",
                                                   "type": "content_policy_violation"}]})
    assert flagged.kind == "moderated" and flagged.message == "prompt: flagged"
    assert fal.describe_error(422, {"detail": "bad image"}).kind is None
