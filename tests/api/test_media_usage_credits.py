"""Uploads (file and guarded URL), usage figures, and the 402 with its breakdown."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from accounts.models import CreditLedgerEntry
from executions.models import Execution
from tests.samples import WIREFLOW_EXAMPLE

pytestmark = [pytest.mark.django_db, pytest.mark.storage]


def png(size=(40, 30)) -> io.BytesIO:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 10, 10)).save(buffer, "PNG")
    buffer.seek(0)
    buffer.name = "red.png"
    return buffer


def test_upload_a_file_and_list_it(api, media_storage):
    response = api.post("/api/v1/media/upload", {"file": png()}, format="multipart")
    assert response.status_code == 201
    data = response.json()["data"]
    assert data["type"] == "image" and (data["width"], data["height"]) == (40, 30)
    assert data["url"].split("?", 1)[0].endswith(".png")  # a signature may follow
    assert [m["id"] for m in api.get("/api/v1/media").json()["data"]] == [data["id"]]


def test_uploads_refuse_other_types_and_private_urls(api):
    text = io.BytesIO(b"hello")
    text.name = "a.txt"
    response = api.post("/api/v1/media/upload", {"file": text}, format="multipart")
    assert response.status_code == 415
    for url in ("http://127.0.0.1:8000/x.png", "http://169.254.169.254/latest",
                "http://10.0.0.1/a.png", "file:///etc/passwd"):
        refused = api.post("/api/v1/media/upload", {"url": url}, format="json")
        assert refused.status_code == 400, url
        assert refused.json()["code"] == "fetch_refused"


def test_short_credits_answer_402_with_the_breakdown_and_start_nothing(make_team, key_client):
    team = make_team(credits=3)
    api = key_client(team)
    workflow_id = api.post("/api/v1/workflows", WIREFLOW_EXAMPLE,
                           format="json").json()["data"]["id"]
    estimate = api.post(f"/api/v1/workflows/{workflow_id}/estimate", {}, format="json").json()
    # Nano Banana 2 at 1K: $0.067 → 7 credits.
    assert estimate["data"]["estimatedCredits"] == 7 and estimate["data"]["sufficient"] is False
    response = api.post(f"/api/v1/workflows/{workflow_id}/execute", {}, format="json")
    assert response.status_code == 402
    assert response.json() == {
        "error": "Insufficient credits. Required: 7, Available: 3",
        "code": "insufficient_credits", "insufficientCredits": True, "requiredCredits": 7,
        "availableCredits": 3,
        "breakdown": [{"nodeId": "gen-1", "nodeLabel": "Nano Banana 2", "credits": 7}],
    }
    assert Execution.objects.count() == 0
    team.refresh_from_db()
    assert team.credit_balance == 3


def test_usage_shows_balance_quota_and_spend(make_team, key_client):
    team = make_team(plan="starter", credits=50)
    api = key_client(team)
    workflow_id = api.post("/api/v1/workflows", WIREFLOW_EXAMPLE,
                           format="json").json()["data"]["id"]
    assert api.post(f"/api/v1/workflows/{workflow_id}/execute", {},
                    format="json").status_code == 201
    usage = api.get("/api/v1/developer/usage").json()["data"]
    assert usage["balance"] == 43 and usage["plan"] == "starter"
    assert usage["executionsToday"] == 1 and usage["executionsPerDay"] == 200
    assert usage["retentionDays"] == 30
    assert usage["spendByDay"][0]["credits"] == 7
    assert CreditLedgerEntry.objects.filter(team=team, kind="charge").count() == 1


def test_the_webhook_secret_is_for_signed_in_team_admins_only(team, session_client, api):
    admin_client, _ = session_client(team, role="admin")
    secret = admin_client.get("/api/v1/developer/webhook-secret").json()["data"]["secret"]
    team.refresh_from_db()
    assert secret == team.webhook_secret and secret.startswith("whsec_")
    editor_client, _ = session_client(team, role="editor")
    assert editor_client.get("/api/v1/developer/webhook-secret").status_code == 403
    assert api.get("/api/v1/developer/webhook-secret").status_code == 403


# --- estimates of images of known size ----------------------------------------------------------

def upscale_of(url: str) -> dict:
    """An Image Input holding `url` into Clarity ×2 (billed by output megapixel, 3 credits)."""
    from tests.graph.builders import edge, node

    return {"name": "Upscale a photo",
            "nodes": [node("photo", "input:image", {"url": url}),
                      node("up", "process:upscale_clarity", {"upscale_factor": 2, "seed": 3})],
            "edges": [edge("e1", "photo", "image", "up", "image")]}


def quote_of(api, graph: dict) -> dict:
    workflow_id = api.post("/api/v1/workflows", graph, format="json").json()["data"]["id"]
    response = api.post(f"/api/v1/workflows/{workflow_id}/estimate", {}, format="json")
    assert response.status_code == 200
    return response.json()["data"]


def cap_quote() -> int:
    from django.conf import settings

    return -(-settings.MEDIA_MAX_PIXELS // 1024 ** 2) * 3  # the pixel cap's megapixels × 3


@pytest.fixture
def uploads(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path

    def upload(client, size) -> dict:
        response = client.post("/api/v1/media/upload", {"file": png(size)}, format="multipart")
        assert response.status_code == 201
        return response.json()["data"]
    return upload


def test_an_uploaded_image_is_quoted_at_its_own_size_by_any_url_of_ours(api, uploads):
    photo = uploads(api, (1600, 1200))
    # 1600×1200 × 2² = 7.32 MP → 8 MP × 3 credits: what the run is charged (test_library_runs).
    # Signed, unsigned, and (on the file system) the bare /media/ path.
    urls = [photo["url"], photo["url"].split("?")[0]]
    if "/media/" in photo["url"]:
        urls.append("/media/" + photo["url"].split("/media/", 1)[1].split("?")[0])
    for url in urls:
        quote = quote_of(api, upscale_of(url))
        (line,) = quote["breakdown"]
        assert (line["credits"], quote["estimatedCredits"]) == (24, 24), url
        assert "bound" not in line and quote["warnings"] == [], url


def test_another_teams_upload_is_priced_as_unknown(api, uploads, make_team, key_client):
    theirs = uploads(key_client(make_team(credits=100)), (1600, 1200))
    quote = quote_of(api, upscale_of(theirs["url"]))
    (line,) = quote["breakdown"]
    # Not read: quoted as an image of unknown size (the run refuses the file as not ours).
    assert line["credits"] == cap_quote() and line["bound"] == "ceiling"
    assert "pixel cap" in quote["warnings"][0]


def test_an_external_url_stays_a_ceiling(api):
    quote = quote_of(api, upscale_of("https://images.example.com/photo.png"))
    (line,) = quote["breakdown"]
    assert line["credits"] == cap_quote() and line["bound"] == "ceiling"
    assert quote["estimateComplete"] is True and "pixel cap" in quote["warnings"][0]


def test_a_pinned_output_is_priced_by_the_size_it_delivered(api, team, uploads):
    """A pinned Clarity's output (an asset of 1600×1200) into SeedVR ×2: 7.32 MP → 8 MP at 0.1
    credit → 1; without the pin's size it would be the pixel cap's (7)."""
    from executions.assets import asset_upload
    from executions.models import Execution, NodeRun
    from tests.graph.builders import edge, node
    from tests.media_files import pillow

    run = Execution.objects.create(team=team, nodes=[], edges=[], status="COMPLETED")
    clarity = NodeRun.objects.create(execution=run, node_id="up",
                                     node_type="process:upscale_clarity", status="COMPLETED")
    made = asset_upload(team=team, data=pillow("PNG", (1600, 1200)), declared_mime="image/png")
    clarity.outputs = {"image": {"asset": str(made.pk)}}
    clarity.save(update_fields=["outputs"])
    graph = upscale_of("https://images.example.com/photo.png")
    graph["nodes"][1]["data"]["pinned"] = {"executionId": str(run.pk)}
    graph["nodes"].append(node("sr", "process:upscale_seedvr", {"upscale_factor": 2}))
    graph["edges"].append(edge("e2", "up", "image", "sr", "image"))
    quote = quote_of(api, graph)
    assert [(line["nodeId"], line["credits"], "bound" in line)
            for line in quote["breakdown"]] == [("sr", 1, False)]
    assert quote["warnings"] == [] and cap_quote() // 3 > 10
