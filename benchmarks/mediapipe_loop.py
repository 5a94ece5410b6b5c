"""The MediaPipe-selfie loop of Linux-Fake-Background-Webcam (LFBW), applied to a video file: the yardstick of
``bench_mediapipe.py``, which runs it as its own process in ``.venv-mediapipe`` (mediapipe brings
opencv-contrib-python, which must not share vbg's environment).  Only cv2, NumPy, PyAV and mediapipe here.

Per frame, one frame at a time in one loop, as LFBW's ``lfbw/lfbw.py`` does with its defaults
(``ImageSegmenter.segment`` and ``FakeCam.compose_frame``: threshold 75, post-processing on, background
``mask-update-speed`` 50, a picture background, no sigmoid, no foreground overlay):

1. the BGR frame resized to 256 wide (256x144 for 16:9) with INTER_AREA, BGR->RGB, ``ImageSegmenter.segment``
   (Tasks API, IMAGE mode, category mask on, confidence masks at their default);
2. the person (category 0) as a float32 0/1 mask, resized to the frame with INTER_LINEAR, 7x7 Gaussian blur;
3. threshold at 0.75 to 0/1, dilate with a 5x5 kernel, 10x10 box blur;
4. ``cv2.accumulateWeighted`` into the previous mask with weight 0.5 (the mask-update speed);
5. ``cv2.blendLinear(frame, background, mask, 1 - mask)`` into the frame; the picture was resized to the frame
   size once (LFBW's default, no crop).

Where LFBW sends the frame to the virtual camera, this encodes it into the output file with vbg's encoder
settings for files (given on the command line: codec, pixel format, crf, preset, x264 threads) and, like vbg's
file sink, OpenCV's BGR->I420 conversion.  The input is decoded with PyAV with frame threading, as vbg decodes
files, and the audio packets are copied as they are demuxed (vbg copies the audio too).

``--prepare SRC DEST``: the npm package's models have no TFLite metadata, which the Tasks API needs; this writes
it (input scaled to 0..1, as the old Solutions graph fed these models; no activation: the model ends in a
sigmoid) once, outside the timed runs, as LFBW downloads its model once.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import types

START = time.perf_counter()

import av  # noqa: E402
import cv2  # noqa: E402
import mediapipe as mp  # noqa: E402
import numpy as np  # noqa: E402
from mediapipe.tasks import python as mp_tasks  # noqa: E402
from mediapipe.tasks.python import vision  # noqa: E402

THRESHOLD = 0.75  # LFBW's --threshold 75
MASK_UPDATE_SPEED = 0.5  # LFBW's background mask-update-speed=50
MP_WIDTH = 256  # LFBW's segmenter input width; the height keeps the frame's aspect


def add_metadata(source: str, dest: str) -> None:
    """Copy the model ``source`` to ``dest`` with the Tasks API's image-segmenter metadata."""
    try:
        from mediapipe.tasks.python.metadata.metadata_writers import image_segmenter as writer
    except ModuleNotFoundError:  # the 1.2 wheels lack the C++ helper that only names the minimum parser version
        stub = types.SimpleNamespace(GetMinimumMetadataParserVersion=lambda _buffer: "1.0.0")
        for name in ("mediapipe.tasks.cc", "mediapipe.tasks.cc.metadata", "mediapipe.tasks.cc.metadata.python"):
            sys.modules.setdefault(name, types.ModuleType(name))
        sys.modules["mediapipe.tasks.cc.metadata.python"]._pywrap_metadata_version = stub
        from mediapipe.tasks.python.metadata.metadata_writers import image_segmenter as writer
    with open(source, "rb") as f:
        model = bytearray(f.read())
    written, _ = writer.MetadataWriter.create(model, [0.0], [255.0], activation=writer.Activation.NONE).populate()
    with open(dest, "wb") as f:
        f.write(written)


