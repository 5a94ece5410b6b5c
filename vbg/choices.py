"""The closed sets of values that settings take, and defaults several layers share, in one dependency-free
module: the model and compositing code, the config validation and the command-line flags all read them from
here (importing it costs nothing, so ``vbg --help`` and a bad preset never wait for OpenVINO or OpenCV)."""

#: IR weight format and runtime compute type: fp16 is an fp16-compressed IR; bf16 is the fp32 IR run with the
#: CPU's bf16 inference hint; int8 is the fp32 IR quantised by NNCF (vbg.model.quantize).
PRECISIONS = ("fp32", "fp16", "bf16", "int8")
#: Live mask policy: auto measures whether the model keeps up with the camera (own masks if it does, else the
#: newest); own = each frame waits (briefly) for its own mask; newest = each frame is shown at once.
LIVE_MASKS = ("auto", "own", "newest")
#: How the model shrinks the frame inside the IR: antialias (area-like, matches the reference) or fast (bilinear).
RESIZE_MODES = ("antialias", "fast")
#: How a background picture fills the frame: cover crops, contain letterboxes, stretch distorts.
FIT_MODES = ("cover", "contain", "stretch")
#: Blur radius in px: ``--blur`` without a value, and the background when none is given.
DEFAULT_BLUR = 21
