"""``vbg bench`` runs a real (tiny) matrix: CPU and a device this machine lacks, fp32 and int8, at 96x96."""

from __future__ import annotations

import csv
import json

import cv2
import pytest

from conftest import REFERENCE, assert_clean_error, run_vbg

ABSENT = "GPU.7"  # a device no test machine has (a plain "GPU" exists on machines with an Intel GPU)


@pytest.fixture(scope="module")
def bench_run(tmp_path_factory, weights_path, model_cache):
    if not (REFERENCE / "images").is_dir():
        pytest.skip("the reference maps (../shared/testdata/u2netp_reference) are not here")
    out = tmp_path_factory.mktemp("bench")
    proc = run_vbg("bench", "--devices", "CPU", ABSENT, "--precisions", "fp32,int8", "--sizes", "96",
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
