"""Writing result images without ever leaving a half-written file under the requested name."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path

import cv2
import numpy as np

from ..errors import VbgError
from ..outputs import check_writable
from .frames import VIDEO_EXTENSIONS

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")


@contextlib.contextmanager
def _codec_messages_silenced() -> Iterator[None]:
    """Mute what image codecs print on their own for a damaged file (OpenCV's WARN/ERROR log lines, and
    libjpeg's "Corrupt JPEG data", written straight to file descriptor 2): vbg's one error line says it all.
    Images are read while setting up, so briefly pointing fd 2 at /dev/null hides nothing else."""
    previous = cv2.utils.logging.getLogLevel()
    cv2.utils.logging.setLogLevel(cv2.utils.logging.LOG_LEVEL_SILENT)
    saved = os.dup(2)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        cv2.utils.logging.setLogLevel(previous)


def read_image(path: str | Path) -> np.ndarray:
    """A still image as BGR uint8.  ``IMREAD_COLOR`` converts grey, drops alpha, scales 16-bit images down
    and applies the EXIF orientation, so phone photos come out upright."""
    p = Path(path)
    if not p.is_file():
        raise VbgError(f"image {p} does not exist: check the path")
    with _codec_messages_silenced():
        image = cv2.imread(str(p), cv2.IMREAD_COLOR)
    if image is None or image.size == 0:
        if p.suffix.lower() in VIDEO_EXTENSIONS:
            raise VbgError(f"{p} is a video, not an image: use vbg run {p} -o OUT.mp4 for videos")
        raise VbgError(f"cannot read image {p}: corrupt or not an image; use a JPEG, PNG, BMP, WebP or TIFF file")
    return image


def decode_image(data: bytes) -> np.ndarray | None:
    """Encoded picture bytes (an upload) as BGR uint8, as ``read_image`` reads a file; None when they do not
    decode.  The codecs' own messages are muted as for files."""
    with _codec_messages_silenced():
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    return None if image is None or image.size == 0 else image


def check_output_path(path: str | Path, extensions: tuple[str, ...] = IMAGE_EXTENSIONS, probe: bool = True
                      ) -> Path:
    """Fail before any work if ``path`` cannot be written: unknown extension, missing directory, or (``probe``)
    a directory that refuses new files."""
    p = Path(path)
    if p.suffix.lower() not in extensions:
        raise VbgError(f"cannot write {p}: unknown extension {p.suffix or '(none)'}; use one of {', '.join(extensions)}")
    if not p.parent.resolve().is_dir():
        raise VbgError(f"cannot write {p}: directory {p.parent} does not exist; create it first")
    if probe:
        check_writable(p.parent, p)
    return p


def write_atomic(path: Path, data: bytes) -> None:
    """Write ``data`` to a temporary file beside ``path`` and rename it into place."""
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".partial", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the result normal file permissions
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_image(path: str | Path, image: np.ndarray) -> Path:
    """Encode ``image`` (BGR, BGRA or grey) by the file's extension and write it atomically (the folder was
    probed up front; a write that fails anyway is one line)."""
    p = check_output_path(path, probe=False)
    if image.ndim == 3 and image.shape[2] == 4 and p.suffix.lower() in (".jpg", ".jpeg", ".bmp"):
        raise VbgError(f"{p.suffix} cannot store transparency: write the --transparent result as .png, .webp or .tiff")
    ok, buf = cv2.imencode(p.suffix.lower(), image)
    if not ok:
        raise VbgError(f"could not encode {p}: try .png or .jpg")
    try:
        write_atomic(p, buf.tobytes())
    except OSError as exc:  # the disk filled up, or the folder became read-only since the check
        raise VbgError(f"cannot write {p} ({exc.strerror or exc}): free some space or choose another "
                       f"output directory") from None
    return p
