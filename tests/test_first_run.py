"""What a newcomer meets on a fresh install: a first run that says what it prepares (once), `vbg convert`
preparing exactly what the run will load, presets by name from any folder, file jobs that never depend on the
machine's speed at the hour, and logs that read as lines.  Real commands on the bundled sample."""

from __future__ import annotations

import os
import socket
import subprocess
import sys

from conftest import REPO, SAMPLES, run_vbg

CLIP, PHOTO = str(SAMPLES / "person_720p.mp4"), str(SAMPLES / "person.jpg")
FIRST_USE = "vbg: first use of u2net_lite: converting it to OpenVINO once"


def test_a_first_run_of_the_bundled_model_converts_nothing(tmp_path):
    """The person model's backbones ship with vbg: a first file job (int8) builds its size from the shipped int8
    backbone, with no conversion, no quantisation and no notice; the cache then holds that one size."""
    cache = tmp_path / "cache"
    args = ("run", CLIP, "-o", str(tmp_path / "x.mp4"), "-y", "--blur", "--max-frames", "5", "--cache-dir", str(cache))
    for _ in range(2):
        proc = run_vbg(*args)
        assert proc.returncode == 0, proc.stderr
        assert "first use" not in proc.stderr and "timing" not in proc.stderr, proc.stderr
    assert [p.name.split("-")[1:3] for p in (cache / "ir").iterdir() if p.is_dir()] == [["320x192", "int8"]]


def test_a_first_run_of_another_model_says_what_it_prepares_once(tmp_path):
    cache = str(tmp_path / "cache")
    args = ("run", CLIP, "-o", str(tmp_path / "x.mp4"), "-y", "--blur", "--max-frames", "5", "--cache-dir", cache,
            "--model", "u2net_lite")
    first = run_vbg(*args)
    assert first.returncode == 0, first.stderr
    assert first.stderr.count(FIRST_USE) == 1, first.stderr
    assert first.stderr.count("first use of int8 for u2net_lite: quantising it with NNCF once") == 1
    second = run_vbg(*args)
    assert second.returncode == 0, second.stderr
    assert "first use" not in second.stderr and "timing" not in second.stderr


def test_convert_prepares_exactly_what_run_and_image_load(tmp_path):
    cache = str(tmp_path / "cache")
    proc = run_vbg("convert", "--cache-dir", cache)
    assert proc.returncode == 0, proc.stderr
    assert "ready for vbg run (run, 1280x720 at 30 fps): u2netp_person" in proc.stdout and "320x192" in proc.stdout
    run = run_vbg("run", CLIP, "-o", str(tmp_path / "x.mp4"), "--blur", "--max-frames", "3", "--cache-dir", cache)
    assert run.returncode == 0, run.stderr
    assert "first use" not in run.stderr
    proc = run_vbg("convert", "--for", "image", "--frame", "512x512", "--cache-dir", cache)
    assert proc.returncode == 0 and "antialias resize" in proc.stdout, proc.stderr
    image = run_vbg("image", PHOTO, "-o", str(tmp_path / "x.png"), "--blur", "--cache-dir", cache)
    assert image.returncode == 0, image.stderr
    assert "first use" not in image.stderr
    ir_folders = sorted(p.name for p in (tmp_path / "cache" / "ir").iterdir() if p.is_dir())
    # nothing built but what the two commands loaded: one entry per setting (the file's int8 320x192, the
    # photo's bf16 512x512 antialias), each from a shipped backbone
    assert len(ir_folders) == 2 and not any("-backbone-" in name for name in ir_folders), ir_folders


def test_a_folder_of_mixed_photo_shapes_is_converted_once(tmp_path):
    """A folder of photos of five shapes (four model input sizes) converts the model once, builds one model that
    runs every size from it and compiles that once, and each photo's matte is what the photo alone gets.
    The official weights, which do not ship converted; the bundled model converts nothing at all."""
    import cv2
    import numpy as np

    photo = cv2.imread(PHOTO)
    folder = tmp_path / "photos"
    folder.mkdir()
    shapes = [(600, 800), (768, 1024), (800, 600), (720, 1280), (500, 500)]  # rows, cols
    for rows, cols in shapes:
        cv2.imwrite(str(folder / f"p{cols}x{rows}.jpg"), cv2.resize(photo, (cols, rows), interpolation=cv2.INTER_AREA))
    cache = tmp_path / "cache"
    proc = run_vbg("image", str(folder), "-o", str(tmp_path / "out") + "/", "--transparent", "--cache-dir", str(cache),
                   "--model", "u2net_lite")
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr.count("converting it to OpenVINO once") == 1, proc.stderr
    built = [p.name for p in (cache / "ir").iterdir() if p.is_dir() and "-backbone-" not in p.name]
    assert len(built) == 1 and "-any-" in built[0], built  # one model for the four sizes ...
    assert len([p for p in (cache / "compiled").iterdir() if p.suffix == ".blob"]) == 1  # ... compiled once
    single = run_vbg("image", str(folder / "p1280x720.jpg"), "-o", str(tmp_path / "one.png"), "--transparent",
                     "--cache-dir", str(tmp_path / "fresh"), "--model", "u2net_lite")
    assert single.returncode == 0, single.stderr
    alone = cv2.imread(str(tmp_path / "one.png"), cv2.IMREAD_UNCHANGED)[..., 3]
    in_folder = cv2.imread(str(tmp_path / "out" / "p1280x720.png"), cv2.IMREAD_UNCHANGED)[..., 3]
    assert np.array_equal(alone, in_folder)
    bundled = run_vbg("image", str(folder), "-o", str(tmp_path / "bundled") + "/", "--transparent", "--cache-dir",
                      str(tmp_path / "bundled-cache"))
    assert bundled.returncode == 0 and "first use" not in bundled.stderr, bundled.stderr


