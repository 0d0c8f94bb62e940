"""Files a node produced (or a user uploaded): stored in Django storage, measured, addressed."""

from __future__ import annotations

import hashlib
import logging
import secrets
from typing import Any

from django.core.files.base import ContentFile
from django.core.files.storage import default_storage

from accounts.models import Team
from executions import audio, imaging, media_types
from executions.media_urls import media_url
from executions.models import Asset, NodeRun
from executions.providers import Media, OutputFile, ProviderError

log = logging.getLogger(__name__)
# Where each rendition goes on an Asset, by long side (executions.imaging.THUMBNAIL_SIDES).
THUMBNAIL_FIELDS = {768: "thumbnail", 256: "thumbnail_small"}
RENDITION_FIELDS = ("thumbnail", "thumbnail_small", "poster")


def asset_upload(*, team: Team, data: bytes, declared_mime: str,
                 kinds: tuple[str, ...] = media_types.ALL_KINDS, renditions: bool = True,
                 uploader: dict[str, Any] | None = None) -> Asset:
    """A file a client sent or named by URL, taken in only when it is one of the allowed
    formats, agrees with its declared type and decodes whole under the pixel cap; stored with
    the extension and MIME of what it is. MediaRefused otherwise, and nothing is stored.
    Its thumbnails are made here unless `renditions` is false (the API process leaves them to
    a worker: executions.tasks.make_renditions). `uploader`: created_by / api_key."""
    detected = media_types.media_detect(data, declared=declared_mime, kinds=kinds,
                                        keep_image=renditions)
    return _asset_store(team_id=team.pk, data=data, detected=detected, uploaded=True,
                        renditions=renditions, **(uploader or {}))


def asset_from_output(*, node_run: NodeRun, output: OutputFile, simulated: bool) -> Asset:
    """A provider's result, held to the checks an upload is (its MIME as the vendor said it is
    not checked, only what the bytes are: some vendors label a JPEG image/png)."""
    try:
        detected = media_types.media_detect(output.data, keep_image=True)
    except media_types.MediaRefused as refused:
        raise ProviderError(f"The result is refused: {refused.message}",
                            kind="invalid") from refused
    return _asset_store(team_id=node_run.execution.team_id, data=output.data,
                        detected=detected, node_run=node_run,
                        simulated=simulated)


def _asset_store(*, team_id: int, data: bytes, detected: media_types.Detected,
                 node_run: NodeRun | None = None, simulated: bool = False,
                 uploaded: bool = False, renditions: bool = True, **who: Any) -> Asset:
    digest = hashlib.sha256(data).hexdigest()
    media = detected.type
    fields: dict[str, Any] = {"width": detected.width, "height": detected.height}
    if media.kind == Asset.Kind.VIDEO:
        fields.update(duration=detected.duration, frame_count=detected.frames)
    elif media.kind == Asset.Kind.AUDIO:
        fields = {"duration": detected.duration, "channels": detected.channels,
                  "sample_rate": detected.sample_rate}
    # A random name (128 bits): it says nothing of the team, the date or the content, and a
    # URL cannot be guessed from the file or from another file's URL.
    name = _random_name(media.extension)
    asset = Asset(team_id=team_id, node_run=node_run, kind=media.kind, mime=media.mime,
                  size=len(data), sha256=digest, simulated=simulated, uploaded=uploaded,
                  **fields, **who)
    asset.file.save(name, ContentFile(data), save=False)
    if renditions:
        _renditions_store(asset, data, decoded=detected.image)
    asset.save()
    return asset


def _random_name(extension: str) -> str:
    return f"{secrets.token_hex(16)}.{extension}"


def _renditions_store(asset: Asset, data: bytes, decoded: Any = None) -> bool:
    """Make and store the asset's thumbnails (and a video's poster) from its file's bytes,
    through the storage API; the fields are set on `asset`, not saved. A file whose renditions
    cannot be made keeps none (its URL still answers), and the failure is logged: it never
    fails the upload or the node that made it. `decoded`: the image as the type check decoded
    it, if at hand (one decode instead of two)."""
    extension = asset.file.name.rsplit(".", 1)[-1]
    try:
        if asset.kind == Asset.Kind.AUDIO:  # its thumbnails are its waveform
            pictures = audio.waveforms(data, container=media_types.DEMUXERS[extension])
            made = {THUMBNAIL_FIELDS[side]: picture for side, picture in pictures.items()}
        else:
            if asset.kind == Asset.Kind.VIDEO:
                frame = imaging.video_poster(data, container=extension)
                made = {"poster": imaging.poster_webp(frame)}
            elif decoded is not None:
                made, frame = {}, imaging.upright(decoded)
            else:
                made, frame = {}, imaging.image_for_renditions(data)
            for side, thumb in imaging.renditions(frame).items():
                made[THUMBNAIL_FIELDS[side]] = thumb
    except ProviderError as error:
        log.warning("no thumbnails for %s: %s", asset.file.name, error.message)
        return False
    except Exception:  # noqa: BLE001 - a Pillow or ffmpeg surprise costs the thumbnails only
        log.exception("no thumbnails for %s", asset.file.name)
        return False
    return _renditions_save(asset, made)


