"""Options shared by several subcommands (model, background, refinement) and the exit codes.

Flags that a ``--config`` preset may also set are added with ``suppress=True``: unset flags stay out of the
namespace, so the preset's value (or ``RunConfig``'s default) wins over an argparse literal.
"""

from __future__ import annotations

import argparse
import difflib
from collections.abc import Sequence

EXIT_SOME_FAILED = 1  # vbg image, batch and bench: some items failed (each is named); the others were written
EXIT_USAGE = 2
EXIT_SOURCE_LOST = 3  # the outputs are complete up to the moment the live input went away
EXIT_INTERRUPTED = 130  # 128 + SIGINT
EXIT_TERMINATED = 143  # 128 + SIGTERM


class CliParser(argparse.ArgumentParser):
    """Usage mistakes (an unknown --model, a missing value) get the same one-line form as every other error;
    the full usage stays in --help.  Subcommand parsers are made from this class too.

    A misspelt option or value gets "did you mean ...?": argparse's own ``suggest_on_error`` needs Python
    3.14, and vbg runs on 3.10."""

    def error(self, message: str):
        self.exit(EXIT_USAGE, f"vbg: error: {message}; see {self.prog} --help\n")

    def parse_args(self, args=None, namespace=None):
        """As argparse's, but unknown options are reported by the subcommand they were given to (its help,
        its options to suggest), not by the top-level ``vbg`` parser."""
        parsed, extras = self.parse_known_args(args, namespace)
        if extras:
            parser = self._command_parser(getattr(parsed, "command", None))
            words = [f"{word}{_maybe(word.split('=', 1)[0], parser._visible_options())}" for word in extras]
            parser.error(f"unrecognized argument{'s' if len(words) > 1 else ''}: {' '.join(words)}")
        return parsed

    def _command_parser(self, command: str | None) -> argparse.ArgumentParser:
        for action in self._actions:
            if isinstance(action, argparse._SubParsersAction) and command in action.choices:
                return action.choices[command]
        return self

    def _visible_options(self) -> list[str]:
        return [option for action in self._actions if action.help is not argparse.SUPPRESS
                for option in action.option_strings if option.startswith("--")]

    def _check_value(self, action, value):
        if action.choices is not None and value not in action.choices and isinstance(value, str):
            hint = _maybe(value, [str(choice) for choice in action.choices])
            if hint:
                choices = ", ".join(map(str, action.choices))
                raise argparse.ArgumentError(action, f"invalid choice: {value!r}{hint} (choose from {choices})")
        super()._check_value(action, value)


def _maybe(word: str, known: Sequence[str]) -> str:
    """`` (did you mean X?)`` when ``word`` is close to one of ``known``, else nothing."""
    close = difflib.get_close_matches(word, known, n=1)
    return f" (did you mean {close[0]}?)" if close else ""


def add_model_args(parser: argparse.ArgumentParser, suppress: bool = False) -> None:
    """Options that choose and build the segmentation model (shared by every subcommand that runs it).

    ``suppress`` leaves unset options out of the namespace, so a config preset can provide them.
    """
    from ..choices import PRECISIONS, RESIZE_MODES
    from ..config import RunConfig
    from ..model.settings import SegmenterConfig

    D = RunConfig if suppress else SegmenterConfig  # vbg run/batch show the run defaults (resize differs)
    from ..model.weights import MODELS

    g = parser.add_argument_group("model")
    if suppress:
        g = _SuppressingGroup(g)
    g.add_argument("--model", default=D.model, choices=list(MODELS), help="segmentation model (default %(default)s)")
    g.add_argument("--device", default=D.device, help="OpenVINO device: CPU, GPU, NPU, AUTO, ... (default: a GPU where OpenVINO lists one, "
                        "else the CPU)")
    g.add_argument("--size", default=D.size,
                   help="model input size: auto (the frame's aspect at about 256x256 pixels), auto:N (at NxN), "
                        "N or WxH in multiples of 32 (default %(default)s)")
    g.add_argument("--precision", default=D.precision, choices=["auto", *PRECISIONS],
                   help="auto = on a CPU int8 for video files, bf16 for photos where the CPU has it, else fp32; "
                        "fp16 on GPU/NPU; on a live input the most accurate one that keeps up, timed once per "
                        "machine; int8 = NNCF-quantised (default %(default)s)")
    g.add_argument("--resize", default=D.resize, choices=list(RESIZE_MODES),
                   help="input resize inside the model: antialias matches the reference, fast saves time "
                        "(default %(default)s)")
    g.add_argument("--weights", metavar="PATH", help="PyTorch checkpoint (default: $VBG_WEIGHTS_DIR, cache, download)")
    g.add_argument("--cache-dir", metavar="DIR", help="weights and IR cache (default: $VBG_CACHE_DIR or ~/.cache/vbg)")
    g.add_argument("--calibration", metavar="DIR", help="int8: images/videos to calibrate on (default: the samples)")


