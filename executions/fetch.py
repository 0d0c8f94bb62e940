"""Images that come in by URL: one of our own `/media/…` files, or a remote URL fetched with a
guard against server-side request forgery (no private, loopback or link-local targets)."""

from __future__ import annotations

from urllib.parse import urljoin

import httpx
from django.conf import settings

from accounts.models import Team
from executions.assets import asset_create
from executions.models import Asset
from executions.providers import ProviderError
from wireflow_site.net import PrivateAddress, require_public_url

ALLOWED_TYPES = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "image/gif": "gif"}
MAX_REDIRECTS = 3


def fetch_url(url: str) -> tuple[bytes, str]:
    """GET an http(s) URL with the guard applied to every redirect hop; capped in size."""
    for _ in range(MAX_REDIRECTS + 1):
        try:
            require_public_url(url, allow_private=settings.FETCH_ALLOW_PRIVATE)
        except PrivateAddress as refused:
            raise ProviderError(f"Refusing to fetch {url[:200]}: {refused}",
                                kind="invalid") from refused
        with httpx.stream("GET", url, timeout=30, follow_redirects=False) as response:
            if response.is_redirect:
                url = urljoin(url, response.headers.get("location", ""))
                continue
            if response.status_code != 200:
                raise ProviderError(f"Fetching {url} answered {response.status_code}",
                                    kind="invalid")
            mime = response.headers.get("content-type", "").split(";")[0].strip().lower()
            chunks, size = [], 0
            for chunk in response.iter_bytes():
                size += len(chunk)
                if size > settings.FETCH_MAX_BYTES:
                    raise ProviderError(
                        f"{url} is larger than {settings.FETCH_MAX_BYTES // (1024 * 1024)} MB",
                        kind="invalid",
                    )
                chunks.append(chunk)
            return b"".join(chunks), mime
    raise ProviderError(f"Too many redirects fetching {url}", kind="invalid")


def fetch_image_asset(*, team: Team, url: object) -> Asset:
    """The asset behind an input:image URL: our own file by path, else fetched and stored."""
    if not isinstance(url, str) or not url:
        raise ProviderError("The image input has no URL", kind="invalid")
    media_url = settings.MEDIA_URL
    local = url
    for base in {settings.PUBLIC_BASE_URL, settings.DEFAULT_BASE_URL} - {""}:
        if url.startswith(base.rstrip("/") + media_url):
            local = url[len(base.rstrip("/")):]
    if local.startswith(media_url):
        name = local[len(media_url):]
        asset = Asset.objects.filter(team=team, file=name).first()
        if asset is None:
            raise ProviderError(f"No uploaded file at {url}", kind="invalid")
        return asset
    try:
        data, mime = fetch_url(url)
    except httpx.HTTPError as exc:
        raise ProviderError(f"Could not fetch {url}: {exc}", kind="network") from exc
    if mime not in ALLOWED_TYPES:
        raise ProviderError(f"{url} is not an image (Content-Type {mime or 'missing'})",
                            kind="invalid")
    return asset_create(team=team, data=data, mime=mime, extension=ALLOWED_TYPES[mime],
                        stem="input", uploaded=True)
