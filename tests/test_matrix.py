"""The routing matrix as data: who receives what, and the privacy invariant."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from signaling.core.matrix import HOLD, MAX_KIOSKS, Matrix, PrivacyViolation, Row, Feed, RoomState, check_privacy, derive


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


# A randomized life of a room: joins, leaves, focus changes, hold, talk-all,
# agent leaving and coming back. After every step the matrix must hold the
# invariant and match the state.
actions = st.lists(
    st.tuples(
        st.sampled_from(["join", "leave", "focus", "talk", "hold", "all", "none", "agent"]),
        st.integers(min_value=0, max_value=20),
        st.sets(st.integers(min_value=0, max_value=20), max_size=6),
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
    for action, n, many in steps:
        kiosk = f"k{n}"
        present = [k for k in tiles if k]
        if action == "join" and kiosk not in tiles and None in tiles:
            tiles[tiles.index(None)] = kiosk
        elif action == "leave" and kiosk in tiles:
            tiles[tiles.index(kiosk)] = None
            focus.discard(kiosk)
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
        state = RoomState(agent=agent, tiles=tuple(tiles), focus=frozenset(focus))
        m = derive(state)
        check_privacy(state, m)
        for k in state.kiosks:
            if agent and k in focus:
                assert m.row(k).sources == {"A"}
            else:
                assert m.row(k).sources == {HOLD}
            for other in state.kiosks:
                if other != k:
                    assert other not in m.row(k).sources
        if agent:
            assert {f.source for f in m.row("A").audio} == set(focus)
            assert {f.source for f in m.row("A").video} == set(state.kiosks)