class _SuppressingGroup:
    """Adds arguments with ``default=SUPPRESS`` whatever default the caller passes."""

    def __init__(self, group) -> None:
        self.group = group

    def add_argument(self, *names, **kwargs):
        # the value shown is the caller's default (a preset may still change it); the namespace gets none
        shown = kwargs.get("default")
        kwargs["default"] = argparse.SUPPRESS
        kwargs["help"] = kwargs.get("help", "").replace("%(default)s", str(shown))
        return self.group.add_argument(*names, **kwargs)


def add_background_args(parser: argparse.ArgumentParser, allow_video: bool, suppress: bool = False,
                        window_keys: bool = False, still: bool = False) -> None:
    """The background and refinement options.  ``still`` (``vbg image``: each photo on its own) offers only
    what changes a still: one background, chosen by exactly one option (a photo shows no second one and has
    no keys to cycle them), and no temporal smoothing (a photo has no previous frame to smooth against)."""
    from ..choices import DEFAULT_BLUR, FIT_MODES
    from ..config import RunConfig

    keys = "; the b and m keys of --window cycle them" if window_keys else ""  # only vbg run has a window
    g = parser.add_argument_group("background (one of these)" if still else
                                  f"background (several: the first is used{keys})")
    if suppress:
        g = _SuppressingGroup(g)
    kind = "IMAGE or VIDEO" if allow_video else "IMAGE"
    choice = g.add_mutually_exclusive_group() if still else g
    several = {"action": _OneBackground} if still else {"action": "append"}
    choice.add_argument("--background", "-b", default=[], metavar=kind, help=f"replacement {kind.lower()}", **several)
    choice.add_argument("--color", metavar="COLOR", help="flat colour: #rrggbb, r,g,b or a name (green, blue, ...)")
    choice.add_argument("--blur", nargs="?", const=DEFAULT_BLUR, type=int, metavar="PX",
                        help=f"blur the real background (default {DEFAULT_BLUR} px; also what happens with no "
                             f"background option at all)")
    videos = "" if still else ", .mov ProRes 4444/.webm VP9 videos"
    choice.add_argument("--transparent", action="store_true",
                        help=f"keep the matte as alpha (.png/.webp/.tiff images{videos})")
    g.add_argument("--fit", choices=FIT_MODES, default=RunConfig.fit,
                   help="how a picture fills the frame: cover crops, contain letterboxes (default %(default)s)")
    add_refine_args(parser, suppress, temporal=not still)


class _OneBackground(argparse.Action):
    """``vbg image --background``: one picture; a second one would silently replace the first."""

    def __call__(self, parser, namespace, values, option_string=None):
        if getattr(namespace, self.dest):
            parser.error(f"argument {option_string}: give one background picture per photo, not several")
        setattr(namespace, self.dest, values)


def add_refine_args(parser: argparse.ArgumentParser, suppress: bool = False, temporal: bool = True) -> None:
    """Mask refinement options (vbg/compose/refine.py), with RunConfig's defaults (``vbg image`` has no presets);
    ``temporal``: the smoothing between successive frames, for videos."""
    from ..config import RunConfig

    g = parser.add_argument_group("mask refinement")
    if suppress:
        g = _SuppressingGroup(g)
    stages = "ramp, edge-aware upsampling, feather" + (", temporal smoothing" if temporal else "")
    g.add_argument("--refine", action=argparse.BooleanOptionalAction, default=RunConfig.refine,
                   help=f"refine the mask: {stages} (default on)")
    g.add_argument("--ramp", metavar="LOW,HIGH", default=RunConfig.ramp,
                   help="alpha levels mapped to 0 and 255, soft in between, or off (default %(default)s)")
    g.add_argument("--guided", action=argparse.BooleanOptionalAction, default=RunConfig.guided,
                   help="edge-aware upsampling guided by the frame (default on)")
    g.add_argument("--feather", type=float, metavar="SIGMA", default=RunConfig.feather,
                   help="soften edges by a Gaussian of SIGMA pixels, 0 = off (default %(default)s)")
    if temporal:
        g.add_argument("--smooth", type=float, metavar="W", default=RunConfig.smooth,
                       help="temporal smoothing weight where successive masks agree, 0 = off (default %(default)s)")
