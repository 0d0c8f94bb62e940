"""Client apps through the public API and the app page's visitor endpoints: publishing checks
the exposed inputs against the workflow, `POST /apps/{slug}/run` needs `apps:execute`, another
team's app is a 404, bad input is the documented error shape and changes nothing, the daily
credit cap refuses a run before anything is charged, visitors see only exposed outputs, and a
passcode is hashed and its attempts throttled."""

from __future__ import annotations

import copy

import pytest
from django.test import Client

from accounts.models import ActivityEvent, CreditLedgerEntry
from clientapps.models import App
from executions.models import Execution
from tests.samples import WIREFLOW_EXAMPLE

pytestmark = pytest.mark.django_db


def _workflow(client) -> str:
    response = client.post("/api/v1/workflows", copy.deepcopy(WIREFLOW_EXAMPLE), format="json")
    assert response.status_code == 201, response.json()
    return response.json()["data"]["id"]


def _publish(client, workflow_id, HTTP_IDEMPOTENCY_KEY=None, **body):
    payload = {"workflowId": workflow_id, "title": "Neon cows", "dailyCreditCap": 21,
               "access": "link",
               "exposedInputs": [{"nodeId": "text-input-1", "label": "Describe the scene",
                                  "helpText": "One sentence"},
                                 {"nodeId": "gen-1", "input": "aspect_ratio",
                                  "allowedValues": ["1:1", "9:16"], "default": "1:1"}],
               "exposedOutputs": [{"nodeId": "gen-1", "label": "Your image"}], **body}
    headers = {"HTTP_IDEMPOTENCY_KEY": HTTP_IDEMPOTENCY_KEY} if HTTP_IDEMPOTENCY_KEY else {}
    return client.post("/api/v1/apps", payload, format="json", **headers)


def test_publish_lists_and_reads_an_app_with_its_exposed_fields(api, team):
    response = _publish(api, _workflow(api))
    assert response.status_code == 201, response.json()
    app = response.json()["data"]
    assert app["slug"].startswith("neon-cows-") and app["url"].endswith(f"/apps/{app['slug']}")
    prompt, ratio = app["exposedInputs"]
    assert (prompt["input"], prompt["label"], prompt["helpText"]) == (
        "prompt", "Describe the scene", "One sentence")
    assert ratio["allowedValues"] == ["1:1", "9:16"] and ratio["default"] == "1:1"
    assert app["exposedOutputs"] == [{"nodeId": "gen-1", "label": "Your image"}]
    assert app["creditsUsedToday"] == 0 and app["hasPasscode"] is False
    listed = api.get("/api/v1/apps").json()["apps"]
    assert [a["slug"] for a in listed] == [app["slug"]]
    assert api.get(f"/api/v1/apps?teamId={team.pk}").json()["apps"] == listed
    assert api.get(f"/api/v1/apps?teamId={10**30}").json()["apps"] == []
    assert api.get("/api/v1/apps?teamId=x").json()["code"] == "invalid_request"
    assert api.get(f"/api/v1/apps/{app['slug']}").json()["data"]["id"] == app["id"]


@pytest.mark.parametrize("change, message", [
    ({"exposedInputs": [{"nodeId": "nope"}]}, "The workflow has no node 'nope'"),
    ({"exposedInputs": [{"nodeId": "gen-1", "input": "colour"}]}, "has no setting 'colour'"),
    ({"exposedInputs": [{"nodeId": "gen-1", "input": "aspect_ratio",
                         "allowedValues": ["7:3"]}]}, "must be one of"),
    ({"dailyCreditCap": -1}, "dailyCreditCap: Ensure this value is greater than or equal to 0"),
    ({"isActive": "yes"}, "isActive"),
    ({"access": "passcode"}, "needs a passcode"),
    ({"access": "everyone"}, "access: \"everyone\" is not a valid choice"),
    ({"title": ""}, "title: This field may not be blank"),
    ({"title": "   "}, "title: This field may not be blank"),
])
def test_a_bad_app_is_refused_in_the_error_shape_and_nothing_is_made(api, change, message):
    response = _publish(api, _workflow(api), **change)
    assert response.status_code == 400
    body = response.json()
    assert message in body["error"]
    assert body["code"] in ("invalid_app", "invalid_inputs", "invalid_request")
    assert App.objects.count() == 0


def test_publishing_with_an_idempotency_key_makes_one_app(api):
    workflow_id = _workflow(api)
    first = _publish(api, workflow_id, HTTP_IDEMPOTENCY_KEY="publish-1")
    again = _publish(api, workflow_id, HTTP_IDEMPOTENCY_KEY="publish-1")
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true"
    assert again.json() == first.json() and App.objects.count() == 1


