"""`vbg image`, `vbg devices` and `vbg convert` as a user runs them: real files in, real files out."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from conftest import REFERENCE, SAMPLES, assert_clean_error, run_vbg

GIRL = REFERENCE / "images" / "girl.png"
GIRL_MASK = REFERENCE / "masks" / "girl.png"


@pytest.fixture()
def env(model_cache):
    return {"VBG_CACHE_DIR": str(model_cache)}


@pytest.fixture()
def background(tmp_path):
    path = tmp_path / "bg.png"
    bg = np.zeros((100, 150, 3), np.uint8)
    bg[:] = (255, 0, 0)  # pure blue (BGR)
    cv2.imwrite(str(path), bg)
    return path


def test_image_background_mask_and_figure(tmp_path, env, background):
    out, mask, fig = tmp_path / "out.png", tmp_path / "mask.png", tmp_path / "fig.png"
    proc = run_vbg("image", str(GIRL), "-o", str(out), "--background", str(background),
                   "--mask-out", str(mask), "--figure-out", str(fig), "--precision", "fp32", "--size", "320",
                   "--model", "u2net_lite", env=env)  # the official weights, as the reference maps
    assert proc.returncode == 0, proc.stderr
    assert "inference" in proc.stdout and " ms" in proc.stdout
    image, result = cv2.imread(str(GIRL)), cv2.imread(str(out))
    alpha, ref = cv2.imread(str(mask), cv2.IMREAD_GRAYSCALE), cv2.imread(str(GIRL_MASK), cv2.IMREAD_GRAYSCALE)
    assert result.shape == image.shape and alpha.shape == image.shape[:2]
    assert np.abs(alpha.astype(float) - ref).mean() / 255 < 0.01
    assert 0 < (alpha == 0).mean() < 1 and len(np.unique(alpha)) > 50  # soft matte, not np.rint
    bg_px, fg_px = alpha == 0, alpha == 255
    assert np.all(result[bg_px] == (255, 0, 0))
    assert np.abs(result[fg_px].astype(int) - image[fg_px]).max() <= 1
    assert cv2.imread(str(fig)).shape[1] >= 3 * 300  # three panels side by side


@pytest.mark.parametrize("flag", [["--color", "#00ff00"], ["--blur", "15"]])
def test_image_color_and_blur(tmp_path, env, flag):
    out, mask = tmp_path / "out.jpg", tmp_path / "m.png"
    proc = run_vbg("image", str(GIRL), "-o", str(out), "--mask-out", str(mask), *flag, env=env)
    assert proc.returncode == 0, proc.stderr
    result, image = cv2.imread(str(out)), cv2.imread(str(GIRL))
    alpha = cv2.imread(str(mask), cv2.IMREAD_GRAYSCALE)
    bg = result[alpha == 0].astype(int)
    if flag[0] == "--color":
        assert np.abs(bg - (0, 255, 0)).mean() < 6  # JPEG
    else:  # blurred background: far smoother than the original there
        lap = lambda im: np.abs(cv2.Laplacian(cv2.cvtColor(im, cv2.COLOR_BGR2GRAY), cv2.CV_32F))[alpha == 0].mean()
        assert lap(result) < 0.5 * lap(image)


def test_image_transparent_png(tmp_path, env):
    out = tmp_path / "cutout.png"
    proc = run_vbg("image", str(GIRL), "-o", str(out), "--transparent", "--model", "u2net_lite", "--size", "320",
                   env=env)
    assert proc.returncode == 0, proc.stderr
    rgba = cv2.imread(str(out), cv2.IMREAD_UNCHANGED)
    assert rgba.shape[2] == 4
    ref = cv2.imread(str(GIRL_MASK), cv2.IMREAD_GRAYSCALE)
    assert np.abs(rgba[..., 3].astype(float) - ref).mean() / 255 < 0.012


@pytest.mark.parametrize(
    "args, fragments",
    [
        (["missing.jpg", "-o", "{tmp}/o.png", "--blur"], ["missing.jpg does not exist"]),
        (["{readme}", "-o", "{tmp}/o.png", "--blur"], ["cannot read image", "not an image"]),
        (["{girl}", "-o", "{tmp}/o.xyz", "--blur"], ["unknown extension .xyz"]),
        (["{girl}", "-o", "{tmp}/nodir/o.png", "--blur"], ["does not exist; create it first"]),
        (["{girl}", "-o", "{tmp}/o.png", "--color", "purple-ish"], ["bad colour"]),
        (["{girl}", "-o", "{tmp}/o.png", "--background", "{tmp}/nobg.png"],
         ["background ", "nobg.png does not exist", "give --background the path of a picture"]),
        (["{girl}", "-o", "{tmp}/o.png", "--background", "{readme}"],
         ["background ", "pyproject.toml cannot be read", "give --background a picture"]),
        (["{girl}", "-o", "{tmp}/o.png", "--blur", "--size", "100"], ["bad input size"]),
        (["{girl}", "-o", "{tmp}/o.png", "--blur", "--device", "GPU"], ["device 'GPU' is not available", "CPU"]),
        (["{girl}", "-o", "{tmp}/o.png", "--blur", "--weights", "{tmp}/w.pth"], ["w.pth does not exist"]),
        (["{girl}", "-o", "{tmp}/o.jpg", "--transparent"], ["cannot store transparency"]),
    ],
)
def test_image_bad_input(tmp_path, env, args, fragments):
    from conftest import REPO

    subs = {"tmp": str(tmp_path), "girl": str(GIRL), "readme": str(REPO / "pyproject.toml")}
    proc = run_vbg("image", *[a.format(**subs) for a in args], env=env)
    assert_clean_error(proc, *fragments)
    assert proc.returncode == 2
    assert not list(tmp_path.glob("o.*")) and not list(tmp_path.glob(".*partial"))


def test_no_background_option_blurs_with_a_notice(tmp_path, env):
    out, mask = tmp_path / "out.png", tmp_path / "m.png"
    proc = run_vbg("image", str(GIRL), "-o", str(out), "--mask-out", str(mask), env=env)
    assert proc.returncode == 0, proc.stderr
    assert [line for line in proc.stderr.splitlines() if "no background given: blurring" in line]
    result, image = cv2.imread(str(out)), cv2.imread(str(GIRL))
    alpha = cv2.imread(str(mask), cv2.IMREAD_GRAYSCALE)
    lap = lambda im: np.abs(cv2.Laplacian(cv2.cvtColor(im, cv2.COLOR_BGR2GRAY), cv2.CV_32F))[alpha == 0].mean()
    assert lap(result) < 0.5 * lap(image)  # the background really is blurred


@pytest.mark.parametrize("flag", ["-o", "--mask-out", "--figure-out"])
def test_image_never_writes_over_its_input(tmp_path, env, flag):
    photo = tmp_path / "photo.png"
    photo.write_bytes(GIRL.read_bytes())
    args = ["image", str(photo), "--blur", flag, str(tmp_path / "." / "photo.png")]
    if flag != "-o":
        args += ["-o", str(tmp_path / "o.png")]
    assert_clean_error(run_vbg(*args, env=env), "is an input file", "choose another name")
    assert photo.read_bytes() == GIRL.read_bytes()


def test_image_folders_and_files_with_a_bad_one_among_them(tmp_path, env):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "girl.png").write_bytes(GIRL.read_bytes())
    (folder / "broken.jpg").write_text("not a picture")
    extra = SAMPLES / "person.jpg"
    out, masks = tmp_path / "out", tmp_path / "masks"
    proc = run_vbg("image", str(folder), str(extra), "-o", str(out), "--mask-out", str(masks), "--blur",
                   "--size", "96", "--precision", "bf16", env=env)
    assert proc.returncode == 1, proc.stderr
    assert sorted(p.name for p in out.iterdir()) == ["girl.png", "person.jpg"]  # the same names
    assert sorted(p.name for p in masks.iterdir()) == ["girl.png", "person.png"]
    assert cv2.imread(str(out / "girl.png")).shape == cv2.imread(str(GIRL)).shape
    errors = [line for line in proc.stderr.splitlines() if "error:" in line]
    assert len(errors) == 1 and "broken.jpg" in errors[0] and "Traceback" not in proc.stderr
    assert "2 of 3 images written" in proc.stderr and "failed: " + str(folder / "broken.jpg") in proc.stderr
    assert sorted(p.name for p in folder.iterdir()) == ["broken.jpg", "girl.png"]  # inputs untouched


def test_image_folder_written_into_itself_is_refused(tmp_path, env):
    folder = tmp_path / "in"
    folder.mkdir()
    (folder / "girl.png").write_bytes(GIRL.read_bytes())
    assert_clean_error(run_vbg("image", str(folder), "-o", str(folder), "--blur", env=env), "is an input file")
    assert (folder / "girl.png").read_bytes() == GIRL.read_bytes()


def test_version():
    proc = run_vbg("--version")
    assert proc.returncode == 0 and proc.stdout.startswith("vbg 0.")


def test_truncated_weights_cli(tmp_path, env, weights_path):
    bad = tmp_path / "u2netp.pth"
    bad.write_bytes(weights_path.read_bytes()[:100_000])
    proc = run_vbg("image", str(GIRL), "-o", str(tmp_path / "o.png"), "--blur", "--weights", str(bad),
                   env={"VBG_CACHE_DIR": str(tmp_path / "cache")})
    assert_clean_error(proc, "truncated")
    assert not (tmp_path / "o.png").exists()


def test_devices_lists_cpu():
    proc = run_vbg("devices")
    assert proc.returncode == 0, proc.stderr
    assert "CPU" in proc.stdout and "fp32" in proc.stdout and "OpenVINO" in proc.stdout


def test_convert_builds_cached_irs(tmp_path, weights_path):
    cache = tmp_path / "cache"
    for precision in ("fp16", "fp32"):
        proc = run_vbg("convert", "--size", "192", "--precision", precision, "--cache-dir", str(cache), "--weights",
                       str(weights_path))
        assert proc.returncode == 0, proc.stderr
        assert f"CPU {precision} 192x192, fast resize" in proc.stdout
    xmls = sorted(cache.glob("ir/*/model.xml"))
    sizes = [x for x in xmls if "-backbone-" not in x.parent.name]  # each made from its precision's backbone
    assert [x.parent.name.split("-")[2] for x in sizes] == ["fp16", "fp32"]
    assert sorted(x.parent.name.split("-")[2] for x in xmls if x not in sizes) == ["fp16", "fp32"]
    assert all(x.with_suffix(".bin").stat().st_size > 1_000_000 for x in xmls)
    assert not list(cache.glob("ir/.convert-*"))  # no temporary leftovers


def test_process_image_takes_only_what_vbg_image_takes():
    """A setting ``vbg image`` has no flag for (an encoder's) is named at once, before any model work."""
    from vbg import VbgError, process_image

    with pytest.raises(VbgError, match="unknown image setting 'crf': choose from model, device"):
        process_image(str(SAMPLES / "person.jpg"), crf=18)
