"""The booth's self-service as one object: the parts wired together, and the calls the namespaces and routes make.

:class:`SelfService` is created by :func:`server.app.create_app` next to the
hub, with its store (:class:`.store.Store`) and :class:`.context.Settings`,
and handed to the ``/kiosk`` and ``/agent`` namespaces and the HTTP routes.
Each call goes to the part that owns its concept: :mod:`.forms`,
:mod:`.documents`, :mod:`.consent`, :mod:`.recording`, :mod:`.claims`,
:mod:`.retention`. Only two screens are told about a session's self-service:
the session's kiosk and its assigned agent (:meth:`.context.HubContext.tell`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ..tasks import Tasks
from .claims import ClaimDesk
from .consent import ConsentDesk
from .context import HubContext, Settings
from .documents import DocumentDesk
from .forms import FormDesk
from .recording import Recorder
from .retention import Retention
from .store import Store

if TYPE_CHECKING:  # pragma: no cover
    from .base import AgentIdentity, KioskIdentity

    from ..hub import Hub
    from ..core.session import Session


class SelfService:
    """Forms, documents, consent, recordings, claims and retention of the hub's sessions."""

    def __init__(self, hub: "Hub", store: Store, settings: Settings) -> None:
        self.ctx = ctx = HubContext(hub)
        self.store = store
        self.settings = settings
        #: Background work (the daily retention sweep), closed in :meth:`close`.
        self.tasks = Tasks("selfservice")
        parts = (ctx, store, settings)
        self.forms = FormDesk(*parts)
        self.documents = DocumentDesk(*parts)
        self.recorder = Recorder(*parts)
        self.consent = ConsentDesk(*parts, recorder=self.recorder)
        self.claims = ClaimDesk(*parts, forms=self.forms, recorder=self.recorder)
        self.retention = Retention(*parts, recorder=self.recorder, tasks=self.tasks)
        ctx.on_change(self.recorder.on_hub_change)

    @property
    def recording(self) -> dict[str, str]:
        """session_id -> recording_id of the recordings running now."""
        return self.recorder.running

    # -- start and stop ----------------------------------------------------------------

    async def start(self) -> None:
        """Close recordings a stopped server left open; sweep expired files now, and then once a day."""
        self.recorder.close_left_open()
        await self.retention.sweep()
        self.retention.start_daily()

    async def close(self) -> None:
        await self.tasks.close()
        await self.recorder.close()

    # -- screens that (re)connect --------------------------------------------------------

    async def kiosk_joined(self, kiosk: "KioskIdentity") -> None:
        """A (re)connected kiosk gets its session's self-service state back."""
        session = self.ctx.open_session_of(kiosk.kiosk_id)
        if session is not None and session.agent_id is not None:
            await self.push_all(session, agent=False)

    async def agent_joined(self, agent: "AgentIdentity") -> None:
        for session in self.ctx.agent_sessions(agent.agent_id):
            await self.push_all(session, kiosk=False)

    async def push_all(self, session: "Session", *, kiosk: bool = True, agent: bool = True) -> None:
        tell = self.ctx.tell
        form = self.store.form(session.session_id)
        if form is not None:
            await tell(session, "form.state", self.forms.view(session, form), kiosk=kiosk, agent=agent)
        if self.store.requests(session.session_id):
            await tell(session, "doc.state", self.documents.view(session), kiosk=kiosk, agent=agent)
        if self.store.consent(session.session_id) is not None:
            await tell(session, "consent.state", self.consent.view(session), kiosk=kiosk, agent=agent)
        await tell(session, "rec.state", self.recorder.view(session), kiosk=kiosk, agent=agent)

    # -- the events the namespaces pass on (docs/protocol.md, "Self-service") --------------

    async def form_open(self, agent: "AgentIdentity", session_id: str) -> dict:
        return await self.forms.open(agent, session_id)

    async def form_edit(self, who: "KioskIdentity | AgentIdentity", session_id: str, field: str, value: str) -> dict:
        return await self.forms.edit(who, session_id, field, value)

    async def form_point(self, agent: "AgentIdentity", session_id: str, field: str | None) -> dict:
        return await self.forms.point(agent, session_id, field)

    async def form_confirm(self, agent: "AgentIdentity", session_id: str, check: str) -> dict:
        return await self.forms.confirm(agent, session_id, check)

    async def doc_request(self, agent: "AgentIdentity", session_id: str, kind: str) -> dict:
        return await self.documents.request(agent, session_id, kind)

    async def doc_capture(self, agent: "AgentIdentity", session_id: str, request_id: str | None) -> dict:
        return await self.documents.capture(agent, session_id, request_id)

    async def doc_review(self, agent: "AgentIdentity", session_id: str, document_id: str, accepted: bool) -> dict:
        return await self.documents.review(agent, session_id, document_id, accepted)

    async def consent_request(self, agent: "AgentIdentity", session_id: str) -> dict:
        return await self.consent.request(agent, session_id)

    async def consent_answer(self, kiosk: "KioskIdentity", session_id: str, recording: bool) -> dict:
        return await self.consent.answer(kiosk, session_id, recording)

    async def rec_start(self, agent: "AgentIdentity", session_id: str) -> dict:
        return await self.recorder.start(agent, session_id)

    async def rec_stop(self, agent: "AgentIdentity", session_id: str) -> dict:
        return await self.recorder.stop_by_agent(agent, session_id)

    async def claim_submit(self, agent: "AgentIdentity", session_id: str) -> dict:
        return await self.claims.submit(agent, session_id)

    # -- what the HTTP routes call (server/selfservice_routes.py) ---------------------------

    async def doc_upload(self, kiosk: "KioskIdentity", session_id: str, request_id: str, data: bytes) -> dict:
        return await self.documents.upload(kiosk, session_id, request_id, data)

    def document_for(self, role: str, who: Any, session_id: str, document_id: str) -> dict:
        return self.documents.document_for(role, who, session_id, document_id)

    async def manifest(self, reference: str) -> dict | None:
        return await self.claims.manifest(reference)

    def retention_days(self) -> int:
        return self.retention.days()

    def set_retention_days(self, days: int, actor: str) -> None:
        self.retention.set_days(days, actor)

    async def sweep(self, now: float | None = None) -> dict:
        return await self.retention.sweep(now)
