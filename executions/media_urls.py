"""Private media: the URLs we hand out for stored files, and the view that serves ours.

A storage that serves its files itself (S3 through django-storages) makes its own URLs:
presigned, expiring after MEDIA_URL_LIFETIME seconds (its `querystring_expire`), or plain when
MEDIA_PUBLIC is set. A storage whose URLs are paths of this site (the file system, under
MEDIA_URL) gets ours: `<base>/media/<name>?expires=<unix seconds>&signature=<HMAC>`, made with
Django's signing (SECRET_KEY, a salt of its own) over the name and the expiry, and checked by
`media_serve`, which answers an unsigned, tampered or expired URL with 403 in the API's error
shape. With MEDIA_PUBLIC the URLs carry no signature and the view serves any stored file.

Expiries are rounded up to a step of 1/24th of the lifetime (at most an hour), so a file's URL
stays the same between polls for a while (browsers reuse what they downloaded) and is valid for
at least the lifetime. A presigned URL is kept the same way: made valid for the lifetime plus
one step, it is reused for a step (per process, for the most recent PRESIGNED_CACHE_SIZE
names), so it too is valid for at least the lifetime when handed out, and a poll answer with
many files (three URLs each with their thumbnails) costs SigV4 only for files new since.
"""

from __future__ import annotations

import math
import mimetypes
import threading
import time
from collections import OrderedDict
from urllib.parse import quote, urljoin, urlsplit

from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.core.files.storage import default_storage
from django.core.signing import Signer
from django.db.models import Q
from django.http import FileResponse, HttpRequest, HttpResponse
from django.utils.crypto import constant_time_compare
from django.views.decorators.http import require_safe

from executions.models import Asset
from wireflow_site.errors import ApiError, json_error

_SALT = "wireflow.media-url"
PRESIGNED_CACHE_SIZE = 50_000
SIGV4_LONGEST = 7 * 24 * 3600
_presigned: OrderedDict[tuple, tuple[float, str]] = OrderedDict()
_presigned_lock = threading.Lock()


def now() -> float:
    """The clock URLs are signed and checked by (tests move it)."""
    return time.time()


def _signature(name: str, expires: int) -> str:
    return Signer(salt=_SALT).signature(f"{name}\n{expires}")


def _step() -> int:
    return max(1, min(3600, settings.MEDIA_URL_LIFETIME // 24))


def _expiry() -> int:
    step = _step()
    return math.ceil((now() + settings.MEDIA_URL_LIFETIME) / step) * step


def _presigned_url(storage, name: str) -> str:
    """The store's presigned URL of `name`, reused for a step (see the module's doc)."""
    key = (type(storage), getattr(storage, "bucket_name", None),
           getattr(storage, "endpoint_url", None), getattr(storage, "location", None), name)
    at = now()
    with _presigned_lock:
        cached = _presigned.get(key)
        if cached is not None and cached[0] > at:
            _presigned.move_to_end(key)
            return cached[1]
    step = _step()
    lifetime = min(int(getattr(storage, "querystring_expire", settings.MEDIA_URL_LIFETIME)),
                   SIGV4_LONGEST)
    url = storage.url(name, expire=min(lifetime + step, SIGV4_LONGEST))
    reuse = step if lifetime + step <= SIGV4_LONGEST else 0
    if reuse:
        with _presigned_lock:
            _presigned[key] = (at + reuse, url)
            _presigned.move_to_end(key)
            while len(_presigned) > PRESIGNED_CACHE_SIZE:
                _presigned.popitem(last=False)
    return url


def media_url(name: str) -> str:
    """An absolute URL of a stored file, fetchable by whoever holds it, for the lifetime."""
    storage = default_storage
    if getattr(storage, "querystring_auth", False) and hasattr(storage, "bucket_name"):
        return _presigned_url(storage, name)  # an object store's presigned URL
    url = storage.url(name)
    if urlsplit(url).scheme:  # the storage serves it itself (presigned, or public)
        return url
    base = settings.PUBLIC_BASE_URL or settings.DEFAULT_BASE_URL
    absolute = urljoin(base.rstrip("/") + "/", url.lstrip("/"))
    if settings.MEDIA_PUBLIC:
        return absolute
    expires = _expiry()
    return f"{absolute}?expires={expires}&signature={quote(_signature(name, expires))}"


def media_check(name: str, expires: str | None, signature: str | None) -> int:
    """The expiry (unix seconds) of a valid signed URL of `name`; ApiError 403 otherwise."""
    if not expires or not signature:
        raise ApiError("This media URL is not signed; use the URL the API returned",
                       code="media_url_unsigned", status=403)
    if not expires.isdigit() or not constant_time_compare(
            signature, _signature(name, int(expires))):
        raise ApiError("This media URL's signature is not valid", code="media_url_invalid",
                       status=403)
    if int(expires) <= now():
        raise ApiError("This media URL has expired; fetch the run again for a fresh one",
                       code="media_url_expired", status=403)
    return int(expires)


def _member_of_owner(request: HttpRequest, name: str) -> bool:
    """A signed-in member of the team the file belongs to (the editor's session)."""
    user = getattr(request, "user", None)
    return bool(user is not None and user.is_authenticated and Asset.objects.filter(
        Q(file=name) | Q(thumbnail=name) | Q(thumbnail_small=name) | Q(poster=name),
        team__memberships__user=user).exists())


@require_safe
def media_serve(request: HttpRequest, name: str) -> HttpResponse:
    """GET /media/<name>: a stored file, through the storage API, when its URL is signed and
    not expired (any stored file with MEDIA_PUBLIC). A signed-in member of the file's team may
    open it by any of its URLs: a workflow keeps an uploaded image's URL in its settings, and
    the editor still shows it to the team after the signature expires."""
    try:
        if settings.MEDIA_PUBLIC:
            cache = "public, max-age=3600"
        else:
            try:
                expires = media_check(name, request.GET.get("expires"),
                                      request.GET.get("signature"))
                cache = f"private, max-age={max(0, int(expires - now()))}"
            except ApiError:
                if not _member_of_owner(request, name):
                    raise
                cache = "private, no-cache"
        try:
            handle = default_storage.open(name, "rb")
        except (FileNotFoundError, IsADirectoryError, SuspiciousFileOperation, ValueError):
            raise ApiError("Media not found", code="not_found", status=404) from None
    except ApiError as error:
        return json_error(error)
    response = FileResponse(handle, content_type=mimetypes.guess_type(name)[0]
                            or "application/octet-stream")
    response["Cache-Control"] = cache
    return response