def test_a_file_job_never_times_the_model(tmp_path):
    """Its precision follows a rule (int8 on a CPU, measured once in docs/measurements.md), not a timing: the same
    on a busy machine as on an idle one."""
    import openvino as ov

    from vbg.model.devices import default_precision

    cache = tmp_path / "cache"
    proc = run_vbg("run", CLIP, "-o", str(tmp_path / "x.mp4"), "--blur", "--max-frames", "3", "--cache-dir",
                   str(cache))
    assert proc.returncode == 0, proc.stderr
    assert "precision auto" not in proc.stderr and "busy" not in proc.stderr
    assert not (cache / "autotune.json").exists()
    assert f"CPU {default_precision(ov.Core(), 'CPU', video=True)} 320x192:" in proc.stderr.splitlines()[-1]
    assert default_precision(ov.Core(), "CPU", video=True) == "int8"  # every CPU OpenVINO runs on has int8


def test_presets_by_name_from_any_folder(tmp_path):
    env = {**os.environ}
    run = lambda *args: subprocess.run([sys.executable, "-m", "vbg", *args], capture_output=True, text=True,
                                       cwd=tmp_path, env=env, timeout=300)
    listed = run("presets")
    assert listed.returncode == 0, listed.stderr
    assert [line.split()[0] for line in listed.stdout.splitlines()[:3]] == ["fast", "file-quality", "webcam"]
    assert "precision: fp32" in run("presets", "--show", "file-quality").stdout
    proc = run("run", CLIP, "-o", "x.mp4", "--config", "file-quality", "--blur", "--max-frames", "2")
    assert proc.returncode == 0, proc.stderr
    assert "CPU fp32" in proc.stderr.splitlines()[-1] and (tmp_path / "x.mp4").is_file()
    bad = run("run", CLIP, "-o", "y.mp4", "--config", "studio")
    assert bad.returncode == 2 and bad.stderr.strip().splitlines() == [
        "vbg: error: config studio is neither a file nor a preset: use a YAML file or one of fast, file-quality, "
        "webcam (vbg presets lists them)"]


def test_logs_are_plain_lines_with_the_final_count(tmp_path):
    """stderr to a pipe (a log, CI): no carriage returns or cursor escapes, the bar's last count, then the
    summary on its own line."""
    proc = run_vbg("run", CLIP, "-o", str(tmp_path / "x.mp4"), "--blur", "--max-frames", "20")
    assert proc.returncode == 0, proc.stderr
    assert "\r" not in proc.stderr and "\x1b[" not in proc.stderr
    lines = proc.stderr.splitlines()
    assert "20/20" in lines[-2] and lines[-1].startswith("vbg: frames: 20 read, 20 written,")
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "a.jpg").write_bytes(open(PHOTO, "rb").read())
    (folder / "b.jpg").write_bytes(b"not a picture")
    proc = run_vbg("image", str(folder), "-o", str(tmp_path / "out"), "--blur")
    assert proc.returncode == 1 and "\r" not in proc.stderr
    assert any("2/2" in line for line in proc.stderr.splitlines()), proc.stderr


def test_a_log_prints_the_final_count_once():
    """vbg's bar in a log (stderr a pipe), as ``vbg image DIR`` drives it: when the last item is slow (the first
    photo of a fresh cache converts the model) the bar prints the final count as it gets there, and closing
    it must not print the same count again with the overall rate."""
    code = ("import time; from vbg.pipeline.progress import progress_bar\n"
            "for pause in progress_bar([5.2, 0, 5.2], unit='image'): time.sleep(pause)\n")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=REPO)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stderr.splitlines()
    assert [line for line in lines if "3/3" in line] == lines[-1:] and "1/3" in lines[-2], proc.stderr

def test_a_batch_next_to_another_dask_dashboard_prints_no_port_warning(tmp_path):
    """Port 8787 (Dask's default dashboard) is taken, as by a second batch: the batch needs no dashboard."""
    with socket.socket() as taken:
        taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            taken.bind(("127.0.0.1", 8787))
            taken.listen()
        except OSError:
            pass  # already taken by something else: the same situation
        proc = run_vbg("batch", PHOTO, "-o", str(tmp_path / "out"), "--blur", "--workers", "1")
    assert proc.returncode == 0, proc.stderr
    assert "8787" not in proc.stderr and "Warning" not in proc.stderr and "\x1b[" not in proc.stderr, proc.stderr
    assert (tmp_path / "out" / "person.jpg").is_file()


def test_devices_tells_apart_measurements_of_the_same_model(tmp_path):
    import openvino as ov

    from vbg.model.autotune import ModelKey, RateCache
    from vbg.model.devices import cpu_name

    rates = RateCache(tmp_path)
    for threads in (None, 1):
        key = ModelKey(cpu_name(), "u2netp_person", "u2netp_person.pth", "320x192", "fast", threads, ov.get_version())
        rates.put(key, "fp32", 20.0 if threads else 40.0, load=0.0)
    proc = run_vbg("devices", "--cache-dir", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert max(map(len, lines)) <= 110, proc.stdout  # labelled lines and a table, not one long sentence
    header = next(i for i, line in enumerate(lines) if line.split()[:4] == ["model", "size", "resize", "threads"])
    assert lines[header].split()[4:] == ["fp32", "timed"], lines[header]
    rows = [" ".join(line.split()) for line in lines[header + 1:header + 3]]
    assert rows[0].startswith("u2netp_person (u2netp_person.pth) 320x192 fast ") and len(set(rows)) == 2, rows
    assert {row.split()[4:6][0] + " " + row.split()[5] for row in rows} == {"all 40", "1 20"}, rows