def test_run_app_needs_the_apps_execute_scope(team, key_client, make_key):
    admin = key_client(team)
    slug = _publish(admin, _workflow(admin)).json()["data"]["slug"]
    without = key_client(team, scopes=["workflows:read", "workflows:execute"])
    response = without.post(f"/api/v1/apps/{slug}/run", {"inputs": {}}, format="json")
    assert response.status_code == 403
    assert response.json()["error"] == "Missing required scope: apps:execute"
    assert Execution.objects.count() == 0


def test_run_app_starts_a_run_polled_like_any_with_the_visitor_values(team, key_client):
    from accounts.services import credits_grant

    credits_grant(team=team, amount=100)
    admin = key_client(team)
    slug = _publish(admin, _workflow(admin)).json()["data"]["slug"]
    runner = key_client(team, scopes=["apps:execute", "executions:read"])
    response = runner.post(f"/api/v1/apps/{slug}/run",
                           {"inputs": {"text-input-1": "a heron at dawn",
                                       "gen-1": {"aspect_ratio": "9:16"}}}, format="json")
    assert response.status_code == 202, response.json()
    execution_id = response.json()["data"]["executionId"]
    assert response["Location"].endswith(f"/api/v1/workflows/executions/{execution_id}/poll")
    poll = runner.get(f"/api/v1/workflows/executions/{execution_id}/poll")
    assert poll.status_code == 200 and poll.json()["executionId"] == execution_id
    run = Execution.objects.get(pk=execution_id)
    assert run.trigger == "app" and run.app_name == "Neon cows"
    assert run.inputs == {"text-input-1": {"prompt": "a heron at dawn"},
                          "gen-1": {"aspect_ratio": "9:16"}}
    # In the team's history and activity with the app's name.
    item = admin.get("/api/v1/workflows/executions").json()["executions"][0]
    assert item["trigger"] == "app" and item["app"]["name"] == "Neon cows"
    line = ActivityEvent.objects.get(kind="run.started")
    assert line.source == "app" and line.details["app"]["name"] == "Neon cows"


@pytest.mark.parametrize("inputs, message", [
    ({"gen-1": {"num_images": 4}}, "Not an input of this app: gen-1.num_images"),
    ({"text-input-9": "x"}, "Not an input of this app: text-input-9"),
    ({"gen-1": {"aspect_ratio": "16:9"}}, "must be one of the app's choices"),
    ({"text-input-1": 42}, "must be"),
    ("a string", "inputs: Expected a dictionary of items"),
])
def test_run_app_refuses_what_the_app_does_not_expose(team, key_client, inputs, message):
    from accounts.services import credits_grant

    credits_grant(team=team, amount=100)
    admin = key_client(team)
    slug = _publish(admin, _workflow(admin)).json()["data"]["slug"]
    response = admin.post(f"/api/v1/apps/{slug}/run", {"inputs": inputs}, format="json")
    assert response.status_code == 400
    assert message in response.json()["error"]
    assert response.json()["code"] in ("invalid_inputs", "invalid_request")
    assert Execution.objects.count() == 0
    team.refresh_from_db()
    assert team.credit_balance == 100


def test_another_teams_app_is_invisible(team, other_team, key_client):
    admin = key_client(team)
    slug = _publish(admin, _workflow(admin)).json()["data"]["slug"]
    stranger = key_client(other_team)
    assert stranger.get("/api/v1/apps").json()["apps"] == []
    for response in (stranger.get(f"/api/v1/apps/{slug}"),
                     stranger.patch(f"/api/v1/apps/{slug}", {"title": "Mine"}, format="json"),
                     stranger.delete(f"/api/v1/apps/{slug}"),
                     stranger.post(f"/api/v1/apps/{slug}/run", {}, format="json")):
        assert response.status_code == 404
        assert response.json() == {"error": "App not found", "code": "not_found"}
    assert App.objects.get(slug=slug).title == "Neon cows"
    # Nor can a team publish another team's workflow.
    assert _publish(stranger, admin.get("/api/v1/workflows").json()["workflows"][0]["id"]
                    ).status_code == 404


def test_update_and_delete_an_app(api):
    slug = _publish(api, _workflow(api)).json()["data"]["slug"]
    response = api.patch(f"/api/v1/apps/{slug}", {"dailyCreditCap": 50, "isActive": False},
                         format="json")
    assert response.status_code == 200
    assert response.json()["data"]["dailyCreditCap"] == 50
    assert response.json()["data"]["isActive"] is False
    refused = api.post(f"/api/v1/apps/{slug}/run", {}, format="json")
    assert refused.status_code == 409 and refused.json()["code"] == "app_inactive"
    assert api.patch(f"/api/v1/apps/{slug}", {"workflowId": "x"}, format="json"
                     ).status_code == 400
    assert api.delete(f"/api/v1/apps/{slug}").status_code == 204
    assert api.get(f"/api/v1/apps/{slug}").status_code == 404


