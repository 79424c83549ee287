"""The online channel in figures, for the supervisors' board and history (beside the branches).

``online_report(claims, since)``: claims submitted, waiting for validation
(and the oldest wait), being checked, documents asked again, interviews to
book, booked and done, outcomes, and the time from submission to payment
instruction (mean and median, seconds). ``since`` (UNIX seconds) limits the
counts of submissions, interviews done and outcomes; the waiting counts are
always of now.
"""

from __future__ import annotations

import statistics

from signaling.core.daytime import today_start
from signaling.online import OnlineClaims


def online_report(claims: OnlineClaims, since: float | None = None) -> dict:
    now = claims.now()
    since = today_start(now) if since is None else since
    every = claims.store.claims()
    by_state: dict[str, int] = {}
    for claim in every:
        by_state[claim["state"]] = by_state.get(claim["state"], 0) + 1
    submitted = [c for c in every if c["submitted_at"] is not None and c["submitted_at"] >= since]
    decided = [c for c in every if c["decided_at"] is not None and c["decided_at"] >= since]
    waiting = [c for c in every if c["state"] == "submitted"]
    paid = [c["decided_at"] - c["submitted_at"] for c in decided if c["state"] == "payment_instructed"]
    outcomes: dict[str, int] = {}
    for claim in decided:
        outcomes[claim["outcome"]] = outcomes.get(claim["outcome"], 0) + 1
    return {
        "at": now,
        "since": since,
        "submitted": len(submitted),
        "waiting_validation": len(waiting),
        "oldest_wait_seconds": int(now - min(c["submitted_at"] for c in waiting)) if waiting else 0,
        "checking": by_state.get("checking", 0),
        "documents_requested": by_state.get("documents_requested", 0),
        "interviews_to_book": by_state.get("interview_to_book", 0),
        "interviews_booked": by_state.get("interview_booked", 0),
        "interviews_done": len(decided),
        "outcomes": outcomes,
        "submission_to_payment_seconds": {
            "count": len(paid),
            "mean": round(statistics.fmean(paid), 1) if paid else None,
            "median": round(statistics.median(paid), 1) if paid else None,
        },
        "states": by_state,
    }
