"""``vbg bench`` runs a real (tiny) matrix: CPU and a device this machine lacks, fp32 and int8, at 96x96; and its
defaults (the bundled person weights) offline, with a chart read back from the PNG."""

from __future__ import annotations

import csv
import json

import cv2
import pytest

import numpy as np

from conftest import REFERENCE, assert_clean_error, run_vbg

ABSENT = "GPU.7"  # a device no test machine has (a plain "GPU" exists on machines with an Intel GPU)


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory, weights_path, model_cache):
    if not (REFERENCE / "images").is_dir():
        pytest.skip("the reference maps (../shared/testdata/u2netp_reference) are not here")
    out = tmp_path_factory.mktemp("bench")
    proc = run_vbg("bench", "--model", "u2net_lite",  # the weights the reference maps were made with
                   "--devices", "CPU", ABSENT, "--precisions", "fp32,int8", "--sizes", "96",
                   "--frames", "12", "--runs", "4", "--seconds", "0.5", "--reference", str(REFERENCE),
                   "--weights", str(weights_path), "--cache-dir", str(model_cache), "--out", str(out), timeout=900)
    assert proc.returncode == 0, proc.stderr
    return proc, out


def test_table_lists_every_cell(bench_run):
    proc, _ = bench_run
    rows = [line for line in proc.stdout.splitlines() if line.startswith("| CPU") or line.startswith(f"| {ABSENT}")]
    assert len(rows) == 4, proc.stdout
    assert sum("not available" in r for r in rows if r.startswith(f"| {ABSENT}")) == 2
    assert all("| ok |" in r for r in rows if r.startswith("| CPU"))


def test_json_has_real_measurements(bench_run):
    _, out = bench_run
    data = json.loads((out / "bench.json").read_text())
    assert data["settings"]["requests"] == [2] and data["environment"]["devices"] == ["CPU"]
    results = {(r["device"], r["precision"]): r for r in data["results"]}
    assert set(results) == {("CPU", "fp32"), ("CPU", "int8"), (ABSENT, "fp32"), (ABSENT, "int8")}
    for precision in ("fp32", "int8"):
        cpu = results[("CPU", precision)]
        assert cpu["status"] == "ok" and cpu["size"] == "96" and cpu["hint"] == "THROUGHPUT"
        assert cpu["compile_cold_s"] > 0 and cpu["compile_cached_s"] > 0
        assert cpu["cache"] == "openvino CACHE_DIR"
        assert 0 < cpu["latency_p50_ms"] <= cpu["latency_p95_ms"]
        assert cpu["throughput_fps"] > 0 and cpu["pipeline_fps"] > 0
        assert 0 < cpu["mae"] < 0.2, cpu["mae"]  # 96x96 is coarse (about 0.11), but still the same masks
        gpu = results[(ABSENT, precision)]
        assert gpu["status"] == "not available"
        assert gpu["throughput_fps"] is None and gpu["mae"] is None
    # quantisation error stays small next to fp32 at the same size
    print({p: results[("CPU", p)]["mae"] for p in ("fp32", "int8")})
    assert abs(results[("CPU", "int8")]["mae"] - results[("CPU", "fp32")]["mae"]) < 0.02


def test_csv_matches_json(bench_run):
    _, out = bench_run
    data = json.loads((out / "bench.json").read_text())["results"]
    with open(out / "bench.csv", newline="") as f:
        rows = list(csv.DictReader(f))
    assert [(r["device"], r["precision"], r["status"]) for r in rows] == \
        [(r["device"], r["precision"], r["status"]) for r in data]
    for row, item in zip(rows, data):
        if item["throughput_fps"] is None:
            assert row["throughput_fps"] == ""
        else:
            assert float(row["throughput_fps"]) == pytest.approx(item["throughput_fps"])


def test_chart_is_a_png(bench_run):
    _, out = bench_run
    image = cv2.imread(str(out / "bench.png"))
    assert image is not None and image.shape[1] >= 300 and image.shape[0] >= 200
    assert len(set(map(tuple, image.reshape(-1, 3)[::97]))) > 5  # bars and text, not a blank canvas