def test_the_daily_cap_refuses_a_run_before_anything_is_charged(team, key_client):
    from accounts.services import credits_grant

    credits_grant(team=team, amount=100)
    admin = key_client(team)
    slug = _publish(admin, _workflow(admin), dailyCreditCap=14).json()["data"]["slug"]
    for _ in range(2):  # Nano Banana 2 is 7 credits: two runs fill the cap of 14
        assert admin.post(f"/api/v1/apps/{slug}/run", {}, format="json").status_code == 202
    ledger = CreditLedgerEntry.objects.count()
    response = admin.post(f"/api/v1/apps/{slug}/run", {}, format="json")
    assert response.status_code == 429
    body = response.json()
    assert body["code"] == "app_daily_cap"
    assert body["error"] == ("This app has reached its daily limit of 14 credits (14 used "
                             "today, this run needs 7). It resets at 00:00 UTC.")
    assert (body["dailyCreditCap"], body["creditsUsedToday"], body["requiredCredits"]) == (
        14, 14, 7)
    assert int(response["Retry-After"]) > 0
    team.refresh_from_db()
    assert team.credit_balance == 86 and CreditLedgerEntry.objects.count() == ledger
    assert Execution.objects.count() == 2
    assert admin.get(f"/api/v1/apps/{slug}").json()["data"]["creditsUsedToday"] == 14


def test_a_finished_run_counts_what_it_was_charged_not_its_hold(team, key_client):
    from accounts.services import credits_grant
    from clientapps.selectors import app_spent_today
    from executions.models import ExecutionStatus

    credits_grant(team=team, amount=100)
    admin = key_client(team)
    slug = _publish(admin, _workflow(admin), dailyCreditCap=14).json()["data"]["slug"]
    admin.post(f"/api/v1/apps/{slug}/run", {}, format="json")
    app = App.objects.get(slug=slug)
    assert app_spent_today(app) == 7
    # A failed run is charged nothing: its hold no longer counts against the cap.
    Execution.objects.update(status=ExecutionStatus.FAILED, credits_charged=0)
    assert app_spent_today(app) == 0


# --- the app page's visitor endpoints ---------------------------------------------------------

def _visitor_run(client: Client, slug: str, inputs=None):
    client.get(f"/apps/{slug}")  # the page sets the CSRF cookie
    return client.post(f"/apps/{slug}/runs", {"inputs": inputs or {}},
                       content_type="application/json",
                       HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value)


def test_an_anonymous_visitor_runs_a_link_app_and_sees_only_its_exposed_outputs(
        team, key_client):
    from accounts.services import credits_grant

    credits_grant(team=team, amount=100)
    admin = key_client(team)
    slug = _publish(admin, _workflow(admin)).json()["data"]["slug"]
    visitor = Client(enforce_csrf_checks=True)
    page = visitor.get(f"/apps/{slug}")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Describe the scene" in html and "gen-1" in html and "num_images" not in html
    response = _visitor_run(visitor, slug, {"text-input-1": "a lighthouse"})
    assert response.status_code == 202, response.json()
    token, run = response.json()["token"], response.json()["run"]
    assert [o["nodeId"] for o in run["outputs"]] == ["gen-1"]
    followed = visitor.get(f"/apps/{slug}/runs/{token}").json()
    assert followed["executionId"] == run["executionId"]
    assert set(followed) == {"executionId", "status", "progress", "outputs", "error",
                             "credits", "createdAt"}
    # Another app's token, or a made-up one, is not a run of this app.
    assert visitor.get(f"/apps/{slug}/runs/{token}x").status_code == 404
    execution = Execution.objects.get()
    assert execution.created_by is None and execution.trigger == "app"
    line = ActivityEvent.objects.get(kind="run.started")
    assert line.actor_name == "visitor of app Neon cows"
    activity = admin.get(f"/api/v1/teams/{team.pk}/activity").json()["data"][0]
    assert activity["summary"] == ("visitor of app Neon cows ran workflow Text to Image "
                                   "(from app Neon cows)")


def test_a_team_app_is_closed_to_visitors_and_open_to_members(team, key_client, make_user):
    from accounts.services import credits_grant

    credits_grant(team=team, amount=100)
    admin = key_client(team)
    slug = _publish(admin, _workflow(admin), access="team").json()["data"]["slug"]
    visitor = Client(enforce_csrf_checks=True)
    assert visitor.get(f"/apps/{slug}")["Location"] == f"/login/?next=/apps/{slug}"
    refused = visitor.post(f"/apps/{slug}/runs", {}, content_type="application/json")
    assert refused.status_code == 403  # CSRF first; with a token the app refuses
    member = Client(enforce_csrf_checks=True)
    member.force_login(make_user(team=team, role="editor"))
    assert _visitor_run(member, slug).status_code == 202
    viewer = Client(enforce_csrf_checks=True)
    viewer.force_login(make_user(team=team, role="viewer"))
    response = _visitor_run(viewer, slug)
    assert response.status_code == 403 and "apps:execute" in response.json()["error"]


