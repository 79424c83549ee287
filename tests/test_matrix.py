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
        assert [f.source for f in m.row("S").video] == ["k0", "k1", "k2", "A"]  # six tiles, then the agent
        assert m.row("k1").sources == {HOLD}  # a member on hold never hears the supervisor
    assert "S" not in listen.row("A").sources and "S" not in listen.row("k0").sources
    assert "S" in whisper.row("A").sources and "S" not in whisper.row("k0").sources
    assert "S" in barge.row("A").sources and [f.source for f in barge.row("k0").audio] == ["A", "S"]
    assert barge.row("k0").mixed and not listen.row("k0").mixed


def test_two_supervisors_hear_a_barge_but_never_each_others_whisper():
    state = room(2, {0})
    state = RoomState(agent="A", tiles=state.tiles, focus=state.focus, participants=(
        Participant("S1", SUPERVISOR, WHISPER), Participant("S2", SUPERVISOR, BARGE)))
    m = derive(state)
    assert {f.source for f in m.row("A").audio} == {"k0", "S1", "S2"}
    assert {f.source for f in m.row("S1").audio} == {"A", "k0", "S2"}  # the barge is public to the focus
    assert {f.source for f in m.row("S2").audio} == {"A", "k0"}  # S1's whisper reaches the agent only
    assert {f.source for f in m.row("k0").audio} == {"A", "S2"}


def test_a_guest_sees_and_hears_their_member_and_the_agent_only():
    state = RoomState(agent="A", tiles=room(2).tiles, focus=frozenset({"k0"}),
                      participants=(Participant("g0", GUEST, member="k0"), Participant("g1", GUEST, member="k1"),
                                    Participant("S", SUPERVISOR, BARGE)))
    m = derive(state)
    assert m.row("g0") == Row(audio=(Feed("A"), Feed("k0")), video=(Feed("A"), Feed("k0")))
    assert m.row("k0") == Row(audio=(Feed("A"), Feed("S"), Feed("g0")), video=(Feed("A"), Feed("g0")))
    assert m.row("g1") == m.row("k1") == Row(audio=(Feed(HOLD),))  # on hold, both hear hold audio only
    assert [f.source for f in m.row("A").audio] == ["k0", "g0", "S"]
    leaky = Matrix({**m.rows, "g1": Row(audio=(Feed("g0"),))})  # one member's guest hears another's
    with pytest.raises(PrivacyViolation):
        check_privacy(state, leaky)
    barged = Matrix({**m.rows, "g0": Row(audio=(Feed("A"), Feed("k0"), Feed("S")))})  # a guest's row: member, agent
    with pytest.raises(PrivacyViolation):
        check_privacy(state, barged)


def test_the_agent_sees_each_guest_on_its_member_s_tile_and_nobody_else_does():
    state = RoomState(agent="A", tiles=("k0", None, "k2", "k3", None, None), focus=frozenset({"k3"}),
                      participants=(Participant("g3", GUEST, member="k3"), Participant("g0", GUEST, member="k0"),
                                    Participant("S", SUPERVISOR, LISTEN)))
    m = derive(state)
    assert [f.source for f in m.row("A").video] == ["k0", "k2", "k3", "g0", "g3"]  # g0 on hold: still seen
    assert [f.source for f in m.row("S").video] == ["k0", "k2", "k3", "A"]  # a supervisor sees no guest
    assert [f.source for f in m.row("k3").video] == ["A", "g3"]
    for recipient, leak in (
        ("S", Row(audio=(Feed("A"), Feed("k3"), Feed("g3")), video=(Feed("k0"), Feed("g3")))),  # a supervisor
        ("k2", Row(audio=(Feed(HOLD),), video=(Feed("g3"),))),  # another member
        ("g0", Row(audio=(Feed(HOLD),), video=(Feed("g3"),))),  # another member's guest
    ):
        with pytest.raises(PrivacyViolation):
            check_privacy(state, Matrix({**m.rows, recipient: leak}))


