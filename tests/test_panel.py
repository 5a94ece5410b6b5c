"""The control page (``vbg run ... --panel``) against a real live run, as an HTTP client sees it: what the page
changes shows in the file the run writes, and every request without the token, from another host or origin,
or carrying something that is not a picture, is refused."""

from __future__ import annotations

import base64
import http.client
import json
import re
import shutil
import socket
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import cv2
import numpy as np
import pytest

from conftest import SAMPLES, assert_clean_error, run_vbg
from helpers import LIVE, classify, fraction_near, panel_run, runs_of, solid_picture, wait_for
from media import decode_video, make_indexed_clip

BLUE, RED = (187, 71, 0), (30, 30, 220)  # BGR: vbg's "blue" and "red"
STORED = re.compile(r"upload-\d{8}-\d{6}-[0-9a-f]{8}\.(png|mp4)")
MAX_UPLOAD = 20 * 2**20


@pytest.fixture()
def env(tmp_path, model_cache) -> dict:
    runtime = tmp_path / "runtime"
    runtime.mkdir(mode=0o700)
    return {"XDG_RUNTIME_DIR": str(runtime), "VBG_CACHE_DIR": str(model_cache), "VBG_DATA_DIR": str(tmp_path / "data")}


class Client:
    """Requests to the page's server with any headers; the token (as a header) unless ``token=False``."""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.port, self.token = parts.port, parse_qs(parts.query)["token"][0]

    def send(self, method: str, path: str, body: bytes | None = None, headers: dict | None = None,
             token: bool = True) -> tuple[int, bytes]:
        headers = {**({"X-Vbg-Token": self.token} if token else {}), **(headers or {})}
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            return response.status, response.read()
        finally:
            conn.close()

    def get(self, path: str, **kw) -> tuple[int, bytes]:
        return self.send("GET", path, **kw)

    def post(self, path: str, message: dict | bytes, **kw) -> tuple[int, dict]:
        body = message if isinstance(message, bytes) else json.dumps(message).encode()
        code, data = self.send("POST", path, body, **kw)
        return code, json.loads(data)

    def command(self, verb: str, *args: str, **kw) -> tuple[int, dict]:
        return self.post("/api/command", {"verb": verb, "args": list(args)}, **kw)

    def status(self) -> dict:
        code, data = self.get("/api/status")
        assert code == 200, data
        return json.loads(data)["status"]

    def backgrounds(self) -> list[dict]:
        code, data = self.get("/api/backgrounds")
        assert code == 200, data
        return json.loads(data)["backgrounds"]

    def picture(self, path: str) -> np.ndarray:
        code, data = self.get(path)
        assert code == 200, data
        return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)


def settle() -> None:
    """Long enough for a change to show in dozens of output frames (and in the status' rates)."""
    time.sleep(1.5)