def test_a_passcode_is_hashed_and_its_attempts_are_throttled(team, key_client):
    admin = key_client(team)
    slug = _publish(admin, _workflow(admin), access="passcode",
                    passcode="open sesame").json()["data"]["slug"]
    app = App.objects.get(slug=slug)
    from django.contrib.auth.hashers import check_password, identify_hasher

    # Stored as Django's password hasher makes it (PBKDF2; the test settings' is a fast one).
    assert "open sesame" not in app.passcode_hash and identify_hasher(app.passcode_hash)
    assert check_password("open sesame", app.passcode_hash)
    visitor = Client()
    page = visitor.get(f"/apps/{slug}").content.decode()
    assert 'data-testid="passcode-form"' in page and 'data-testid="app-form"' not in page
    locked = visitor.post(f"/apps/{slug}/runs", {}, content_type="application/json")
    assert locked.status_code == 403 and locked.json()["code"] == "app_locked"
    visitor.post(f"/apps/{slug}/unlock", {"passcode": "wrong"})
    assert 'data-testid="app-form"' not in visitor.get(f"/apps/{slug}").content.decode()
    visitor.post(f"/apps/{slug}/unlock", {"passcode": "open sesame"})
    assert 'data-testid="app-form"' in visitor.get(f"/apps/{slug}").content.decode()

    guesser = Client()
    for attempt in range(10):
        guesser.post(f"/apps/{slug}/unlock", {"passcode": f"guess {attempt}"})
    guesser.post(f"/apps/{slug}/unlock", {"passcode": "open sesame"})  # the 11th: refused
    page = guesser.get(f"/apps/{slug}").content.decode()
    assert "Too many passcode attempts" in page and 'data-testid="app-form"' not in page
    # Changing the passcode locks out sessions that entered the old one.
    admin.patch(f"/api/v1/apps/{slug}", {"passcode": "new secret"}, format="json")
    assert 'data-testid="app-form"' not in visitor.get(f"/apps/{slug}").content.decode()


def test_a_visitor_is_held_to_the_apps_runs_per_hour(team, key_client):
    from accounts.services import credits_grant

    credits_grant(team=team, amount=1000)
    admin = key_client(team)
    slug = _publish(admin, _workflow(admin), dailyCreditCap=1000,
                    visitorRunsPerHour=2).json()["data"]["slug"]
    visitor = Client(enforce_csrf_checks=True)
    assert [_visitor_run(visitor, slug).status_code for _ in range(2)] == [202, 202]
    response = _visitor_run(visitor, slug)
    assert response.status_code == 429
    assert response.json()["error"] == ("You have started too many runs of this app. Please "
                                        "try again later.")
    assert Execution.objects.count() == 2


# --- visitor uploads: a file field ------------------------------------------------------------

def _photo_app(admin, upscaler=("process:upscale_local", {"scale": 2}), **body) -> str:
    """An app over Image Input → an upscaler (Lanczos) whose image is a file field."""
    from tests.graph.builders import edge, node

    graph = {"name": "Upscale my photo",
             "nodes": [node("photo", "input:image", {"url": "https://example.com/saved.png"}),
                       node("up", *upscaler)],
             "edges": [edge("e1", "photo", "image", "up", "image")]}
    created = admin.post("/api/v1/workflows", graph, format="json")
    assert created.status_code == 201, created.json()
    payload = {"workflowId": created.json()["data"]["id"], "title": "Upscaler",
               "dailyCreditCap": 100, "access": "link",
               "exposedInputs": [{"nodeId": "photo", "label": "Your photo"}], **body}
    response = admin.post("/api/v1/apps", payload, format="json")
    assert response.status_code == 201, response.json()
    return response.json()["data"]["slug"]