def _renditions_save(asset: Asset, made: dict[str, bytes]) -> bool:
    """Store the renditions `made` (by field) and set them on `asset`; all or none."""
    try:
        for field, content in made.items():
            getattr(asset, field).save(_random_name("webp"), ContentFile(content), save=False)
    except Exception:  # noqa: BLE001 - the file itself is stored: it goes on without them
        log.exception("could not store the thumbnails of %s", asset.file.name)
        _quietly_delete(rendition_names(asset))
        for field in RENDITION_FIELDS:
            setattr(asset, field, "")
        return False
    asset.renditions_size = sum(len(content) for content in made.values())
    return True


def _quietly_delete(names: list[str]) -> None:
    try:
        storage_delete(names)
    except Exception:  # noqa: BLE001 - an orphaned thumbnail is only bytes
        log.warning("could not delete %s", names)


def asset_renditions_make(*, asset_id: Any) -> bool:
    """Thumbnails for a stored asset that has none yet (an upload taken in by the API, or a
    file stored before thumbnails existed): read back through the storage API, made once.
    False when there is nothing to do (already made, gone) or they cannot be made."""
    asset = Asset.objects.filter(pk=asset_id).first()
    if asset is None or asset.thumbnail:
        return False
    try:
        with default_storage.open(asset.file.name, "rb") as handle:
            data = handle.read()
    except (FileNotFoundError, OSError):
        return False
    if not _renditions_store(asset, data):
        return False
    updated = Asset.objects.filter(pk=asset.pk, thumbnail="").update(
        **{field: getattr(asset, field).name for field in RENDITION_FIELDS},
        renditions_size=asset.renditions_size)
    if not updated:  # made meanwhile by someone else, or deleted: drop ours
        storage_delete(rendition_names(asset))
    return bool(updated)


def rendition_names(asset: Asset) -> list[str]:
    return [getattr(asset, field).name for field in RENDITION_FIELDS
            if getattr(asset, field).name]


def asset_file_names(asset: Asset) -> list[str]:
    """Every stored file of the asset: the file itself and its renditions."""
    return [asset.file.name, *rendition_names(asset)]


def storage_delete(names: list[str]) -> int:
    """Delete these stored files through the storage API; a missing one is not an error."""
    deleted = 0
    for name in names:
        try:
            default_storage.delete(name)
            deleted += 1
        except FileNotFoundError:
            pass
    return deleted


def asset_media(asset: Asset) -> Media:
    return Media(kind=asset.kind, storage_name=asset.file.name, mime=asset.mime,
                 sha256=asset.sha256, width=asset.width, height=asset.height)


def asset_url(asset: Asset) -> str:
    """An absolute URL of ours (vendor URLs expire within minutes), signed and valid for
    MEDIA_URL_LIFETIME unless media are public (executions.media_urls)."""
    return media_url(asset.file.name)


def asset_thumbnails(asset: Asset) -> dict[str, str] | None:
    """Signed URLs of the thumbnails by long side ({"256": url, "768": url}), or None when the
    asset has none (stored before thumbnails existed, or not decodable)."""
    if not asset.thumbnail:
        return None
    return {"256": media_url(asset.thumbnail_small.name), "768": media_url(asset.thumbnail.name)}


def asset_api(asset: Asset) -> dict[str, Any]:
    thumbnails = asset_thumbnails(asset)
    item: dict[str, Any] = {"url": asset_url(asset), "width": asset.width,
                            "height": asset.height, "id": str(asset.pk), "mime": asset.mime,
                            "path": asset.file.name,
                            "thumbnailUrl": thumbnails["768"] if thumbnails else None,
                            "thumbnails": thumbnails}
    if asset.kind == Asset.Kind.VIDEO:
        item.update(duration=asset.duration, frames=asset.frame_count,
                    posterUrl=media_url(asset.poster.name) if asset.poster else None)
    elif asset.kind == Asset.Kind.AUDIO:
        item.update(duration=asset.duration, channels=asset.channels,
                    sampleRate=asset.sample_rate, waveformUrl=item["thumbnailUrl"])
    if asset.simulated:
        item["simulated"] = True
    return item
