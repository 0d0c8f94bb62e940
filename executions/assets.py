"""Files a node produced (or a user uploaded): stored in Django storage, measured, addressed."""

from __future__ import annotations

import hashlib
import secrets
from typing import Any

from django.core.files.base import ContentFile

from accounts.models import Team
from executions import media_types
from executions.media_urls import media_url
from executions.models import Asset, NodeRun
from executions.providers import Media, OutputFile, ProviderError


def asset_upload(*, team: Team, data: bytes, declared_mime: str,
                 kinds: tuple[str, ...] = ("image", "video")) -> Asset:
    """A file a client sent or named by URL, taken in only when it is one of the allowed
    formats, agrees with its declared type and decodes whole under the pixel cap; stored with
    the extension and MIME of what it is. MediaRefused otherwise, and nothing is stored."""
    detected = media_types.media_detect(data, declared=declared_mime, kinds=kinds)
    return _asset_store(team_id=team.pk, data=data, detected=detected, uploaded=True)


def asset_from_output(*, node_run: NodeRun, output: OutputFile, simulated: bool) -> Asset:
    """A provider's result, held to the checks an upload is (its MIME as the vendor said it is
    not checked, only what the bytes are: some vendors label a JPEG image/png)."""
    try:
        detected = media_types.media_detect(output.data)
    except media_types.MediaRefused as refused:
        raise ProviderError(f"The result is refused: {refused.message}",
                            kind="invalid") from refused
    return _asset_store(team_id=node_run.execution.team_id, data=output.data,
                        detected=detected, node_run=node_run,
                        simulated=simulated)


def _asset_store(*, team_id: int, data: bytes, detected: media_types.Detected,
                 node_run: NodeRun | None = None, simulated: bool = False,
                 uploaded: bool = False) -> Asset:
    digest = hashlib.sha256(data).hexdigest()
    media = detected.type
    fields: dict[str, Any] = {"width": detected.width, "height": detected.height}
    if media.kind == Asset.Kind.VIDEO:
        fields.update(duration=detected.duration, frame_count=detected.frames)
    # A random name (128 bits): it says nothing of the team, the date or the content, and a
    # URL cannot be guessed from the file or from another file's URL.
    name = f"{secrets.token_hex(16)}.{media.extension}"
    asset = Asset(team_id=team_id, node_run=node_run, kind=media.kind, mime=media.mime,
                  size=len(data), sha256=digest, simulated=simulated, uploaded=uploaded,
                  **fields)
    asset.file.save(name, ContentFile(data), save=False)
    asset.save()
    return asset


def asset_media(asset: Asset) -> Media:
    return Media(kind=asset.kind, storage_name=asset.file.name, mime=asset.mime,
                 sha256=asset.sha256, width=asset.width, height=asset.height)


def asset_url(asset: Asset) -> str:
    """An absolute URL of ours (vendor URLs expire within minutes), signed and valid for
    MEDIA_URL_LIFETIME unless media are public (executions.media_urls)."""
    return media_url(asset.file.name)


def asset_api(asset: Asset) -> dict[str, Any]:
    item: dict[str, Any] = {"url": asset_url(asset), "width": asset.width,
                            "height": asset.height, "id": str(asset.pk), "mime": asset.mime,
                            "path": asset.file.name}
    if asset.kind == Asset.Kind.VIDEO:
        item.update(duration=asset.duration, frames=asset.frame_count)
    if asset.simulated:
        item["simulated"] = True
    return item