def test_meta_device_forms_parse(weights_path, model_cache):
    """AUTO / MULTI:CPU / HETERO:CPU are accepted; a meta device naming a missing device is 'not available'."""
    from vbg.bench import Bench, BenchMatrix, CellResult

    bench = Bench(BenchMatrix(devices=["MULTI:CPU"], precisions=["fp32"], sizes=["96"], weights=str(weights_path),
                              cache_dir=str(model_cache), frames=4, runs=2, seconds=0.3), log=lambda _: None)
    assert bench.run_cell(CellResult("HETERO:GPU,CPU", "fp32", "96", "LATENCY", 2)).status == "not available"
    row = bench.run()[0]
    assert row.device == "MULTI:CPU" and row.status == "ok" and row.throughput_fps > 0


@pytest.mark.parametrize("flags, message", [
    (("--precisions", "fp64"), "unknown precision 'fp64'"),
    (("--hints", "fastest"), "unknown performance hint 'FASTEST'"),
    (("--sizes", "100"), "bad input size"),
    (("--clip", "/no/such/clip.mp4"), "clip /no/such/clip.mp4 does not exist"),
    (("--reference", "/no/such/dir"), "reference folder /no/such/dir has no images"),
])
def test_bad_bench_flags(flags, message, tmp_path):
    proc = run_vbg("bench", *flags, "--out", str(tmp_path / "out"))
    assert_clean_error(proc, message)
    assert not (tmp_path / "out").exists()


SMALL = ("--devices", "CPU", "--sizes", "96", "--frames", "8", "--runs", "3", "--seconds", "0.5")


@pytest.fixture(scope="module")
def offline(tmp_path_factory) -> dict:
    """No official weights anywhere (an empty $VBG_WEIGHTS_DIR, a fresh home) and no way out (dead proxies)."""
    root = tmp_path_factory.mktemp("offline")
    (root / "weights").mkdir()
    dead = "http://127.0.0.1:9"
    return {"VBG_WEIGHTS_DIR": str(root / "weights"), "HOME": str(root), "http_proxy": dead, "https_proxy": dead,
            "HTTP_PROXY": dead, "HTTPS_PROXY": dead}


@pytest.fixture(scope="module")
def default_run(tmp_path_factory, offline, model_cache):
    """The default model (no --model, no --weights), offline, fp32 and bf16."""
    out = tmp_path_factory.mktemp("bench-default")
    proc = run_vbg("bench", *SMALL, "--precisions", "fp32,bf16", "--cache-dir", str(model_cache), "--out", str(out),
                   env=offline, timeout=600)
    return proc, out


def chart_rgb(path) -> np.ndarray:
    image = cv2.imread(str(path))
    assert image is not None, path
    return image[..., ::-1]


def colour_pieces(rgb: np.ndarray, hex_colour: str) -> list[int]:
    """Areas of the separate patches of exactly this colour (a bar, a legend handle), largest first."""
    target = np.array([int(hex_colour[i:i + 2], 16) for i in (1, 3, 5)])
    mask = (np.abs(rgb.astype(int) - target).max(axis=2) <= 2).astype(np.uint8)
    count, _, stats, _ = cv2.connectedComponentsWithStats(mask)
    return sorted((int(a) for a in stats[1:count, cv2.CC_STAT_AREA] if a >= 20), reverse=True)


def assert_nothing_touches_the_border(rgb: np.ndarray, margin: int = 4) -> None:
    """A clipped title (or legend) runs off the picture's edge; a whole one leaves a white frame around it."""
    frame = np.concatenate([rgb[:margin].reshape(-1, 3), rgb[-margin:].reshape(-1, 3),
                            rgb[:, :margin].reshape(-1, 3), rgb[:, -margin:].reshape(-1, 3)])
    assert frame.min() >= 250, "something is drawn on the chart's edge (clipped)"


