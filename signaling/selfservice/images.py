"""What a photo is, judged by its bytes: JPEG or PNG, and its size in pixels."""

from __future__ import annotations

import struct

#: JPEG start-of-frame markers (they carry the picture's height and width).
_SOF = (0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF)


def image_info(data: bytes) -> tuple[str, int, int] | None:
    """``(mime, width, height)`` of a JPEG or PNG, judged by its bytes (not its name); else None."""
    if data.startswith(b"\x89PNG\r\n\x1a\n") and len(data) >= 24 and data[12:16] == b"IHDR":
        width, height = struct.unpack(">II", data[16:24])
        return ("image/png", width, height) if width and height else None
    if data.startswith(b"\xff\xd8\xff"):
        i = 2
        while i + 9 < len(data):
            if data[i] != 0xFF:
                return None
            marker = data[i + 1]
            if marker == 0xFF:
                i += 1
                continue
            if marker in (0xD8, 0x01) or 0xD0 <= marker <= 0xD7:
                i += 2
                continue
            (length,) = struct.unpack(">H", data[i + 2 : i + 4])
            if marker in _SOF:
                height, width = struct.unpack(">HH", data[i + 5 : i + 9])
                return ("image/jpeg", width, height) if width and height else None
            i += 2 + length
        return None
    return None
