"""Steering a running live job from outside: the control socket (``vbg ctl``) and SIGHUP re-reading ``--config``.

Both only queue commands (``vbg.pipeline.commands``) that the compositor thread applies before its next frame,
so a change never drops the stream.
"""

from __future__ import annotations

import signal
import threading
from pathlib import Path

from .config import load_yaml
from .errors import VbgError, notice
from .pipeline.commands import parse
from .pipeline.core import Pipeline
from .pipeline.ctlsocket import DEFAULT_NAME, ControlServer, NameTaken, socket_path


class Steering:
    """Listens for ``vbg ctl`` as run ``name`` and, with a config file, re-reads it on SIGHUP.  ``close``
    removes the socket and restores SIGHUP (every way out of the run calls it)."""

    def __init__(self, pipeline: Pipeline, name: str | None, config_file: str | None = None) -> None:
        self.pipeline = pipeline
        self.config_file = config_file
        self.server = listen(name, pipeline)
        self._old_hup = None
        # without --config SIGHUP keeps its default (a closed terminal ends the run)
        if config_file and hasattr(signal, "SIGHUP") and threading.current_thread() is threading.main_thread():
            self._old_hup = signal.signal(signal.SIGHUP, self._hangup)

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


def listen(name: str | None, pipeline: Pipeline) -> ControlServer:
    """The control socket for run ``name``.  A name the user chose must be free (a clear error otherwise); the
    default one steps to ``default-2``, ``-3``, ... with a notice, so a second run without --name still starts."""
    if name is not None:
        return ControlServer(socket_path(name), pipeline.command)
    for number in range(1, 100):
        candidate = DEFAULT_NAME if number == 1 else f"{DEFAULT_NAME}-{number}"
        try:
            server = ControlServer(socket_path(candidate), pipeline.command)
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
