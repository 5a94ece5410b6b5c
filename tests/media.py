"""Synthetic media for the tests: clips whose frames carry their own index in the pixels, with audio.

The index is written as 8 bits in big flat blocks (a 4x2 grid).  A block centre survives H.264 and any blend
of the frame with a blurred copy of itself, so the index can be read back from a composited output.
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

BITS = 8
ON, OFF = 225, 30


def indexed_frame(index: int, width: int = 640, height: int = 360) -> np.ndarray:
    frame = np.empty((height, width, 3), np.uint8)
    bw, bh = width // 4, height // 2
    for bit in range(BITS):
        r, c = divmod(bit, 4)
        frame[r * bh:(r + 1) * bh, c * bw:(c + 1) * bw] = ON if (index >> bit) & 1 else OFF
    return frame


def read_index(image: np.ndarray) -> int:
    h, w = image.shape[:2]
    bw, bh = w // 4, h // 2
    value = 0
    for bit in range(BITS):
        r, c = divmod(bit, 4)
        patch = image[r * bh + bh // 2 - 4: r * bh + bh // 2 + 4, c * bw + bw // 2 - 4: c * bw + bw // 2 + 4]
        value |= int(patch.mean() > (ON + OFF) / 2) << bit
    return value


def mux_tone(out, stream, seconds: float, amplitude: float = 0.3, sample_format: str = "flt") -> None:
    """Encode ``seconds`` of a 440 Hz mono tone on the AAC ``stream`` and mux it into ``out`` (flushed)."""
    samples = int(seconds * 48000)
    tone = (amplitude * np.sin(2 * np.pi * 440 * np.arange(samples) / 48000)).astype(np.float32)
    for start in range(0, samples, 1024):
        chunk = av.AudioFrame.from_ndarray(tone[None, start:start + 1024], format=sample_format, layout="mono")
        chunk.sample_rate, chunk.pts = 48000, start
        for packet in stream.encode(chunk):
            out.mux(packet)
    for packet in stream.encode():
        out.mux(packet)


def make_indexed_clip(path: Path, frames: int, width: int = 640, height: int = 360, fps: int = 30,
                      audio_seconds: float | None = None, time_base: Fraction | None = None) -> Path:
    """Encode ``frames`` indexed frames (H.264) plus, optionally, a 440 Hz AAC tone of ``audio_seconds``."""
    with av.open(str(path), "w") as out:
        video = out.add_stream("libx264", rate=fps)
        video.width, video.height, video.pix_fmt = width, height, "yuv420p"
        video.options = {"preset": "ultrafast", "crf": "18"}
        if time_base is not None:
            video.time_base = time_base
        step = int(1 / (fps * video.time_base)) if time_base is not None else 1
        audio = out.add_stream("aac", rate=48000) if audio_seconds else None
        for i in range(frames):
            vf = av.VideoFrame.from_ndarray(indexed_frame(i, width, height), format="bgr24")
            if time_base is not None:
                vf.pts, vf.time_base = i * step, time_base
            for packet in video.encode(vf):
                out.mux(packet)
        for packet in video.encode():
            out.mux(packet)
        if audio is not None:
            mux_tone(out, audio, audio_seconds, amplitude=0.2)
    return path


def decode_video(path: Path) -> tuple[list[np.ndarray], list[float], float]:
    """All frames (BGR), their times in seconds, and the stream's average rate."""
    with av.open(str(path)) as src:
        stream = src.streams.video[0]
        frames, times = [], []
        for vf in src.decode(stream):
            frames.append(vf.to_ndarray(format="bgr24"))
            times.append(float(vf.pts * stream.time_base))
        return frames, times, float(stream.average_rate or 0)


def audio_duration(path: Path) -> float | None:
    """Seconds of decoded audio in the file's first audio stream (None if it has none)."""
    with av.open(str(path)) as src:
        if not src.streams.audio:
            return None
        stream = src.streams.audio[0]
        samples = sum(frame.samples for frame in src.decode(stream))
        return samples / stream.rate


def decode_bgra(path: Path) -> list[np.ndarray]:
    """All frames of a video with an alpha channel, as BGRA (fails if the decoded frames carry no alpha)."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        if stream.codec_context.name == "vp9":  # FFmpeg's own VP9 decoder ignores the alpha layer; libvpx reads it
            decoder = av.CodecContext.create("libvpx-vp9", "r")
            frames = [f for packet in container.demux(stream) for f in decoder.decode(packet)]
        else:
            frames = list(container.decode(stream))
        assert all(any(c.is_alpha for c in f.format.components) for f in frames), frames[0].format.name
        return [f.to_ndarray(format="bgra") for f in frames]
