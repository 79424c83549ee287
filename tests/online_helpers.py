"""Helpers for the online-claim tests: a server with a skill-limited agent, documents, and the member's HTTP calls."""

from __future__ import annotations

import io
from pathlib import Path

import aiohttp
from PIL import Image, ImageDraw, ImageFilter

from conftest import make_config, start_server
from selfservice_helpers import JHT
from signaling.core.vocabulary import AgentIdentity

#: The JHT claim's documents.
JHT_DOCS = ("ktp", "bank_book", "resignation_letter")
#: An agent who serves only JKK (no JHT skill).
JKK_AGENT = "agent-token-jkk"


async def online_server(tmp_path: Path, **overrides):
    config = make_config(tmp_path, **overrides)
    config.agent_tokens[JKK_AGENT] = AgentIdentity("agent-jkk", name="Agen JKK", skills=frozenset({"jkk"}))
    return await start_server(config)


def sharp_png(text: str = "KARTU TANDA PENDUDUK", size=(800, 500)) -> bytes:
    image = Image.new("RGB", size, "white")
    draw = ImageDraw.Draw(image)
    for i in range(20):
        draw.text((20, 20 + i * 22), f"{text} 3174055708900012 " * 2, fill="black")
    out = io.BytesIO()
    image.save(out, "PNG")
    return out.getvalue()


def blurred_jpeg() -> bytes:
    image = Image.open(io.BytesIO(sharp_png())).filter(ImageFilter.GaussianBlur(5))
    out = io.BytesIO()
    image.convert("RGB").save(out, "JPEG", quality=90)
    return out.getvalue()


def sharp_jpeg() -> bytes:
    out = io.BytesIO()
    Image.open(io.BytesIO(sharp_png())).convert("RGB").save(out, "JPEG", quality=90)
    return out.getvalue()


PDF = (b"%PDF-1.4\n1 0 obj\n<< /Type /Catalog /Pages 2 0 R >>\nendobj\n2 0 obj\n<< /Type /Pages /Kids [] /Count 0 >>\n"
       b"endobj\nxref\n0 3\n0000000000 65535 f \n0000000009 00000 n \n0000000058 00000 n \n"
       b"trailer\n<< /Size 3 /Root 1 0 R >>\nstartxref\n110\n%%EOF\n")


def bearer(token: str) -> dict:
    return {"Authorization": f"Bearer {token}"}


class Member:
    """One member at home, speaking the portal's JSON API (as the page does) from one address."""

    def __init__(self, http: aiohttp.ClientSession, url: str, forwarded: str | None = None) -> None:
        self.http, self.url = http, url
        self.token: str | None = None
        self.headers = {"X-Forwarded-For": forwarded} if forwarded else {}

    async def create(self, service: str = "jht", fields: dict | None = None, lang: str = "id") -> tuple[int, dict]:
        body = {"service": service, "lang": lang, "fields": dict(JHT if fields is None else fields)}
        async with self.http.post(f"{self.url}/api/claim", json=body, headers=self.headers) as r:
            data = await r.json()
        if r.status == 201:
            self.token = data["token"]
        return r.status, data

    async def upload(self, kind: str, data: bytes, source: str = "file", name: str = "doc.png") -> tuple[int, dict]:
        form = aiohttp.FormData()
        form.add_field("kind", kind)
        form.add_field("source", source)
        form.add_field("file", data, filename=name, content_type="application/octet-stream")
        async with self.http.post(f"{self.url}/api/claim/{self.token}/documents", data=form, headers=self.headers) as r:
            return r.status, await r.json()

    async def submit(self) -> tuple[int, dict]:
        async with self.http.post(f"{self.url}/api/claim/{self.token}/submit", headers=self.headers) as r:
            return r.status, await r.json()

    async def status(self, token: str | None = None) -> tuple[int, dict]:
        async with self.http.get(f"{self.url}/api/claim/{token or self.token}", headers=self.headers) as r:
            return r.status, await r.json()

    async def book(self, body: dict) -> tuple[int, dict]:
        async with self.http.post(f"{self.url}/api/claim/{self.token}/book", json=body, headers=self.headers) as r:
            return r.status, await r.json()

    async def file_claim(self) -> str:
        """Create, upload every JHT document, submit; the claim's reference."""
        status, data = await self.create()
        assert status == 201, data
        for kind in JHT_DOCS:
            status, data = await self.upload(kind, sharp_png(kind))
            assert status == 201, data
        status, data = await self.submit()
        assert status == 200, data
        return data["claim"]["reference"]


class Agent:
    """The back office's JSON API with an agent token."""

    def __init__(self, http: aiohttp.ClientSession, url: str, token: str) -> None:
        self.http, self.url, self.headers = http, url, bearer(token)

    async def get(self, path: str) -> tuple[int, dict]:
        async with self.http.get(f"{self.url}{path}", headers=self.headers) as r:
            return r.status, await r.json()

    async def post(self, path: str, body: dict | None = None) -> tuple[int, dict]:
        async with self.http.post(f"{self.url}{path}", json=body or {}, headers=self.headers) as r:
            return r.status, await r.json()

    async def queue(self) -> list[dict]:
        status, data = await self.get("/api/online/queue")
        assert status == 200, data
        return data["claims"]

    async def open(self, reference: str) -> tuple[int, dict]:
        return await self.post(f"/api/online/claims/{reference}/open")

    async def review(self, reference: str, document_id: str, accepted: bool, reason: str = "") -> tuple[int, dict]:
        return await self.post(f"/api/online/claims/{reference}/documents/{document_id}/review",
                               {"accepted": accepted, "reason": reason})

    async def accept_all(self, reference: str) -> dict:
        status, claim = await self.open(reference)
        assert status == 200, claim
        for doc in claim["documents"]:
            status, claim = await self.review(reference, doc["document_id"], True)
            assert status == 200, claim
        return claim
