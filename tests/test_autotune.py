"""``--precision auto``: real OpenVINO timing at a tiny input size, the choice rule, the cache and where the
choice is shown (no wall-clock asserts: the rule is checked against whatever this machine measured)."""

from __future__ import annotations

import json

import openvino as ov

from conftest import run_vbg
from vbg.model.autotune import ACCURACY_ORDER, CACHE_FILE, HEADROOM, candidates, choose_precision
from vbg.model.convert import resolve_size
from vbg.model.devices import runtime_config


def compiler(core, weights_path, cache, calls):
    from vbg.model.convert import build_ir
    from vbg.model.weights import get_spec

    spec, size = get_spec("u2net_lite"), resolve_size("64")

    def compile_for(precision):
        calls.append(precision)
        ir = build_ir(spec, weights_path, size, precision, "fast", cache)
        return core.compile_model(core.read_model(ir), "CPU", runtime_config(core, "CPU", precision, "THROUGHPUT"))

    return compile_for


def test_auto_takes_the_most_accurate_precision_that_keeps_up_and_caches_the_measurement(weights_path, tmp_path):
    core = ov.Core()
    cache = tmp_path / "cache"
    calls: list[str] = []
    compile_for = compiler(core, weights_path, cache, calls)
    order = candidates(core, "CPU")
    assert order[0] == "fp32" and order == [p for p in ACCURACY_ORDER if p in order]

    easy = choose_precision(core, "CPU", "tiny", 0.01, cache, compile_for)  # anything keeps up with 0.01 fps
    assert easy.precision == "fp32" and calls == ["fp32"] and not easy.cached  # faster ones not even measured

    hard = choose_precision(core, "CPU", "tiny", 1e6, cache, compile_for)  # nothing keeps up: the fastest
    assert calls == order  # fp32 came from the cache; every other candidate measured once
    assert set(hard.fps) == set(order) and all(v > 0 for v in hard.fps.values())
    assert hard.precision == max(hard.fps, key=hard.fps.get) and "none reaches" in hard.explain()

    middle = (sorted(hard.fps.values())[0] + sorted(hard.fps.values())[-1]) / 2 / HEADROOM
    again = choose_precision(core, "CPU", "tiny", middle, cache, compile_for)
    assert again.cached and calls == order  # no new measurement
    keeps_up = [p for p in order if hard.fps[p] >= middle * HEADROOM]
    assert again.precision == keeps_up[0]
    table = json.loads((cache / CACHE_FILE).read_text())
    assert list(table.values()) == [hard.fps]


def test_a_run_with_auto_says_what_it_chose_and_devices_shows_the_measurement(tmp_path):
    cache = tmp_path / "cache"
    args = ["--precision", "auto", "--size", "64", "--model", "u2net_lite", "--cache-dir", str(cache)]
    proc = run_vbg("run", "lavfi:testsrc=size=160x90:rate=30", "--null", "--max-frames", "3", "--color", "0,0,0",
                   *args)
    assert proc.returncode == 0, proc.stderr
    assert "precision auto: " in proc.stderr and "measured model fps: fp32" in proc.stderr
    assert "(auto) 64x64)" in proc.stderr.splitlines()[-1]  # the summary names the chosen precision
    devices = run_vbg("devices", "--cache-dir", str(cache))
    assert devices.returncode == 0 and "u2net_lite 64x64 fast: fp32" in devices.stdout, devices.stdout