def test_the_page_steers_the_run_and_the_file_it_writes_shows_it(tmp_path, env):
    out = tmp_path / "out.mp4"
    with panel_run([*LIVE, "--color", "blue", "-o", str(out)], env, "page") as (_, url):
        page = Client(url)
        parts = urlsplit(url)
        code, html = page.get(f"{parts.path}?{parts.query}", token=False)  # the printed address, as is
        settle()
        first, blue_preview = page.status(), page.picture("/preview.jpg")
        beach = next(b for b in page.backgrounds() if b["name"] == "background_beach.jpg")
        assert page.post("/api/background", {"id": beach["id"]})[0] == 200
        settle()
        assert page.command("mode", "color")[0] == 200
        settle()
        code_up, uploaded = page.post("/api/upload", solid_picture(RED))
        settle()
        red_preview, listing, thumb = page.picture("/preview.jpg"), page.backgrounds(), None
        if code_up == 200:
            thumb = page.picture(f"/thumb/{uploaded['id']}")
        assert page.command("blur", "40")[0] == 200
        settle()
        last = page.status()
    assert code == 200 and b"<canvas" in html
    assert (first["mode"], first["background"], first["paused"]) == ("color", "#0047bb", False)
    assert first["fps"] > 0 and first["cpu"] > 0 and first["model_rate"] > 0 and first["frames"] > 0
    assert beach["origin"] == "vbg" and not beach["current"]  # bundled with vbg, not yet shown
    assert code_up == 200, uploaded
    mine = next(b for b in listing if b["id"] == uploaded["id"])
    assert mine["current"] and mine["origin"] == "run" and mine["kind"] == "image"
    stored = sorted((tmp_path / "data" / "backgrounds").iterdir())
    assert len(stored) == 1 and STORED.fullmatch(stored[0].name) and mine["name"] == stored[0].name
    assert fraction_near(thumb[None], RED)[0] > 0.9
    assert (last["mode"], last["blur"], last["pictures"][-1]) == ("blur", 40, str(stored[0]))
    # the preview is the output, small: blue while blue, red once the red picture is shown
    assert blue_preview.shape[1] == 320 and red_preview.shape[1] == 320
    assert fraction_near(blue_preview[None], BLUE)[0] > 0.2 and fraction_near(red_preview[None], RED)[0] > 0.2
    frames, _, _ = decode_video(out)
    assert runs_of(classify(frames)) == ["blue", "beach", "blue", "red", "other"]


def listening_on(port: int) -> list[str]:
    """The local addresses of the sockets listening on ``port`` (the kernel's tables, hex as written there)."""
    found = []
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.rsplit(":", 1)
            if state == "0A" and int(hex_port, 16) == port:
                found.append(address)
    return found


