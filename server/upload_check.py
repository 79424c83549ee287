"""Is an uploaded document usable? Type by its bytes, size, readability, and (photos) sharpness.

- JPEG and PNG are decoded whole with Pillow: a truncated or corrupt file
  does not decode and is refused (``unreadable``); a picture smaller than
  :data:`MIN_SIDE` pixels on a side cannot show a document (``too_small``).
- A photo whose variance of the Laplacian (numpy, on a grey copy at most
  1000 px wide) is under :data:`BLUR_THRESHOLD` is too blurred to read
  (``blurry``): the member retakes it.
- A PDF must start with ``%PDF-``, hold at least one object, a
  cross-reference (``startxref``) and end with ``%%EOF`` (a cut-off download
  does not).
- Anything else is ``unsupported_type``.

Each refusal is an :class:`UploadRefused` with an HTTP status and a code
from the error table (``docs/online-claims.md``). Runs in a worker thread.
"""

from __future__ import annotations

import io
import re
import warnings

import numpy as np
from PIL import Image

#: A document photo must be at least this many pixels on its shorter side.
MIN_SIDE = 240
#: Pictures above this many pixels are refused before decoding (decompression bombs).
MAX_PIXELS = 40_000_000
#: Variance of the Laplacian under which a photo is too blurred to read (grey levels 0-255).
BLUR_THRESHOLD = 40.0
_PDF_OBJ = re.compile(rb"\d+\s+\d+\s+obj\b")


class UploadRefused(Exception):
    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def sharpness(image: Image.Image) -> float:
    """Variance of the 4-neighbour Laplacian of a grey copy (higher is sharper)."""
    grey = image.convert("L")
    if grey.width > 1000:
        grey = grey.resize((1000, max(1, grey.height * 1000 // grey.width)))
    a = np.asarray(grey, dtype=np.float32)
    if a.shape[0] < 3 or a.shape[1] < 3:
        return 0.0
    lap = 4 * a[1:-1, 1:-1] - a[:-2, 1:-1] - a[2:, 1:-1] - a[1:-1, :-2] - a[1:-1, 2:]
    return float(lap.var())


def _pdf(data: bytes) -> dict:
    tail = data[-2048:]
    if b"%%EOF" not in tail or b"startxref" not in data[-4096:] or not _PDF_OBJ.search(data):
        raise UploadRefused(422, "unreadable", "The PDF is incomplete or damaged.")
    return {"mime": "application/pdf", "extension": "pdf", "width": None, "height": None}


def _image(data: bytes) -> dict:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as probe:
                fmt = probe.format
                width, height = probe.size
                if fmt not in ("JPEG", "PNG"):
                    raise UploadRefused(415, "unsupported_type", "Send a photo (JPEG or PNG) or a PDF.")
                if width * height > MAX_PIXELS:
                    raise UploadRefused(413, "too_large", "The picture has too many pixels.")
                probe.load()  # decodes every byte: a truncated file raises here
                score = sharpness(probe)
    except UploadRefused:
        raise
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise UploadRefused(422, "unreadable", "The picture cannot be read; it may be cut off. Take it again.") from None
    if min(width, height) < MIN_SIDE:
        raise UploadRefused(422, "too_small", "The picture is too small to read; take it closer and whole.")
    if score < BLUR_THRESHOLD:
        raise UploadRefused(422, "blurry", "The photo is blurred; hold still and take it again.")
    mime, ext = ("image/jpeg", "jpg") if fmt == "JPEG" else ("image/png", "png")
    return {"mime": mime, "extension": ext, "width": width, "height": height, "sharpness": round(score, 1)}


def check_upload(data: bytes, limit: int) -> dict:
    """``{"mime", "extension", "width", "height"}`` of a usable document, else :class:`UploadRefused`."""
    if not data:
        raise UploadRefused(400, "invalid_payload", "The file is empty.")
    if len(data) > limit:
        raise UploadRefused(413, "too_large", f"The file is too large: at most {limit // (1024 * 1024)} MB.")
    if data.startswith(b"%PDF-"):
        return _pdf(data)
    if data.startswith(b"\xff\xd8\xff") or data.startswith(b"\x89PNG\r\n\x1a\n"):
        return _image(data)
    raise UploadRefused(415, "unsupported_type", "Send a photo (JPEG or PNG) or a PDF.")
