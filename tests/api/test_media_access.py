"""Private media: every URL the API hands out is signed and expires (ours for the file system,
presigned by the object store for S3); an unsigned, tampered or expired one is refused in the
error shape; names are random; another team's file never comes back through its URL."""

from __future__ import annotations

import io
import re

import httpx
import pytest
from PIL import Image

from executions import media_urls
from executions.fetch import fetch_image_asset
from executions.models import Asset
from executions.providers import ProviderError
from wireflow_site.settings import S3_STORAGE, s3_options, s3_origins

pytestmark = [pytest.mark.django_db, pytest.mark.storage]


def png(color=(200, 30, 30)) -> io.BytesIO:
    buffer = io.BytesIO()
    Image.new("RGB", (40, 30), color).save(buffer, "PNG")
    buffer.seek(0)
    buffer.name = "red.png"
    return buffer


def upload(api, file=None) -> dict:
    response = api.post("/api/v1/media/upload", {"file": file or png()}, format="multipart")
    assert response.status_code == 201, response.json()
    return response.json()["data"]


def local(url: str) -> str:
    """An absolute URL of ours as the test client's path (with its query)."""
    return "/" + url.split("://", 1)[1].split("/", 1)[1]


@pytest.fixture
def filesystem(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {}}}


@pytest.fixture
def clock(monkeypatch):
    """The clock media URLs are signed and checked by, moved by hand."""
    class Clock:
        at = 1_800_000_000.0

    monkeypatch.setattr(media_urls, "now", lambda: Clock.at)
    return Clock


def refused(response, status: int, code: str) -> None:
    assert response.status_code == status
    body = response.json()
    assert body["code"] == code and body["error"]


# --- the file system: our signatures ----------------------------------------------------------

def test_an_unsigned_media_path_is_refused_403(api, client, filesystem):
    url = upload(api)["url"]
    refused(client.get(local(url).split("?", 1)[0]), 403, "media_url_unsigned")


def test_a_signed_media_url_serves_the_file_until_it_expires(api, client, filesystem, clock,
                                                             settings):
    settings.MEDIA_URL_LIFETIME = 60
    url = upload(api)["url"]
    assert re.search(r"\?expires=\d+&signature=", url)
    clock.at += 59
    response = client.get(local(url))
    assert response.status_code == 200 and response["Content-Type"] == "image/png"
    assert b"".join(response.streaming_content)[:8] == b"\x89PNG\r\n\x1a\n"
    assert response["Cache-Control"].startswith("private, max-age=")
    clock.at += 60 // 24 + 2  # past the lifetime, and past its rounding step
    refused(client.get(local(url)), 403, "media_url_expired")


def test_a_tampered_signature_expiry_or_name_is_refused_403(api, client, filesystem):
    first, second = upload(api)["url"], upload(api, png((1, 2, 3)))["url"]
    path, query = local(first).split("?", 1)
    expires, signature = (part.split("=", 1)[1] for part in query.split("&"))
    flipped = ("A" if signature[0] != "A" else "B") + signature[1:]
    refused(client.get(f"{path}?expires={expires}&signature={flipped}"), 403,
            "media_url_invalid")
    refused(client.get(f"{path}?expires={int(expires) + 3600}&signature={signature}"), 403,
            "media_url_invalid")
    other_path = local(second).split("?", 1)[0]
    refused(client.get(f"{other_path}?{query}"), 403, "media_url_invalid")
    assert client.get(local(first)).status_code == 200


def test_a_signed_in_member_of_the_files_team_opens_it_unsigned_but_no_one_else(
        api, team, other_team, make_user, filesystem):
    from django.test import Client

    path = local(upload(api)["url"]).split("?", 1)[0]
    member, outsider = Client(), Client()
    member.force_login(make_user(team=team, role="viewer"))
    outsider.force_login(make_user(team=other_team, role="owner"))
    assert member.get(path).status_code == 200
    refused(outsider.get(path), 403, "media_url_unsigned")


def test_a_signed_url_of_a_missing_file_is_404(client, filesystem):
    url = media_urls.media_url("assets/0123456789abcdef0123456789abcdef.png")
    refused(client.get(local(url)), 404, "not_found")


def test_a_signed_path_outside_the_media_folder_is_404(client, filesystem):
    query = media_urls.media_url("../secret_key").split("?", 1)[1]
    refused(client.get(f"/media/%2E%2E/secret_key?{query}"), 404, "not_found")


def test_media_public_hands_out_plain_urls_that_anyone_can_fetch(api, client, filesystem,
                                                                  settings):
    settings.MEDIA_PUBLIC = True
    url = upload(api)["url"]
    assert "?" not in url
    response = client.get(local(url))
    assert response.status_code == 200 and response["Cache-Control"].startswith("public")


