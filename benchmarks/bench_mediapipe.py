"""Whole-process file throughput of ``vbg run`` side by side with the MediaPipe-selfie loop that
Linux-Fake-Background-Webcam users run (issue 37), on the same clip, background, encoder and machine.

Each row is one process timed from spawn to exit (Python start, model load, every frame, the file closed):
- the MediaPipe loop (``mediapipe_loop.py``: LFBW's per-frame loop for a file, landscape 256x144 model; a second
  row with the square 256x256 model), run in its own venv ``.venv-mediapipe`` (mediapipe and PyAV, installed
  with pip on first use: mediapipe brings opencv-contrib-python, which clashes with vbg's opencv-python), with
  the models from the npm package ``@mediapipe/selfie_segmentation`` (``npm pack``, cached in ``out/mediapipe/``);
- ``vbg run CLIP -o OUT.mp4 -y --no-progress --background IMG`` with the defaults, and one row per
  ``--vbg-args`` (e.g. ``--vbg-args "--precision int8" --vbg-args "--gate"``);
- with ``--repo DIR``, the defaults row again from another checkout of vbg (its own package first on the path,
  this interpreter's packages): a change and what it replaces, timed in the same rounds.
Both write H.264 with vbg's file defaults (codec, pixel format, crf, preset, one x264 thread per 4 cores) and
copy the clip's audio.

The clip is ``--frames`` frames (default 300: 10 s of 720p30, the issue's clip) of ``--clip`` (default the
bundled 4 s sample) looped from its start as often as needed, re-encoded once into ``out/mediapipe/`` (H.264 at
crf 16, the audio packets copied), so every row reads the same file.  One untimed warm-up run of each row (model
caches, page cache), then ``--rounds`` interleaved rounds, row after row, so a slow moment of a shared machine
hits every row alike.  The table gives the median frames/s, its ratio to the MediaPipe loop (landscape), the
CPU time (user + sys of the process and its children) per frame and the cores that makes busy, and the frames
each output decodes to (flagged when not the clip's).  The outputs stay in ``out/mediapipe/`` to look at.

Run: ``VBG_WEIGHTS_DIR=../shared/models .venv/bin/python benchmarks/bench_mediapipe.py --vbg-args "--precision
int8" --vbg-args --gate --vbg-args "--precision int8 --gate"``: about 5 minutes (the first run also installs
mediapipe, a minute more).  A check: ``--frames 30 --rounds 1``.
"""

from __future__ import annotations

import argparse
import importlib.metadata
import os
import resource
import shlex
import statistics
import subprocess
import sys
import tarfile
import time
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import av

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from vbg.config import RunConfig  # noqa: E402
from vbg.media.sinks.codecs import default_codec_for  # noqa: E402
from vbg.model.devices import cpu_name  # noqa: E402

VENV = ROOT / ".venv-mediapipe"
CACHE = ROOT / "out" / "mediapipe"
LOOP = ROOT / "benchmarks" / "mediapipe_loop.py"
NPM_PACKAGE = "@mediapipe/selfie_segmentation@0.1.1675465747"  # the last release of the Solutions models
MODELS = {"landscape 256x144": "selfie_segmentation_landscape.tflite", "square 256x256": "selfie_segmentation.tflite"}


@dataclass
class Row:
    label: str
    command: list[str]
    output: Path
    checkout: Path = ROOT  # the vbg whose code a ``vbg run`` row runs (``--repo``)
    fps: list[float] = field(default_factory=list)
    cpu_per_frame: list[float] = field(default_factory=list)  # seconds
    cores: list[float] = field(default_factory=list)
    outputs: set[tuple[int, bool]] = field(default_factory=set)  # (frames decoded, has audio) of each run


def mediapipe_python() -> tuple[Path, str]:
    """The venv's interpreter and its mediapipe version; the venv is made, with mediapipe and PyAV, when missing."""
    python = VENV / "bin" / "python"
    probe = [str(python), "-c", "import av, mediapipe; print(mediapipe.__version__)"]
    found = subprocess.run(probe, capture_output=True, text=True) if python.is_file() else None
    if found is None or found.returncode != 0:
        print(f"making {VENV.name} (mediapipe, av) ...", flush=True)
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "--quiet", "mediapipe", "av"], check=True)
        found = subprocess.run(probe, capture_output=True, text=True, check=True)
    return python, found.stdout.strip()


