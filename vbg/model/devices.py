"""OpenVINO devices: what is here, what each can compute in, and which runtime settings a precision needs."""

from __future__ import annotations

from dataclasses import dataclass

import openvino as ov

from ..errors import VbgError
from .settings import DEFAULT_DEVICE

#: Devices that pick or combine real devices; they are never listed in ``available_devices``.
META_DEVICES = ("AUTO", "MULTI", "HETERO", "BATCH")


@dataclass(frozen=True)
class DeviceInfo:
    """One physical device as OpenVINO reports it."""

    name: str
    full_name: str
    capabilities: tuple[str, ...]


def list_devices(core: ov.Core) -> list[DeviceInfo]:
    """The devices OpenVINO can use here, with full names and optimisation capabilities (FP32, BF16, INT8…)."""
    infos = []
    for name in core.available_devices:
        caps = tuple(core.get_property(name, "OPTIMIZATION_CAPABILITIES"))
        infos.append(DeviceInfo(name, str(core.get_property(name, "FULL_DEVICE_NAME")), caps))
    return infos


def check_device(core: ov.Core, device: str) -> None:
    """Raise a VbgError naming the available devices if ``device`` cannot be used here."""
    available = core.available_devices
    base = device.split(":")[0].upper()
    if base in META_DEVICES:
        targets = [t for t in device.split(":", 1)[1].split(",") if t] if ":" in device else []
    else:
        targets = [device]
    for target in targets:
        if target not in available and not any(a.startswith(target + ".") for a in available):
            raise VbgError(f"device {target!r} is not available here: choose one of "
                           f"{', '.join(available + ['AUTO'])} (see `vbg devices`)")


@dataclass(frozen=True)
class DeviceChoice:
    """The device the default picked, and why (one line for the user)."""

    device: str
    reason: str


def choose_device(core: ov.Core) -> DeviceChoice:
    """The default device (``DEFAULT_DEVICE``) resolved: OpenVINO's GPU plugin lists each Intel GPU as
    ``GPU.N`` (``GPU`` alone is ``GPU.0``, the integrated one where there is one) with ``DEVICE_TYPE``
    integrated or discrete.  A GPU takes the network off the CPU, which then has decoding, compositing and the
    call app to itself."""
    gpus = [d for d in core.available_devices if d.split(".")[0] == "GPU"]
    if not gpus:
        return DeviceChoice("CPU", "device CPU: OpenVINO lists no GPU here")

    def integrated(name: str) -> bool:
        try:
            return str(core.get_property(name, "DEVICE_TYPE")).upper().endswith("INTEGRATED")
        except RuntimeError:
            return False

    gpu = next((g for g in gpus if integrated(g)), gpus[0])
    full = str(core.get_property(gpu, "FULL_DEVICE_NAME"))
    return DeviceChoice(gpu, f"device {gpu} ({full}): the model runs on the GPU and leaves the CPU to the rest "
                             f"(--device CPU keeps it on the CPU)")


def default_precision(core: ov.Core, device: str, video: bool = False) -> str:
    """The fastest precision that keeps accuracy on ``device``: fp16 on GPU/NPU; on a CPU, int8 for video files
    (``video``), else bf16 where the CPU has it, else fp32.

    Why int8 for files: measured faster than bf16 on both kinds of CPU these machines have (whole ``vbg run``
    1.4x on an AMD EPYC Zen 5 without AMX, the model 1.2x on an AMX Xeon) at the same person accuracy
    (docs/measurements.md, "Which precision a file gets"), and its quantisation is made once per model.  Photos
    keep bf16: one image has time to spare, and it skips the quantisation a first photo would wait for."""
    if device.upper().startswith(("GPU", "NPU")):
        return "fp16"
    caps = core.get_property("CPU", "OPTIMIZATION_CAPABILITIES") if device.upper() == "CPU" else []
    if video and "INT8" in caps:
        return "int8"
    return "bf16" if "BF16" in caps else "fp32"


def runtime_config(core: ov.Core, device: str, precision: str, performance_hint: str) -> dict[str, str]:
    """Compile options for ``precision``.

    The inference-precision hint is always set on real devices because defaults differ: this project's CPUs
    default to bf16, so an "fp32" run without ``INFERENCE_PRECISION_HINT=f32`` would silently be bf16.
    """
    config = {"PERFORMANCE_HINT": performance_hint}
    if device.split(":")[0].upper() in META_DEVICES:
        return config
    caps = core.get_property(device, "OPTIMIZATION_CAPABILITIES")
    if precision == "bf16":
        if "BF16" not in caps:
            raise VbgError(f"device {device} has no bf16 support ({', '.join(caps)}): use --precision fp32 or fp16")
        config["INFERENCE_PRECISION_HINT"] = "bf16"
    elif precision == "int8":
        if "INT8" not in caps:
            raise VbgError(f"device {device} has no int8 support ({', '.join(caps)}): use --precision fp32 or fp16")
        # The layers NNCF leaves in float (the folded pre/postprocessing on the full frame, one outlier layer) run
        # in bf16 where the CPU has it: more throughput for a negligible MAE change (docs/measurements.md, "INT8 with NNCF").
        config["INFERENCE_PRECISION_HINT"] = "bf16" if "BF16" in caps else "f32"
    elif precision == "fp16" and "FP16" in caps:
        config["INFERENCE_PRECISION_HINT"] = "f16"
    else:  # fp32, or an fp16 IR on a device that computes in f32 (e.g. most CPUs)
        config["INFERENCE_PRECISION_HINT"] = "f32"
    return config


def cpu_name() -> str:
    """The CPU model and its bf16/int8 units, for every report (speed differs a lot between the machines this
    runs on: AMX Xeons, AMD EPYCs with AVX512-BF16, older CPUs with neither)."""
    import platform
    from pathlib import Path

    try:
        text = Path("/proc/cpuinfo").read_text()
    except OSError:
        return platform.processor() or platform.machine()
    fields = {key.strip(): value.strip() for key, _, value in (line.partition(":") for line in text.splitlines())}
    name = fields.get("model name") or platform.machine()
    flags = set(fields.get("flags", "").split())
    units = [f for f in ("amx_bf16", "amx_int8", "avx512_bf16", "avx512_vnni", "avx_vnni") if f in flags]
    # a virtual machine may show only "AMD EPYC": family and model tell a Zen 4 (25/17) from a Zen 5 (26/...),
    # which differ by 2x on this model
    family = (f"family {fields['cpu family']} model {fields['model']}; "
              if "cpu family" in fields and "model" in fields else "")
    return f"{name} ({family}{' '.join(units) or 'no bf16/vnni units'})"
