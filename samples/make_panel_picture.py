"""The control page's picture for the docs: a live run of the sample clip with two backgrounds and --panel,
the page opened in headless Chromium (Playwright), left a few seconds for its plots to fill, then captured.

Run: ``.venv/bin/python samples/make_panel_picture.py`` (writes docs/images/panel.png; needs chromium and the
test extras: ``make test`` installs both).
"""

from __future__ import annotations

import argparse
import io
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = "/usr/bin/chromium"


def start_run(env: dict) -> tuple[subprocess.Popen, str]:
    """The live run, and the page's address once it prints it."""
    proc = subprocess.Popen([sys.executable, "-m", "vbg", "run", "samples/person_720p.mp4", "--live", "--loop",
                             "--null", "--background", "samples/background_studio.jpg", "--background",
                             "samples/background_beach.jpg", "--name", "panel-picture", "--panel"],
                            cwd=ROOT, env=env, stderr=subprocess.PIPE, text=True)
    for line in proc.stderr:
        print(line, end="", file=sys.stderr)
        if "control page: " in line:
            return proc, re.search(r"http://\S+", line).group(0)
    raise SystemExit("the run ended before it printed the control page's address")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "images" / "panel.png")
    parser.add_argument("--wait", type=float, default=20.0, help="seconds of plots before the capture")
    args = parser.parse_args()
    from PIL import Image
    from playwright.sync_api import sync_playwright

    with tempfile.TemporaryDirectory() as data:
        env = {**os.environ, "VBG_DATA_DIR": data}  # the page offers the run's backgrounds, not yours
        proc, url = start_run(env)
        try:
            with sync_playwright() as playwright:
                browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
                page = browser.new_page(viewport={"width": 940, "height": 470})
                page.goto(url)
                time.sleep(args.wait)
                png = page.screenshot()
                browser.close()
        finally:
            subprocess.run([sys.executable, "-m", "vbg", "ctl", "--name", "panel-picture", "quit"], cwd=ROOT, env=env)
            proc.wait(timeout=60)
    # a palette of 256 colours: the page is flat colours and one small photo, so it stays sharp and small
    Image.open(io.BytesIO(png)).convert("RGB").quantize(256).save(args.out, optimize=True)
    print(f"{args.out}: {args.out.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