def mediapipe_model(python: Path, name: str) -> Path:
    """The npm package's model ``name`` with the Tasks API's metadata added (made once)."""
    model = CACHE / name
    if model.is_file():
        return model
    CACHE.mkdir(parents=True, exist_ok=True)
    tarballs = sorted(CACHE.glob("mediapipe-selfie_segmentation-*.tgz"))
    if not tarballs:
        subprocess.run(["npm", "pack", NPM_PACKAGE, "--pack-destination", str(CACHE)], check=True,
                       stdout=subprocess.DEVNULL)
        tarballs = sorted(CACHE.glob("mediapipe-selfie_segmentation-*.tgz"))
    plain = CACHE / f"plain-{name}"
    with tarfile.open(tarballs[-1]) as tar, open(plain, "wb") as f:
        f.write(tar.extractfile(f"package/{name}").read())
    subprocess.run([str(python), str(LOOP), "--prepare", str(plain), str(model)], check=True)
    return model


def looped_clip(source: Path, frames: int) -> Path:
    """``frames`` frames of ``source`` looped from its start, with its audio, as one file (made once)."""
    path = CACHE / f"{source.stem}-{source.stat().st_size}-{frames}f.mp4"
    if path.is_file():
        return path
    CACHE.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}")
    with av.open(str(source)) as src:
        rate = src.streams.video[0].average_rate
    end, done = Fraction(frames) / rate, 0
    with av.open(str(partial), "w") as out:
        video = audio = None
        while done < frames:  # one pass of the source per loop, its timestamps shifted to follow the last
            offset = Fraction(done) / rate
            with av.open(str(source)) as src:
                video_in = src.streams.video[0]
                audio_in = src.streams.audio[0] if src.streams.audio else None
                if video is None:
                    video = out.add_stream("libx264", rate=rate,
                                           options={"crf": "16", "preset": "veryfast"})
                    video.width, video.height, video.pix_fmt = video_in.width, video_in.height, "yuv420p"
                    audio = out.add_stream_from_template(audio_in) if audio_in else None
                for packet in src.demux(*filter(None, (video_in, audio_in))):
                    if packet.stream is audio_in:  # a later pass drops the encoder's priming (pts < 0)
                        if packet.dts is not None and (offset == 0 or packet.pts >= 0) \
                                and offset + packet.pts * packet.time_base < end:
                            shift = round(offset / packet.time_base)
                            packet.pts, packet.dts, packet.stream = packet.pts + shift, packet.dts + shift, audio
                            out.mux(packet)
                        continue
                    for decoded in packet.decode():
                        if done < frames:  # a fresh frame: the decoded one's picture type would bind x264
                            frame = av.VideoFrame.from_ndarray(decoded.to_ndarray(), format=decoded.format.name)
                            frame.pts, frame.time_base = done, 1 / rate
                            out.mux(video.encode(frame))
                            done += 1
                if done == 0:
                    raise SystemExit(f"{source} has no video frames")
        out.mux(video.encode())
    partial.rename(path)
    return path


def decoded(path: Path) -> tuple[int, bool]:
    """(frames the file's video decodes to, whether it has audio); (0, False) when it does not open."""
    try:
        with av.open(str(path)) as container:
            return sum(1 for _ in container.decode(video=0)), bool(container.streams.audio)
    except (av.FFmpegError, OSError):
        return 0, False


