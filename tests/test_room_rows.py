"""A room wires each recipient's whole row, or refuses the state loudly: never a row cut short.

Before issue 11 a member's row with several audio feeds was silently reduced
to its first. Since issue 14 every recipient whose row is a mix (the agent
talking to several members, a supervisor, a member with a guest, a barged
member) gets its own mixer; what a room still refuses is a row it cannot
wire: hold audio in a mix, more video than the recipient's role receives.
"""

from __future__ import annotations

import pytest

from server.media.audio import LoopSource
from server.media.room import Room, video_slots
from signaling.core.errors import UnsupportedRouting
from signaling.core.matrix import (
    BARGE, GUEST, HOLD, LISTEN, MAX_KIOSKS, WHISPER, Feed, Matrix, Participant, Row, RoomState, SUPERVISOR, derive,
)


def state(mode: str | None = None, guest: bool = False) -> RoomState:
    tiles = ("k0", "k1") + (None,) * (MAX_KIOSKS - 2)
    participants = (Participant("S", SUPERVISOR, mode),) if mode else ()
    participants += (Participant("g0", GUEST, member="k0"),) if guest else ()
    return RoomState(agent="A", tiles=tiles, focus=frozenset({"k0"}), participants=participants)


def room() -> Room:
    return Room("r", LoopSource(HOLD, [b"\xf8\xff\xfe"]))


def test_a_row_the_room_cannot_wire_is_refused_and_changes_nothing():
    r = room()
    r.set_state(state())
    before = (r.state, r.matrix)
    s = state()
    with pytest.raises(UnsupportedRouting, match="hold audio in a mix"):
        r.check_wirable(s, Matrix({**derive(s).rows, "k1": Row(audio=(Feed(HOLD), Feed("A")))}))
    with pytest.raises(UnsupportedRouting, match="a kiosk receives at most 2"):
        r.check_wirable(s, Matrix({**derive(s).rows, "k0": Row(video=(Feed("A"), Feed("A"), Feed("A")))}))
    assert (r.state, r.matrix) == before


def test_every_mode_and_a_guest_are_wired_with_a_mixer_per_mixed_row():
    r = room()
    for mode in (LISTEN, WHISPER, BARGE):
        r.set_state(state(mode, guest=True))
        mixed = {p for p, row in r.matrix.rows.items() if row.mixed}
        assert "S" in mixed and "g0" in mixed and "k0" in mixed  # S: A + k0 + g0; g0: A + k0; k0: A + g0 (+ S)
        assert "A" in mixed  # the agent hears k0 and g0 (and S when not listening)
    r.set_state(state())
    assert not any(row.mixed for row in r.matrix.rows.values())  # back to forwards only: leaving restores the room


def test_video_slots_follow_each_roles_layout():
    s = state(BARGE, guest=True)
    m = derive(s)
    # six tiles, then each tile's guest (the six optional guest m-lines)
    assert video_slots(s, "A", m.row("A")) == ["k0", "k1", None, None, None, None, "g0", None, None, None, None, None]
    assert video_slots(s, "S", m.row("S")) == ["k0", "k1", None, None, None, None, "A"]
    assert video_slots(s, "k0", m.row("k0")) == ["A", "g0"]
    assert video_slots(s, "g0", m.row("g0")) == ["A", "k0"]
    assert video_slots(s, "k1", m.row("k1")) == []


def test_a_recording_marks_the_spans_a_supervisor_was_present(tmp_path):
    from server.media.recorder import Recorder

    recorder = Recorder(tmp_path / "r.webm", None)  # no peers: only the file's clock and its marks
    for present, ticks in ((False, 10), (True, 50), (False, 25), (True, 5)):
        recorder.supervised = present
        for _ in range(ticks):
            recorder.tick()
    result = recorder.stop()  # the open span ends with the file
    assert result["supervised"] == [[0.2, 1.2], [1.7, 1.8]]
