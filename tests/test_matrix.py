"""The routing matrix as data: who receives what, and the privacy invariant."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from signaling.core.matrix import (
    BARGE,
    GUEST,
    HOLD,
    HOME,
    LISTEN,
    MAX_KIOSKS,
    SUPERVISOR,
    SUPERVISOR_MODES,
    WHISPER,
    Feed,
    Matrix,
    Participant,
    PrivacyViolation,
    Row,
    RoomState,
    check_privacy,
    derive,
)


def room(n: int, focus: set[int] = frozenset(), agent: str | None = "A") -> RoomState:
    tiles = tuple(f"k{i}" if i < n else None for i in range(MAX_KIOSKS))
    return RoomState(agent=agent, tiles=tiles, focus=frozenset(f"k{i}" for i in focus))


def test_focus_on_one_member():
    m = derive(room(6, {2}))
    assert [f.source for f in m.row("A").audio] == ["k2"]
    assert [f.source for f in m.row("A").video] == [f"k{i}" for i in range(6)]
    assert m.row("k2") == Row(audio=(Feed("A"),), video=(Feed("A"),))
    for i in (0, 1, 3, 4, 5):
        assert m.row(f"k{i}") == Row(audio=(Feed(HOLD),), video=())


def test_talk_to_all_mixes_every_member_for_the_agent():
    m = derive(room(6, set(range(6))))
    assert {f.source for f in m.row("A").audio} == {f"k{i}" for i in range(6)}
    assert all(f.gain == 1.0 for f in m.row("A").audio)
    for i in range(6):
        assert m.row(f"k{i}").sources == {"A"}


def test_without_an_agent_everyone_is_on_hold():
    m = derive(room(3, agent=None))
    assert set(m.rows) == {"k0", "k1", "k2"}
    assert all(m.row(k).sources == {HOLD} for k in m.rows)


def test_check_privacy_catches_a_kiosk_receiving_another_kiosk():
    state = room(2, {0})
    leaky = Matrix({**derive(state).rows, "k1": Row(audio=(Feed("k0"),))})
    with pytest.raises(PrivacyViolation):
        check_privacy(state, leaky)
    leaky_video = Matrix({**derive(state).rows, "k0": Row(audio=(Feed("A"),), video=(Feed("k1"),))})
    with pytest.raises(PrivacyViolation):
        check_privacy(state, leaky_video)


def test_room_state_refuses_impossible_rooms():
    with pytest.raises(ValueError):
        RoomState(agent="A", tiles=("k0", "k0", None, None, None, None))
    with pytest.raises(ValueError):
        RoomState(agent="A", tiles=("k0",) + (None,) * 5, focus=frozenset({"k9"}))
    with pytest.raises(ValueError):
        RoomState(agent="A", tiles=(None,) * 7)


def test_the_old_constructor_still_builds_a_booth_only_room():
    state = room(2, {0})
    assert state.participants == () and state.kinds == ()
    assert state.kind_of("k0") == "booth"
    assert state.to_dict() == {"agent": "A", "tiles": ["k0", "k1", None, None, None, None], "focus": ["k0"]}


def test_supervisor_modes():
    def with_supervisor(mode: str) -> Matrix:
        state = room(3, {0})
        return derive(RoomState(agent="A", tiles=state.tiles, focus=state.focus,
                                participants=(Participant("S", SUPERVISOR, mode),)))

    listen, whisper, barge = (with_supervisor(m) for m in (LISTEN, WHISPER, BARGE))
    for m in (listen, whisper, barge):  # the supervisor hears the agent and whom the agent hears
        assert [f.source for f in m.row("S").audio] == ["A", "k0"]
        assert [f.source for f in m.row("S").video] == ["k0", "k1", "k2"]
        assert m.row("k1").sources == {HOLD}  # a member on hold never hears the supervisor
    assert "S" not in listen.row("A").sources and "S" not in listen.row("k0").sources
    assert "S" in whisper.row("A").sources and "S" not in whisper.row("k0").sources
    assert "S" in barge.row("A").sources and [f.source for f in barge.row("k0").audio] == ["A", "S"]
    assert barge.row("k0").mixed and not listen.row("k0").mixed


def test_a_guest_is_routed_as_their_member_and_heard_with_them():
    state = RoomState(agent="A", tiles=room(2).tiles, focus=frozenset({"k0"}),
                      participants=(Participant("g0", GUEST, member="k0"), Participant("g1", GUEST, member="k1")))
    m = derive(state)
    assert m.row("g0") == m.row("k0") and m.row("g1") == m.row("k1")
    assert [f.source for f in m.row("A").audio] == ["k0", "g0"]
    leaky = Matrix({**m.rows, "g1": Row(audio=(Feed("g0"),))})  # one member's guest hears another's
    with pytest.raises(PrivacyViolation):
        check_privacy(state, leaky)


def test_participants_and_kinds_are_checked_and_round_trip():
    tiles = room(2).tiles
    for bad in (
        dict(participants=(Participant("g", GUEST, member="k9"),)),  # guest of nobody in the room
        dict(participants=(Participant("g", GUEST, member="k0"), Participant("h", GUEST, member="k0"))),
        dict(participants=(Participant("k1", SUPERVISOR),)),  # a member cannot also supervise
        dict(kinds=(("k0", "tent"),)),
        dict(kinds=(("k9", HOME),)),
    ):
        with pytest.raises(ValueError):
            RoomState(agent="A", tiles=tiles, **bad)
    with pytest.raises(ValueError):
        Participant("S", SUPERVISOR, mode="shout")
    with pytest.raises(ValueError):
        Participant("S", "interpreter")
    state = RoomState(agent="A", tiles=tiles, focus=frozenset({"k1"}), kinds=(("k1", HOME), ("k0", "booth")),
                      participants=(Participant("S", SUPERVISOR, WHISPER), Participant("g", GUEST, member="k1")))
    assert state.kinds == (("k1", HOME),) and state.kind_of("k1") == HOME and state.kind_of("k0") == "booth"
    assert RoomState.from_dict(state.to_dict()) == state


# A randomized life of a room: joins, leaves, focus changes, hold, talk-all,
# agent leaving and coming back. After every step the matrix must hold the
# invariant and match the state.
actions = st.lists(
    st.tuples(
        st.sampled_from(
            ["join", "leave", "focus", "talk", "hold", "all", "none", "agent", "home", "booth", "guest", "unguest", "sup"]
        ),
        st.integers(min_value=0, max_value=8),
        st.sets(st.integers(min_value=0, max_value=8), max_size=6),
    ),
    min_size=1,
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(actions)
def test_randomized_room_life_keeps_privacy(steps):
    tiles: list[str | None] = [None] * MAX_KIOSKS
    focus: set[str] = set()
    agent: str | None = "A"
    homes: set[str] = set()
    guests: set[str] = set()  # members who brought a guest, g<member>
    mode: str | None = None  # the supervisor's, if one is in the room
    for action, n, many in steps:
        kiosk = f"k{n}"
        present = [k for k in tiles if k]
        if action == "join" and kiosk not in tiles and None in tiles:
            tiles[tiles.index(None)] = kiosk
        elif action == "leave" and kiosk in tiles:
            tiles[tiles.index(kiosk)] = None
            focus.discard(kiosk)
            homes.discard(kiosk)
            guests.discard(kiosk)
        elif action == "focus":
            focus = {f"k{i}" for i in many} & set(present)
        elif action == "talk" and kiosk in present:
            focus.add(kiosk)
        elif action == "hold":
            focus.discard(kiosk)
        elif action == "all":
            focus = set(present)
        elif action == "none":
            focus = set()
        elif action == "agent":
            agent = None if agent else "A"
        elif action == "home" and kiosk in present:
            homes.add(kiosk)
        elif action == "booth":
            homes.discard(kiosk)
        elif action == "guest" and kiosk in present:
            guests.add(kiosk)
        elif action == "unguest":
            guests.discard(kiosk)
        elif action == "sup":
            mode = (None, *SUPERVISOR_MODES)[n % 4]
        participants = tuple(Participant(f"g{k}", GUEST, member=k) for k in sorted(guests))
        if mode is not None:
            participants += (Participant("S", SUPERVISOR, mode),)
        state = RoomState(agent=agent, tiles=tuple(tiles), focus=frozenset(focus),
                          participants=participants, kinds=tuple((k, HOME) for k in homes))
        assert RoomState.from_dict(state.to_dict()) == state
        m = derive(state)
        check_privacy(state, m)
        agent_side = {"A"} if agent else set()
        agent_side |= {"S"} if mode else set()
        for k in state.kiosks:
            party = {k, f"g{k}"} if k in guests else {k}
            for peer in party:
                assert m.row(peer) == m.row(k)  # a guest is routed as their member, whatever the kind
                if agent and k in focus:
                    assert m.row(peer).sources == {"A"} | ({"S"} if mode == BARGE else set())
                else:
                    assert m.row(peer).sources == {HOLD}
                # the invariant itself: nobody of another member's party, ever
                assert m.row(peer).sources <= agent_side | party | {HOLD}
        if agent:
            heard = {p for k in focus for p in ({k, f"g{k}"} if k in guests else {k})}
            assert {f.source for f in m.row("A").audio} == heard | ({"S"} if mode in (WHISPER, BARGE) else set())
            assert {f.source for f in m.row("A").video} == set(state.kiosks)
        if mode:
            assert {f.source for f in m.row("S").video} == set(state.kiosks)
