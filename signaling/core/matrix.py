"""The routing matrix: who receives what, derived from a room's state.

This module is the single place where a routing decision is made, and it is
pure: :func:`derive` takes a :class:`RoomState` and returns a
:class:`Matrix`. The media router (``server.media``) only applies it.

A room is one agent and up to six kiosks (members). For each recipient the
matrix lists the audio feeds (source and gain) and the video feeds it gets.
The privacy invariant: a kiosk's row names only its own agent or
:data:`HOLD`, never another kiosk. :func:`check_privacy` enforces it and the
router calls it on every change, so a bug here fails loudly instead of
leaking a member's voice.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Source name of the server-made hold audio.
HOLD = "hold"

#: Most kiosks one agent serves at once.
MAX_KIOSKS = 6


class PrivacyViolation(AssertionError):
    """A kiosk would receive media from something other than its agent or hold."""


@dataclass(frozen=True)
class RoomState:
    """What the router needs to know about a room.

    ``tiles`` holds the kiosk peer on each of the agent's six tiles (``None``
    for a free tile); ``focus`` is the set of kiosks the agent talks to.
    """

    agent: str | None = None
    tiles: tuple[str | None, ...] = (None,) * MAX_KIOSKS
    focus: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        if len(self.tiles) != MAX_KIOSKS:
            raise ValueError(f"a room has exactly {MAX_KIOSKS} tiles")
        kiosks = [k for k in self.tiles if k is not None]
        if len(set(kiosks)) != len(kiosks):
            raise ValueError("a kiosk can hold only one tile")
        if self.agent is not None and self.agent in kiosks:
            raise ValueError("the agent cannot also be a kiosk")
        if not self.focus <= set(kiosks):
            raise ValueError("focus names a kiosk that is not in the room")

    @property
    def kiosks(self) -> tuple[str, ...]:
        return tuple(k for k in self.tiles if k is not None)

    def tile_of(self, kiosk: str) -> int:
        """Zero-based tile index of ``kiosk``."""
        return self.tiles.index(kiosk)

    def to_dict(self) -> dict:
        return {"agent": self.agent, "tiles": list(self.tiles), "focus": sorted(self.focus)}

    @classmethod
    def from_dict(cls, data: dict) -> "RoomState":
        return cls(
            agent=data.get("agent"),
            tiles=tuple(data.get("tiles") or (None,) * MAX_KIOSKS),
            focus=frozenset(data.get("focus") or ()),
        )


@dataclass(frozen=True)
class Feed:
    """One source in a recipient's row; ``gain`` applies to audio only."""

    source: str
    gain: float = 1.0


@dataclass(frozen=True)
class Row:
    """What one recipient receives."""

    audio: tuple[Feed, ...] = ()
    video: tuple[Feed, ...] = ()

    @property
    def sources(self) -> set[str]:
        return {f.source for f in self.audio} | {f.source for f in self.video}


@dataclass(frozen=True)
class Matrix:
    """For each recipient peer, its :class:`Row`."""

    rows: dict[str, Row] = field(default_factory=dict)

    def row(self, recipient: str) -> Row:
        return self.rows.get(recipient, Row())


def derive(state: RoomState) -> Matrix:
    """Derive the routing matrix from a room's state.

    - The agent sees every kiosk (each on its own tile) and hears the
      kiosks in focus, at gain 1 each.
    - A kiosk in focus sees and hears the agent.
    - Every other kiosk hears hold audio and sees nothing.
    """
    rows: dict[str, Row] = {}
    kiosks = state.kiosks
    if state.agent is not None:
        rows[state.agent] = Row(
            audio=tuple(Feed(k) for k in kiosks if k in state.focus),
            video=tuple(Feed(k) for k in kiosks),
        )
    for kiosk in kiosks:
        if state.agent is not None and kiosk in state.focus:
            rows[kiosk] = Row(audio=(Feed(state.agent),), video=(Feed(state.agent),))
        else:
            rows[kiosk] = Row(audio=(Feed(HOLD),), video=())
    matrix = Matrix(rows)
    check_privacy(state, matrix)
    return matrix


def check_privacy(state: RoomState, matrix: Matrix) -> None:
    """Raise :class:`PrivacyViolation` if a kiosk's row holds another kiosk.

    A kiosk may receive only its room's agent and :data:`HOLD`; a kiosk that
    is not in the room may receive nothing at all.
    """
    allowed = {HOLD} | ({state.agent} if state.agent is not None else set())
    kiosks = set(state.kiosks)
    for recipient, row in matrix.rows.items():
        if recipient == state.agent:
            if not {f.source for f in row.video} <= kiosks or not {
                f.source for f in row.audio
            } <= kiosks:
                raise PrivacyViolation(f"agent row names a source outside the room: {row}")
            continue
        if recipient not in kiosks:
            raise PrivacyViolation(f"row for {recipient!r}, who is not in the room")
        extra = row.sources - allowed
        if extra:
            raise PrivacyViolation(f"kiosk {recipient!r} would receive {sorted(extra)}")
