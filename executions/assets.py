"""Files a node produced (or a user uploaded): stored in Django storage, measured, addressed."""

from __future__ import annotations

import hashlib
import re
from typing import Any
from urllib.parse import urljoin

from django.conf import settings
from django.core.files.base import ContentFile

from accounts.models import Team
from executions import imaging, media_types
from executions.models import Asset, NodeRun
from executions.providers import Media, OutputFile, ProviderError

_SAFE = re.compile(r"[^A-Za-z0-9_-]+")


def asset_create(
    *, team: Team | None = None, team_id: int | None = None, data: bytes, mime: str,
    extension: str, stem: str, node_run: NodeRun | None = None, simulated: bool = False,
    uploaded: bool = False,
) -> Asset:
    """Measure the bytes (a file that does not decode is refused) and store them, for `team`
    (or `team_id`, when the caller has only the id)."""
    digest = hashlib.sha256(data).hexdigest()
    fields: dict[str, Any] = {}
    try:
        if mime.startswith("video/"):
            info = imaging.video_info(data)
            kind = Asset.Kind.VIDEO
            fields.update(width=info["width"], height=info["height"],
                          duration=info["duration"], frame_count=info["frames"])
            mime = info.get("mime", mime)
        else:
            mime, width, height = imaging.image_info(data)
            kind = Asset.Kind.IMAGE
            fields.update(width=width, height=height)
    except ProviderError:
        raise
    except Exception as exc:  # noqa: BLE001 - any decoder failure means a bad file
        raise ProviderError(f"The result is not a readable {mime} file: {exc}",
                            kind="invalid") from exc
    return _asset_store(team_id=team.pk if team is not None else team_id, data=data,
                        digest=digest, kind=kind, mime=mime, extension=extension, stem=stem,
                        node_run=node_run, simulated=simulated, uploaded=uploaded, **fields)


def asset_upload(*, team: Team, data: bytes, declared_mime: str, stem: str,
                 kinds: tuple[str, ...] = ("image", "video")) -> Asset:
    """A file a client sent or named by URL, taken in only when it is one of the allowed
    formats, agrees with its declared type and decodes whole under the pixel cap; stored with
    the extension and MIME of what it is. MediaRefused otherwise, and nothing is stored."""
    detected = media_types.media_detect(data, declared=declared_mime, kinds=kinds)
    fields: dict[str, Any] = {"width": detected.width, "height": detected.height}
    if detected.type.kind == Asset.Kind.VIDEO:
        fields.update(duration=detected.duration, frame_count=detected.frames)
    return _asset_store(team_id=team.pk, data=data, digest=hashlib.sha256(data).hexdigest(),
                        kind=detected.type.kind, mime=detected.type.mime,
                        extension=detected.type.extension, stem=stem, uploaded=True, **fields)


def _asset_store(*, team_id: int | None, data: bytes, digest: str, kind: str, mime: str,
                 extension: str, stem: str, node_run: NodeRun | None = None,
                 simulated: bool = False, uploaded: bool = False, **fields: Any) -> Asset:
    name = f"{_SAFE.sub('-', stem)[:60] or 'output'}-{digest[:12]}.{extension}"
    asset = Asset(team_id=team_id, node_run=node_run, kind=kind, mime=mime, size=len(data),
                  sha256=digest, simulated=simulated, uploaded=uploaded, **fields)
    asset.file.save(name, ContentFile(data), save=False)
    asset.save()
    return asset


def asset_from_output(*, node_run: NodeRun, output: OutputFile, simulated: bool) -> Asset:
    return asset_create(
        team_id=node_run.execution.team_id, data=output.data, mime=output.mime,
        extension=output.extension, stem=node_run.node_id, node_run=node_run,
        simulated=simulated,
    )


def asset_media(asset: Asset) -> Media:
    return Media(kind=asset.kind, storage_name=asset.file.name, mime=asset.mime,
                 sha256=asset.sha256, width=asset.width, height=asset.height)


def asset_url(asset: Asset) -> str:
    """An absolute URL of ours that stays valid (vendor URLs expire within minutes)."""
    base = settings.PUBLIC_BASE_URL or settings.DEFAULT_BASE_URL
    return urljoin(base.rstrip("/") + "/", asset.file.url.lstrip("/"))


def asset_api(asset: Asset) -> dict[str, Any]:
    item: dict[str, Any] = {"url": asset_url(asset), "width": asset.width,
                            "height": asset.height, "id": str(asset.pk), "mime": asset.mime,
                            "path": asset.file.name}
    if asset.kind == Asset.Kind.VIDEO:
        item.update(duration=asset.duration, frames=asset.frame_count)
    if asset.simulated:
        item["simulated"] = True
    return item
