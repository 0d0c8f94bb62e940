"""What a file is, told from its content: the short list of formats we take in, each found by
its magic bytes and then proven by a real decode (Pillow limited to that one format, or ffmpeg
forced to that one container, its first video or audio stream decoded whole). The client's
file name and Content-Type never decide the stored extension or MIME; a declared type only has
to agree with what the content is.

Audio: MP3, WAV, M4A (AAC or ALAC in MP4), raw AAC (ADTS), Ogg (Vorbis or Opus) and FLAC, what
users upload and what text-to-speech and music vendors return. An MP4 that is sound only
(brand `M4A `, or any MP4 where only audio is taken) is M4A.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from executions import audio, imaging
from executions.providers.base import ProviderError


@dataclass(frozen=True)
class MediaType:
    kind: str  # "image" | "video" | "audio", as Asset.Kind
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
MP3 = MediaType("audio", "mp3", "audio/mpeg", "MP3", frozenset({"audio/mp3", "audio/mpeg3",
                                                                  "audio/x-mpeg"}))
WAV = MediaType("audio", "wav", "audio/wav", "WAV",
                frozenset({"audio/x-wav", "audio/wave", "audio/vnd.wave"}))
M4A = MediaType("audio", "m4a", "audio/mp4", "M4A",
                frozenset({"audio/x-m4a", "audio/m4a", "audio/aac", "video/mp4"}))
AAC = MediaType("audio", "aac", "audio/aac", "AAC", frozenset({"audio/x-aac", "audio/aacp"}))
OGG = MediaType("audio", "ogg", "audio/ogg", "Ogg",
                frozenset({"audio/opus", "audio/vorbis", "application/ogg"}))
FLAC = MediaType("audio", "flac", "audio/flac", "FLAC", frozenset({"audio/x-flac"}))
ALLOWED = (PNG, JPEG, WEBP, GIF, MP4, MOV, WEBM, MP3, WAV, M4A, AAC, OGG, FLAC)
ALL_KINDS = ("image", "video", "audio")
# The ffmpeg demuxer each audio format is read with (never a guess from the content).
DEMUXERS = {"mp3": "mp3", "wav": "wav", "m4a": "mp4", "aac": "aac", "ogg": "ogg",
            "flac": "flac"}
# A part or response that names no type says nothing to disagree with.
UNDECLARED = frozenset({"", "application/octet-stream"})
# ISO base media files that are still images or audio, not video (HEIF, AVIF, M4A).
_IMAGE_BRANDS = frozenset({b"heic", b"heix", b"heim", b"heis", b"hevc", b"hevx", b"mif1",
                           b"msf1", b"avif", b"avis"})
_AUDIO_BRANDS = frozenset({b"M4A ", b"M4B ", b"M4P ", b"F4A "})


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
    channels: int | None = None
    sample_rate: int | None = None
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
    if head[4:8] == b"ftyp" and head[8:12] not in _IMAGE_BRANDS:
        if head[8:12] in _AUDIO_BRANDS:
            return M4A
        return MOV if head[8:12] == b"qt  " else MP4
    if head.startswith(b"\x1a\x45\xdf\xa3") and b"\x42\x82\x84webm" in head:  # EBML DocType
        return WEBM
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return WAV
    if head.startswith(b"OggS"):
        return OGG
    if head.startswith(b"fLaC"):
        return FLAC
    if head.startswith(b"ID3"):  # an ID3v2 tag, then MPEG audio frames
        return MP3
    if len(head) > 1 and head[0] == 0xFF and head[1] & 0xE0 == 0xE0:  # an MPEG frame sync
        layer = head[1] & 0x06
        if layer == 0x02:  # layer III
            return MP3
        if layer == 0x00 and head[1] & 0xF0 == 0xF0:  # ADTS (a 12-bit sync): raw AAC
            return AAC
    return None


def _allowed_list(kinds: tuple[str, ...]) -> str:
    labels = [media.label for media in ALLOWED if media.kind in kinds]
    return ", ".join(labels[:-1]) + f" or {labels[-1]}" if len(labels) > 1 else labels[0]


def media_detect(data: bytes, *, declared: str = "",
                 kinds: tuple[str, ...] = ALL_KINDS, keep_image: bool = False
                 ) -> Detected:
    """The format of `data` and its measures, proven by decoding it whole under the pixel cap.
    `declared` (a Content-Type) must name the same format unless it names none. MediaRefused:
    415 for a format not taken or a declared type that disagrees, 422 for an image over the
    pixel cap, 400 for a file that does not decode."""
    declared = declared.split(";", 1)[0].strip().lower()
    media = media_sniff(data)
    if media in (MP4, MOV) and "audio" in kinds and ("video" not in kinds
                                                     or declared.startswith("audio/")):
        media = M4A  # only its sound is wanted, or it is sent as sound: its first audio stream
    if media is None or media.kind not in kinds:
        raise MediaRefused(f"Unsupported media type: the file is not {_allowed_list(kinds)}",
                           code="unsupported_media_type", http_status=415)
    if declared not in UNDECLARED and not media.named_by(declared):
        raise MediaRefused(f"The file is {media.label} ({media.mime}) but was sent as "
                           f"{declared[:100]}", code="media_type_mismatch", http_status=415)
    try:
        if media.kind == "audio":
            sound = audio.audio_info(data, container=DEMUXERS[media.extension])
            return Detected(media, 0, 0, sound.duration, channels=sound.channels,
                            sample_rate=sound.sample_rate)
        if media.kind == "video":
            try:
                info: dict[str, Any] = imaging.video_info(data, container=media.extension)
            except ProviderError:
                sound = _sound_only(data) if media is MP4 and "audio" in kinds else None
                if sound is None:
                    raise
                return sound
            return Detected(media, info["width"], info["height"], info["duration"],
                            info["frames"])
        image = imaging.open_image(data, formats=(media.label,))
        if not keep_image:
            image.close()
        return Detected(media, *image.size, image=image if keep_image else None)
    except imaging.ImageTooLarge as error:
        raise MediaRefused(error.message, code="image_too_large", http_status=422) from error
    except ProviderError as error:
        reason = error.message.removeprefix("Not a readable audio file: ")
        raise MediaRefused(f"Not a readable {media.label} file: {reason}",
                           code="invalid_media", http_status=400) from error


def _sound_only(data: bytes) -> Detected | None:
    """An MP4 with no video stream but a sound that decodes whole, read as the M4A it is."""
    try:
        sound = audio.audio_info(data, container=DEMUXERS[M4A.extension])
    except ProviderError:
        return None
    return Detected(M4A, 0, 0, sound.duration, channels=sound.channels,
                    sample_rate=sound.sample_rate)
