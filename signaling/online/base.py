"""What both sides of the online claims share: settings, the store, state moves, views and limits."""

from __future__ import annotations

import base64
import hashlib
import hmac
import logging
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from .status import ClaimError, check_move
from .store import OnlineStore

logger = logging.getLogger(__name__)


@dataclass
class OnlineSettings:
    """The online door's knobs (``Config`` fills them; tests pass their own)."""

    data_dir: Path
    clock: Callable[[], float]
    #: Interviews per day unless a supervisor sets a day's own number (``--interview-capacity``).
    interview_capacity: int = 32
    #: How long a status link works (days).
    link_days: int = 120
    #: Claims one address may start per hour, and wrong status links it may try per 15 minutes.
    claims_per_hour: int = 5
    wrong_links_per_window: int = 20
    #: How long an agent holds a claim they opened for validation (s).
    lease_seconds: float = 600.0
    #: Largest document (bytes).
    max_document_bytes: int = 8 * 1024 * 1024
    #: The server's secret from which status links are derived (``<data>/online-link.key``; tests: random).
    link_key: bytes = field(default_factory=lambda: secrets.token_bytes(32))


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def link_token(key: bytes, claim_id: str, nonce: str) -> str:
    """The status link's token: HMAC-SHA256 of the claim id and its nonce under the server's key (43 characters).

    The store keeps only the nonce and the token's SHA-256: its rows (a dump,
    a backup) open no claim; with the key, the server rebuilds the link for
    later mails.
    """
    mac = hmac.new(key, f"{claim_id}:{nonce}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")


class ClaimsBase:
    """Settings, store, listeners; moves that are stored with their history and told to listeners."""

    def __init__(self, store: OnlineStore, settings: OnlineSettings) -> None:
        self.store = store
        self.settings = settings
        #: Called with the claim after every state change (the mailer, which keeps MAIL_STATES; the board).
        self.listeners: list[Callable[[dict], None]] = []

    def now(self) -> float:
        return self.settings.clock()

    def link_token(self, claim: dict) -> str | None:
        """The claim's status token rebuilt from the key (None: a claim from before revision 0004, or another key)."""
        nonce = claim.get("token_nonce")
        if not nonce:
            return None
        token = link_token(self.settings.link_key, claim["claim_id"], nonce)
        return token if hmac.compare_digest(token_hash(token), claim["token_hash"]) else None

    def folder(self, claim_id: str) -> Path:
        return Path(self.settings.data_dir) / "online" / claim_id

    def _move(self, claim: dict, new: str, actor: str, **values) -> dict:
        """Move the claim (refusing an illegal move, or one that lost a race), store history, tell listeners."""
        old = claim["state"]
        check_move(old, new)
        if not self.store.move(claim["claim_id"], old, new, **values):
            raise ClaimError("conflict", "The claim changed meanwhile; reload it.", 409)
        self.store.add_event(claim["claim_id"], "state", {"from": old, "to": new, **_public(values)}, actor)
        fresh = self.store.claim(claim["claim_id"])
        assert fresh is not None
        for listener in list(self.listeners):  # every move: the board counts them all; the mailer keeps MAIL_STATES
            try:
                listener(fresh)
            except Exception:  # a listener failing never blocks the member
                logger.exception("online claim listener failed")
        return fresh

    # -- limits per address ------------------------------------------------------------

    def limited(self, scope: str, address: str, allowed: int, window: float) -> float | None:
        """Seconds to wait if ``address`` used up ``allowed`` tries of ``scope`` within ``window``; else None."""
        now = self.now()
        if self.store.count_hits(scope, address, now - window) >= allowed:
            return window
        return None

    def hit(self, scope: str, address: str) -> None:
        self.store.add_hit(scope, address, self.now())

    # -- documents as shown ----------------------------------------------------------------

    def latest_documents(self, claim: dict) -> dict[str, dict]:
        """The newest document of each kind (older ones are kept, marked ``replaced``)."""
        latest: dict[str, dict] = {}
        for doc in self.store.documents(claim["claim_id"]):
            latest[doc["kind"]] = doc
        return latest


def _public(values: dict) -> dict:
    return {k: v for k, v in values.items() if k in ("reason", "reference", "slot", "outcome", "session_id")}


def doc_view(doc: dict) -> dict:
    return {k: doc.get(k) for k in ("document_id", "kind", "mime", "bytes", "width", "height", "status", "reason",
                                "source", "created_at")}
