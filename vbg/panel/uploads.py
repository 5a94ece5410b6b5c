"""Backgrounds dropped on the control page: accepted only when they decode, stored under a name vbg makes.

A file from the page is untrusted bytes: its name, type and claimed size mean nothing.  It is kept only when
OpenCV decodes it as a picture or PyAV decodes a frame of it as a video (in a container vbg plays as a
background), and it is written under a generated name with the extension of what it really is, so nothing
the page sends ever names a path.
"""

from __future__ import annotations

import io
import os
import secrets
import time
from pathlib import Path

import av

from ..errors import VbgError
from ..media.imageio import decode_image

MAX_UPLOAD = 20 * 1024 * 1024  # bytes: a photo or a short loop; anything larger is refused unread

#: leading bytes -> the picture format they announce (decoded by OpenCV to be believed)
IMAGE_SIGNATURES = ((b"\xff\xd8\xff", ".jpg"), (b"\x89PNG\r\n\x1a\n", ".png"), (b"BM", ".bmp"),
                    (b"II*\x00", ".tif"), (b"MM\x00*", ".tif"))
#: PyAV's demuxer name -> the extension vbg stores the video under (other containers are refused)
VIDEO_FORMATS = {"mov": ".mp4", "mp4": ".mp4", "matroska": ".mkv", "webm": ".webm", "avi": ".avi", "gif": ".gif"}
KINDS = "a picture (JPEG, PNG, BMP, WebP, TIFF) or a video (MP4, MOV, MKV, WebM, AVI, GIF)"


def too_large(size: int) -> str:
    """The refusal for a file of ``size`` bytes."""
    return (f"the file is {size / 2**20:.1f} MB: backgrounds up to {MAX_UPLOAD / 2**20:.0f} MB are accepted; "
            f"make it smaller (a JPEG, or a shorter video)")


def media_extension(data: bytes) -> str:
    """The extension ``data`` is stored under, once it has decoded; ``VbgError`` (one line) when it does not."""
    if not data:
        raise VbgError(f"the file is empty: drop {KINDS}")
    image_ext = next((ext for magic, ext in IMAGE_SIGNATURES if data.startswith(magic)), None)
    if image_ext is None and data[:4] == b"RIFF" and data[8:12] == b"WEBP":
        image_ext = ".webp"
    if image_ext is not None:
        if decode_image(data) is None:
            raise VbgError(f"the picture is damaged (it does not decode): drop {KINDS}")
        return image_ext
    return _video_extension(data)


def _video_extension(data: bytes) -> str:
    """A video's extension, after decoding its first frame from memory."""
    try:
        with av.open(io.BytesIO(data), mode="r") as container:
            names = set(container.format.name.split(","))
            ext = next((VIDEO_FORMATS[n] for n in VIDEO_FORMATS if n in names), None)
            if ext is None or not container.streams.video:
                raise VbgError(f"not a picture or a video vbg can show: drop {KINDS}")
            frame = next(container.decode(video=0), None)
    except (av.FFmpegError, StopIteration, UnicodeDecodeError, ValueError):
        raise VbgError(f"not a picture or a video vbg can show: drop {KINDS}") from None
    if frame is None or not frame.width or not frame.height:
        raise VbgError(f"the video has no picture that decodes: drop {KINDS}")
    return ext


def store(data: bytes, folder: Path) -> Path:
    """Check ``data`` (``media_extension``) and write it into ``folder`` under a new name; the path."""
    if len(data) > MAX_UPLOAD:
        raise VbgError(too_large(len(data)))
    ext = media_extension(data)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"upload-{time.strftime('%Y%m%d-%H%M%S')}-{secrets.token_hex(4)}{ext}"
    part = path.with_name(f".{path.name}.part")  # never listed: a half-written file is never offered
    try:
        part.write_bytes(data)
        os.replace(part, path)
    except OSError as exc:
        part.unlink(missing_ok=True)
        raise VbgError(f"cannot keep the background in {folder} ({exc.strerror}): free some space or set "
                       f"VBG_DATA_DIR to a writable folder") from None
    return path
