"""A room wires each recipient's whole row, or refuses the state loudly: never a row cut short.

Before issue 11 a member's row with several audio feeds was silently reduced
to its first; with supervisors able to barge in, that would have been a
member hearing the agent but not the supervisor (or the reverse) without
anyone knowing.
"""

from __future__ import annotations

import pytest

from server.media.audio import LoopSource
from server.media.room import Room
from signaling.core.errors import UnsupportedRouting
from signaling.core.matrix import BARGE, GUEST, HOLD, LISTEN, MAX_KIOSKS, Participant, RoomState, SUPERVISOR


def state(mode: str | None = None) -> RoomState:
    tiles = ("k0", "k1") + (None,) * (MAX_KIOSKS - 2)
    participants = (Participant("S", SUPERVISOR, mode),) if mode else ()
    return RoomState(agent="A", tiles=tiles, focus=frozenset({"k0"}), participants=participants)


def room() -> Room:
    return Room("r", LoopSource(HOLD, [b"\xf8\xff\xfe"]))


def test_a_mixed_member_row_is_refused_and_changes_nothing():
    r = room()
    r.set_state(state())
    before = (r.state, r.matrix)
    with pytest.raises(UnsupportedRouting, match="would need a mix"):
        r.set_state(state(BARGE))  # k0 would hear the agent and the supervisor
    assert (r.state, r.matrix) == before
    with pytest.raises(UnsupportedRouting, match="'S' would need a mix of \\['A', 'k0'\\]"):
        r.set_state(state(LISTEN))  # a supervisor hears a mix too: not wired until rooms mix per recipient
    assert (r.state, r.matrix) == before


def test_apply_refuses_a_mixed_row_whoever_set_the_state():
    r = room()
    r.state = state(BARGE)
    with pytest.raises(UnsupportedRouting):
        r.apply()


def test_the_agents_mix_and_single_feed_rows_are_accepted():
    r = room()
    r.set_state(RoomState(agent="A", tiles=state().tiles, focus=frozenset({"k0", "k1"})))  # the agent mixes
    assert len(r.matrix.row("A").audio) == 2
    guest = Participant("g0", GUEST, member="k0")
    r.set_state(RoomState(agent="A", tiles=state().tiles, focus=frozenset({"k0"}), participants=(guest,)))
    assert r.matrix.row("g0").sources == {"A"}  # a guest's row is their member's: one feed
