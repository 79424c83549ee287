"""The claim: submitted once the form is complete, filed as a folder of files with a manifest, shown as a QR code.

The reference is ``<SERVICE>-<YYYYMMDD>-<seq>`` with the date in WIB by the
service's clock. The folder (``claims/<reference>/``: ``manifest.json``,
``documents/``, ``recordings/``) is built in a worker thread — links or
copies of the files, the recordings' SHA-256 — under ``<reference>.part``
and renamed into place, so a half-written claim is never seen.
"""

from __future__ import annotations

import asyncio
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from ..schemas import EventError
from . import files
from .base import Part
from .forms import FormDesk
from .recording import Recorder

if TYPE_CHECKING:  # pragma: no cover
    from .base import AgentIdentity

    from ..core.session import Session

_DOC_KEYS = ("document_id", "kind", "sha256", "bytes", "mime", "width", "height", "status", "created_at")


class ClaimDesk(Part):
    """``claim.submit``, ``claim.done`` and the claim's manifest."""

    def __init__(self, *args, forms: FormDesk, recorder: Recorder, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.forms = forms
        self.recorder = recorder

    async def submit(self, agent: "AgentIdentity", session_id: str) -> dict:
        session = self.agent_session(agent, session_id)
        form = self.forms.form_of(session)
        self.forms.editable(form)
        result = self.forms.evaluate(self.forms.schema(session), form)
        if not result.complete:
            problems = sorted(set(result.missing) | set(result.errors))
            raise EventError("invalid_state", "The form is not complete and valid yet: " + ", ".join(problems) + ".")
        if session.session_id in self.recorder.running:
            await self.recorder.stop(session.session_id, f"agent:{agent.agent_id}", "claim submitted")
        now = self.clock()
        seq = self.store.next_claim_seq()
        reference = f"{session.service.upper()}-{self.settings.day(now)}-{seq:06d}"
        folder = self.settings.root / "claims" / reference
        manifest = await self._bundle(session, form, reference, folder, now, agent)
        self.store.add_claim({"reference": reference, "seq": seq, "session_id": session.session_id,
                              "service": session.service, "kiosk_id": session.kiosk_id, "branch": session.branch,
                              "agent_id": agent.agent_id, "folder": str(folder), "created_at": now})
        form["submitted"] = reference
        form["pointed"] = None
        self.store.add_event(session.session_id, "claim.submit", {"reference": reference}, f"agent:{agent.agent_id}")
        await self.forms.save_and_tell(session, form)
        await self.ctx.tell(session, "claim.done", {"session_id": session.session_id, "reference": reference,
                                                    "qr": qr_data_uri(reference)}, agent=False)
        await self.ctx.tell(session, "claim.done", {"session_id": session.session_id, "reference": reference}, kiosk=False)
        return {"reference": reference, "files": len(manifest["documents"]) + len(manifest["recordings"])}

    async def _bundle(self, session: "Session", form: dict, reference: str, folder: Path, now: float,
                      agent: "AgentIdentity") -> dict:
        """Gather the claim's records here, then write its folder in a worker thread (docs/self-service.md)."""
        documents = [d for d in self.store.documents(session.session_id) if d["status"] != "replaced" and d["path"] is not None]
        recordings = self.store.recordings(session.session_id)
        schema = self.forms.schema(session)
        manifest = {
            "format": "lapak-claim/1",
            "reference": reference,
            "created_at": now,
            "service": session.service,
            "form_version": schema.version,
            "session": {"session_id": session.session_id, "kiosk_id": session.kiosk_id, "branch": session.branch,
                        "booth": session.booth, "language": session.language, "created_at": session.created_at},
            "agent": {"agent_id": agent.agent_id, "name": agent.name},
            "form": {name: form["fields"].get(name, "") for name in schema.fields},
            "confirmed": form["confirmed"],
            "documents": [],
            "consent": [{"recording": e["data"].get("recording"), "at": e["at"], "actor": e["actor"]}
                        for e in self.store.events(session.session_id, "consent.answer")],
            "recordings": [],
            "history": [{"from": f, "to": t, "actor": a, "reason": r, "at": at}
                        for f, t, a, r, at in self.store.transitions(session.session_id)],
            "events": [{"kind": e["kind"], "actor": e["actor"], "at": e["at"], "data": e["data"]}
                       for e in self.store.events(session.session_id)],
        }
        return await asyncio.to_thread(write_claim_folder, folder, manifest, documents, recordings)

    async def manifest(self, reference: str) -> dict | None:
        """The claim's ``manifest.json`` as stored (read in a worker thread), or None."""
        claim = self.store.claim(reference)
        if claim is None:
            return None
        return await files.read_manifest(Path(claim["folder"]))


def write_claim_folder(folder: Path, manifest: dict, documents: list[dict], recordings: list[dict]) -> dict:
    """Link the files into ``<folder>.part``, hash the recordings, write the manifest, rename into place."""
    part = folder.with_name(folder.name + ".part")
    shutil.rmtree(part, ignore_errors=True)
    (part / "documents").mkdir(parents=True)
    (part / "recordings").mkdir()
    for d in documents:
        name = Path(d["path"]).name
        files.link_or_copy(Path(d["path"]), part / "documents" / name)
        manifest["documents"].append({k: d[k] for k in _DOC_KEYS} | {"file": f"documents/{name}"})
    for r in recordings:
        entry = {k: r[k] for k in ("recording_id", "started_at", "stopped_at", "seconds")}
        src = Path(r["path"]) if r["path"] else None
        if src is not None and src.exists():
            files.link_or_copy(src, part / "recordings" / src.name)
            entry["file"] = f"recordings/{src.name}"
            entry["sha256"] = files.sha256_file(src)
        else:
            entry["file"] = None
        manifest["recordings"].append(entry)
    files.write_json(part / "manifest.json", manifest)
    os.replace(part, folder)
    return manifest


def qr_data_uri(text: str) -> str:
    """The text as a QR code, an SVG data URI made on the server (segno)."""
    import segno

    return segno.make(text, error="m").svg_data_uri(scale=8, border=2, dark="#0b3d2c")
