"""The claim form filled together: the server's copy, its edits, pointing and the agent's confirmations.

The server holds the single copy of every form (both sides send edits; the
server validates them against the service's schema in :mod:`signaling.forms`,
stores them and tells both screens). The schema judges dates against
"today" in WIB by the service's injected clock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .. import forms as schemas
from ..schemas import EventError
from .base import Part

if TYPE_CHECKING:  # pragma: no cover
    from .base import AgentIdentity, KioskIdentity

    from ..core.session import Session


class FormDesk(Part):
    """``form.open``, ``form.edit``, ``form.point``, ``form.confirm`` and the ``form.state`` they send."""

    def schema(self, session: "Session") -> schemas.FormSchema:
        return schemas.load(session.service)

    def evaluate(self, schema: schemas.FormSchema, form: dict, confirmed: dict | None = None) -> schemas.Evaluation:
        return schema.evaluate(form["fields"], form["confirmed"] if confirmed is None else confirmed,
                               today=self.settings.today())

    def form_of(self, session: "Session") -> dict:
        form = self.store.form(session.session_id)
        if form is None or form["service"] != session.service:
            # First use, or the session was transferred to another service's queue.
            form = {"service": session.service, "fields": {}, "confirmed": {}, "opened": False,
                    "pointed": None, "revision": 0, "submitted": None}
        return form

    def view(self, session: "Session", form: dict) -> dict:
        schema = schemas.load(form["service"])
        result = self.evaluate(schema, form)
        return {
            "session_id": session.session_id,
            "service": form["service"],
            "revision": form["revision"],
            "open": form["opened"],
            "fields": {name: form["fields"].get(name, "") for name in schema.fields},
            "errors": result.errors,
            "missing": result.missing,
            "needs_confirmation": sorted(result.needs_confirmation),
            "confirmed": sorted(form["confirmed"]),
            "pointed": form["pointed"],
            "complete": result.complete,
            "submitted": form["submitted"],
        }

    async def save_and_tell(self, session: "Session", form: dict) -> dict:
        form["revision"] += 1
        self.store.save_form(session.session_id, form)
        view = self.view(session, form)
        await self.ctx.tell(session, "form.state", view)
        return view

    @staticmethod
    def opened(form: dict) -> None:
        if not form["opened"]:
            # Nothing opens the form implicitly: the booth shows it only after the agent's form.open.
            raise EventError("invalid_state", "The form is not open yet; the agent opens it with form.open.")

    @staticmethod
    def editable(form: dict) -> None:
        if form["submitted"]:
            raise EventError("invalid_state", f"The claim has been submitted ({form['submitted']}); the form is closed.")

    async def open(self, agent: "AgentIdentity", session_id: str) -> dict:
        session = self.agent_session(agent, session_id)
        form = self.form_of(session)
        form["opened"] = True
        return {"form": await self.save_and_tell(session, form)}

    async def edit(self, who: "KioskIdentity | AgentIdentity", session_id: str, field: str, value: str) -> dict:
        session = self.session_of(who, session_id)
        form = self.form_of(session)
        self.opened(form)
        self.editable(form)
        try:
            name, clean = self.schema(session).check_edit(field, value)
        except schemas.EditRefused as exc:
            raise EventError("invalid_payload", str(exc)) from None
        if form["fields"].get(name, "") == clean:
            return {"form": self.view(session, form)}
        form["fields"][name] = clean
        return {"form": await self.save_and_tell(session, form)}

    async def point(self, agent: "AgentIdentity", session_id: str, field: str | None) -> dict:
        session = self.agent_session(agent, session_id)
        form = self.form_of(session)
        self.opened(form)
        if field is not None and field not in self.schema(session).fields:
            raise EventError("invalid_payload", f"The {session.service} form has no field {field!r}.")
        form["pointed"] = field
        return {"form": await self.save_and_tell(session, form)}

    async def confirm(self, agent: "AgentIdentity", session_id: str, check: str) -> dict:
        session = self.agent_session(agent, session_id)
        form = self.form_of(session)
        self.opened(form)
        self.editable(form)
        schema = self.schema(session)
        if schema.confirmable(check) is None:
            raise EventError("invalid_payload", f"{check!r} is not a check an agent can confirm on this form.")
        result = self.evaluate(schema, form, confirmed={})
        if check not in result.needs_confirmation:
            raise EventError("invalid_state", "There is nothing to confirm: the check passes, or a field is still empty or wrong.")
        form["confirmed"][check] = result.needs_confirmation[check]
        self.store.add_event(session.session_id, "form.confirm", {"check": check, "values": form["confirmed"][check]},
                             f"agent:{agent.agent_id}")
        return {"form": await self.save_and_tell(session, form)}
