"""``--precision auto``: real OpenVINO timing at a tiny input size, the choice rule, the cache and where the
choice is shown (no wall-clock asserts: the rule is checked against whatever this machine measured)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import openvino as ov
import pytest

from conftest import run_vbg
from vbg.model import autotune
from vbg.model.autotune import (ACCURACY_ORDER, HEADROOM, LIVE_MARGIN, SIZE_MARGIN, ModelKey, RateCache,
                                candidates, choose_precision, choose_size, model_key, plan_live)
from vbg.model.convert import build_ir, resolve_size
from vbg.model.devices import runtime_config
from vbg.model.weights import get_spec


@dataclass
class Tiny:
    """The 64x64 official model to time: ``compile_for`` records each precision it compiles in ``calls``."""

    core: ov.Core
    cache: Path
    calls: list[str]
    compile_for: Callable
    key: ModelKey


@pytest.fixture()
def tiny(weights_path, tmp_path) -> Tiny:
    core, cache, calls = ov.Core(), tmp_path / "cache", []
    spec, size = get_spec("u2net_lite"), resolve_size("64")

    def compile_for(precision):
        calls.append(precision)
        ir = build_ir(spec, weights_path, size, precision, "fast", cache)
        return core.compile_model(core.read_model(ir), "CPU", runtime_config(core, "CPU", precision, "THROUGHPUT"))

    return Tiny(core, cache, calls, compile_for,
                model_key(core, "CPU", "u2net_lite", "u2netp.pth", "64x64", "fast", None))


@pytest.fixture()
def at_rest(monkeypatch):
    """The machine counts as idle whatever the test suite is doing (busy figures are re-measured: tested below)."""
    monkeypatch.setattr(autotune, "machine_load", lambda: 0.0)


def test_auto_takes_the_most_accurate_precision_that_keeps_up_and_caches_the_measurement(tiny, at_rest):
    core, cache, calls, compile_for, key = tiny.core, tiny.cache, tiny.calls, tiny.compile_for, tiny.key
    order = candidates(core, "CPU")
    assert order[0] == "fp32" and order == [p for p in ACCURACY_ORDER if p in order]

    easy = choose_precision(core, "CPU", key, 0.01, cache, compile_for)  # anything keeps up with 0.01 fps
    assert easy.precision == "fp32" and calls == ["fp32"] and not easy.cached  # faster ones not even measured

    hard = choose_precision(core, "CPU", key, 1e6, cache, compile_for, tie=1.0)  # none keeps up: the fastest
    assert calls == order  # fp32 came from the cache; every other candidate measured once
    assert set(hard.fps) == set(order) and all(v > 0 for v in hard.fps.values())
    assert hard.precision == max(hard.fps, key=hard.fps.get) and "none reaches" in hard.explain()

    middle = (sorted(hard.fps.values())[0] + sorted(hard.fps.values())[-1]) / 2 / HEADROOM
    again = choose_precision(core, "CPU", key, middle, cache, compile_for)
    assert again.cached and calls == order  # no new measurement
    keeps_up = [p for p in order if hard.fps[p] >= middle * HEADROOM]
    assert again.precision == keeps_up[0]
    assert RateCache(cache).get(key) == hard.fps
    assert RateCache(cache).get(ModelKey(**{**key.__dict__, "size": "96x96"})) == {}  # another size: not measured


def test_close_rates_measured_now_are_timed_again_side_by_side_and_stored(tiny, at_rest):
    core, cache, calls, compile_for, key = tiny.core, tiny.cache, tiny.calls, tiny.compile_for, tiny.key
    order = candidates(core, "CPU")
    choice = choose_precision(core, "CPU", key, 1e6, cache, compile_for, tie=float("inf"))  # all count as close
    assert calls == order  # each compiled once: the side-by-side rounds reuse the compiled models
    assert choice.side_by_side == tuple(order) and "timed again side by side" in choice.explain()
    assert RateCache(cache).get(key) == choice.fps  # the side-by-side figures replaced the first ones
    assert choice.precision == max(choice.fps, key=choice.fps.get)
    again = choose_precision(core, "CPU", key, 1e6, cache, compile_for, tie=float("inf"))
    assert again.cached and not again.side_by_side and calls == order  # from the cache: nothing timed again
    assert autotune.near_ties({"fp32": 10.0, "bf16": 23.0, "int8": 24.0}) == ["bf16", "int8"]
    assert autotune.near_ties({"fp32": 14.0, "bf16": 26.0, "int8": 41.0}) == ["int8"]


def test_side_by_side_rounds_time_every_model_and_keep_their_order(tiny):
    fast = tiny.compile_for("fp32")
    rates = autotune.measure_side_by_side({"a": fast, "b": fast}, rounds=2, seconds=0.2)
    assert set(rates) == {"a", "b"} and all(v > 0 for v in rates.values())
    assert 0.5 < rates["a"] / rates["b"] < 2  # the same model alike, measured in the same spells


def test_live_plan_gives_own_masks_only_when_the_measured_rate_is_above_the_camera(tiny, at_rest):
    cache, calls, compile_for, key = tiny.cache, tiny.calls, tiny.compile_for, tiny.key
    slow_camera = plan_live(key, "fp32", 0.5, cache, compile_for)
    assert calls == ["fp32"] and slow_camera.own_masks and slow_camera.hint == "THROUGHPUT"
    assert "own mask" in slow_camera.explain()
    fast_camera = plan_live(key, "fp32", slow_camera.model_fps / LIVE_MARGIN * 1.01, cache, compile_for)
    assert calls == ["fp32"]  # the cached rate: no second measurement
    assert not fast_camera.own_masks and fast_camera.hint == "LATENCY" and "newest mask" in fast_camera.explain()
    assert plan_live(key, "fp32", slow_camera.model_fps / LIVE_MARGIN / 1.01, cache, compile_for).own_masks


def test_a_run_with_auto_says_what_it_chose_and_devices_shows_the_measurement(tmp_path):
    cache = tmp_path / "cache"
    args = ["--precision", "auto", "--size", "64", "--model", "u2net_lite", "--cache-dir", str(cache)]
    proc = run_vbg("run", "lavfi:testsrc=size=160x90:rate=30", "--live", "--null", "--max-frames", "3",
                   "--color", "0,0,0", *args)
    assert proc.returncode == 0, proc.stderr
    assert "precision auto: " in proc.stderr and "measured model fps: fp32" in proc.stderr
    summary = proc.stderr.splitlines()[-1]
    assert "(auto) 64x64:" in summary  # the summary names the chosen precision
    keeps_up = "vbg: live: the model keeps up" in proc.stderr  # the live policy, from the same measurement
    assert keeps_up or "vbg: live: the model is slower" in proc.stderr
    assert ("own mask on" in summary) == keeps_up
    devices = run_vbg("devices", "--cache-dir", str(cache))
    assert devices.returncode == 0, devices.stderr
    # a table row: model, size, resize, threads, the figure of each precision timed, and when (old ones are re-timed)
    assert re.search(r"^ +u2net_lite \(u2netp\.pth\) +64x64 +fast +all +\d+\*? .*\d{4}-\d\d-\d\d \d\d:\d\d$",
                     devices.stdout, re.M), devices.stdout


def test_a_figure_measured_on_a_busy_machine_is_used_once_and_measured_again(tiny, monkeypatch):
    cache, calls, compile_for, key = tiny.cache, tiny.calls, tiny.compile_for, tiny.key
    monkeypatch.setattr(autotune, "machine_load", lambda: 3.0)  # other work holds the cores
    busy = plan_live(key, "fp32", 0.5, cache, compile_for)
    assert calls == ["fp32"] and busy.model_fps > 0 and RateCache(cache).get(key) == {}  # not trusted
    monkeypatch.setattr(autotune, "machine_load", lambda: 0.0)
    rested = plan_live(key, "fp32", 0.5, cache, compile_for)
    assert calls == ["fp32", "fp32"]  # measured again
    assert rested.model_fps >= busy.model_fps  # the higher of the two figures
    assert RateCache(cache).get(key) == {"fp32": rested.model_fps}
    plan_live(key, "fp32", 0.5, cache, compile_for)
    assert calls == ["fp32", "fp32"]  # now cached


def test_an_old_figure_that_turned_a_setting_down_is_timed_again_when_a_faster_hour_could_pass_it(tiny, at_rest):
    """A figure from a slow hour would hold the lower setting for good: once it is RECHECK_AFTER old, a figure
    below what is needed, but not by more than SWING, is timed again; a recent one, a passing one, or one that
    no hour could lift are used as they are."""
    core, cache, calls, compile_for, key = tiny.core, tiny.cache, tiny.calls, tiny.compile_for, tiny.key
    rates = RateCache(cache)

    def seed(fps: float, age: float) -> None:
        rates.put(key, "fp32", fps, 0.0)
        data = json.loads(rates.path.read_text())
        data["records"][0]["at"]["fp32"] -= age
        rates.path.write_text(json.dumps(data))

    old = 2 * autotune.RECHECK_AFTER
    seed(10.0, old)
    assert rates.rate(key, "fp32", compile_for) == 10.0  # held against nothing: the cached figure
    assert rates.rate(key, "fp32", compile_for, 9.0) == 10.0  # it passes
    assert rates.rate(key, "fp32", compile_for, 10.0 * autotune.SWING + 1) == 10.0  # no hour lifts it that far
    seed(10.0, autotune.RECHECK_AFTER / 2)
    assert rates.rate(key, "fp32", compile_for, 15.0) == 10.0  # turned 15 down, but recently
    assert calls == []

    seed(10.0, old)
    assert rates.outdated(key, "fp32", 15.0)
    live = plan_live(key, "fp32", 15.0 / LIVE_MARGIN, cache, compile_for)  # timed again: the tiny model's real rate
    assert calls == ["fp32"] and live.model_fps == rates.get(key)["fp32"]
    assert time.time() - json.loads(rates.path.read_text())["records"][0]["at"]["fp32"] < 600
    assert not rates.outdated(key, "fp32", 15.0)

    seed(10.0, old)  # the same through --precision auto: fp32 turned down at 15 fps needed, timed again
    choice = choose_precision(core, "CPU", key, 15.0 / HEADROOM, cache, compile_for)
    assert calls[:2] == ["fp32", "fp32"] and not choice.cached


def test_size_auto_keeps_the_default_budget_while_the_model_keeps_up_else_steps_down():
    rates = {"320x192": 40.0, "288x160": 50.0, "256x128": 60.0}
    needs: list[float] = []

    def rate_of(size: str, need: float) -> float:
        needs.append(need)
        return rates[size]

    sizes = [(256, "320x192"), (224, "288x160"), (192, "256x128")]
    assert choose_size(sizes, rate_of, 40.0 / SIZE_MARGIN, "int8") is None  # the default keeps up: it stands
    assert needs == [40.0 / SIZE_MARGIN * SIZE_MARGIN]  # what each size's figure is held against
    assert choose_size(sizes, rate_of, 40.0 / SIZE_MARGIN * 1.01, "int8").size == "288x160"
    rates["320x192"] = 29.0  # above 0.9 x 30 but under 1.2 x 30: not every frame gets its own mask
    assert choose_size(sizes, rate_of, 30.0, "int8").size == "288x160"
    rates["320x192"] = 40.0
    smaller = choose_size(sizes, rate_of, 49.0 / SIZE_MARGIN, "int8")
    assert smaller.size == "288x160" and "the largest whose model rate" in smaller.explain()
    smallest = choose_size(sizes, rate_of, 1000.0, "int8")
    assert smallest.size == "256x128" and "none reaches" in smallest.explain()
    assert list(smallest.fps) == ["320x192", "288x160", "256x128"]  # measured largest first


def test_a_live_run_too_slow_at_the_default_size_steps_down_and_a_file_does_not(tmp_path, at_rest):
    """The default size's rate is seeded into the cache as too slow for the camera: the live run measures the
    smaller sizes for real and takes one of them; a file run keeps the default (it loses no frame anyway)."""
    from vbg.model.devices import cpu_name

    cache = tmp_path / "cache"
    core = ov.Core()
    for size in ("320x192", "288x160"):
        key = model_key(core, "CPU", "u2net_lite", "u2netp.pth", size, "fast", None)
        assert key.device == cpu_name()
        RateCache(cache).put(key, "fp32", 1.0, 0.0)
    args = ["--precision", "fp32", "--resize", "fast", "--model", "u2net_lite", "--cache-dir", str(cache),
            "--null", "--max-frames", "3", "--color", "0,0,0"]
    live = run_vbg("run", "lavfi:testsrc=size=1280x720:rate=30", "--live", *args)
    assert live.returncode == 0, live.stderr
    assert "size auto: 256x128 (about 192x192 pixels) at fp32" in live.stderr
    assert "320x192 1, 288x160 1, 256x128" in live.stderr  # the seeded figures, then a real measurement
    assert "256x128 (auto, smaller):" in live.stderr.splitlines()[-1]
    measured = [r for r in RateCache(cache).records() if r["size"] == "256x128"]  # (busy or not: a subprocess)
    assert len(measured) == 1 and measured[0]["fps"]["fp32"] > 0
    clip = run_vbg("run", "lavfi:testsrc=size=1280x720:rate=30", *args)
    assert clip.returncode == 0, clip.stderr
    assert "size auto" not in clip.stderr and "320x192:" in clip.stderr.splitlines()[-1]


def test_the_machine_counts_as_busy_while_other_processes_hold_every_core():
    """``machine_load`` reads the CPU in use right now (not the load average, which still counts the previous
    vbg run): with a busy loop on every core it must read busy."""
    spinners = [subprocess.Popen([sys.executable, "-c", "while True: pass"]) for _ in range(os.cpu_count() or 1)]
    try:
        time.sleep(0.3)
        assert autotune.machine_load() >= autotune.BUSY_LOAD
    finally:
        for spinner in spinners:
            spinner.kill()
            spinner.wait()
