"""Make the backbones that ship with vbg (``vbg/assets/ir/``) from the bundled person weights.

Run after the bundled weights or the graph change: ``.venv/bin/python -m vbg.model.shipped`` (``make ship-ir``).
It converts the fp32 backbone and quantises it on the default calibration media exactly as a first use would,
then replaces the shipped copies of the person model's backbones.  ``tests/test_model.py`` checks that what
ships matches the bundled weights, the calibration media and the graph version.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from .convert import SHIPPED_IR, IRKey, backbone_inputs, build_backbone, openvino_version
from .quantize import CalibrationSet, build_int8_backbone, shipped_int8_name
from .weights import DEFAULT_MODEL, cache_dir, file_sha256, get_spec, resolve_weights


def make_shipped(out: Path = SHIPPED_IR) -> list[Path]:
    """Convert and quantise the bundled model's backbone into ``out``; returns the folders written."""
    spec = get_spec(DEFAULT_MODEL)
    weights = resolve_weights(spec, None, cache_dir(None))
    key = IRKey(spec.name, file_sha256(weights), None, "fp32", None, openvino_version())
    calibration = CalibrationSet.find(None)
    with tempfile.TemporaryDirectory() as tmp:
        fp32 = build_backbone(spec, weights, "fp32", Path(tmp), force=True)
        int8_name = shipped_int8_name(key.shipped_name, calibration)
        int8 = build_int8_backbone(fp32, Path(tmp) / "ir" / int8_name, calibration, backbone_inputs, force=True)
        for old in out.glob(f"{spec.name}-*"):
            shutil.rmtree(old)
        made = [out / key.shipped_name, out / int8_name]
        for source, target in zip((fp32, int8), made):
            shutil.copytree(source.parent, target)
            meta = json.loads((target / "meta.json").read_text())
            meta["weights"] = Path(meta["weights"]).name  # where it was made says nothing to a user
            meta["calibration"] = [Path(f).name for f in meta.get("calibration", [])]
            (target / "meta.json").write_text(json.dumps(meta, indent=2))
    return made


if __name__ == "__main__":
    for folder in make_shipped():
        print(f"wrote {folder}")
