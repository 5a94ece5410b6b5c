"""Writing result images without ever leaving a half-written file under the requested name."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import cv2
import numpy as np

from .errors import VbgError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".tif", ".tiff")


def read_image(path: str | Path) -> np.ndarray:
    """A still image as BGR uint8.  ``IMREAD_COLOR`` converts grey, drops alpha, scales 16-bit images down
    and applies the EXIF orientation, so phone photos come out upright."""
    p = Path(path)
    if not p.is_file():
        raise VbgError(f"image {p} does not exist: check the path")
    image = cv2.imread(str(p), cv2.IMREAD_COLOR)
    if image is None or image.size == 0:
        raise VbgError(f"cannot read image {p}: corrupt or not an image; use a JPEG, PNG, BMP, WebP or TIFF file")
    return image


def check_output_path(path: str | Path, extensions: tuple[str, ...] = IMAGE_EXTENSIONS) -> Path:
    """Fail before any work if ``path`` cannot be written: unknown extension or missing directory."""
    p = Path(path)
    if p.suffix.lower() not in extensions:
        raise VbgError(f"cannot write {p}: unknown extension {p.suffix or '(none)'}; use one of {', '.join(extensions)}")
    if not p.parent.resolve().is_dir():
        raise VbgError(f"cannot write {p}: directory {p.parent} does not exist; create it first")
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
    """Encode ``image`` (BGR, BGRA or grey) by the file's extension and write it atomically."""
    p = check_output_path(path)
    if image.ndim == 3 and image.shape[2] == 4 and p.suffix.lower() in (".jpg", ".jpeg", ".bmp"):
        raise VbgError(f"{p.suffix} cannot store transparency: write the --transparent result as .png, .webp or .tiff")
    ok, buf = cv2.imencode(p.suffix.lower(), image)
    if not ok:
        raise VbgError(f"could not encode {p}: try .png or .jpg")
    write_atomic(p, buf.tobytes())
    return p
