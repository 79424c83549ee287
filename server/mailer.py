"""E-mail to members at home: an outbox in the database, sent by one owned task with aiosmtplib.

A claim that enters a state where the member must know or act
(:data:`signaling.online.status.MAIL_STATES`) and has an e-mail address gets
one mail in ``oc_mail``: the reference, one sentence in the member's
language, and the status link, nothing else (no NIK, no name, no account).
The outbox holds :data:`LINK_MARK` where the link goes; the sender rebuilds
the link from the server's link key when it sends (the records never hold
a live token).
The member's request never waits for SMTP: :meth:`Mailer.queue` only writes
the row and wakes the sender. A mail that fails is kept and retried
(30 s, doubling to an hour); after :data:`MAX_ATTEMPTS` it stays in the
outbox as ``failed`` for an operator to see, never silently dropped.

``--smtp URL``: ``smtp://[user:password@]host[:port]`` (plain; ``?starttls=1``
upgrades), ``smtps://…`` (TLS from the start); ``?from=address`` sets the
sender (default ``lapak@localhost``). Without ``--smtp`` mails wait in the
outbox.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit

import aiosmtplib

from signaling.online.status import MAIL_STATES
from signaling.online.store import OnlineStore
from signaling.tasks import Tasks

from .i18n import catalogue

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 12


@dataclass(frozen=True)
class SmtpTarget:
    host: str
    port: int
    username: str | None
    password: str | None
    use_tls: bool
    start_tls: bool
    sender: str


def parse_smtp_url(url: str) -> SmtpTarget:
    """``smtp://user:pass@host:port?from=a@b&starttls=1`` or ``smtps://…``; ValueError when it is not one."""
    try:
        parts = urlsplit(url)
        port = parts.port  # ValueError when it is not a number in 0..65535
    except ValueError as exc:
        raise ValueError(f"{url!r} is not a URL with a valid port ({exc})") from None
    if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
        raise ValueError(f"{url!r} is not smtp://[user:password@]host[:port][?from=a@b&starttls=1] or smtps://…")
    query = parse_qs(parts.query)
    unknown = set(query) - {"from", "starttls"}
    if unknown:
        raise ValueError(f"{url!r}: unknown parameter {', '.join(sorted(unknown))} (from, starttls)")
    sender = query.get("from", ["lapak@localhost"])[0]
    if "@" not in sender:
        raise ValueError(f"{url!r}: from={sender!r} is not an e-mail address")
    tls = parts.scheme == "smtps"
    if tls and query.get("starttls"):
        raise ValueError(f"{url!r}: smtps:// is TLS from the start; starttls is for smtp://")
    return SmtpTarget(
        host=parts.hostname, port=port or (465 if tls else 25),
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
        use_tls=tls, start_tls=query.get("starttls", ["0"])[0] in ("1", "true", "yes"),
        sender=sender,
    )


#: What stands for the status link in a stored mail; the sender puts the link rebuilt from the key there.
LINK_MARK = "{status_link}"


def compose(claim: dict, link: str = LINK_MARK) -> tuple[str, str]:
    """Subject and body of the mail for the claim's current state, in the member's language."""
    t = catalogue(claim["lang"])
    reference = claim["reference"] or ""
    subject = t["claim.mail.subject"].format(reference=reference)
    body = "\n\n".join([
        t["claim.mail.hello"],
        t[f"claim.state.{claim['state']}"],
        t["claim.mail.link"],
        link,
        t["claim.mail.footer"],
    ])
    return subject, body


def status_link(claim: dict, token: str, public_url: str | None) -> str:
    return f"{(public_url or claim['origin']).rstrip('/')}/claim/s/{token}"


class Mailer:
    """Queues a mail per state change that needs the member, and sends the outbox."""

    def __init__(self, store: OnlineStore, smtp_url: str | None, clock: Callable[[], float],
                 token_of: Callable[[dict], str | None], public_url: str | None = None, poll: float = 5.0) -> None:
        self.store = store
        #: The claim's status token rebuilt from the link key (:meth:`signaling.online.base.ClaimsBase.link_token`).
        self.token_of = token_of
        self.target = parse_smtp_url(smtp_url) if smtp_url else None
        self.clock = clock
        self.public_url = public_url
        self.poll = poll
        self.tasks = Tasks("mailer")
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None

    def queue(self, claim: dict) -> None:
        """A claim listener: write the mail (if the member gave an address) and wake the sender."""
        if not claim.get("email") or claim["state"] not in MAIL_STATES:
            return
        subject, body = compose(claim)  # the link is put in when sending: the outbox never holds it
        self.store.queue_mail({"claim_id": claim["claim_id"], "to_addr": claim["email"], "subject": subject,
                               "body": body})
        self._wake.set()

    def start(self) -> None:
        if self.target is not None and self._task is None:
            self._task = self.tasks.spawn(self._run(), name="mail sender")

    async def close(self) -> None:
        await self.tasks.close()

    async def _run(self) -> None:
        while True:
            try:
                await self.send_due()
            except Exception:
                logger.exception("mail outbox pass failed")
            try:
                await asyncio.wait_for(self._wake.wait(), self.poll)
            except asyncio.TimeoutError:
                pass
            self._wake.clear()

    async def send_due(self) -> int:
        """Send every mail that is due; returns how many went out."""
        assert self.target is not None
        sent = 0
        for mail in self.store.due_mail(self.clock()):
            claim = self.store.claim(mail["claim_id"])
            token = self.token_of(claim) if claim is not None else None
            if claim is None or token is None:  # a claim from before 0004, or another link key: an operator sees it
                logger.warning("mail %s: the status link of claim %s cannot be rebuilt", mail["id"], mail["claim_id"])
                self.store.set_mail(mail["id"], state="failed", attempts=mail["attempts"] + 1,
                                    last_error="the status link cannot be rebuilt (another link key?)")
                continue
            message = EmailMessage()
            message["From"], message["To"], message["Subject"] = self.target.sender, mail["to_addr"], mail["subject"]
            message.set_content(mail["body"].replace(LINK_MARK, status_link(claim, token, self.public_url)))
            try:
                await aiosmtplib.send(
                    message, hostname=self.target.host, port=self.target.port, username=self.target.username,
                    password=self.target.password, use_tls=self.target.use_tls, start_tls=self.target.start_tls,
                    timeout=15,
                )
            except (aiosmtplib.SMTPException, OSError, asyncio.TimeoutError) as exc:
                attempts = mail["attempts"] + 1
                logger.warning("mail %s to claim %s failed (attempt %d): %s", mail["id"], mail["claim_id"], attempts, exc)
                self.store.set_mail(mail["id"], attempts=attempts, last_error=str(exc)[:300],
                                    next_at=self.clock() + min(3600, 30 * 2 ** (attempts - 1)),
                                    state="failed" if attempts >= MAX_ATTEMPTS else "queued")
                continue
            self.store.set_mail(mail["id"], state="sent", sent_at=self.clock(), attempts=mail["attempts"] + 1)
            sent += 1
        return sent
