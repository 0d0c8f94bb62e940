"""The one HTTP layer the remote providers share: a pooled httpx client, timeouts, and the map
from transport failures and HTTP statuses to ProviderError kinds.

Retrying is the engine's job (it reschedules with backoff, holding no worker), so nothing here
sleeps or loops. A vendor module only supplies a pure `describe(status, body) -> VendorError`
that reads its own error format.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from typing import Any

import httpx

from executions import media_types
from executions.providers.base import OutputFile, ProviderError

MAX_DOWNLOAD = 200 * 1024 * 1024


@dataclass(frozen=True)
class VendorError:
    """What a vendor's error body says: its words, and optionally a kind or a retry delay the
    status alone does not tell (a moderation answered as 422, Google's RetryInfo)."""

    message: str
    kind: str | None = None
    retry_after: float | None = None


Describe = Callable[[int, Any], VendorError]


def status_kind(status: int) -> str:
    """The ProviderError kind an HTTP error status means."""
    if status == 402:
        return "payment"
    if status == 429:
        return "rate_limited"
    if status in (401, 403):
        return "config"  # refused credentials: no retry will fix them
    if status == 408:
        return "timeout"
    if status >= 500:
        return "server"
    return "invalid"


def plain_error(status: int, body: Any) -> VendorError:
    """A JSON `detail` / `message` / `error` (FastAPI validation lists included), else text."""
    if isinstance(body, dict):
        for key in ("detail", "message", "error"):
            value = body.get(key)
            if isinstance(value, dict):
                value = value.get("message") or value
            if isinstance(value, list):
                value = "; ".join(_item_text(item) for item in value)
            if value:
                return VendorError(str(value)[:500])
    text = body if isinstance(body, str) else str(body)
    return VendorError(text.strip()[:500] or f"HTTP {status}")


def _item_text(item: Any) -> str:
    if isinstance(item, dict) and "msg" in item:
        where = ".".join(str(part) for part in item.get("loc", ()) if part != "body")
        return f"{where}: {item['msg']}" if where else str(item["msg"])
    return str(item)


def retry_after_header(value: str | None) -> float | None:
    """Seconds from a Retry-After header, given as seconds or as an HTTP date."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


def sniff_mime(data: bytes, declared: str) -> str:
    """The file's real type from its first bytes; the declared one when we cannot tell."""
    media = media_types.media_sniff(data)
    return media.mime if media is not None else declared


def output_file(data: bytes, declared: str, *, vendor: str) -> OutputFile:
    """Wrap downloaded bytes as the format they are (any image, video or sound we take in:
    executions.media_types); refuse a file type the engine cannot store. Storing it proves it
    by a whole decode."""
    media = media_types.media_sniff(data)
    if media is None:
        raise ProviderError(f"{vendor} sent a file we cannot use ({declared or 'unknown type'})",
                            kind="failed")
    return OutputFile(data=data, mime=media.mime, extension=media.extension)


def require_key(api_key: str, *, env: str, model: str, vendor: str) -> None:
    """A remote provider without credentials fails loudly; it never makes a result up."""
    if not api_key:
        raise ProviderError(f"{env} is not set: {model} cannot run without {vendor} credentials "
                            "(or run with SIMULATE=1 for an offline demo)", kind="config")


class Http:
    """A pooled client for one vendor; `vendor` names it in every error message."""

    def __init__(self, *, vendor: str, timeout: float, describe: Describe = plain_error) -> None:
        self.vendor = vendor
        self.timeout = timeout
        self.describe = describe
        self.client = httpx.Client(
            timeout=httpx.Timeout(timeout, connect=min(10.0, timeout)),
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
            follow_redirects=False,
        )

    def send(self, method: str, url: str, *, headers: dict[str, str] | None = None,
             json: Any = None, ok: tuple[int, ...] = (200,),
             billed_if_lost: bool = False) -> httpx.Response:
        """Send one request; a status outside `ok` becomes the matching ProviderError.

        With `billed_if_lost` (a submit, a synchronous generation), a request that may have
        reached the vendor but whose answer was lost (a read timeout, a dropped connection) is
        a final "failed" error, never retried: the vendor may have started, and billed, the
        job. A request that provably never left (no connection, no pool slot) stays
        transient."""
        try:
            response = self.client.request(method, url, headers=headers, json=json)
        except (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            raise ProviderError(f"Could not reach {self.vendor}: {exc or type(exc).__name__}",
                                kind="network") from exc
        except httpx.HTTPError as exc:
            timed_out = isinstance(exc, httpx.TimeoutException)
            said = (f"{self.vendor} did not answer within {self.timeout:g} s" if timed_out
                    else f"The connection to {self.vendor} broke: {exc}")
            if billed_if_lost:
                raise ProviderError(f"{said}; not retried, as {self.vendor} may have started "
                                    "(and billed) the job", kind="failed") from exc
            raise ProviderError(said, kind="timeout" if timed_out else "network") from exc
        if response.status_code in ok:
            return response
        raise self.error_for(response)

    def send_json(self, method: str, url: str, *, gone: str | None = None,
                  **kwargs: Any) -> dict[str, Any]:
        """`send`, then the JSON object body; anything else is a broken (server-side) answer.
        With `gone` (e.g. "BFL no longer knows this task"), a 404 means the vendor forgot the
        job: a final "not_found" error, not a refused request."""
        try:
            response = self.send(method, url, **kwargs)
        except ProviderError as error:
            if gone and error.status == 404:
                raise ProviderError(f"{gone}: {error.message}", kind="not_found",
                                    status=404) from error
            raise
        try:
            payload = response.json()
        except ValueError:
            payload = None
        if not isinstance(payload, dict):
            raise ProviderError(f"{self.vendor} answered {response.status_code} without a JSON "
                                "object", status=response.status_code,
                                kind="failed" if kwargs.get("billed_if_lost") else "server")
        return payload

    def refusal_of_empty(self, url: str, headers: dict[str, str]) -> str | None:
        """A free model check for vendors that validate a submit before making a job: POST an
        empty body; 422 (the body refused) means the key works and the model exists. None then,
        else what the vendor said (a refused key, 404 for an unknown model)."""
        try:
            self.send("POST", url, headers=headers, json={}, ok=(422,))
        except ProviderError as error:
            return error.message
        return None

    def error_for(self, response: httpx.Response) -> ProviderError:
        code = response.status_code
        try:
            body: Any = response.json()
        except ValueError:
            body = response.text
        said = self.describe(code, body)
        retry_after = retry_after_header(response.headers.get("retry-after"))
        return ProviderError(f"{self.vendor} answered {code}: {said.message}",
                             kind=said.kind or status_kind(code), status=code,
                             retry_after=retry_after if retry_after is not None
                             else said.retry_after)

    def download(self, url: str) -> tuple[bytes, str]:
        """Fetch a result file at once (vendor URLs expire within minutes), capped in size.
        Returns the bytes and the declared content type."""
        try:
            with self.client.stream("GET", url) as response:
                if response.status_code != 200:
                    response.read()
                    raise self.error_for(response)
                declared = int(response.headers.get("content-length") or 0)
                if declared > MAX_DOWNLOAD:
                    raise self._too_big()
                chunks, size = [], 0
                for chunk in response.iter_bytes():
                    size += len(chunk)
                    if size > MAX_DOWNLOAD:
                        raise self._too_big()
                    chunks.append(chunk)
                mime = response.headers.get("content-type", "").split(";")[0].strip().lower()
                return b"".join(chunks), mime
        except httpx.TimeoutException as exc:
            raise ProviderError(f"Downloading the {self.vendor} result timed out",
                                kind="timeout") from exc
        except httpx.HTTPError as exc:
            raise ProviderError(f"Could not download the {self.vendor} result: {exc}",
                                kind="network") from exc

    def _too_big(self) -> ProviderError:
        return ProviderError(f"The {self.vendor} result is larger than "
                             f"{MAX_DOWNLOAD // (1024 * 1024)} MB", kind="failed")

    def close(self) -> None:
        self.client.close()
