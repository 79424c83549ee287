"""Helpers for the self-service tests: event collectors, valid form data, tiny images."""

from __future__ import annotations

import struct
import zlib

import aiohttp

from kiosk_client.client import until

SS_EVENTS = ("form.state", "doc.request", "doc.capture", "doc.state", "doc.received", "doc.reviewed",
             "consent.request", "consent.state", "rec.state", "claim.done")

#: A woman born 17 August 1990 in Jakarta Selatan (DKI = 31): day 17 + 40 = 57.
NIK = "3174055708900012"
JHT = {
    "nik": NIK,
    "kpj": "12345678901",
    "full_name": "Siti Aminah",
    "birth_date": "17-08-1990",
    "mother_name": "Fatimah",
    "phone": "081234567890",
    "email": "siti@example.co.id",
    "reason": "resigned",
    "bank_name": "bri",
    "account_number": "0123456789",
    "account_holder": "Siti Aminah",
}


def collect(client, namespace: str) -> dict[str, list]:
    """Record every self-service event a socket.io client receives."""
    seen: dict[str, list] = {e: [] for e in SS_EVENTS}
    for event in SS_EVENTS:
        client.on(event, (lambda e: lambda data: seen[e].append(data))(event), namespace=namespace)
    return seen


def pushed(seen: dict[str, list]) -> int:
    return sum(len(v) for v in seen.values())


def png(width: int, height: int) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + bytes([(x * 7 + y) % 256 for x in range(width)] * 3)[: width * 3] for y in range(height))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


async def upload(url: str, session_id: str, request_id: str, data: bytes, token: str = "kiosk-token-1",
                 filename: str = "doc.png", content_type: str = "image/png") -> tuple[int, dict]:
    form = aiohttp.FormData()
    form.add_field("request_id", request_id)
    form.add_field("file", data, filename=filename, content_type=content_type)
    async with aiohttp.ClientSession() as http:
        async with http.post(f"{url}/api/sessions/{session_id}/documents", data=form,
                             headers={"Authorization": f"Bearer {token}"}) as r:
            return r.status, await r.json()


async def last_state(seen: dict, revision: int, timeout: float = 5.0) -> dict:
    """Wait for a form.state of at least ``revision`` and return the newest."""
    await until(lambda: seen["form.state"] and seen["form.state"][-1]["revision"] >= revision, timeout,
                f"form.state revision {revision}")
    return seen["form.state"][-1]
