"""Does a video file decode cleanly?  For inputs that are read again and again (a looping background).

FFmpeg conceals damage: a file with garbled bytes mid-way often still yields every frame, some of them
smeared blocks, and says so only in its log ("error while decoding MB ...").  A background video is shown for
the whole job, so such a file is checked once, before any work: decoded to the end (pictures are not converted,
so a 10 s 720p loop takes about a second on one thread) with FFmpeg's error log captured.
"""

from __future__ import annotations

import av

#: decode at most this much of a background when checking it (longer files are checked up to here)
CHECK_SECONDS = 120.0


def decode_problem(path: str, seconds: float = CHECK_SECONDS) -> str | None:
    """Why ``path``'s first video stream does not decode cleanly (one phrase), or None when it does."""
    previous = av.logging.get_level()
    av.logging.set_level(av.logging.ERROR)
    frames = 0
    try:
        with av.logging.Capture(local=False) as logs, av.open(path) as container:
            stream = container.streams.video[0]
            # one thread: FFmpeg's decoder threads log through the Python callback, which needs the GIL, while
            # closing the decoder early (at the first error) waits for them; with threads it deadlocked
            stream.thread_type = "NONE"
            stream.codec_context.thread_count = 1
            limit = None
            for frame in container.decode(stream):
                frames += 1
                if frame.time is not None:
                    limit = frame.time if limit is None else limit
                    if frame.time - limit > seconds:
                        break
                if logs:
                    break
    except av.FFmpegError as exc:
        return f"frame {frames + 1} does not decode ({exc.strerror or exc})"
    finally:
        av.logging.set_level(previous)
    if logs:
        message = " ".join(str(logs[0][2]).split())
        return f"decoding errors from frame {frames} on ({message})"
    return None
