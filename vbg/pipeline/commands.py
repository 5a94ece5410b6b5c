"""``vbg ctl`` verbs: checked where they arrive (the socket thread: a background file is opened there, so the
pipeline never waits on a disk), applied by the compositor thread before its next frame (``Controls.poll``).

Each verb becomes a ``Command`` whose action runs on ``Controls``; the sender waits for it to be applied and
replies with the output frame it took effect on, or the action's one-line error (nothing changed then).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..compose.backgrounds import BlurBackground, ColorBackground
from ..compose.compositing import open_background
from ..errors import VbgError
from ..media.imageio import read_image

if TYPE_CHECKING:
    from .control import Controls

#: verb -> its arguments, as ``vbg ctl --help`` and the errors show them
VERBS = {
    "status": "", "background": "FILE|next", "blur": "[PX]", "color": "COLOR", "mode": "picture|blur|color|none",
    "pause": "[IMAGE]", "resume": "", "mirror": "on|off", "overlay": "on|off", "quit": "",
}
MODES = ("picture", "blur", "color", "none")
SWITCH = {"on": True, "off": False}

Action = Callable[["Controls"], None]


class Command:
    """One verb on its way to the compositor thread, and its outcome."""

    def __init__(self, verb: str, action: Action) -> None:
        self.verb = verb
        self.action = action
        self.done = threading.Event()
        self.error: str | None = None
        self.frame: int | None = None

    def run(self, controls: Controls, frame: int) -> None:
        """Apply (compositor thread); ``frame``: the number of the next output frame, the first to show it."""
        try:
            self.action(controls)
        except VbgError as exc:
            self.error = str(exc)
        self.frame = frame
        self.done.set()

    def reply(self, timeout: float) -> dict:
        """The outcome once applied; a run that outputs no frames just now (paused input, nobody watching the
        virtual camera) applies it on its next one: the reply says it is queued."""
        if not self.done.wait(timeout):
            return {"ok": True, "queued": True}
        if self.error is not None:
            return {"ok": False, "error": self.error}
        return {"ok": True, "frame": self.frame}


def usage(verb: str) -> str:
    return f"vbg ctl {verb} {VERBS[verb]}".rstrip()


def _one(verb: str, args: list[str], optional: bool = False) -> str | None:
    """The verb's single argument (None when it is optional and not given), or a one-line usage error."""
    if len(args) > 1 or (not args and not optional):
        raise VbgError(f"{verb} takes {'at most ' if optional else ''}one argument: {usage(verb)}")
    return args[0] if args else None


def _switch(verb: str, args: list[str]) -> bool:
    value = _one(verb, args)
    if value not in SWITCH:
        raise VbgError(f"{verb} {value}: use {usage(verb)}")
    return SWITCH[value]


def parse(verb: str, args: list[str], fit: str) -> Command:
    """The command for ``verb args``; ``VbgError`` (one line, with the usage) when either is wrong."""
    if verb not in VERBS:
        raise VbgError(f"unknown verb {verb!r}: use one of {', '.join(VERBS)}")
    if verb in ("resume", "quit", "status") and args:
        raise VbgError(f"{verb} takes no argument: {usage(verb)}")
    if verb == "background":
        path = _one(verb, args)
        if path == "next":
            return Command(verb, lambda c: c.compositor.next_background())
        background = open_background(path, fit)
        return Command(verb, lambda c: c.compositor.show(background))
    if verb == "blur":
        px = _one(verb, args, optional=True)
        if px is not None and (not px.isdigit() or int(px) < 1):
            raise VbgError(f"bad blur {px!r}: give a positive number of pixels, e.g. {usage(verb)} -> blur 21")
        blur = BlurBackground(int(px)) if px else None
        return Command(verb, lambda c: c.compositor.show(blur) if blur else c.compositor.select_mode("blur"))
    if verb == "color":
        color = ColorBackground(_one(verb, args))
        return Command(verb, lambda c: c.compositor.show(color))
    if verb == "mode":
        mode = _one(verb, args)
        if mode not in MODES:
            raise VbgError(f"unknown mode {mode!r}: use {usage(verb)}")
        return Command(verb, lambda c: c.compositor.select_mode(mode))
    if verb == "pause":
        path = _one(verb, args, optional=True)
        picture = _pause_picture(path) if path else None
        return Command(verb, lambda c: c.pause(picture))
    if verb == "resume":
        return Command(verb, lambda c: c.resume())
    if verb == "mirror":
        on = _switch(verb, args)
        return Command(verb, lambda c: setattr(c, "mirror_on", on))
    if verb == "overlay":
        on = _switch(verb, args)
        return Command(verb, lambda c: setattr(c, "overlay_on", on))
    return Command(verb, lambda c: c.stop())  # quit


def _pause_picture(path: str):
    try:
        return read_image(path)
    except VbgError:
        raise VbgError(f"pause picture {path} cannot be read: give {usage('pause')} a JPEG, PNG, BMP, WebP or "
                       f"TIFF picture") from None
