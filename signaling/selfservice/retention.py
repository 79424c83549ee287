"""Retention: documents and recordings older than the period are deleted, from their folder and their claim's.

The period (days) is a setting a supervisor changes (``POST /api/retention``);
until then it is ``Settings.retention_days``. A sweep runs at start, once a
day (a task owned by a :class:`signaling.tasks.Tasks`), and when the period
changes. Each deletion is recorded (``retention.deleted``); the files are
deleted and the claims' manifests rewritten in a worker thread.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from ..tasks import Tasks
from . import files
from .base import Part
from .recording import Recorder

logger = logging.getLogger(__name__)

DAY = 86400.0


class Retention(Part):
    """The retention period, the sweep, and the daily task that runs it."""

    def __init__(self, *args, recorder: Recorder, tasks: Tasks, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.recorder = recorder
        self.tasks = tasks

    def days(self) -> int:
        value = self.store.setting("retention_days")
        return int(value) if value is not None else int(self.settings.retention_days)

    def set_days(self, days: int, actor: str) -> None:
        self.store.set_setting("retention_days", str(days))
        self.store.add_event(None, "retention.set", {"days": days}, actor)

    def start_daily(self) -> None:
        self.tasks.spawn(self._daily(), "retention-daily")

    async def _daily(self) -> None:
        while True:
            await asyncio.sleep(DAY)
            try:
                await self.sweep()
            except Exception:
                logger.exception("retention sweep failed")

    async def sweep(self, now: float | None = None) -> dict:
        """Delete documents and recordings older than the retention period; record each deletion."""
        now = self.clock() if now is None else now
        days = self.days()
        cutoff = now - days * DAY
        deleted = {"documents": 0, "recordings": 0}
        claims = {c["session_id"]: c for c in self.store.claims()}
        for d in self.store.documents():
            if d["deleted_at"] is None and d["created_at"] < cutoff:
                self.store.set_document(d["document_id"], path=None, deleted_at=now)
                await asyncio.to_thread(_delete, d["path"], claims.get(d["session_id"]), "documents", "document_id",
                                        d["document_id"], now)
                self.store.add_event(d["session_id"], "retention.deleted",
                                     {"document_id": d["document_id"], "kind": d["kind"], "sha256": d["sha256"], "days": days},
                                     "retention")
                deleted["documents"] += 1
        for r in self.store.recordings():
            if r["deleted_at"] is None and r["started_at"] < cutoff and r["session_id"] not in self.recorder.running:
                self.store.set_recording(r["recording_id"], path=None, deleted_at=now)
                await asyncio.to_thread(_delete, r["path"], claims.get(r["session_id"]), "recordings", "recording_id",
                                        r["recording_id"], now)
                self.store.add_event(r["session_id"], "retention.deleted", {"recording_id": r["recording_id"], "days": days},
                                     "retention")
                deleted["recordings"] += 1
        if any(deleted.values()):
            logger.info("retention (%d days): deleted %s", days, deleted)
        return deleted


def _delete(path: str | None, claim: dict | None, section: str, key: str, item_id: str, now: float) -> None:
    """Delete the file and its copy in the claim's folder; mark it deleted in the claim's manifest."""
    files.delete(path)
    if claim is None:
        return
    folder = Path(claim["folder"])
    manifest = files.read_json(folder / "manifest.json")
    if manifest is None:
        return
    for entry in manifest.get(section, []):
        if entry.get(key) == item_id:
            if entry.get("file"):
                files.delete(str(folder / entry["file"]))
            entry["file"] = None
            entry["deleted_at"] = now
            entry["deleted_by"] = "retention"
    files.write_json(folder / "manifest.json", manifest)