def test_the_poll_cache_never_keeps_a_payload_past_half_the_url_lifetime(settings):
    from executions import pollcache
    from wireflow_site.redis_client import client as redis

    settings.MEDIA_URL_LIFETIME = 30
    pollcache.store("ttl-probe", 1, b"{}")
    assert 0 < redis().ttl("wireflow:poll:ttl-probe:1") <= 15


# --- S3: presigned by the object store -------------------------------------------------------

def test_s3_urls_are_presigned_for_the_lifetime_and_unsigned_ones_are_refused(
        api, settings, s3_server):
    settings.MEDIA_URL_LIFETIME = 600
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": S3_STORAGE, "OPTIONS": s3_server.storage_options(querystring_expire=600)}}
    data = upload(api)
    url = data["url"]
    assert url.startswith(s3_server.endpoint + "/")
    # Valid for the lifetime plus the step for which it is reused (600 // 24 s).
    assert "X-Amz-Signature=" in url and "X-Amz-Expires=625" in url
    fetched = httpx.get(url)
    assert fetched.status_code == 200 and fetched.content[:8] == b"\x89PNG\r\n\x1a\n"
    assert httpx.get(url.split("?", 1)[0]).status_code == 403  # the bucket is private


def test_a_presigned_url_is_reused_for_a_step_then_made_anew(settings, s3_server, clock,
                                                           monkeypatch):
    from wireflow_site.storage import S3Storage

    signed = []
    presign = S3Storage.url
    monkeypatch.setattr(S3Storage, "url", lambda self, name, **kw: signed.append(name) or
                        presign(self, name, **kw))
    settings.MEDIA_URL_LIFETIME = 2400  # a step of 100 s
    settings.STORAGES = {**settings.STORAGES, "default": {
        "BACKEND": S3_STORAGE, "OPTIONS": s3_server.storage_options(querystring_expire=2400)}}
    name = f"assets/{'e' * 32}.png"
    first = media_urls.media_url(name)
    assert "X-Amz-Expires=2500" in first and len(signed) == 1
    clock.at += 99
    assert media_urls.media_url(name) == first  # still valid for 2401 s: the same URL
    assert len(signed) == 1
    clock.at += 1
    media_urls.media_url(name)
    assert len(signed) == 2  # signed anew


def test_s3_clients_are_made_once_per_process_and_shared_by_its_threads(s3_server,
                                                                       monkeypatch):
    """Under ASGI every request runs in a thread of its own: each gets a resource of its own
    (boto3's are not thread-safe) around the process's one client (which is); storages made
    anew with the same store (override_settings, tests) share it too; a forked child (another
    process id) makes its own."""
    import threading

    from wireflow_site import storage as s3_storage

    first = s3_storage.S3Storage(**s3_server.storage_options())
    other = s3_storage.S3Storage(**s3_server.storage_options(location="elsewhere"))
    resources = []

    def request(store) -> None:
        assert store.exists(f"assets/{'0' * 32}.png") is False  # a HEAD to the S3 server
        resources.append(store.connection)

    for store in (first, first, other):
        thread = threading.Thread(target=request, args=(store,))
        thread.start()
        thread.join()
    assert len({id(r) for r in resources}) == 3
    assert len({id(r.meta.client) for r in resources}) == 1
    assert first.unsigned_connection.meta.client is not resources[0].meta.client
    monkeypatch.setattr(s3_storage.os, "getpid", lambda: -1)
    assert first.connection.meta.client is not resources[0].meta.client
    assert first.bucket.meta.client is first.connection.meta.client


def test_the_s3_backend_named_either_way_is_ours(monkeypatch):
    from wireflow_site import settings as site_settings

    for name in ("storages.backends.s3.S3Storage", S3_STORAGE):
        monkeypatch.setenv("STORAGE_BACKEND", name)
        monkeypatch.setattr(site_settings, "S3_BUCKET", "media")
        assert site_settings._storage_default()["BACKEND"] == S3_STORAGE
    monkeypatch.delenv("STORAGE_BACKEND")
    assert site_settings._storage_default()["OPTIONS"]["bucket_name"] == "media"


def test_the_s3_lifetime_is_the_media_url_lifetime_setting():
    options = s3_options(bucket="media", lifetime=3600)
    assert options["querystring_auth"] is True and options["querystring_expire"] == 3600
    public = s3_options(bucket="media", public=True, custom_domain="cdn.example.com")
    assert public["querystring_auth"] is False and public["custom_domain"] == "cdn.example.com"
    # A presigned URL is bound to the bucket's host: a CDN domain only serves public media.
    assert "custom_domain" not in s3_options(bucket="media", custom_domain="cdn.example.com")


