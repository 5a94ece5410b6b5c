"""The backgrounds the control page offers, each known to the page only by an ID.

Three sources, in this order: the pictures and videos the run cycles through (``--background`` files and
those sent with ``vbg ctl background``: what ``background next`` steps through), the user's own backgrounds
folder (where the page's uploads are kept, so they are offered again in later runs), and the picture bundled
with vbg.  An ID is a hash of the file's path: the page names a thumbnail by it and never sends a path.
"""

from __future__ import annotations

import hashlib
import os
import threading
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np

from ..compose.backgrounds import fit_image
from ..compose.compositing import BACKGROUND_VIDEO_EXTENSIONS
from ..errors import VbgError
from ..media.imageio import IMAGE_EXTENSIONS, read_image
from . import uploads

THUMB = (160, 90)  # thumbnail size, pixels (16:9 like a call)
BUNDLED = sorted((Path(__file__).resolve().parents[1] / "assets" / "samples").glob("background_*"))


def backgrounds_dir() -> Path:
    """The user's backgrounds folder: ``$VBG_DATA_DIR/backgrounds``, else ``$XDG_DATA_HOME/vbg/backgrounds``,
    else ``~/.local/share/vbg/backgrounds`` (data the user made, so not under the cache)."""
    base = os.environ.get("VBG_DATA_DIR")
    if base:
        return Path(base).expanduser() / "backgrounds"
    data_home = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data_home).expanduser() / "vbg" / "backgrounds"


def entry_id(path: Path) -> str:
    """The ID the page knows a background by (a hash of its resolved path)."""
    return hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:16]


def _kind(path: Path) -> str | None:
    suffix = path.suffix.lower()
    return "video" if suffix in BACKGROUND_VIDEO_EXTENSIONS else "image" if suffix in IMAGE_EXTENSIONS else None


@dataclass(frozen=True)
class Entry:
    """One background the page may show and choose."""

    id: str
    path: Path
    kind: str  # image | video
    origin: str  # run (cycled by background next) | yours (the backgrounds folder) | vbg (bundled)

    def public(self, current: bool) -> dict:
        """What the page sees: no path, only the ID and the file's name as a caption."""
        return {"id": self.id, "name": self.path.name, "kind": self.kind, "origin": self.origin,
                "current": current}


class Library:
    """The backgrounds on offer, their thumbnails (made once per file version) and new uploads."""

    def __init__(self, folder: Path | None = None, bundled: list[Path] | None = None) -> None:
        self.folder = folder or backgrounds_dir()
        self.bundled = BUNDLED if bundled is None else bundled
        self._thumbs: dict[Path, tuple[int, bytes]] = {}  # path -> (mtime_ns, JPEG)
        self._offered: dict[str, Entry] = {}  # ID -> entry, as the page was last shown them
        self._lock = threading.Lock()

    def entries(self, pictures: list[str]) -> list[Entry]:
        """Every background on offer; ``pictures``: the run's own (``Compositor.pictures``), first."""
        found: dict[Path, str] = {}
        for label in pictures:
            found.setdefault(Path(label).resolve(), "run")
        if self.folder.is_dir():
            for path in sorted(self.folder.iterdir()):
                if not path.name.startswith("."):
                    found.setdefault(path.resolve(), "yours")
        for path in self.bundled:
            found.setdefault(path.resolve(), "vbg")
        entries = []
        for path, origin in found.items():
            kind = _kind(path)
            if kind is not None and path.is_file():
                entries.append(Entry(entry_id(path), path, kind, origin))
        return entries

    def find(self, wanted: str) -> Entry | None:
        """The background the page names by the ID ``wanted``: one the page was offered (``listing``)."""
        with self._lock:
            offered = self._offered
        return offered.get(wanted) or next((e for e in self.entries([]) if e.id == wanted), None)

    def listing(self, status: dict) -> list[dict]:
        """The page's thumbnails for a run in ``status`` (``Steering.status``), the one shown marked."""
        shown = Path(status["background"]).resolve() if status.get("mode") == "picture" else None
        entries = self.entries(status.get("pictures", []))
        with self._lock:
            self._offered = {e.id: e for e in entries}
        return [e.public(e.path == shown) for e in entries]

    def thumbnail(self, entry: Entry) -> bytes:
        """A small JPEG of the picture (a video's first frame), cached until the file changes."""
        try:
            stamp = entry.path.stat().st_mtime_ns
        except OSError:
            raise VbgError(f"{entry.path.name} is gone: reload the page") from None
        with self._lock:
            cached = self._thumbs.get(entry.path)
        if cached is not None and cached[0] == stamp:
            return cached[1]
        image = _first_frame(entry.path) if entry.kind == "video" else read_image(entry.path)
        ok, jpeg = cv2.imencode(".jpg", fit_image(image, *THUMB), [cv2.IMWRITE_JPEG_QUALITY, 80])
        if not ok:
            raise VbgError(f"cannot make a thumbnail of {entry.path.name}")
        with self._lock:
            self._thumbs[entry.path] = (stamp, jpeg.tobytes())
        return jpeg.tobytes()

    def add(self, data: bytes) -> Path:
        """Keep an upload in the backgrounds folder (``uploads.store``: checked, named by vbg)."""
        return uploads.store(data, self.folder)


def _first_frame(path: Path) -> np.ndarray:
    try:
        with av.open(str(path)) as container:
            frame = next(container.decode(video=0))
            return frame.to_ndarray(format="bgr24")
    except (av.FFmpegError, StopIteration):
        raise VbgError(f"cannot read a frame of {path.name} for its thumbnail") from None