def outside_address() -> str | None:
    """This machine's address on its default route (no packet is sent), None without one."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))
        except OSError:
            return None
        address = probe.getsockname()[0]
    return None if address.startswith("127.") else address


def test_only_the_page_with_its_token_on_this_computer_is_answered(tmp_path, env):
    studio = str(SAMPLES / "background_studio.jpg")
    clip = make_indexed_clip(tmp_path / "clip.mp4", 10, 160, 90)
    with panel_run([*LIVE, "--color", "blue", "--null"], env, "guard") as (_, url):
        page = Client(url)
        port, own = page.port, f"http://127.0.0.1:{page.port}"
        kernel = listening_on(port)
        outside = outside_address()
        if outside is not None:
            with pytest.raises(OSError):
                socket.create_connection((outside, port), timeout=3).close()
        beach = page.backgrounds()[0]["id"]
        no_token = {path: page.get(path, token=False)[0]
                    for path in ("/", "/api/status", "/api/backgrounds", "/preview.jpg", f"/thumb/{beach}")}
        wrong_token = page.get("/api/status", headers={"X-Vbg-Token": "x" * 32}, token=False)[0]
        query_token = page.get(f"/api/status?token={page.token}", token=False)[0]
        hosts = {host: page.get("/api/status", headers={"Host": host})[0]
                 for host in ("evil.example", f"evil.example:{port}", f"127.0.0.1:{port + 1}", "localhost",
                              f"localhost:{port}")}
        foreign = [page.command("mode", "blur", headers=headers)[0] for headers in (
            {"Origin": "http://evil.example"}, {"Origin": "null"}, {"Origin": f"http://localhost:{port}"},
            {"Sec-Fetch-Site": "cross-site"})]
        tokenless_post = page.command("mode", "blur", token=False)[0]
        unchanged = page.status()["mode"]
        junk = [page.post("/api/upload", body) for body in (
            b"hello, this is not a picture\n" * 100, b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8, b"")]
        oversize = page.post("/api/upload", bytes(MAX_UPLOAD + 1))
        stored_after_refusals = list((tmp_path / "data").rglob("*"))
        named = [page.command(*words)[1] for words in (("background", studio), ("pause", studio), ("quit",))]
        by_path = page.post("/api/background", {"id": "../../../etc/passwd"})[0]
        no_thumb = page.get("/thumb/0123456789abcdef")[0]
        allowed = page.command("mode", "blur", headers={"Origin": own, "Sec-Fetch-Site": "same-origin"})
        video = page.post("/api/upload", clip.read_bytes())
        listing = page.backgrounds()
        video_thumb = page.get(f"/thumb/{video[1].get('id')}")[0]
        final = page.status()
    assert kernel == ["0100007F"]  # 127.0.0.1 only
    assert set(no_token.values()) == {403} and wrong_token == 403 and query_token == 200
    assert hosts == {"evil.example": 403, f"evil.example:{port}": 403, f"127.0.0.1:{port + 1}": 403,
                     "localhost": 403, f"localhost:{port}": 200}
    assert foreign == [403] * 4 and tokenless_post == 403 and unchanged == "color"
    assert [code for code, _ in junk] == [400] * 3
    assert "not a picture or a video" in junk[0][1]["error"] and "damaged" in junk[1][1]["error"]
    assert "empty" in junk[2][1]["error"]
    assert oversize[0] == 413 and "up to 20 MB" in oversize[1]["error"]
    assert stored_after_refusals == []  # nothing was kept, not even the folder
    assert all(not reply["ok"] and "thumbnail" in reply["error"] for reply in named[:2]), named
    assert "cannot send 'quit'" in named[2]["error"]
    assert by_path == 404 and no_thumb == 404
    assert allowed[0] == 200, allowed
    assert video[0] == 200, video
    entry = next(b for b in listing if b["id"] == video[1]["id"])
    assert entry["kind"] == "video" and STORED.fullmatch(entry["name"]) and entry["name"].endswith(".mp4")
    assert video_thumb == 200 and final["mode"] == "picture"


def test_panel_mistakes_are_one_line_errors_before_any_work(env):
    assert_clean_error(run_vbg("run", str(SAMPLES / "person_720p.mp4"), "--null", "--panel", env=env),
                       "--panel steers a live run", "--live")
    assert_clean_error(run_vbg("run", "--panel", str(SAMPLES / "person_720p.mp4"), "--null", env=env),
                       "is not a port", "vbg run 0 --panel")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert_clean_error(run_vbg(*LIVE, "--null", "--panel", str(port), env=env, timeout=60),
                           f"--panel {port}: cannot listen", "another port")


# -- the page in a real browser (Debian's chromium, driven by Playwright) ---------------------------------------
CHROMIUM = Path(shutil.which("chromium") or "/usr/bin/chromium")
GREEN = (64, 177, 0)  # BGR: vbg's "green"
#: a file dropped on the thumbnails, as a browser delivers a drag and drop from the desktop
DROP = """([data, name]) => {
    const bytes = Uint8Array.from(atob(data), (c) => c.charCodeAt(0));
    const files = new DataTransfer();
    files.items.add(new File([bytes], name, { type: "image/png" }));
    const zone = document.getElementById("thumbs");
    for (const type of ["dragenter", "dragover", "drop"])
        zone.dispatchEvent(new DragEvent(type, { bubbles: true, cancelable: true, dataTransfer: files }));
}"""


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed: pip install -e '.[test]'")
    if not CHROMIUM.is_file():
        pytest.skip("chromium is not installed: make system-deps installs it (apt-get install chromium)")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        yield browser
        browser.close()


def picture_of(png: bytes) -> np.ndarray:
    return cv2.imdecode(np.frombuffer(png, np.uint8), cv2.IMREAD_COLOR)


def shows(page, bgr, share: float, above: bool = True, timeout: float = 15) -> bool:
    """Whether the page's preview comes to have more (``above``) or less than ``share`` of its pixels near
    ``bgr``, as Chromium draws it."""
    def check() -> bool:
        image = picture_of(page.locator("#preview").screenshot())
        return (fraction_near(image[None], bgr)[0] > share) == above
    return wait_for(check, timeout, interval=0.3)


def test_the_page_in_chromium_previews_steers_and_takes_dropped_backgrounds(env, browser):
    with panel_run([*LIVE, "--color", "blue", "--null"], env, "chromium") as (_, url):
        page = browser.new_page(viewport={"width": 1100, "height": 700})
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.on("console", lambda line: errors.append(line.text) if "Content Security Policy" in line.text else None)
        page.goto(url)
        blue_first = shows(page, BLUE, 0.2)
        page.click("[data-mode=blur]")
        blurred = shows(page, BLUE, 0.02, above=False)
        blur_on = page.locator("[data-mode=blur].on").count()
        page.click("[data-mode=color]")
        blue_again = shows(page, BLUE, 0.2)
        page.focus("#blur")
        page.keyboard.press("End")  # the slider to its end: blur 100 px
        slid = shows(page, BLUE, 0.02, above=False)
        blur_px = Client(url).status()["blur"]
        thumbs = page.locator(".thumb").count()
        page.set_input_files("#file", files=[{"name": "red.png", "mimeType": "image/png",
                                              "buffer": solid_picture(RED)}])
        added = wait_for(lambda: page.locator(".thumb").count() == thumbs + 1, 15, interval=0.3)
        red = shows(page, RED, 0.2)
        page.evaluate(DROP, [base64.b64encode(solid_picture(GREEN)).decode(), "green.png"])
        dropped = wait_for(lambda: page.locator(".thumb").count() == thumbs + 2, 15, interval=0.3)
        green = shows(page, GREEN, 0.2)
        thumb_drawn = wait_for(lambda: page.evaluate("() => document.querySelector('.thumb.on img').naturalWidth"),
                               15, interval=0.3)
        tiles = page.locator(".thumb").all()
        next(tile for tile in tiles if fraction_near(picture_of(tile.screenshot())[None], RED)[0] > 0.5).click()
        red_again = shows(page, RED, 0.2)
        page.click("#mirror")
        unmirrored = wait_for(lambda: page.evaluate("() => latest.mirror") is False, 15, interval=0.3)
        page.click("#pause")
        paused = wait_for(lambda: page.evaluate("() => latest.paused") and Client(url).status()["paused"], 15, 0.3)
        label = page.locator("#pause").text_content()
        page.click("#pause")
        resumed = wait_for(lambda: not Client(url).status()["paused"], 15, interval=0.3)
        page.close()
    assert blue_first and blurred and blur_on == 1 and blue_again and slid and blur_px == 100
    assert added and red and dropped and green and thumb_drawn and red_again and unmirrored
    assert paused and label == "Resume" and resumed
    assert errors == []


def test_the_preview_is_encoded_only_when_asked_and_once_per_output_picture():
    from vbg.compose.compositing import build_compositor
    from vbg.media.frames import Frame
    from vbg.panel.preview import PreviewEncoder
    from vbg.pipeline.control import Controls

    controls = Controls(build_compositor([], color="blue"), lambda: None, mirror=True)
    preview = PreviewEncoder(lambda: None if controls.last_output is None else
                             (controls.last_output[1], controls.mirror_on))
    assert preview.jpeg() is None  # before the first frame
    image = np.zeros((360, 640, 3), np.uint8)
    image[:, :64] = 255  # a bright left edge
    for index in range(30):  # frames go out; nobody asks
        controls.last_output = (Frame(index, image), image.copy())
    assert preview.encoded == 0
    first, again = preview.jpeg(), preview.jpeg()
    assert preview.encoded == 1 and first == again
    shown = picture_of(first)
    assert shown.shape == (180, 320, 3) and shown[:, -20:].min() > 200 and shown[:, :20].max() < 60  # mirrored
    controls.mirror_on = False
    assert picture_of(preview.jpeg())[:, :20].min() > 200 and preview.encoded == 2