def test_the_default_model_measures_offline(default_run):
    from vbg.model.weights import DEFAULT_MODEL

    proc, out = default_run
    assert proc.returncode == 0, proc.stderr
    assert "error" not in proc.stderr, proc.stderr
    data = json.loads((out / "bench.json").read_text())
    assert data["settings"]["model"] == DEFAULT_MODEL == "u2netp_person"
    rows = {r["precision"]: r for r in data["results"]}
    assert rows["fp32"]["status"] == "ok" and rows["fp32"]["throughput_fps"] > 0 and rows["fp32"]["pipeline_fps"] > 0
    # a CPU without bf16 units lists the row as not available, which is no failure
    assert rows["bf16"]["status"] in ("ok", "not available: no bf16 on CPU")


def test_chart_has_one_colour_per_precision_a_legend_and_its_whole_title(default_run):
    from vbg.bench import PRECISION_COLOURS

    _, out = default_run
    rgb = chart_rgb(out / "bench.png")
    measured = [r["precision"] for r in json.loads((out / "bench.json").read_text())["results"] if r["status"] == "ok"]
    for precision in measured:
        pieces = colour_pieces(rgb, PRECISION_COLOURS[precision])
        assert len(pieces) >= 2, (precision, pieces)  # its bar and its legend handle
        assert pieces[0] > 10 * pieces[1], (precision, pieces)  # the bar is the big one
    assert len({PRECISION_COLOURS[p] for p in measured}) == len(measured)
    assert_nothing_touches_the_border(rgb)
    assert (rgb[:25] < 100).all(axis=2).any(), "no title above the axes"


def test_a_long_title_is_wrapped_inside_the_chart(default_run, tmp_path):
    from vbg.bench import CellResult, plot_throughput

    _, out = default_run
    results = [CellResult(**r) for r in json.loads((out / "bench.json").read_text())["results"]]
    title = " ".join(["a title far wider than the figure it names"] * 5)
    (tmp_path / "long.png").write_bytes(plot_throughput(results, title))
    rgb = chart_rgb(tmp_path / "long.png")
    assert_nothing_touches_the_border(rgb)
    assert rgb.shape[1] < 800, rgb.shape  # wrapped over lines, not one line widening the picture


def test_some_cells_failing_is_exit_1_with_the_reason(tmp_path, offline, model_cache):
    """int8 cannot calibrate on an empty folder; fp32 is measured, and the files, table and chart keep it."""
    from vbg.bench import PRECISION_COLOURS

    (tmp_path / "empty").mkdir()
    out = tmp_path / "out"
    proc = run_vbg("bench", *SMALL, "--precisions", "fp32,int8", "--calibration", str(tmp_path / "empty"),
                   "--cache-dir", str(model_cache), "--out", str(out), env=offline, timeout=600)
    assert proc.returncode == 1, proc.stderr
    assert "Traceback" not in proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("vbg: error:")]
    assert len(errors) == 1 and "1 of 2 cells failed" in errors[0] and "calibration folder" in errors[0], proc.stderr
    assert "| CPU | int8 | 96 | THROUGHPUT | 2 | error: calibration folder" in proc.stdout
    statuses = {r["precision"]: r["status"] for r in json.loads((out / "bench.json").read_text())["results"]}
    assert statuses["fp32"] == "ok" and statuses["int8"].startswith("error: calibration folder")
    rgb = chart_rgb(out / "bench.png")
    assert colour_pieces(rgb, PRECISION_COLOURS["fp32"]) and not colour_pieces(rgb, PRECISION_COLOURS["int8"])


def test_nothing_measured_is_one_error_and_no_files(tmp_path, offline):
    proc = run_vbg("bench", "--devices", ABSENT, "--sizes", "96", "--out", str(tmp_path / "out"), env=offline)
    assert_clean_error(proc, "nothing was measured", f"no device {ABSENT} here")
    assert not (tmp_path / "out").exists()


def test_official_weights_offline_are_one_error_before_any_cell(tmp_path, offline):
    proc = run_vbg("bench", "--model", "u2net_lite", *SMALL, "--out", str(tmp_path / "out"), env=offline)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr
    errors = [line for line in proc.stderr.splitlines() if line.startswith("vbg: error:")]
    assert len(errors) == 1 and "no network to download the u2net_lite weights" in errors[0], proc.stderr
    assert "| CPU |" not in proc.stdout and not (tmp_path / "out").exists()
