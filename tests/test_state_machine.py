"""The session state machine: legal paths only, every refusal with a reason, every step stored."""

from __future__ import annotations

import pytest

from helpers import close_all, make_room
from signaling.core.session import TRANSITIONS, IllegalTransition, Session
from test_authorization import PASSWORD, connect, setup_accounts


def test_only_listed_transitions_are_legal():
    states = set(TRANSITIONS)
    for old in states:
        for new in states:
            session = Session("s", "k", "b", 1, "jht", state=old)
            if new in TRANSITIONS[old]:
                session.check_move(new)
            else:
                with pytest.raises(IllegalTransition, match=f"from {old} to {new}"):
                    session.check_move(new)
    for terminal in ("closed", "cancelled", "abandoned", "failed"):
        assert not TRANSITIONS[terminal], f"{terminal} must be final"


async def test_refused_moves_give_a_reason_and_store_nothing(server):
    setup_accounts(server.hub)
    from signaling.core.vocabulary import KioskIdentity

    server.config.kiosk_tokens["jkt-token"] = KioskIdentity("jkt-1", branch="jkt", booth=1)
    officer, _ = await connect(server.url, "/officer", {"username": "budi", "password": PASSWORD})
    agent, (member,) = await make_room(server.url, 1)
    try:
        # The officer may cancel a waiting session, not one the agent has taken up.
        sid = member.session_id
        server.hub.state.session(sid).branch = "jkt"
        before = server.hub.storage.transitions(sid)
        ack = await officer.call("session.cancel", {"session_id": sid}, namespace="/officer", timeout=5)
        assert ack["error"]["code"] == "invalid_state" and "agent" in ack["error"]["message"]
        assert server.hub.storage.transitions(sid) == before
        # Rating before the end is refused; after it, once.
        ack = await member.call("session.rate", {"session_id": sid, "score": 5})
        assert ack["error"]["code"] == "invalid_state"
        assert (await agent.end(sid, "resolved", "done"))["ok"]
        await member.wait_state("ended", 5)
        assert (await member.call("session.rate", {"session_id": sid, "score": 4}))["ok"]
        ack = await member.call("session.rate", {"session_id": sid, "score": 1})
        assert ack["error"]["code"] == "invalid_state"
        assert server.hub.storage.session(sid).rating == 4
        # Ending twice: the session is closed; nothing more is stored.
        after = server.hub.storage.transitions(sid)
        ack = await agent.end(sid, "resolved")
        assert ack["error"]["code"] == "unknown_session"
        assert server.hub.storage.transitions(sid) == after
        # Every transition was stored with its actor and reason.
        rows = server.hub.storage.database.rows(
            "SELECT from_state, to_state, actor, reason, at FROM transitions WHERE session_id = :s ORDER BY id", {"s": sid}
        )
        assert [r[1] for r in rows] == ["requested", "queued", "assigned", "connecting", "active", "wrap_up", "closed"]
        assert all(r[2] and r[4] > 0 for r in rows)
        assert rows[-1][2] == "agent:agent-1" and rows[-1][3] == "resolved"
        # The supervisor's board counts it as handled today, from the stored record.
        from signaling.board import board_view

        (row,) = [a for a in board_view(server.hub)["agents"] if a["agent_id"] == "agent-1"]
        assert row["handled_today"] == 1
    finally:
        await officer.disconnect()
        await close_all(member, agent)
