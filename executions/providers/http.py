"""The one HTTP layer the remote providers share: a pooled httpx client, timeouts, and the map
from transport failures and HTTP statuses to ProviderError kinds. Retrying is the engine's job
(it reschedules with backoff, holding no worker), so nothing here sleeps or loops."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx

from executions.providers.base import ProviderError

MAX_DOWNLOAD = 200 * 1024 * 1024

VendorMessage = Callable[[httpx.Response], str]


def plain_message(response: httpx.Response) -> str:
    """The vendor's own words: a JSON `detail`/`message`/`error`, else the text, shortened."""
    try:
        payload = response.json()
    except ValueError:
        return response.text.strip()[:300] or response.reason_phrase
    if isinstance(payload, dict):
        for key in ("detail", "message", "error"):
            value = payload.get(key)
            if isinstance(value, dict):
                value = value.get("message") or value
            if value:
                return str(value)[:300]
    return str(payload)[:300]


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None


class Http:
    """A pooled client for one vendor; `vendor` names it in every error message."""

    def __init__(self, *, vendor: str, timeout: float, message: VendorMessage = plain_message):
        self.vendor = vendor
        self.message = message
        self.client = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(10.0, timeout)),
            limits=httpx.Limits(max_connections=200, max_keepalive_connections=50),
            follow_redirects=False,
        )

    def send(self, method: str, url: str, *, headers: dict[str, str] | None = None,
             json: Any = None, ok: tuple[int, ...] = (200,)) -> httpx.Response:
        """Send; a status outside `ok` becomes the matching ProviderError."""
        try:
            response = self.client.request(method, url, headers=headers, json=json)
        except httpx.TimeoutException as exc:
            raise ProviderError(f"{self.vendor} did not answer in time ({type(exc).__name__})",
                                kind="timeout") from exc
        except httpx.HTTPError as exc:
            raise ProviderError(f"Could not reach {self.vendor}: {exc}", kind="network") from exc
        if response.status_code in ok:
            return response
        raise self.error_for(response)

    def error_for(self, response: httpx.Response) -> ProviderError:
        code = response.status_code
        detail = self.message(response)
        if code == 402:
            return ProviderError(f"{self.vendor}: out of credits on the provider account "
                                 f"({detail})", kind="payment", status=code)
        if code == 429:
            return ProviderError(f"{self.vendor} is rate limiting us: {detail}",
                                 kind="rate_limited", retry_after=_retry_after(response),
                                 status=code)
        if code in (401, 403):
            return ProviderError(f"{self.vendor} refused the credentials: {detail}",
                                 kind="config", status=code)
        if code >= 500:
            return ProviderError(f"{self.vendor} server error {code}: {detail}", kind="server",
                                 status=code)
        return ProviderError(f"{self.vendor} refused the request ({code}): {detail}",
                             kind="invalid", status=code)

    def download(self, url: str) -> tuple[bytes, str]:
        """Fetch a result file at once (vendor URLs expire within minutes), capped in size."""
        try:
            with self.client.stream("GET", url) as response:
                if response.status_code != 200:
                    response.read()
                    raise self.error_for(response)
                chunks, size = [], 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > MAX_DOWNLOAD:
                        raise ProviderError(f"{self.vendor} result is larger than 200 MB",
                                            kind="failed")
                    chunks.append(chunk)
                mime = response.headers.get("content-type", "").split(";")[0].strip().lower()
                return b"".join(chunks), mime
        except httpx.TimeoutException as exc:
            raise ProviderError(f"Downloading the {self.vendor} result timed out",
                                kind="timeout") from exc
        except httpx.HTTPError as exc:
            raise ProviderError(f"Could not download the {self.vendor} result: {exc}",
                                kind="network") from exc

    def close(self) -> None:
        self.client.close()


EXTENSIONS = {"image/png": "png", "image/jpeg": "jpg", "image/webp": "webp", "video/mp4": "mp4"}


def require_key(api_key: str, *, env: str, what: str) -> None:
    if not api_key:
        raise ProviderError(f"{env} is not set: {what} cannot run without credentials. "
                            "Set it, or run with SIMULATE=1 for an offline demo.", kind="config")