def test_check_privacy_refuses_each_supervisor_leak():
    base = room(2, {0})
    for mode, leak in (
        (LISTEN, {"k0": Row(audio=(Feed("A"), Feed("S")))}),  # a listener heard by a member
        (LISTEN, {"A": Row(audio=(Feed("k0"), Feed("S")))}),  # ... or by the agent
        (WHISPER, {"k0": Row(audio=(Feed("A"), Feed("S")))}),  # a whisper reaching a member
        (BARGE, {"k1": Row(audio=(Feed(HOLD), Feed("S")))}),  # a barge reaching a member on hold
        (BARGE, {"k0": Row(audio=(Feed("A"),), video=(Feed("A"), Feed("S")))}),  # a supervisor seen
        (BARGE, {"S": Row(audio=(Feed("A"), Feed("S")))}),  # hearing oneself
        (WHISPER, {"T": Row(audio=(Feed("A"), Feed("S")))}),  # a whisper reaching another supervisor
    ):
        participants = (Participant("S", SUPERVISOR, mode), Participant("T", SUPERVISOR, LISTEN))
        state = RoomState(agent="A", tiles=base.tiles, focus=base.focus, participants=participants)
        check_privacy(state, derive(state))
        with pytest.raises(PrivacyViolation):
            check_privacy(state, Matrix({**derive(state).rows, **leak}))


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
# the agent leaving and coming back, guests joining and removed, two
# supervisors changing modes. After every step the matrix must match the
# state and hold the invariant, written here a second time, independently.
actions = st.lists(
    st.tuples(
        st.sampled_from(
            ["join", "leave", "focus", "talk", "hold", "all", "none", "agent", "home", "booth", "guest", "unguest",
             "sup1", "sup2"]
        ),
        st.integers(min_value=0, max_value=8),
        st.sets(st.integers(min_value=0, max_value=8), max_size=6),
    ),
    min_size=1,
    max_size=60,
)


def expected_rows(state: RoomState, guests: set[str], modes: dict[str, str]) -> None:
    """The issue's invariant, row by row, as its own oracle."""
    m = derive(state)
    check_privacy(state, m)
    agent = state.agent
    barging = {s for s, mode in modes.items() if mode == BARGE}
    for k in state.kiosks:
        talking = agent is not None and k in state.focus
        own = {f"g{k}"} if k in guests else set()
        if talking:
            assert {f.source for f in m.row(k).audio} == {agent} | barging | own
            assert [f.source for f in m.row(k).video] == [agent, *own]
        else:
            assert m.row(k).sources == {HOLD}
        if own:
            (g,) = own
            assert m.row(g).sources == ({agent, k} if talking else {HOLD})  # never a supervisor, never another
        assert m.row(k).sources <= {agent, HOLD} | own | (barging if talking else set())
    heard = {p for k in state.focus for p in ({k, f"g{k}"} if k in guests else {k})} if agent else set()
    if agent:
        speaking = {s for s, mode in modes.items() if mode in (WHISPER, BARGE)}
        assert {f.source for f in m.row(agent).audio} == heard | speaking
        # each tile's member, then each tile's guest, in tile order, on hold or not
        assert [f.source for f in m.row(agent).video] == [*state.kiosks, *(f"g{k}" for k in state.kiosks if k in guests)]
    for k in guests:  # who sees a guest: its member (while talking) and the agent, nobody else
        seeing = {r for r, row in m.rows.items() if f"g{k}" in {f.source for f in row.video}}
        assert seeing == ({agent} if agent else set()) | ({k} if agent and k in state.focus else set())
    for s, mode in modes.items():
        assert {f.source for f in m.row(s).audio} == ({agent} if agent else set()) | heard | (barging - {s})
        assert [f.source for f in m.row(s).video] == [*state.kiosks, *([agent] if agent else [])]
        for recipient, row in m.rows.items():  # who hears this supervisor
            if s in {f.source for f in row.audio}:
                assert recipient == agent or (mode == BARGE and (recipient in state.focus or recipient in modes))
                assert mode != LISTEN and (mode == BARGE or recipient == agent)


@settings(max_examples=300, deadline=None)
@given(actions)
def test_randomized_room_life_keeps_privacy(steps):
    tiles: list[str | None] = [None] * MAX_KIOSKS
    focus: set[str] = set()
    agent: str | None = "A"
    homes: set[str] = set()
    guests: set[str] = set()  # members who brought a guest, g<member>
    modes: dict[str, str] = {}  # the supervisors in the room, S1 and S2
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
        elif action in ("sup1", "sup2"):
            name = "S" + action[-1]
            mode = (None, *SUPERVISOR_MODES)[n % 4]
            if mode is None:
                modes.pop(name, None)
            else:
                modes[name] = mode
        participants = tuple(Participant(f"g{k}", GUEST, member=k) for k in sorted(guests))
        participants += tuple(Participant(s, SUPERVISOR, mode) for s, mode in sorted(modes.items()))
        state = RoomState(agent=agent, tiles=tuple(tiles), focus=frozenset(focus),
                          participants=participants, kinds=tuple((k, HOME) for k in homes))
        assert RoomState.from_dict(state.to_dict()) == state
        expected_rows(state, guests, modes)