def run(row: Row, env: dict[str, str], frames: int, timed: bool = True) -> None:
    """One whole-process run of ``row``: wall seconds from spawn to exit and the CPU of the process tree
    (recorded when ``timed``), and the frames its output decodes to."""
    row.output.unlink(missing_ok=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    proc = subprocess.run(row.command, cwd=row.checkout, env={**env, "PYTHONPATH": str(row.checkout)},
                          capture_output=True, text=True)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        raise SystemExit(f"{row.label} failed ({shlex.join(row.command)}):\n{proc.stderr[-3000:]}")
    row.outputs.add(decoded(row.output))
    if timed:
        cpu = after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime
        row.fps.append(frames / seconds)
        row.cpu_per_frame.append(cpu / frames)
        row.cores.append(cpu / seconds)


def joined(argv: list[str]) -> list[str]:
    """``--vbg-args --gate`` as ``--vbg-args=--gate``: argparse takes a lone ``--gate`` for an option of its own."""
    out, words = [], iter(argv)
    for word in words:
        out.append(f"{word}={next(words, '')}" if word == "--vbg-args" else word)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--clip", type=Path, default=ROOT / "samples" / "person_720p.mp4")
    parser.add_argument("--background", type=Path, default=ROOT / "samples" / "background_beach.jpg")
    parser.add_argument("--frames", type=int, default=300, help="frames of the clip (the source loops)")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--vbg-args", action="append", default=[], metavar="ARGS",
                        help="an extra vbg row with these options (repeatable), e.g. '--precision int8'")
    parser.add_argument("--repo", type=Path, action="append", default=[], metavar="DIR",
                        help="the defaults row again from another checkout of vbg (repeatable)")
    args = parser.parse_args(joined(sys.argv[1:]))

    python, mp_version = mediapipe_python()
    clip = looped_clip(args.clip.resolve(), args.frames)
    background = str(args.background.resolve())
    codec, pix_fmt = default_codec_for("out.mp4", alpha=False)
    encoder = ["--codec", codec, "--pix-fmt", pix_fmt, "--crf", str(RunConfig.crf), "--preset", RunConfig.preset,
               "--threads", str(max(1, (os.cpu_count() or 1) // 4))]  # as FileSink sets x264's threads
    rows = []
    for kind, name in MODELS.items():
        output = CACHE / f"out-mediapipe-{Path(name).stem}.mp4"
        rows.append(Row(f"MediaPipe loop, {kind} model",
                        [str(python), str(LOOP), str(clip), "--background", background, "-o", str(output),
                         "--model", str(mediapipe_model(python, name)), *encoder], output))
    runs = [(f"`vbg run` {extra or 'defaults'}", extra, ROOT) for extra in ["", *args.vbg_args]]
    runs += [(f"`vbg run` defaults, {repo.name}", "", repo.resolve()) for repo in args.repo]
    for index, (label, extra, checkout) in enumerate(runs):
        output = CACHE / f"out-vbg-{index}.mp4"
        rows.append(Row(label, [sys.executable, "-m", "vbg", "run", str(clip), "-o", str(output), "-y",
                                "--no-progress", "--background", background, *shlex.split(extra)], output, checkout))
    env = dict(os.environ)

    started = time.strftime("%Y-%m-%d %H:%M")
    for row in rows:  # warm-up: model conversion and compile caches, the page cache
        run(row, env, args.frames, timed=False)
    for _ in range(args.rounds):
        for row in rows:
            run(row, env, args.frames)

    with av.open(str(clip)) as container:
        stream, audio = container.streams.video[0], bool(container.streams.audio)
        described = (f"{stream.width}x{stream.height} at {float(stream.average_rate):.0f} fps, "
                     f"{'with' if audio else 'no'} audio")
    print(f"CPU: {cpu_name()}; {started} to {time.strftime('%H:%M')}; OpenVINO {importlib.metadata.version('openvino')}"
          f", mediapipe {mp_version}")
    print(f"clip: {args.frames} frames of {args.clip.name} looped ({described}); background {args.background.name}; "
          f"{codec} {pix_fmt} crf {RunConfig.crf} {RunConfig.preset}; median of {args.rounds} rounds after a warm-up\n")
    print("| process | frames/s | x MediaPipe loop | CPU ms/frame | cores busy | output | each round, frames/s |")
    print("|---|---:|---:|---:|---:|---|---|")
    base = statistics.median(rows[0].fps)
    for row in rows:
        fps = statistics.median(row.fps)
        out = ", ".join(f"{n}{' + audio' if a else ''}" for n, a in sorted(row.outputs))
        expected = f"{args.frames}{' + audio' if audio else ''}"
        ok = "ok" if row.outputs == {(args.frames, audio)} else f"**expected {expected}**"
        print(f"| {row.label} | {fps:.1f} | {fps / base:.2f}x | {1000 * statistics.median(row.cpu_per_frame):.1f} "
              f"| {statistics.median(row.cores):.2f} | {out} ({ok}) | {', '.join(f'{x:.1f}' for x in row.fps)} |")


if __name__ == "__main__":
    main()