def _upload(client: Client, slug: str, data: bytes, name="photo.png", mime="image/png"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.get(f"/apps/{slug}")
    return client.post(f"/apps/{slug}/uploads",
                       {"file": SimpleUploadedFile(name, data, content_type=mime)},
                       HTTP_X_CSRFTOKEN=client.cookies["csrftoken"].value)


def test_a_visitor_uploads_an_image_for_a_file_field_and_only_their_run_takes_it(
        team, key_client, media_storage):
    from executions.models import Asset, NodeRun
    from tests.media_files import pillow

    admin = key_client(team)
    slug = _photo_app(admin)
    app = App.objects.get(slug=slug)
    assert app.exposed_inputs[0]["media"] == "image"
    assert app.exposed_inputs[0]["helpText"] == "An image file: PNG, JPEG, WebP or GIF."
    visitor = Client(enforce_csrf_checks=True, REMOTE_ADDR="198.51.100.7")
    html = visitor.get(f"/apps/{slug}").content.decode()
    assert 'type="file" accept="image/png,image/jpeg,image/webp,image/gif"' in html
    response = _upload(visitor, slug, pillow("PNG", (40, 30)))
    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["type"], body["width"], body["height"]) == ("image", 40, 30)
    assert "url" not in body and "/media/" not in response.content.decode()
    asset = Asset.objects.get()
    assert (asset.team_id, asset.app_id, asset.uploaded) == (team.pk, app.pk, True)

    # Another visitor holding the token, a made-up token or a URL: refused, nothing started.
    other = Client(enforce_csrf_checks=True, REMOTE_ADDR="203.0.113.9")
    for client, value in ((other, body["upload"]), (visitor, body["upload"] + "x"),
                          (visitor, "https://example.com/elsewhere.png"),
                          (visitor, f"/media/{asset.file.name}")):
        refused = _visitor_run(client, slug, {"photo": value})
        assert refused.status_code == 400, refused.json()
        assert refused.json()["code"] == "invalid_inputs"
    assert Execution.objects.count() == 0

    started = _visitor_run(visitor, slug, {"photo": body["upload"]})
    assert started.status_code == 202, started.json()
    run = NodeRun.objects.get(execution__app_id=app.pk, node_id="photo")
    assert run.config["url"] == f"/media/{asset.file.name}"


def test_a_visitors_upload_is_priced_at_its_own_size(make_team, key_client, settings,
                                                      tmp_path):
    """Into Clarity ×2 (billed by output megapixel), the saved external URL is quoted at the
    pixel cap (192), above the team's 100 credits and the app's daily cap of 100; the visitor's
    1600×1200 upload is priced at its size (8 MP × 3 = 24), so the app runs it and holds just
    that."""
    from tests.media_files import pillow

    settings.MEDIA_ROOT = tmp_path
    team = make_team(credits=100)
    slug = _photo_app(key_client(team), upscaler=("process:upscale_clarity",
                                                  {"upscale_factor": 2, "seed": 1}))
    visitor = Client(enforce_csrf_checks=True, REMOTE_ADDR="198.51.100.10")
    token = _upload(visitor, slug, pillow("PNG", (1600, 1200))).json()["upload"]
    started = _visitor_run(visitor, slug, {"photo": token})
    assert started.status_code == 202, started.json()
    execution = Execution.objects.get()
    assert execution.credits_estimated == execution.credits_reserved == 24


def test_an_upload_is_checked_as_any_upload_and_counted_per_visitor(
        team, key_client, media_storage, settings):
    from executions.models import Asset
    from tests.media_files import pillow

    admin = key_client(team)
    slug = _photo_app(admin, visitorRunsPerHour=2)
    visitor = Client(enforce_csrf_checks=True, REMOTE_ADDR="198.51.100.8")
    # Not an image (sniffed, whatever it says it is), a sound for an image field, too many
    # pixels, too many bytes: the upload endpoint's answers, and nothing stored.
    assert _upload(visitor, slug, b"hello, not a picture").status_code == 415
    settings.MEDIA_MAX_PIXELS = 20 * 20
    over = _upload(visitor, slug, pillow("PNG", (40, 30)))
    assert over.status_code == 422, over.json()
    settings.MEDIA_MAX_PIXELS = 8192 * 8192
    settings.FETCH_MAX_BYTES = 100
    big = _upload(visitor, slug, pillow("PNG", (400, 300)))
    assert big.status_code == 413 and big.json()["code"] == "payload_too_large"
    settings.FETCH_MAX_BYTES = 50 * 2**20
    assert Asset.objects.count() == 0
    # The app's rate: its runs per hour × its file fields (2 × 1) uploads a visitor an hour;
    # refused ones above counted too.
    limited = _upload(visitor, slug, pillow("PNG", (40, 30)))
    assert limited.status_code == 429
    assert limited.json()["error"] == ("You have uploaded too many files to this app. Please "
                                       "try again later.")
    fresh = Client(enforce_csrf_checks=True, REMOTE_ADDR="198.51.100.9")
    assert _upload(fresh, slug, pillow("PNG", (40, 30))).status_code == 201


