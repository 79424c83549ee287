"""Commands from a branch's security officer: its booths, cancelling a session, answering a help call."""

from __future__ import annotations

from ..changes import Changes
from ..core.vocabulary import KioskIdentity, StaffIdentity
from ..schemas import EventError
from .grace import Graces


class OfficerSide(Graces):
    """What a security officer can do, in their own branch only."""

    def branch_kiosk(self, officer: StaffIdentity, kiosk_id: str) -> KioskIdentity:
        for kiosk in self.branch_kiosks(officer.branch or ""):
            if kiosk.kiosk_id == kiosk_id:
                return kiosk
        raise EventError("unknown_kiosk", "There is no such booth in your branch.")

    async def officer_cancel(self, officer: StaffIdentity, session_id: str) -> Changes:
        session = self.owned_session(session_id, branch=officer.branch)
        if session.state not in ("requested", "queued", "assigned", "connecting"):
            raise EventError("invalid_state", "A session already with its agent can only be ended by the agent.")
        changes = Changes()
        await self._end(session, "cancelled", f"officer:{officer.username}", "cancelled_by_officer", changes)
        return await self.finish(changes)

    async def help_answered(self, officer: StaffIdentity, kiosk_id: str) -> Changes:
        kiosk = self.branch_kiosk(officer, kiosk_id)
        self.state.answer_help(kiosk.kiosk_id)
        if self.state.kiosk_online(kiosk.kiosk_id):
            await self.emit("help.answered", {"kiosk_id": kiosk.kiosk_id}, to=f"kiosk:{kiosk.kiosk_id}", namespace="/kiosk")
        return await self.finish(Changes(branches={kiosk.branch}))
