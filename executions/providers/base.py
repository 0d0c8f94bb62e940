"""The one small interface every provider implements: submit, poll, cancel.

The engine hands a provider a `Job` (the node's effective config and its resolved inputs) and gets
back either a finished `Result` (local work, or a vendor that answers at once) or a `Pending`
handle to poll later. A handle is plain JSON, stored on the node run, so any worker (or the
reaper, after a crash) can carry on polling the same remote job instead of submitting it again.

A finished result holds the output *bytes*: remote providers download the vendor's file inside
`poll` at once, because vendor URLs expire within minutes. The engine writes them to storage.
"""

from __future__ import annotations

import base64
import threading
from dataclasses import dataclass, field
from typing import Any, ClassVar

from django.core.files.storage import default_storage


@dataclass(frozen=True)
class Media:
    """An image, video or sound flowing along an edge: our stored file, readable as bytes."""

    kind: str  # "image" | "video" | "audio"
    storage_name: str  # name in Django's default storage
    mime: str
    sha256: str
    width: int | None = None
    height: int | None = None

    def read(self) -> bytes:
        with default_storage.open(self.storage_name, "rb") as handle:
            return handle.read()

    def base64(self) -> str:
        return base64.b64encode(self.read()).decode("ascii")

    def data_uri(self) -> str:
        return f"data:{self.mime};base64,{self.base64()}"


class Stopped(Exception):  # noqa: N818 - a signal, not an error
    """The node run's work was dropped midway: nothing is written, nothing is charged."""


@dataclass(frozen=True)
class Job:
    """What one node run asks of a provider.

    `inputs` maps an input port id (without `in-`) to the values on its edges, in edge order:
    `str` for text, `Media` for images, videos and sounds. `config` is the node's effective config
    (defaults applied, inline values filled). `seed` is the resolved seed (never None for
    nodes that have a seed setting). `model` is the vendor model id from the node's declaration.
    """

    node_type: str
    model: str | None
    config: dict[str, Any]
    inputs: dict[str, list[Any]] = field(default_factory=dict)
    seed: int | None = None
    node_run_id: str = ""
    # Set by the worker's heartbeat once the node run is no longer this process's to finish
    # (the run was cancelled, or the node was taken over after it looked lost).
    stop: threading.Event | None = field(default=None, compare=False, repr=False)

    def check_stopped(self) -> None:
        """Raise Stopped if the work should end now: long local work calls this as it goes
        (every frame of a video), so a cancel frees the worker instead of finishing a result
        nobody will keep."""
        if self.stop is not None and self.stop.is_set():
            raise Stopped(self.node_run_id)

    def text(self, port: str, default: str = "") -> str:
        values = [v for v in self.inputs.get(port, []) if isinstance(v, str)]
        if values:
            return "\n".join(values)
        inline = self.config.get(port)
        return inline if isinstance(inline, str) else default

    def media(self, port: str) -> list[Media]:
        return [v for v in self.inputs.get(port, []) if isinstance(v, Media)]


@dataclass(frozen=True)
class OutputFile:
    """One produced file; the engine stores it and measures it."""

    data: bytes
    mime: str  # image/png, image/jpeg, image/webp, video/mp4, audio/mpeg, audio/mp4…
    extension: str  # "png", "jpg", "webp", "mp4", "mp3", "m4a"…


@dataclass(frozen=True)
class Result:
    """A finished job: outputs by output port id (without `out-`), each a file, several files
    (in order) or text. `meta["usage"]` reports what the vendor bills beyond the settings:
    `{"references": [megapixels of each reference image sent], "images": files delivered}`;
    the charge is computed from it (pricing.node_credits)."""

    outputs: dict[str, OutputFile | list[OutputFile] | str]
    meta: dict[str, Any] = field(default_factory=dict)  # e.g. vendor seed, cost, simulated


@dataclass(frozen=True)
class Pending:
    """A remote job still running: `handle` is JSON kept on the node run for the next poll."""

    handle: dict[str, Any]
    progress: float | None = None  # 0..1 when the vendor reports it
    poll_after: float = 0.5  # seconds the provider suggests waiting before the next poll


class ProviderError(Exception):
    """A job that did not produce a result.

    `kind` decides what the engine does:
      - "rate_limited", "server", "timeout", "network", "retryable": transient; retried with
        backoff (honouring `retry_after` seconds when the vendor sends it), bounded
        ("retryable": the vendor answered without a result and says a retry may work);
      - "moderated", "payment", "invalid", "not_found", "config", "failed": the node fails with
        `message`, which carries the vendor's reason;
      - "lost_submit" (raised by the engine): a submit that may have reached the vendor was
        interrupted by a dead worker; the node fails rather than submit it again.
    """

    TRANSIENT: ClassVar[frozenset[str]] = frozenset(
        {"rate_limited", "server", "timeout", "network", "retryable"})

    def __init__(self, message: str, *, kind: str, retry_after: float | None = None,
                 status: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.kind = kind
        self.retry_after = retry_after
        self.status = status

    @property
    def transient(self) -> bool:
        return self.kind in self.TRANSIENT

    def __repr__(self) -> str:
        return f"ProviderError({self.message!r}, kind={self.kind!r})"


class Provider:
    """Base class. Subclasses set `alias` and implement `submit` (and `poll`/`cancel` if remote).

    `options` come from `settings.PROVIDERS[alias]["OPTIONS"]`. A remote provider with no
    `api_key` must raise ProviderError(kind="config") from `submit` with a clear message; it
    never returns a made-up result.
    """

    alias: ClassVar[str] = ""
    # Submits go to an outside vendor, which may start (and bill) a job even when its answer is
    # lost: the engine commits the intent to submit first and never silently submits twice.
    external: ClassVar[bool] = False
    vendor_name: ClassVar[str] = ""  # as messages name it

    def __init__(self, **options: Any) -> None:
        self.options = options
        self.max_concurrency = int(options.get("max_concurrency", 8))
        self.simulated = bool(options.get("simulated", False))

    def submit(self, job: Job) -> Result | Pending:
        raise NotImplementedError

    def poll(self, job: Job, handle: dict[str, Any]) -> Result | Pending:
        """Look at a remote job again. `job` carries the node's type, model, config and seed
        but no `inputs`: they went to the vendor with `submit`, and polls stay cheap."""
        raise ProviderError(f"{self.alias} has no remote jobs to poll", kind="failed")

    def cancel(self, handle: dict[str, Any]) -> None:
        """Best effort: ask the vendor to stop a remote job. Never raises for a finished job."""

    def model_check(self, model: str) -> str | None:
        """None when the key works and the vendor serves `model`, else what the vendor said.
        Must cost nothing (a lookup, or a request the vendor refuses before making a job)."""
        return f"{self.alias or type(self).__name__} cannot check its models"

    def close(self) -> None:
        """Release pooled connections."""