def test_uploads_follow_the_apps_access_rules(team, key_client, make_user, media_storage):
    from tests.media_files import pillow

    admin = key_client(team)
    locked = _photo_app(admin, access="passcode", passcode="open sesame")
    visitor = Client(enforce_csrf_checks=True)
    response = _upload(visitor, locked, pillow("PNG"))
    assert response.status_code == 403 and response.json()["code"] == "app_locked"
    visitor.post(f"/apps/{locked}/unlock", {"passcode": "open sesame",
                                            "csrfmiddlewaretoken":
                                            visitor.cookies["csrftoken"].value})
    assert _upload(visitor, locked, pillow("PNG")).status_code == 201
    team_only = _photo_app(admin, access="team")
    viewer = Client(enforce_csrf_checks=True)
    viewer.force_login(make_user(team=team, role="viewer"))
    response = _upload(viewer, team_only, pillow("PNG"))
    assert response.status_code == 403 and "apps:execute" in response.json()["error"]
    # An app without file fields takes no files.
    plain = _publish(admin, _workflow(admin)).json()["data"]["slug"]
    response = _upload(Client(enforce_csrf_checks=True), plain, pillow("PNG"))
    assert response.status_code == 400 and response.json()["error"] == "This app takes no files"


def test_a_file_field_takes_no_default_or_allowed_values(team, key_client):
    admin = key_client(team)
    with pytest.raises(AssertionError) as refused:
        _photo_app(admin, exposedInputs=[{"nodeId": "photo", "default": "https://x.test/a.png"}])
    assert "is a file field" in str(refused.value)
    assert App.objects.count() == 0


# --- the publish form: Team → Apps → Edit ------------------------------------------------------

def _edit_form(slug: str, **fields) -> dict:
    form = {"title": "Neon cows, season 2", "description": "For the spring shoot",
            "cap": "35", "per_hour": "4", "access": "passcode", "passcode": "moo moo",
            "expose": ["text-input-1::prompt", "gen-1::aspect_ratio"],
            "label::text-input-1::prompt": "What should the cow do?",
            "help::text-input-1::prompt": "",
            "allowed::gen-1::aspect_ratio": "1:1, 16:9", "default::gen-1::aspect_ratio": "16:9",
            "output": ["gen-1"], "cover": "keep", "timezone": "America/New_York"}
    form.update(fields)
    return form


def test_an_app_is_edited_from_team_apps_with_the_form_filled_in(team, key_client, make_user):
    admin = key_client(team)
    slug = _publish(admin, _workflow(admin)).json()["data"]["slug"]
    editor = Client()
    editor.force_login(make_user(team=team, role="editor"))
    listed = editor.get(f"/team/apps?team={team.pk}").content.decode()
    assert f'href="/team/apps/{slug}/edit" data-testid="edit-app"' in listed
    page = editor.get(f"/team/apps/{slug}/edit").content.decode()
    # The app as it is: title, cap, access, the exposed fields with their labels and values.
    assert 'value="Neon cows"' in page and 'value="21"' in page
    assert 'value="link" checked' in page and 'data-testid="save-app"' in page
    assert 'value="Describe the scene"' in page and 'value="1:1, 9:16"' in page
    assert 'value="text-input-1::prompt" checked' in page

    response = editor.post(f"/team/apps/{slug}/edit", _edit_form(slug))
    assert response.status_code == 302 and response["Location"] == f"/team/apps?team={team.pk}"
    app = App.objects.get()
    assert app.slug == slug and app.title == "Neon cows, season 2"
    assert (app.daily_credit_cap, app.visitor_runs_per_hour, app.access) == (35, 4, "passcode")
    assert app.cap_timezone == "America/New_York"
    assert "<option selected>America/New_York</option>" in editor.get(
        f"/team/apps/{slug}/edit").content.decode()
    assert app.description == "For the spring shoot"
    prompt, ratio = app.exposed_inputs
    assert prompt["label"] == "What should the cow do?"
    assert (ratio["allowedValues"], ratio["default"]) == (["1:1", "16:9"], "16:9")
    from django.contrib.auth.hashers import check_password
    assert check_password("moo moo", app.passcode_hash)
    # Saved again with the passcode left empty: the passcode stays; an exposed input dropped.
    editor.post(f"/team/apps/{slug}/edit", _edit_form(
        slug, passcode="", expose=["text-input-1::prompt"]))
    app.refresh_from_db()
    assert check_password("moo moo", app.passcode_hash)
    assert [f["input"] for f in app.exposed_inputs] == ["prompt"]


