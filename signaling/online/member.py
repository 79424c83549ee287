"""The member's side of an online claim: the form, documents, submitting, the status link, booking, joining.

The status link's token (HMAC-SHA256 of the claim id and a random nonce
under the server's link key, :func:`.base.link_token`) is the member's only
credential; the store keeps its SHA-256 and the nonce, never the token. Wrong links count against the
caller's address (:meth:`MemberSide.by_token`), and so does every claim
started (:meth:`MemberSide.create`).
"""

from __future__ import annotations

import asyncio
import hashlib
import secrets
import uuid

from .. import forms
from ..core.daytime import local
from .base import ClaimsBase, doc_view, link_token, token_hash
from .status import (
    BENEFITS, REQUIRED_DOCUMENTS, ClaimError, day_of, day_slots, is_slot, join_window, per_slot, upcoming_days,
)

#: What the status page says the member does next, per state (keys ``claim.next.<state>`` in the locales).
NEXT_STEP = {s: f"claim.next.{s}" for s in (
    "draft", "submitted", "checking", "documents_requested", "interview_to_book", "interview_booked",
    "interview_done", "approved", "rejected", "payment_instructed")}
#: States in which the member may (re)upload a document.
UPLOADABLE = ("draft", "documents_requested")


class MemberSide(ClaimsBase):
    """``/claim`` and the status link."""

    def check_form(self, service: str, fields: dict) -> dict[str, str]:
        """The booth's own form and validation; a form that does not pass is refused with its errors."""
        if service not in BENEFITS:
            raise ClaimError("invalid_payload", f"Choose one of {', '.join(BENEFITS)}.", 400, "claim.error.benefit")
        schema = forms.load(service)
        clean: dict[str, str] = {}
        try:
            for name, value in fields.items():
                key, value = schema.check_edit(name, value)
                clean[key] = value
        except forms.EditRefused as exc:
            raise ClaimError("invalid_payload", str(exc), 400, "claim.error.form") from None
        result = schema.evaluate(clean, {}, today=local(self.now()).date())
        if not result.complete or result.needs_confirmation:
            error = ClaimError("invalid_form", "The form has errors or missing fields.", 400, "claim.error.form")
            error.params = {"errors": result.errors, "missing": result.missing}
            raise error
        return clean

    def create(self, service: str, lang: str, fields: dict, origin: str, address: str) -> tuple[dict, str]:
        """Start a claim (a draft until its documents are in); returns it and its status token."""
        if self.limited("create", address, self.settings.claims_per_hour, 3600):
            raise ClaimError("too_many_attempts", "Too many claims from this address; try again later.", 429,
                             retry_after=3600)
        clean = self.check_form(service, fields)
        self.hit("create", address)
        claim_id, nonce = f"oc-{uuid.uuid4().hex}", secrets.token_hex(16)
        token = link_token(self.settings.link_key, claim_id, nonce)  # shown once; the store keeps hash and nonce
        now = self.now()
        claim = {
            "claim_id": claim_id, "reference": None, "token_hash": token_hash(token), "token_nonce": nonce,
            "service": service, "lang": lang, "fields": clean, "email": clean.get("email") or None,
            "state": "draft", "origin": origin, "created_at": now, "updated_at": now,
            "expires_at": now + self.settings.link_days * 86400,
        }
        self.store.add_claim(claim)
        self.store.add_event(claim["claim_id"], "state", {"from": None, "to": "draft"}, "member")
        return self.store.claim(claim["claim_id"]), token  # type: ignore[return-value]

    def by_token(self, token: str, address: str) -> dict:
        """The claim the link opens; a wrong, expired or revoked link is refused and counted against ``address``."""
        if self.limited("link", address, self.settings.wrong_links_per_window, 900):
            raise ClaimError("too_many_attempts", "Too many wrong links from this address; wait 15 minutes.", 429,
                             retry_after=900)
        claim = self.store.claim_by_token(token_hash(token)) if 20 <= len(token) <= 100 else None
        if claim is None:
            self.hit("link", address)
            raise ClaimError("unknown_link", "This status link is not valid.", 404)
        if claim["revoked"]:
            raise ClaimError("revoked_link", "This status link has been revoked.", 410)
        if claim["expires_at"] < self.now():
            raise ClaimError("expired_link", "This status link has expired.", 410)
        return claim

    # -- documents --------------------------------------------------------------------

    async def add_document(self, claim: dict, kind: str, source: str, data: bytes, info: dict) -> dict:
        """Keep a checked upload (``info``: mime, width, height, extension) as the claim's ``kind``."""
        if claim["state"] not in UPLOADABLE:
            raise ClaimError("invalid_state", "Documents cannot be changed now.", 409)
        more = claim["state"] == "documents_requested" and claim["outcome"] == "more_documents"
        if kind not in REQUIRED_DOCUMENTS[claim["service"]] and not (more and kind == "other"):
            raise ClaimError("invalid_payload", f"This claim does not need a {kind!r}.", 400, "claim.error.kind")
        latest = self.latest_documents(claim).get(kind)
        asked = latest is None or latest["status"] == "rejected" or (more and kind == "other")
        if claim["state"] == "documents_requested" and not asked:
            raise ClaimError("invalid_state", "This document was not asked for again.", 409)
        document_id = f"od-{uuid.uuid4().hex[:16]}"
        path = self.folder(claim["claim_id"]) / f"{document_id}.{info['extension']}"
        await asyncio.to_thread(_write, path, data)
        row = {"document_id": document_id, "claim_id": claim["claim_id"], "kind": kind, "path": str(path),
               "mime": info["mime"], "bytes": len(data), "width": info.get("width"), "height": info.get("height"),
               "sha256": hashlib.sha256(data).hexdigest(), "source": source, "status": "pending",
               "created_at": self.now()}
        if latest is not None:
            self.store.set_document(latest["document_id"], status="replaced")
        self.store.add_document(row)
        self.store.add_event(claim["claim_id"], "document", {"document_id": document_id, "kind": kind}, "member")
        fresh = self.store.claim(claim["claim_id"])
        if fresh and fresh["state"] == "documents_requested" and not self._rejected(fresh):
            self._move(fresh, "submitted", "member", reason=None)  # back in the validation queue, in its place
        return doc_view(row)

    def _rejected(self, claim: dict) -> list[str]:
        return [k for k, d in self.latest_documents(claim).items() if d["status"] == "rejected"]

    def submit(self, claim: dict) -> dict:
        if claim["state"] != "draft":
            raise ClaimError("invalid_state", "This claim has been submitted already.", 409)
        have = self.latest_documents(claim)
        missing = [k for k in REQUIRED_DOCUMENTS[claim["service"]] if k not in have]
        if missing:
            error = ClaimError("documents_missing", "Upload every required document first.", 409)
            error.params = {"missing": missing}
            raise error
        now = self.now()
        reference = f"ONL-{claim['service'].upper()}-{local(now):%Y%m%d}-{self.store.next_seq():06d}"
        return self._move(claim, "submitted", "member", reference=reference, submitted_at=now)

    # -- the interview -------------------------------------------------------------------

    def daily_capacity(self, day: str) -> int:
        own = self.store.capacity(day)
        return self.settings.interview_capacity if own is None else own

    def slots(self) -> list[dict]:
        """Slots from now on, with how many places each still has."""
        now, out = self.now(), []
        for day, start in upcoming_days(now):
            size = per_slot(self.daily_capacity(day))
            for at in day_slots(start):
                if at > now and size:
                    out.append({"at": at, "free": max(0, size - self.store.booked(at))})
        return out

    def book(self, claim: dict, slot: float | None, free_tile_now: bool) -> dict:
        """Book ``slot`` (or, with ``slot`` None, now, when an agent has a free tile)."""
        if claim["state"] not in ("interview_to_book", "interview_booked"):
            raise ClaimError("invalid_state", "An interview can be booked once the documents are accepted.", 409)
        now = self.now()
        if slot is None:
            if not free_tile_now:
                raise ClaimError("no_free_agent", "No agent is free right now; book a slot instead.", 409)
            at, capacity = now, 1 << 30
        else:
            if slot <= now:
                raise ClaimError("slot_past", "That time has passed; choose a later slot.", 409)
            if not is_slot(slot) or day_of(slot) not in {d for d, _ in upcoming_days(now)}:
                raise ClaimError("invalid_payload", "That is not a slot on offer.", 400, "claim.error.slot")
            at, capacity = slot, per_slot(self.daily_capacity(day_of(slot)))
        if not self.store.book(claim["claim_id"], at, capacity, ("interview_to_book", "interview_booked")):
            raise ClaimError("slot_full", "That slot is full; choose another.", 409)
        self.store.add_event(claim["claim_id"], "state", {"from": claim["state"], "to": "interview_booked", "slot": at},
                             "member")
        fresh = self.store.claim(claim["claim_id"])
        for listener in list(self.listeners):
            listener(fresh)  # type: ignore[arg-type]
        return fresh  # type: ignore[return-value]

    def may_join(self, claim: dict) -> None:
        """Refuse a member who is not due for an interview now (the socket's connect check)."""
        if claim["state"] != "interview_booked" or claim["slot"] is None:
            raise ClaimError("invalid_state", "There is no interview booked.", 409)
        start, end = join_window(claim["slot"])
        now = self.now()
        if now < start:
            raise ClaimError("not_due", "Your interview has not started yet.", 409)
        if now > end:
            raise ClaimError("slot_past", "Your interview time has passed; book another.", 409)

    def interview_started(self, claim: dict, session_id: str) -> None:
        self.store.update_claim(claim["claim_id"], session_id=session_id)
        self.store.add_event(claim["claim_id"], "interview", {"session_id": session_id}, "member")

    # -- what the status page shows -------------------------------------------------------------

    def status(self, claim: dict) -> dict:
        latest = self.latest_documents(claim)
        state = claim["state"]
        return {
            "reference": claim["reference"], "service": claim["service"], "state": state, "reason": claim["reason"],
            "next": NEXT_STEP[state], "slot": claim["slot"], "outcome": claim["outcome"],
            "required": list(REQUIRED_DOCUMENTS[claim["service"]]),
            "documents": {k: doc_view(d) for k, d in latest.items()},
            "history": [{"state": e["data"]["to"], "at": e["at"]} for e in self.store.events(claim["claim_id"])
                        if e["kind"] == "state"],
        }


def _write(path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(path.suffix + ".part")
    tmp.write_bytes(data)
    tmp.replace(path)