class Segmenter:
    """LFBW's ``ImageSegmenter``: the person mask at the frame's size, float32 0..1."""

    def __init__(self, model: str, width: int, height: int) -> None:
        options = vision.ImageSegmenterOptions(base_options=mp_tasks.BaseOptions(model_asset_path=model),
                                               output_category_mask=True)
        self.segmenter = vision.ImageSegmenter.create_from_options(options)
        self.frame_size = (width, height)
        self.input_size = (MP_WIDTH, int(MP_WIDTH * height / width))

    def mask(self, frame: np.ndarray) -> np.ndarray:
        small = cv2.cvtColor(cv2.resize(frame, self.input_size, interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2RGB)
        result = self.segmenter.segment(mp.Image(image_format=mp.ImageFormat.SRGB, data=small))
        person = (result.category_mask.numpy_view() == 0).astype(np.float32)
        person = cv2.resize(person, self.frame_size, interpolation=cv2.INTER_LINEAR)
        return cv2.GaussianBlur(person, (7, 7), 0)


def composite(frame: np.ndarray, mask: np.ndarray, previous: np.ndarray | None,
              background: np.ndarray) -> np.ndarray:
    """LFBW's ``compose_frame`` with its defaults: the frame becomes the composite; returns the mask to carry."""
    cv2.threshold(mask, THRESHOLD, 1, cv2.THRESH_BINARY, dst=mask)
    cv2.dilate(mask, np.ones((5, 5), np.uint8), dst=mask, iterations=1)
    cv2.blur(mask, (10, 10), dst=mask)
    if previous is None:
        previous = mask
    mask = cv2.accumulateWeighted(mask, previous, MASK_UPDATE_SPEED)
    cv2.blendLinear(frame, background, mask, 1 - mask, dst=frame)
    return mask


def run(args: argparse.Namespace) -> int:
    """Process the clip; the number of frames written."""
    with av.open(args.clip) as source, av.open(args.output, "w") as out:
        video_in = source.streams.video[0]
        video_in.thread_type = "AUTO"
        audio_in = source.streams.audio[0] if source.streams.audio else None
        width, height = video_in.width, video_in.height
        video = out.add_stream(args.codec, rate=video_in.average_rate)
        video.width, video.height, video.pix_fmt = width, height, args.pix_fmt
        video.time_base = video_in.time_base
        video.options = {"crf": str(args.crf), "preset": args.preset, "threads": str(args.threads)}
        audio = out.add_stream_from_template(audio_in) if audio_in else None
        segmenter = Segmenter(args.model, width, height)
        background = cv2.resize(cv2.imread(args.background), (width, height))
        previous, frames = None, 0
        for packet in source.demux(*filter(None, (video_in, audio_in))):
            if packet.stream is audio_in:
                if packet.dts is not None:
                    packet.stream = audio
                    out.mux(packet)
                continue
            for decoded in packet.decode():
                frame = decoded.to_ndarray(format="bgr24")
                previous = composite(frame, segmenter.mask(frame), previous, background)
                if args.pix_fmt == "yuv420p":
                    encoded = av.VideoFrame.from_ndarray(cv2.cvtColor(frame, cv2.COLOR_BGR2YUV_I420), format="yuv420p")
                else:
                    encoded = av.VideoFrame.from_ndarray(frame, format="bgr24")
                encoded.pts, encoded.time_base = decoded.pts, decoded.time_base
                out.mux(video.encode(encoded))
                frames += 1
        out.mux(video.encode())
        segmenter.segmenter.close()
    return frames


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("clip", nargs="?")
    parser.add_argument("--background")
    parser.add_argument("-o", "--output")
    parser.add_argument("--model", help="a selfie-segmentation .tflite with Tasks metadata (see --prepare)")
    parser.add_argument("--codec", default="libx264")
    parser.add_argument("--pix-fmt", default="yuv420p")
    parser.add_argument("--crf", type=int, default=23)
    parser.add_argument("--preset", default="veryfast")
    parser.add_argument("--threads", type=int, default=1, help="x264 threads")
    parser.add_argument("--prepare", nargs=2, metavar=("SRC", "DEST"), help="add Tasks metadata to a model, exit")
    args = parser.parse_args()
    if args.prepare:
        add_metadata(*args.prepare)
        return
    frames = run(args)
    print(json.dumps({"frames": frames, "seconds": round(time.perf_counter() - START, 3)}))


if __name__ == "__main__":
    main()
