"""Carries the input's audio into the output file, interleaved with the video as it is written."""

from __future__ import annotations

from typing import Any

class AudioCarrier:
    """Carries the first audio stream of an input file into an output container, in step with the video.

    A stream copy (``add_stream_from_template``, bit-exact, no quality loss) when the output container
    accepts the codec, else a transcode (AAC, or Opus for .webm, which cannot hold AAC).  Packets keep their
    timestamps, so audio/video sync is exactly the input's as long as the video keeps its timestamps too.
    ``mux_until(t)`` writes the packets that start before ``t`` seconds: called after each video frame it
    keeps the file interleaved, and an interrupted job's file has sound up to where its picture stops.
    """

    TRANSCODE_TO = ("aac", "libopus", "opus", "libvorbis")

    def __init__(self, source: str, output: Any) -> None:
        import av

        self.input = av.open(source)
        try:
            self.stream_in = self.input.streams.audio[0] if self.input.streams.audio else None
            self.stream_out = None
            self.copy = True
            self._pending = None
            self._flushed = False
            if self.stream_in is None:
                return
            try:
                self.stream_out = output.add_stream_from_template(self.stream_in)
            except ValueError:  # e.g. AAC into .webm
                self.copy = False
                self.stream_out = self._transcoder(output)
            self._packets = self.input.demux(self.stream_in)
        except BaseException:
            self.input.close()
            raise

    def _transcoder(self, output: Any) -> Any:
        import av

        rate = self.stream_in.codec_context.sample_rate or 48000
        for name in self.TRANSCODE_TO:
            try:
                rates = av.Codec(name, "w").audio_rates
                out_rate = rate if not rates or rate in rates else max(rates)
                stream = output.add_stream(name, rate=out_rate)
            except (ValueError, av.FFmpegError):
                continue
            layout = self.stream_in.codec_context.layout
            if layout is not None and layout.nb_channels <= 2:
                stream.layout = layout.name
            return stream
        raise ValueError(f"no audio encoder fits the {output.format.name} container")

    def mux_until(self, output: Any, seconds: float | None) -> None:
        """Write the packets that start before ``seconds`` (None: everything that is left)."""
        if self.stream_in is None or self._flushed:
            return
        tb = self.stream_in.time_base
        while True:
            packet = self._pending if self._pending is not None else next(self._packets, None)
            self._pending = None
            if packet is None:
                return
            start = packet.pts if packet.pts is not None else packet.dts
            if start is None:  # the demuxer's final empty packet
                continue
            if seconds is not None and float(start * tb) >= seconds:
                self._pending = packet
                return
            if self.copy:
                packet.stream = self.stream_out
                output.mux(packet)
            else:
                for frame in packet.decode():
                    output.mux(self.stream_out.encode(frame))

    def finish(self, output: Any, seconds: float | None) -> None:
        """Write the rest (up to ``seconds``) and flush the encoder; once."""
        if self.stream_in is None or self._flushed:
            return
        self.mux_until(output, seconds)
        if not self.copy:
            output.mux(self.stream_out.encode(None))
        self._flushed = True

    def close(self) -> None:
        self.input.close()