def test_a_bad_edit_shows_the_error_and_changes_nothing(team, key_client, make_user,
                                                        make_team):
    admin = key_client(team)
    slug = _publish(admin, _workflow(admin)).json()["data"]["slug"]
    before = App.objects.values().get()
    editor = Client()
    editor.force_login(make_user(team=team, role="editor"))
    for bad, message in (({"cap": "-3"}, "dailyCreditCap must be an integer"),
                         ({"title": "  "}, "An app needs a title"),
                         ({"access": "passcode", "passcode": ""}, "needs a passcode"),
                         ({"allowed::gen-1::aspect_ratio": "7:3"}, "must be one of"),
                         ({"timezone": "Atlantis/Lost"}, "IANA time zone")):
        page = editor.post(f"/team/apps/{slug}/edit", _edit_form(slug, **bad))
        assert page.status_code == 200 and message in page.content.decode(), message
    assert App.objects.values().get() == before
    # A viewer sees the form read-only and cannot save; another team's member gets a 404.
    viewer = Client()
    viewer.force_login(make_user(team=team, role="viewer"))
    assert "Only the team's editors" in viewer.get(f"/team/apps/{slug}/edit").content.decode()
    viewer.post(f"/team/apps/{slug}/edit", _edit_form(slug))
    stranger = Client()
    stranger.force_login(make_user(team=make_team(), role="admin"))
    assert stranger.get(f"/team/apps/{slug}/edit").status_code == 404
    assert stranger.post(f"/team/apps/{slug}/edit", _edit_form(slug)).status_code == 404
    assert App.objects.values().get() == before


# --- the cap's day in the app's time zone ---------------------------------------------------------

def test_the_cap_day_runs_from_midnight_in_the_apps_time_zone():
    from datetime import UTC, datetime

    from clientapps.selectors import cap_day

    berlin = App(cap_timezone="Europe/Berlin")
    # 23:30 UTC on 3 December is 00:30 on the 4th in Berlin (UTC+1): the 4th's day.
    start, end = cap_day(berlin, datetime(2026, 12, 3, 23, 30, tzinfo=UTC))
    assert (start, end) == (datetime(2026, 12, 3, 23, 0, tzinfo=UTC),
                            datetime(2026, 12, 4, 23, 0, tzinfo=UTC))
    # The day clocks go forward is 23 hours long.
    start, end = cap_day(berlin, datetime(2026, 3, 29, 12, 0, tzinfo=UTC))
    assert (start, end) == (datetime(2026, 3, 28, 23, 0, tzinfo=UTC),
                            datetime(2026, 3, 29, 22, 0, tzinfo=UTC))
    assert cap_day(App(), datetime(2026, 12, 3, 23, 30, tzinfo=UTC))[0] == datetime(
        2026, 12, 3, 0, 0, tzinfo=UTC)


def test_an_apps_cap_counts_and_resets_by_its_own_time_zone(team, key_client):
    from datetime import timedelta

    from accounts.services import credits_grant
    from clientapps.selectors import cap_day

    credits_grant(team=team, amount=100)
    admin = key_client(team)
    created = _publish(admin, _workflow(admin), dailyCreditCap=14, capTimezone="Asia/Tokyo")
    assert created.status_code == 201, created.json()
    data = created.json()["data"]
    app = App.objects.get()
    start, end = cap_day(app)
    assert data["capTimezone"] == "Asia/Tokyo"
    assert data["capResetsAt"] == end.isoformat().replace("+00:00", "Z")
    assert end.astimezone(__import__("zoneinfo").ZoneInfo("Asia/Tokyo")).hour == 0
    slug = data["slug"]
    for _ in range(2):
        assert admin.post(f"/api/v1/apps/{slug}/run", {}, format="json").status_code == 202
    # One of them started just before midnight in Tokyo: yesterday's, not counted today.
    Execution.objects.filter(pk=Execution.objects.first().pk).update(
        created_at=start - timedelta(minutes=1))
    assert admin.get(f"/api/v1/apps/{slug}").json()["data"]["creditsUsedToday"] == 7
    assert admin.post(f"/api/v1/apps/{slug}/run", {}, format="json").status_code == 202
    refused = admin.post(f"/api/v1/apps/{slug}/run", {}, format="json")
    assert refused.status_code == 429
    assert refused.json()["error"].endswith("It resets at 00:00 Asia/Tokyo.")
    assert refused.json()["retryAfter"] == int(end.timestamp())


def test_a_cap_time_zone_must_be_a_known_iana_name(api):
    response = _publish(api, _workflow(api), capTimezone="Mars/Olympus_Mons")
    assert response.status_code == 400 and response.json()["code"] == "invalid_app"
    assert "IANA time zone" in response.json()["error"]
    assert App.objects.count() == 0
    slug = _publish(api, _workflow(api)).json()["data"]["slug"]
    assert api.get(f"/api/v1/apps/{slug}").json()["data"]["capTimezone"] == "UTC"
    for bad in ("+02:00", 7, "", "europe/berlin"):
        response = api.patch(f"/api/v1/apps/{slug}", {"capTimezone": bad}, format="json")
        assert response.status_code == 400, bad
    changed = api.patch(f"/api/v1/apps/{slug}", {"capTimezone": "Europe/Berlin"}, format="json")
    assert changed.status_code == 200 and changed.json()["data"]["capTimezone"] == "Europe/Berlin"