def test_the_csp_allows_the_bucket_host_or_its_custom_domain():
    assert s3_origins(s3_options(bucket="media", endpoint_url="http://127.0.0.1:9000")) == [
        "http://127.0.0.1:9000"]
    assert s3_origins(s3_options(bucket="media", region="eu-west-1")) == [
        "https://media.s3.amazonaws.com", "https://media.s3.eu-west-1.amazonaws.com"]
    assert s3_origins(s3_options(bucket="media", public=True,
                                 custom_domain="cdn.example.com")) == ["https://cdn.example.com"]


# --- names and teams -------------------------------------------------------------------------

def test_file_names_are_random_not_derived_from_team_date_or_content(api, media_storage, team):
    first, second = upload(api), upload(api)  # the same bytes twice
    names = [Asset.objects.get(pk=item["id"]).file.name for item in (first, second)]
    assert names[0] != names[1]
    sha = Asset.objects.get(pk=first["id"]).sha256
    for name in names:
        assert re.fullmatch(r"assets/[0-9a-f]{32}\.png", name), name
        assert sha[:12] not in name and f"/{team.pk}/" not in name
    assert sorted(names) == sorted(media_storage.names())


def test_another_teams_asset_never_yields_a_url(api, key_client, other_team, media_storage):
    mine = upload(api)
    theirs = key_client(other_team)
    assert mine["id"] not in [m["id"] for m in theirs.get("/api/v1/media").json()["data"]]
    # Its URL named in the other team's input:image is refused, not fetched or resolved.
    with pytest.raises(ProviderError) as raised:
        fetch_image_asset(team=other_team, url=mine["url"])
    assert raised.value.kind == "invalid" and "No uploaded file" in raised.value.message
    assert Asset.objects.filter(team=other_team).count() == 0


def test_an_expired_upload_url_still_feeds_its_own_teams_input_image(api, team, filesystem,
                                                                     clock, settings):
    settings.MEDIA_URL_LIFETIME = 60
    data = upload(api)
    clock.at += 3600
    assert fetch_image_asset(team=team, url=data["url"]).pk == Asset.objects.get(
        pk=data["id"]).pk


def test_a_small_file_goes_to_s3_in_one_put_with_its_type_and_no_thread(s3_server,
                                                                         monkeypatch):
    """An image or thumbnail (below the multipart threshold) is one PutObject on the
    process's client: stored with the type its name says, and no transfer threads started
    for it (django-storages' path made a transfer manager, and threads, per file)."""
    import threading
    import uuid

    from django.core.files.base import ContentFile

    from wireflow_site import storage as s3_storage

    location = f"test-{uuid.uuid4().hex[:12]}"
    store = s3_storage.S3Storage(**s3_server.storage_options(location=location))
    store.connection  # noqa: B018 - the process's client, made before counting
    started = []
    start = threading.Thread.start
    monkeypatch.setattr(threading.Thread, "start",
                        lambda thread: started.append(thread.name) or start(thread))
    data = png().getvalue()
    name = store.save(f"assets/{'a' * 32}.png", ContentFile(data))
    # (the S3 server runs in this process, a thread per request it answers)
    assert [n for n in started if "process_request_thread" not in n] == []
    assert name == f"assets/{'a' * 32}.png"
    stored = s3_server.client().get_object(Bucket=s3_server.bucket, Key=f"{location}/{name}")
    assert stored["ContentType"] == "image/png" and stored["Body"].read() == data


def test_a_file_over_the_multipart_threshold_goes_through_the_transfer_manager(s3_server):
    from boto3.s3.transfer import TransferConfig
    from django.core.files.base import ContentFile

    from wireflow_site import storage as s3_storage

    store = s3_storage.S3Storage(**s3_server.storage_options(
        location="test-multipart", transfer_config=TransferConfig(
            multipart_threshold=5 * 1024 * 1024, multipart_chunksize=5 * 1024 * 1024)))
    data = bytes(range(256)) * (6 * 1024 * 1024 // 256)  # two parts
    name = store.save(f"assets/{'b' * 32}.mp4", ContentFile(data))
    stored = s3_server.client().get_object(Bucket=s3_server.bucket, Key=f"test-multipart/{name}")
    assert stored["ContentType"] == "video/mp4" and stored["Body"].read() == data
    assert "-2" in stored["ETag"]  # a multipart upload's ETag ends with its part count
