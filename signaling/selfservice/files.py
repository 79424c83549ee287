"""The files of self-service, written, hashed, linked and deleted off the event loop.

Every function here that touches the disk has an ``async`` twin that runs it
in a worker thread (:func:`asyncio.to_thread`): an 8 MB photo being written
and hashed, or a claim's recordings being hashed, never stalls the signaling
of every other booth. The synchronous parts are plain functions so that one
thread call does a whole job (a claim folder, a retention deletion).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
from pathlib import Path


def write_atomically(path: Path, data: bytes) -> str:
    """Write ``data`` to ``path`` (via ``.part`` and a rename); return its SHA-256 (hex)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".part")
    tmp.write_bytes(data)
    os.replace(tmp, path)
    return hashlib.sha256(data).hexdigest()


async def write_document(path: Path, data: bytes) -> str:
    """:func:`write_atomically`, in a worker thread."""
    return await asyncio.to_thread(write_atomically, path, data)


def delete(path: str | None) -> None:
    """Remove a file if there is one (already gone is fine)."""
    if path:
        try:
            os.unlink(path)
        except FileNotFoundError:
            pass


async def delete_file(path: str | None) -> None:
    await asyncio.to_thread(delete, path)


async def make_folder(path: Path) -> None:
    await asyncio.to_thread(path.mkdir, parents=True, exist_ok=True)


def link_or_copy(src: Path, dst: Path) -> None:
    """A hard link where the file system allows it, else a copy."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def sha256_file(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def read_json(path: Path) -> dict | None:
    return json.loads(path.read_text(encoding="utf-8")) if path.exists() else None


def write_json(path: Path, data: dict) -> None:
    path.write_text(json.dumps(data, ensure_ascii=False, indent=2), encoding="utf-8")


async def read_manifest(folder: Path) -> dict | None:
    """A claim folder's ``manifest.json``, or None when it is missing."""
    return await asyncio.to_thread(read_json, folder / "manifest.json")


def claim_file(folder: Path, kind: str, name: str) -> Path | None:
    """``folder/kind/name`` if it is a file inside the claim folder; else None (no way out of the folder)."""
    folder = folder.resolve()
    path = (folder / kind / name).resolve()
    return path if folder in path.parents and path.is_file() else None
