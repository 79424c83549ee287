"""The back office's side of an online claim: the validation queue, one agent per claim, reviews, the outcome.

An agent may validate or decide a claim only with the claim's benefit among
their skills. Opening a claim takes a lease (one ``UPDATE … WHERE`` in the
store): while it runs, no other agent can open, review or release it. The
interview's outcome writes the payment instruction for the finance system
(``<data>/payments/<reference>.json``; the finance system is outside Lapak).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

from ..core.vocabulary import AgentIdentity
from .base import ClaimsBase, doc_view
from .status import OUTCOMES, REQUIRED_DOCUMENTS, ClaimError

#: Longest reason an agent gives the member.
MAX_REASON = 500
#: Fields of the claim the payment instruction carries (the finance system's input).
PAYMENT_FIELDS = ("nik", "full_name", "bank_name", "account_number", "account_holder")


def may_serve(agent: AgentIdentity, claim: dict) -> bool:
    return agent.skills is None or claim["service"] in agent.skills


class BackOffice(ClaimsBase):
    """Validation queue, lease, document reviews, the interview outcome."""

    def _skilled(self, agent: AgentIdentity, claim: dict | None) -> dict:
        if claim is None:
            raise ClaimError("not_found", "No such claim.", 404)
        if not may_serve(agent, claim):
            raise ClaimError("forbidden", f"You do not have the {claim['service']} skill for this claim.", 403)
        return claim

    def queue(self, agent: AgentIdentity) -> list[dict]:
        """Claims waiting for validation that this agent may take, oldest submission first."""
        now = self.now()
        out = []
        for claim in self.store.claims(("submitted", "checking")):
            held = claim["lease_agent"] not in (None, agent.agent_id) and (claim["lease_until"] or 0) >= now
            if may_serve(agent, claim) and not held:
                out.append({"reference": claim["reference"], "service": claim["service"], "state": claim["state"],
                            "submitted_at": claim["submitted_at"], "documents": len(self.latest_documents(claim))})
        return out

    def open(self, agent: AgentIdentity, reference: str) -> dict:
        """Take the claim for validation (refused while another agent holds it)."""
        claim = self._skilled(agent, self.store.claim_by_reference(reference))
        if claim["state"] not in ("submitted", "checking"):
            raise ClaimError("invalid_state", f"The claim is {claim['state']}, not waiting for validation.", 409)
        now = self.now()
        if not self.store.take_lease(claim["claim_id"], agent.agent_id, now, now + self.settings.lease_seconds):
            raise ClaimError("locked", "Another agent is validating this claim.", 409)
        if claim["state"] == "submitted":
            claim = self._move(claim, "checking", f"agent:{agent.agent_id}")
        return self.detail(agent, claim["reference"])

    def _held(self, agent: AgentIdentity, reference: str) -> dict:
        claim = self._skilled(agent, self.store.claim_by_reference(reference))
        if claim["state"] != "checking" or claim["lease_agent"] != agent.agent_id \
                or (claim["lease_until"] or 0) < self.now():
            raise ClaimError("locked", "Open the claim first; you do not hold it.", 409)
        now = self.now()
        self.store.take_lease(claim["claim_id"], agent.agent_id, now, now + self.settings.lease_seconds)
        return claim

    def release(self, agent: AgentIdentity, reference: str) -> None:
        claim = self._held(agent, reference)
        self.store.drop_lease(claim["claim_id"], agent.agent_id)
        self._move(claim, "submitted", f"agent:{agent.agent_id}")

    def review(self, agent: AgentIdentity, reference: str, document_id: str, accepted: bool, reason: str) -> dict:
        """Accept a document, or ask for it again with a reason the member reads."""
        claim = self._held(agent, reference)
        doc = self.store.document(document_id)
        latest = self.latest_documents(claim)
        if doc is None or doc["claim_id"] != claim["claim_id"] or latest.get(doc["kind"], {}).get("document_id") != document_id:
            raise ClaimError("not_found", "No such document in this claim.", 404)
        reason = reason.strip()[:MAX_REASON]
        if not accepted and not reason:
            raise ClaimError("invalid_payload", "Say why the document must be sent again.", 400)
        status = "accepted" if accepted else "rejected"
        self.store.set_document(document_id, status=status, reason=None if accepted else reason,
                                reviewed_by=agent.agent_id, reviewed_at=self.now())
        self.store.add_event(claim["claim_id"], "review", {"document_id": document_id, "status": status, "reason": reason},
                             f"agent:{agent.agent_id}")
        return self._after_review(agent, claim)

    def _after_review(self, agent: AgentIdentity, claim: dict) -> dict:
        latest = self.latest_documents(claim)
        kinds = set(REQUIRED_DOCUMENTS[claim["service"]]) | set(latest)
        statuses = [latest[k]["status"] if k in latest else "missing" for k in sorted(kinds)]
        actor = f"agent:{agent.agent_id}"
        if all(s == "accepted" for s in statuses):
            self.store.drop_lease(claim["claim_id"], agent.agent_id)
            self._move(claim, "interview_to_book", actor, reason=None)
        elif "pending" not in statuses:
            reasons = "; ".join(d["reason"] for d in latest.values() if d["status"] == "rejected" and d["reason"])
            self.store.drop_lease(claim["claim_id"], agent.agent_id)
            self._move(claim, "documents_requested", actor, reason=reasons[:MAX_REASON])
        return self.detail(agent, claim["reference"])

    def detail(self, agent: AgentIdentity, reference: str) -> dict:
        """What the agent sees of a claim: the form, every document (newest per kind), history."""
        claim = self._skilled(agent, self.store.claim_by_reference(reference))
        return {
            "reference": claim["reference"], "service": claim["service"], "state": claim["state"],
            "fields": claim["fields"], "submitted_at": claim["submitted_at"], "slot": claim["slot"],
            "lease_agent": claim["lease_agent"], "session_id": claim["session_id"], "reason": claim["reason"],
            "required": list(REQUIRED_DOCUMENTS[claim["service"]]),
            "documents": [doc_view(d) for d in self.latest_documents(claim).values()],
            "history": self.store.events(claim["claim_id"]),
        }

    def document_file(self, agent: AgentIdentity, reference: str, document_id: str) -> dict:
        claim = self._skilled(agent, self.store.claim_by_reference(reference))
        doc = self.store.document(document_id)
        if doc is None or doc["claim_id"] != claim["claim_id"]:
            raise ClaimError("not_found", "No such document in this claim.", 404)
        return doc

    # -- the interview's outcome ---------------------------------------------------------------

    async def decide(self, agent: AgentIdentity, reference: str, outcome: str, reason: str, session_agent: str | None) -> dict:
        """End the interview: approved (payment instructed), rejected, or more documents needed.

        ``session_agent`` is the agent whose tile holds the claim's interview
        session (None if it has none): only they decide.
        """
        claim = self._skilled(agent, self.store.claim_by_reference(reference))
        if outcome not in OUTCOMES:
            raise ClaimError("invalid_payload", f"The outcome is one of {', '.join(OUTCOMES)}.", 400)
        reason = reason.strip()[:MAX_REASON]
        if outcome != "approved" and not reason:
            raise ClaimError("invalid_payload", "Give the member a reason.", 400)
        if claim["state"] != "interview_booked" or session_agent != agent.agent_id:
            raise ClaimError("invalid_state", "Only the agent interviewing the member decides the claim.", 409)
        actor = f"agent:{agent.agent_id}"
        claim = self._move(claim, "interview_done", actor)
        if outcome == "rejected":
            return self._move(claim, "rejected", actor, reason=reason, outcome=outcome, decided_at=self.now())
        if outcome == "more_documents":  # the member adds an "other" document; validation starts again
            return self._move(claim, "documents_requested", actor, reason=reason, outcome=outcome)
        claim = self._move(claim, "approved", actor, outcome=outcome, decided_at=self.now())
        path = await asyncio.to_thread(self._write_payment, claim, agent)
        return self._move(claim, "payment_instructed", actor, payment_file=str(path))

    def _write_payment(self, claim: dict, agent: AgentIdentity) -> Path:
        folder = Path(self.settings.data_dir) / "payments"
        folder.mkdir(parents=True, exist_ok=True)
        instruction = {
            "reference": claim["reference"], "benefit": claim["service"], "approved_by": agent.agent_id,
            "approved_at": self.now(), **{k: claim["fields"].get(k, "") for k in PAYMENT_FIELDS},
        }
        path = folder / f"{claim['reference']}.json"
        tmp = path.with_suffix(".part")
        tmp.write_text(json.dumps(instruction, ensure_ascii=False, indent=1), encoding="utf-8")
        tmp.replace(path)
        return path
