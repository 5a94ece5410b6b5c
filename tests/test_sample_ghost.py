"""What `make demo` shows: how much ghost of the room and how much see-through person `vbg run` leaves on the
bundled sample clip, held under stated bounds.

``samples/make_samples.py`` made the clip, so it knows where the astronaut is in every frame
(``true_matte``); the run writes its alpha into a transparent .mov, and ghost and hole are scored as in
training (``vbg.train.scoring``: away from a 5 px band around the true outline; ghost as % of the frame,
hole as % of the person).
"""

from __future__ import annotations

import importlib.util

import numpy as np
import pytest

from conftest import REPO, SAMPLES, run_vbg
from media import decode_bgra

#: The bounds, stated: with the default refinement (ramp 64,192, small islands dropped, the smoother taking
#: settled background as it is) the ghost is at most 0.02 % of the frame on the frames the README shows
#: (5, 60, 110) and 0.11 % on the worst
#: frame, and the hole at most 1.7 % of the person (AMX Xeon, bf16, 2026-12-05; docs/person-model.md). The
#: bounds are the scoring's "visible" line for the ghost on the shown frames (0.3 % of the frame), with room
#: for other CPUs' rounding elsewhere, so a model or refinement that brings back the trail of the person's
#: last positions (1.1 % before) or see-through patches fails.
SHOWN_FRAMES = (5, 60, 110)
GHOST_MAX_SHOWN, HOLE_MAX_SHOWN = 0.003, 0.025
GHOST_MAX_ANY, HOLE_MAX_ANY = 0.004, 0.025


@pytest.fixture(scope="module")
def samples_module():
    spec = importlib.util.spec_from_file_location("make_samples", REPO / "samples" / "make_samples.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_sample_clip_has_no_visible_ghost_or_hole(tmp_path, samples_module):
    from vbg.train.scoring import ghost_and_hole

    matte = samples_module.person_cutout(samples_module.astronaut_bgr())[1]
    out = tmp_path / "alpha.mov"
    proc = run_vbg("run", str(SAMPLES / "person_720p.mp4"), "-o", str(out), "--transparent", "--no-progress")
    assert proc.returncode == 0, proc.stderr
    frames = decode_bgra(out)
    assert len(frames) == samples_module.N_FRAMES
    scores = np.array([ghost_and_hole(f[..., 3].astype(np.float32) / 255, samples_module.true_matte(matte, i) > 127)
                       for i, f in enumerate(frames)])
    for i in SHOWN_FRAMES:
        assert scores[i, 0] <= GHOST_MAX_SHOWN and scores[i, 1] <= HOLE_MAX_SHOWN, (i, scores[i])
    assert scores[:, 0].max() <= GHOST_MAX_ANY, (scores[:, 0].argmax(), scores[:, 0].max())
    assert scores[:, 1].max() <= HOLE_MAX_ANY, (scores[:, 1].argmax(), scores[:, 1].max())