# --- file fields from API callers: a key's upload, or a URL -----------------------------------

def _key_upload(client, slug: str, data: bytes):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return client.post(f"/apps/{slug}/uploads",
                       {"file": SimpleUploadedFile("photo.png", data, content_type="image/png")},
                       format="multipart")


def test_a_key_uploads_through_the_apps_endpoint_and_only_its_runs_take_the_token(
        team, other_team, make_key, key_client, settings, tmp_path):
    from rest_framework.test import APIClient

    from executions.models import Asset, NodeRun
    from tests.media_files import pillow

    settings.MEDIA_ROOT = tmp_path
    slug = _photo_app(key_client(team))
    key = make_key(team, scopes=["apps:execute"])
    runner = APIClient(enforce_csrf_checks=True)  # a key needs no CSRF token; a page does
    runner.credentials(HTTP_AUTHORIZATION=f"Bearer {key.raw_key}")
    response = _key_upload(runner, slug, pillow("PNG", (40, 30)))
    assert response.status_code == 201, response.json()
    token = response.json()["upload"]
    assert (response.json()["type"], response.json()["width"]) == ("image", 40)
    asset = Asset.objects.get()
    assert (asset.app_id, asset.api_key_id) == (App.objects.get(slug=slug).pk, key.api_key.pk)
    # The page's visitors still need the CSRF token.
    page = Client(enforce_csrf_checks=True)
    page.get(f"/apps/{slug}")
    assert page.post(f"/apps/{slug}/uploads", {}).status_code == 403

    # Another key of the team, or the page's visitor, holding the token: refused, nothing runs.
    refused = key_client(team, scopes=["apps:execute"]).post(
        f"/api/v1/apps/{slug}/run", {"inputs": {"photo": token}}, format="json")
    assert refused.status_code == 400 and refused.json()["code"] == "invalid_inputs"
    assert _visitor_run(Client(enforce_csrf_checks=True), slug,
                        {"photo": token}).status_code == 400
    assert Execution.objects.count() == 0
    started = runner.post(f"/api/v1/apps/{slug}/run", {"inputs": {"photo": token}},
                          format="json")
    assert started.status_code == 202, started.json()
    run = NodeRun.objects.get(node_id="photo")
    assert run.config["url"] == f"/media/{asset.file.name}"

    # Without apps:execute a 403, another team's key a 404, a bad key the API's 401.
    for client, status in ((key_client(team, scopes=["workflows:read"]), 403),
                           (key_client(other_team), 404)):
        assert _key_upload(client, slug, pillow("PNG")).status_code == status
    bad = APIClient()
    bad.credentials(HTTP_AUTHORIZATION="Bearer sk-not-a-key-at-all")
    answer = _key_upload(bad, slug, pillow("PNG"))
    assert answer.status_code == 401 and answer.json()["error"] == "Invalid API key"
    assert Asset.objects.count() == 1


def test_a_url_for_a_file_field_is_fetched_through_the_outbound_guard(
        team, key_client, settings, tmp_path):
    from executions.models import Asset, NodeRun
    from tests.servers import RawServer, serve_png

    settings.MEDIA_ROOT = tmp_path
    settings.FETCH_ALLOW_PRIVATE = False
    admin = key_client(team)
    slug = _photo_app(admin)
    server = RawServer(serve_png)
    try:
        url = f"http://127.0.0.1:{server.port}/blue.png"
        for refused_url in (url, "http://10.20.30.40/a.png"):
            refused = admin.post(f"/api/v1/apps/{slug}/run",
                                 {"inputs": {"photo": refused_url}}, format="json")
            assert refused.status_code == 400, refused.json()
            body = refused.json()
            assert (body["code"], body["nodeId"], body["input"]) == ("fetch_refused", "photo",
                                                                     "url")
        assert server.requests == []
        assert Execution.objects.count() == 0 and Asset.objects.count() == 0

        settings.FETCH_ALLOW_PRIVATE = True  # the loopback server stands for the internet
        started = admin.post(f"/api/v1/apps/{slug}/run", {"inputs": {"photo": url}},
                             format="json")
        assert started.status_code == 202, started.json()
    finally:
        server.close()
    asset = Asset.objects.get()
    assert (asset.app_id, asset.width, asset.height) == (App.objects.get(slug=slug).pk, 8, 8)
    assert NodeRun.objects.get(node_id="photo").config["url"] == f"/media/{asset.file.name}"
    assert len(server.requests) == 1
