"""Images and sounds that come in by URL: one of our own `/media/…` files, or a remote URL
fetched with a guard against server-side request forgery (no private, loopback or link-local
targets, checked where the connection is made: wireflow_site.net)."""

from __future__ import annotations

from urllib.parse import unquote, urljoin, urlsplit

import httpx
from django.conf import settings
from django.core.files.storage import default_storage
from django.utils import timezone

from accounts.models import Team
from executions.assets import asset_upload
from executions.models import Asset
from executions.providers import ProviderError
from wireflow_site.net import (
    PrivateAddress,
    outbound_client,
    response_read_capped,
    url_require_http,
)

MAX_REDIRECTS = 3


def fetch_url(url: str) -> tuple[bytes, str]:
    """GET an http(s) URL, every redirect hop checked where it connects, capped in size and
    within FETCH_TIMEOUT seconds in all. ProviderError "invalid" for a URL we refuse or a
    bad answer, "network" when it cannot be reached in time."""
    try:
        with outbound_client(allow_private=settings.FETCH_ALLOW_PRIVATE,
                             timeout=settings.FETCH_TIMEOUT) as client:
            return _fetch_hops(client, url)
    except PrivateAddress as refused:
        raise ProviderError(f"Refusing to fetch {url[:200]}: {refused}",
                            kind="invalid") from refused
    except httpx.TimeoutException as exc:
        raise ProviderError(f"Could not fetch {url[:200]}: no whole answer within the "
                            f"{settings.FETCH_TIMEOUT:g} s deadline", kind="network") from exc
    except httpx.HTTPError as exc:
        raise ProviderError(f"Could not fetch {url[:200]}: {type(exc).__name__}: {exc}",
                            kind="network") from exc


def _fetch_hops(client: httpx.Client, url: str) -> tuple[bytes, str]:
    for _ in range(MAX_REDIRECTS + 1):
        url_require_http(url)
        with client.stream("GET", url) as response:
            if response.is_redirect:
                url = urljoin(url, response.headers.get("location", ""))
                continue
            if response.status_code != 200:
                raise ProviderError(f"Fetching {url} answered {response.status_code}",
                                    kind="invalid")
            mime = response.headers.get("content-type", "").split(";")[0].strip().lower()
            data, more = response_read_capped(response, limit=settings.FETCH_MAX_BYTES)
            if more:
                raise ProviderError(
                    f"{url} is larger than {settings.FETCH_MAX_BYTES // (1024 * 1024)} MB",
                    kind="invalid",
                )
            return data, mime
    raise ProviderError(f"Too many redirects fetching {url}", kind="invalid")


def own_media_names(url: str) -> list[str]:
    """The storage names a URL of ours may address, none for anyone else's: a `/media/…` path
    (under our base URL, or relative), or a file URL of the storage itself (an object store's,
    presigned or public; under its `location` prefix or not). The query string (a signature,
    perhaps expired by now) plays no part: the caller looks the name up among its team's
    files, and a team may always use its own files."""
    media_url = settings.MEDIA_URL
    path = url.split("?", 1)[0].split("#", 1)[0]
    for base in {settings.PUBLIC_BASE_URL, settings.DEFAULT_BASE_URL} - {""}:
        if path.startswith(base.rstrip("/") + media_url):
            path = path[len(base.rstrip("/")):]
    if path.startswith(media_url):
        return [unquote(path[len(media_url):])]
    parts = urlsplit(path)
    served = urlsplit(default_storage.url("probe"))  # an object store's host; ours: none
    if not served.netloc or (parts.scheme, parts.netloc) != (served.scheme, served.netloc):
        return []
    segments = unquote(parts.path).strip("/").split("/")
    return ["/".join(segments[start:]) for start in range(len(segments))]


def _a(noun: str) -> str:
    return f"{'an' if noun[:1] in ('a', 'e', 'i', 'o', 'u') else 'a'} {noun}"


def fetch_image_asset(*, team: Team, url: object) -> Asset:
    """The asset behind an input:image URL: our own file by name, else fetched and stored."""
    return fetch_media_asset(team=team, url=url, kind=Asset.Kind.IMAGE)


def fetch_media_asset(*, team: Team, url: object, kind: str) -> Asset:
    """The asset behind an input node's URL (input:image, input:audio): our own file of that
    `kind` by name, else fetched, checked as an upload of that kind is, and stored."""
    if not isinstance(url, str) or not url:
        raise ProviderError(f"The {kind} input has no URL", kind="invalid")
    names = own_media_names(url)
    if names:
        # The newest of the team's files by these names, sorted here: ordered by the database,
        # it would walk all the team's files newest first instead of using (team, file).
        asset = max(Asset.objects.filter(team=team, file__in=names).order_by(),
                    key=lambda found: found.created_at, default=None)
        if asset is None:
            raise ProviderError(f"No uploaded file at {url.split('?', 1)[0]}", kind="invalid")
        if asset.kind != kind:
            raise ProviderError(f"{url.split('?', 1)[0]} is {_a(asset.kind)}, not {_a(kind)}",
                                kind="invalid")
        # Retention keeps a file at least as long as the runs that take it as an input.
        Asset.objects.filter(pk=asset.pk).update(last_used_at=timezone.now())
        return asset
    data, mime = fetch_url(url)
    # Checked as an upload is (MediaRefused is an "invalid" ProviderError: the node fails).
    return asset_upload(team=team, data=data, declared_mime=mime, kinds=(kind,))
