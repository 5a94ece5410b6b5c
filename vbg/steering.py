"""Steering a running live job from outside: the control socket (``vbg ctl``) and SIGHUP re-reading ``--config``.

Both only queue commands (``vbg.pipeline.commands``) that the compositor thread applies before its next frame,
so a change never drops the stream.  The control page (``vbg.panel``, ``--panel``) steers through the same
``handle`` and ``status``.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path

import numpy as np

from .config import load_yaml
from .errors import VbgError, notice
from .pipeline.commands import parse
from .pipeline.core import Pipeline
from .pipeline.ctlsocket import DEFAULT_NAME, ControlServer, Handler, NameTaken, socket_path
from .pipeline.metrics import CpuMeter


class Steering:
    """Listens for ``vbg ctl`` as run ``name`` and, with a config file, re-reads it on SIGHUP.  ``close``
    removes the socket and restores SIGHUP (every way out of the run calls it)."""

    def __init__(self, pipeline: Pipeline, name: str | None, config_file: str | None = None) -> None:
        self.pipeline = pipeline
        self.config_file = config_file
        self._cpu = CpuMeter()  # read only when status is asked for
        self.server = listen(name, self.handle)
        self._old_hup = None
        # without --config SIGHUP keeps its default (a closed terminal ends the run)
        if config_file and hasattr(signal, "SIGHUP") and threading.current_thread() is threading.main_thread():
            self._old_hup = signal.signal(signal.SIGHUP, self._hangup)

    def handle(self, verb: str, args: list[str]) -> dict:
        """A ``vbg ctl`` request (the control socket's thread): ``status`` is answered at once, anything else is
        queued for the compositor thread and answered once applied (see ``commands.Command``)."""
        if verb == "status":
            return {"ok": True, "status": self.status()}
        command = parse(verb, args, self.pipeline.compositor.fit)
        if self.pipeline.stopping:
            return {"ok": False, "error": "the run is ending"}
        self.pipeline.controls.commands.put(command)
        return command.reply(timeout=5.0)

    def status(self) -> dict:
        """What ``vbg ctl status`` shows: what runs, what is shown, and what it costs."""
        pipeline, controls = self.pipeline, self.pipeline.controls
        sinks = pipeline.sinks
        viewers = [sink.readers.readers for sink in sinks if sink.readers is not None]
        return {"input": pipeline.source.info.source, "outputs": [sink.name for sink in sinks],
                **pipeline.compositor.state(), "paused": controls.paused, "mirror": controls.mirror_on,
                "mirrored": [sink.name for sink in sinks if controls.mirror_for(sink)],
                "overlay": controls.overlay_on, "fps": round(pipeline.output_rate.rate(), 1),
                "model_rate": round(pipeline.mask_rate.rate(), 1), "cpu": self._cpu.share(),
                "frames": pipeline.stats.frames_out, "frames_read": pipeline.source.frames_read, "viewers": sum(viewers) if viewers else None,
                "model": pipeline.stats.model}

    def picture(self) -> tuple[np.ndarray, bool] | None:
        """The newest output picture and whether a preview mirrors it (as the window does), for the control
        page; None before the first frame.  Read on request only: the pipeline does nothing for it."""
        last = self.pipeline.controls.last_output
        return None if last is None else (last[1], self.pipeline.controls.mirror_on)

    def _hangup(self, signum, frame) -> None:
        try:
            commands = reload_commands(load_yaml(self.config_file), self.pipeline.compositor.fit)
        except VbgError as exc:
            notice(f"SIGHUP: {self.config_file} not applied: {exc}")
            return
        for command in commands:
            self.pipeline.controls.commands.put(command)
        notice(f"SIGHUP: re-read {self.config_file}: {', '.join(c.verb for c in commands) or 'nothing to change'}")

    def close(self) -> None:
        self.server.close()
        if self._old_hup is not None:
            signal.signal(signal.SIGHUP, self._old_hup)


def listen(name: str | None, handler: Handler) -> ControlServer:
    """The control socket for run ``name``.  A name the user chose must be free (a clear error otherwise); the
    default one steps to ``default-2``, ``-3``, ... with a notice, so a second run without --name still starts."""
    if name is not None:
        return ControlServer(socket_path(name), handler)
    for number in range(1, 100):
        candidate = DEFAULT_NAME if number == 1 else f"{DEFAULT_NAME}-{number}"
        try:
            server = ControlServer(socket_path(candidate), handler)
        except NameTaken:
            continue
        if number > 1:
            notice(f"another run is called {DEFAULT_NAME}: steer this one with vbg ctl --name {candidate}")
        return server
    raise VbgError("99 runs without --name are listening already: give this one a --name")


def reload_commands(values: dict, fit: str) -> list:
    """The commands a re-read config asks for.  Applied last is shown, so they go in the reverse of the order
    ``build_compositor`` ranks them (pictures first): colour, blur, then the first picture."""
    wanted: list[tuple[str, list[str]]] = []
    if values.get("color"):
        wanted.append(("color", [values["color"]]))
    if values.get("blur"):
        wanted.append(("blur", [str(values["blur"])]))
    if values.get("background"):
        wanted.append(("background", [str(Path(values["background"][0]).expanduser())]))
    if values.get("mirror") is not None:
        wanted.append(("mirror", ["on" if values["mirror"] else "off"]))
    return [parse(verb, args, fit) for verb, args in wanted]
