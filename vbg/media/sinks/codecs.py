"""Which container gets which codec and pixel format (H.264 by default; alpha-capable ones for --transparent)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...errors import VbgError

#: Containers FileSink writes.  Single images are written elsewhere; .avi is left out because it cannot
#: store presentation timestamps (H.264 with B-frames comes back out of order).
VIDEO_OUTPUT_EXTENSIONS = (".mp4", ".m4v", ".mkv", ".mov", ".webm")

#: The speed presets x264 and x265 know (``--preset``); anything else fails in the encoder after the model.
X264_PRESETS = ("ultrafast", "superfast", "veryfast", "faster", "fast", "medium", "slow", "slower", "veryslow",
                "placebo")

#: Alpha-capable (codec, pixel format) per extension: what ``--transparent`` writes when no codec is given.
ALPHA_CODECS = {".mov": ("prores_ks", "yuva444p10le"), ".webm": ("libvpx-vp9", "yuva420p"), ".mkv": ("libvpx-vp9", "yuva420p")}


def default_codec_for(path: str | Path, alpha: bool) -> tuple[str, str]:
    """(codec, pixel format) for an output file: H.264 in yuv420p (plays everywhere), VP9 for .webm (the only
    codecs webm allows), and with ``alpha`` a codec that stores transparency: .mov -> ProRes 4444
    (yuva444p10le, what editors expect), .webm/.mkv -> VP9 (yuva420p).  Raises VbgError for transparency in a container with no alpha-capable default (mp4):
    the user asked for transparency, so silently writing black would be wrong."""
    ext = Path(path).suffix.lower()
    if alpha:
        if ext in ALPHA_CODECS:
            return ALPHA_CODECS[ext]
        raise VbgError(f"{ext or 'a file without extension'} cannot store transparency: "
                       f"write the --transparent result as .mov or .webm")
    if ext == ".webm":
        return "libvpx-vp9", "yuv420p"
    return "libx264", "yuv420p"


def has_alpha(pix_fmt: str) -> bool:
    import av

    return any(c.is_alpha for c in av.VideoFormat(pix_fmt).components)


def _encoder(codec: str) -> Any:
    """The PyAV encoder called ``codec``, or VbgError."""
    import av

    try:
        encoder = av.Codec(codec, "w")
    except Exception:  # noqa: BLE001 - PyAV raises UnknownCodecError (a ValueError) or FFmpegError
        raise VbgError(f"unknown video encoder {codec!r}: use libx264 (or prores_ks/png/qtrle/libvpx-vp9 for "
                       f"transparency)") from None
    if encoder.type != "video":
        raise VbgError(f"{codec!r} is not a video encoder: use libx264 (or prores_ks/png/qtrle/libvpx-vp9 for transparency)")
    return encoder


def choose_pix_fmt(codec: str, pix_fmt: str | None, alpha: bool) -> str:
    """The pixel format to encode in: the user's (checked), else yuv420p (or, for alpha, the codec's first
    alpha-capable format).  A codec without any alpha format gets an opaque one: alpha is then dropped."""
    formats = [f.name for f in (_encoder(codec).video_formats or [])]
    if pix_fmt:
        if formats and pix_fmt not in formats:
            raise VbgError(f"codec {codec} cannot encode pixel format {pix_fmt!r}: use one of {', '.join(formats)}")
        return pix_fmt
    if alpha:
        for name in formats:
            if has_alpha(name):
                return name
    if not formats or "yuv420p" in formats:
        return "yuv420p"
    return next((f for f in formats if not has_alpha(f)), formats[0])
