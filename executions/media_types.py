"""What a file is, told from its content: the short list of formats we take in, each found by
its magic bytes and then proven by a real decode (Pillow limited to that one format, or ffmpeg
forced to that one container). The client's file name and Content-Type never decide the stored
extension or MIME; a declared type only has to agree with what the content is.

No audio: no node in the catalog takes an audio input, so there is nothing an audio upload
could feed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from executions import imaging
from executions.providers.base import ProviderError


@dataclass(frozen=True)
class MediaType:
    kind: str  # "image" | "video", as Asset.Kind
    extension: str
    mime: str
    label: str
    declared_as: frozenset[str] = field(default_factory=frozenset)  # other names of the mime

    def named_by(self, declared: str) -> bool:
        return declared == self.mime or declared in self.declared_as


PNG = MediaType("image", "png", "image/png", "PNG")
JPEG = MediaType("image", "jpg", "image/jpeg", "JPEG", frozenset({"image/jpg", "image/pjpeg"}))
WEBP = MediaType("image", "webp", "image/webp", "WEBP")
GIF = MediaType("image", "gif", "image/gif", "GIF")
MP4 = MediaType("video", "mp4", "video/mp4", "MP4")
MOV = MediaType("video", "mov", "video/quicktime", "MOV")
WEBM = MediaType("video", "webm", "video/webm", "WebM")
ALLOWED = (PNG, JPEG, WEBP, GIF, MP4, MOV, WEBM)
# A part or response that names no type says nothing to disagree with.
UNDECLARED = frozenset({"", "application/octet-stream"})
# ISO base media files that are still images or audio, not video (HEIF, AVIF, M4A).
_NOT_VIDEO_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1",
                               b"msf1", b"avif", b"avis", b"M4A ", b"M4B ", b"M4P "})


class MediaRefused(ProviderError):
    """A file we do not take in: `code` and `http_status` say why, in the API's error terms."""

    def __init__(self, message: str, *, code: str, http_status: int) -> None:
        super().__init__(message, kind="invalid")
        self.code = code
        self.http_status = http_status


@dataclass(frozen=True)
class Detected:
    type: MediaType
    width: int
    height: int
    duration: float | None = None
    frames: int | None = None
    # The decoded image, when asked for (`keep_image`): its thumbnails need not decode it again.
    image: Any = field(default=None, compare=False, repr=False)


def media_sniff(data: bytes) -> MediaType | None:
    """The allowed format the first bytes announce, or None for anything else."""
    head = data[:64]
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return PNG
    if head.startswith(b"\xff\xd8\xff"):
        return JPEG
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return WEBP
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return GIF
    if head[4:8] == b"ftyp" and head[8:12] not in _NOT_VIDEO_BRANDS:
        return MOV if head[8:12] == b"qt  " else MP4
    if head.startswith(b"\x1a\x45\xdf\xa3") and b"\x42\x82\x84webm" in head:  # EBML DocType
        return WEBM
    return None


def _allowed_list(kinds: tuple[str, ...]) -> str:
    labels = [media.label for media in ALLOWED if media.kind in kinds]
    return ", ".join(labels[:-1]) + f" or {labels[-1]}" if len(labels) > 1 else labels[0]


def media_detect(data: bytes, *, declared: str = "",
                 kinds: tuple[str, ...] = ("image", "video"), keep_image: bool = False
                 ) -> Detected:
    """The format of `data` and its measures, proven by decoding it whole under the pixel cap.
    `declared` (a Content-Type) must name the same format unless it names none. MediaRefused:
    415 for a format not taken or a declared type that disagrees, 422 for an image over the
    pixel cap, 400 for a file that does not decode."""
    declared = declared.split(";", 1)[0].strip().lower()
    media = media_sniff(data)
    if media is None or media.kind not in kinds:
        raise MediaRefused(f"Unsupported media type: the file is not {_allowed_list(kinds)}",
                           code="unsupported_media_type", http_status=415)
    if declared not in UNDECLARED and not media.named_by(declared):
        raise MediaRefused(f"The file is {media.label} ({media.mime}) but was sent as "
                           f"{declared[:100]}", code="media_type_mismatch", http_status=415)
    try:
        if media.kind == "video":
            info: dict[str, Any] = imaging.video_info(data, container=media.extension)
            return Detected(media, info["width"], info["height"], info["duration"],
                            info["frames"])
        image = imaging.open_image(data, formats=(media.label,))
        if not keep_image:
            image.close()
        return Detected(media, *image.size, image=image if keep_image else None)
    except imaging.ImageTooLarge as error:
        raise MediaRefused(error.message, code="image_too_large", http_status=422) from error
    except ProviderError as error:
        raise MediaRefused(f"Not a readable {media.label} file: {error.message}",
                           code="invalid_media", http_status=400) from error
