"""The routing matrix: who receives what, derived from a room's state.

This module is the single place where a routing decision is made, and it is
pure: :func:`derive` takes a :class:`RoomState` and returns a
:class:`Matrix`. The media router (``server.media``) only applies it.

A room is one agent and up to six members, each on a tile. Besides them a
room may hold other participants (:class:`Participant`): on the agent's side
a supervisor (listening, whispering to the agent, or barging in), on a
member's side that member's guest. Members have a kind (:data:`BOOTH` or
:data:`HOME`). For each recipient the matrix lists the audio feeds (source
and gain) and the video feeds it gets.

The privacy invariant: a member's row holds only its agent, its own
guest, a barging supervisor (only while the agent talks to that member)
and :data:`HOLD`; a guest's row only its member and the agent (and
:data:`HOLD`); a guest is seen only by its member and the agent (never by a
supervisor); a whisper reaches only the agent, a listening supervisor
nobody. :func:`check_privacy` enforces
it and the router calls it on every change, so a bug here fails loudly
instead of leaking a member's voice.
"""

from __future__ import annotations

from dataclasses import dataclass, field

#: Source name of the server-made hold audio.
HOLD = "hold"

#: Most members one agent serves at once.
MAX_KIOSKS = 6

#: Roles of the people in a room: the agent, a supervisor at the agent's side, a member's guest.
AGENT, SUPERVISOR, GUEST = "agent", "supervisor", "guest"
ROLES = (AGENT, SUPERVISOR, GUEST)

#: Kinds of member peer: in a branch booth (the kiosk) or at home.
BOOTH, HOME = "booth", "home"
MEMBER_KINDS = (BOOTH, HOME)

#: A supervisor's modes: hear the room; also be heard by the agent; also by the members in focus.
LISTEN, WHISPER, BARGE = "listen", "whisper", "barge"
SUPERVISOR_MODES = (LISTEN, WHISPER, BARGE)


class PrivacyViolation(AssertionError):
    """A member-side recipient would receive media from another member's party."""


@dataclass(frozen=True)
class Participant:
    """Someone in a room besides the agent and the members.

    A :data:`SUPERVISOR` sits on the agent's side, in a ``mode`` of
    :data:`SUPERVISOR_MODES`; a :data:`GUEST` belongs to one ``member`` and
    is routed as that member is.
    """

    peer: str
    role: str
    mode: str = LISTEN
    member: str | None = None

    def __post_init__(self) -> None:
        if self.role == SUPERVISOR:
            if self.mode not in SUPERVISOR_MODES or self.member is not None:
                raise ValueError(f"a supervisor has a mode of {SUPERVISOR_MODES} and no member")
        elif self.role == GUEST:
            if self.member is None:
                raise ValueError("a guest belongs to a member")
        else:
            raise ValueError(f"a participant is a {SUPERVISOR} or a {GUEST}, not {self.role!r}")

    def to_dict(self) -> dict:
        data = {"peer": self.peer, "role": self.role}
        if self.role == SUPERVISOR:
            data["mode"] = self.mode
        else:
            data["member"] = self.member
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "Participant":
        return cls(data["peer"], data["role"], data.get("mode", LISTEN), data.get("member"))


@dataclass(frozen=True)
class RoomState:
    """What the router needs to know about a room.

    ``tiles`` holds the member peer on each of the agent's six tiles (``None``
    for a free tile); ``focus`` is the set of members the agent talks to;
    ``participants`` the supervisors and guests; ``kinds`` each member's
    kind where it is not :data:`BOOTH`, as ``(member, kind)`` pairs.

    ``seq`` orders the states of one room: the number of the read of the
    shared state it was made from (:meth:`signaling.state.base.State.commit_room`),
    higher for a later read, on whichever node. Routings made on two nodes
    can reach the room's node in either order; the room applies none older
    than the one it has, so a member put on hold can never be given the agent
    again by a routing that was overtaken. 0: not ordered (always applied).
    It is not part of what the state *is* (equality, hashing).
    """

    agent: str | None = None
    tiles: tuple[str | None, ...] = (None,) * MAX_KIOSKS
    focus: frozenset[str] = frozenset()
    participants: tuple[Participant, ...] = ()
    kinds: tuple[tuple[str, str], ...] = ()
    seq: int = field(default=0, compare=False)

    def __post_init__(self) -> None:
        if len(self.tiles) != MAX_KIOSKS:
            raise ValueError(f"a room has exactly {MAX_KIOSKS} tiles")
        if isinstance(self.seq, bool) or not isinstance(self.seq, int) or self.seq < 0:
            raise ValueError("a routing's seq is a whole number, 0 or more")
        kiosks = [k for k in self.tiles if k is not None]
        if len(set(kiosks)) != len(kiosks):
            raise ValueError("a kiosk can hold only one tile")
        if self.agent is not None and self.agent in kiosks:
            raise ValueError("the agent cannot also be a kiosk")
        if not self.focus <= set(kiosks):
            raise ValueError("focus names a kiosk that is not in the room")
        others = [p.peer for p in self.participants]
        if len(set(others)) != len(others) or set(others) & (set(kiosks) | {self.agent}):
            raise ValueError("a participant is one peer, and neither the agent nor a member")
        guests = [p.member for p in self.participants if p.role == GUEST]
        if not set(guests) <= set(kiosks) or len(set(guests)) != len(guests):
            raise ValueError("a guest belongs to a member in the room, one guest per member")
        for member, kind in self.kinds:
            if member not in kiosks or kind not in MEMBER_KINDS:
                raise ValueError(f"a member kind is one of {MEMBER_KINDS} for a member in the room")
        # one spelling per state: booth is the default, pairs sorted
        object.__setattr__(self, "kinds", tuple(sorted((m, k) for m, k in set(self.kinds) if k != BOOTH)))
        if len(dict(self.kinds)) != len(self.kinds):
            raise ValueError("a member has one kind")

    @property
    def kiosks(self) -> tuple[str, ...]:
        """The members on tiles, in tile order."""
        return tuple(k for k in self.tiles if k is not None)

    @property
    def supervisors(self) -> tuple[Participant, ...]:
        return tuple(p for p in self.participants if p.role == SUPERVISOR)

    @property
    def agent_side(self) -> frozenset[str]:
        """The agent and the supervisors: who may be heard by any member."""
        return frozenset(p.peer for p in self.supervisors) | ({self.agent} if self.agent is not None else set())

    def guests_of(self, member: str) -> tuple[str, ...]:
        return tuple(p.peer for p in self.participants if p.role == GUEST and p.member == member)

    def party(self, member: str) -> frozenset[str]:
        """A member and their guest: the only member-side peers that may hear each other."""
        return frozenset((member, *self.guests_of(member)))

    def member_of(self, peer: str) -> str | None:
        """The member whose party ``peer`` belongs to (``None`` for the agent's side or a stranger)."""
        if peer in self.kiosks:
            return peer
        return next((p.member for p in self.participants if p.role == GUEST and p.peer == peer), None)

    def kind_of(self, member: str) -> str:
        return dict(self.kinds).get(member, BOOTH)

    def tile_of(self, kiosk: str) -> int:
        """Zero-based tile index of ``kiosk``."""
        return self.tiles.index(kiosk)

    def to_dict(self) -> dict:
        data: dict = {"agent": self.agent, "tiles": list(self.tiles), "focus": sorted(self.focus)}
        if self.participants:
            data["participants"] = [p.to_dict() for p in self.participants]
        if self.kinds:
            data["kinds"] = dict(self.kinds)
        if self.seq:
            data["seq"] = self.seq
        return data

    @classmethod
    def from_dict(cls, data: dict) -> "RoomState":
        return cls(
            agent=data.get("agent"),
            tiles=tuple(data.get("tiles") or (None,) * MAX_KIOSKS),
            focus=frozenset(data.get("focus") or ()),
            participants=tuple(Participant.from_dict(p) for p in data.get("participants") or ()),
            kinds=tuple((data.get("kinds") or {}).items()),
            seq=data.get("seq", 0),
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

    @property
    def mixed(self) -> bool:
        """More than one audio feed, or one not at gain 1: the recipient needs a mix, not a forward."""
        return len(self.audio) > 1 or any(f.gain != 1.0 for f in self.audio)


@dataclass(frozen=True)
class Matrix:
    """For each recipient peer, its :class:`Row`."""

    rows: dict[str, Row] = field(default_factory=dict)

    def row(self, recipient: str) -> Row:
        return self.rows.get(recipient, Row())


def derive(state: RoomState) -> Matrix:
    """Derive the routing matrix from a room's state.

    - The agent sees every member (each on its own tile) and every
      member's guest (on that member's tile, on hold or not), and hears the
      members in focus and their guests, at gain 1 each, and the
      supervisors who whisper or barge.
    - A supervisor sees every member and the agent's camera (no guest), and hears
      exactly what the agent hears plus the agent, save their own voice and
      another supervisor's whisper (a whisper reaches only the agent).
    - A member in focus sees and hears the agent and their own guest, and
      hears a barging supervisor; a member on hold hears hold audio and
      sees nothing.
    - A guest, while the agent talks to their member, sees and hears that
      member and the agent (and nobody else); on hold, hold audio.

    Video feeds are listed staff first: a member's or guest's first video
    is the agent, the second their party's other peer; the agent's are the
    tiles' members, then their guests, in tile order; a supervisor's are
    the tiles' members, then the agent.
    """
    rows: dict[str, Row] = {}
    kiosks = state.kiosks
    agent = state.agent
    heard = tuple(Feed(p) for k in kiosks if k in state.focus for p in (k, *state.guests_of(k)))
    if agent is None:
        heard = ()  # without an agent nobody is talked to: supervisors hear no member
    else:
        rows[agent] = Row(
            audio=heard + tuple(Feed(s.peer) for s in state.supervisors if s.mode in (WHISPER, BARGE)),
            video=tuple(Feed(k) for k in kiosks) + tuple(Feed(g) for k in kiosks for g in state.guests_of(k)),
        )
    for supervisor in state.supervisors:
        staff = (Feed(agent),) if agent is not None else ()
        others = tuple(Feed(s.peer) for s in state.supervisors if s.mode == BARGE and s is not supervisor)
        rows[supervisor.peer] = Row(audio=staff + heard + others, video=tuple(Feed(k) for k in kiosks) + staff)
    barging = tuple(Feed(s.peer) for s in state.supervisors if s.mode == BARGE)
    for kiosk in kiosks:
        talking = agent is not None and kiosk in state.focus
        guests = state.guests_of(kiosk)
        if talking:
            rows[kiosk] = Row(
                audio=(Feed(agent),) + barging + tuple(Feed(g) for g in guests),
                video=(Feed(agent),) + tuple(Feed(g) for g in guests),
            )
        else:
            rows[kiosk] = Row(audio=(Feed(HOLD),), video=())
        for guest in guests:
            if talking:
                rows[guest] = Row(audio=(Feed(agent), Feed(kiosk)), video=(Feed(agent), Feed(kiosk)))
            else:
                rows[guest] = Row(audio=(Feed(HOLD),), video=())
    matrix = Matrix(rows)
    check_privacy(state, matrix)
    return matrix


def check_privacy(state: RoomState, matrix: Matrix) -> None:
    """Raise :class:`PrivacyViolation` unless every row holds the room's invariant.

    - A member's row holds only its agent, its own guest, :data:`HOLD`, and
      a barging supervisor's audio while the agent talks to that member.
    - A guest's row holds only its member, the agent and :data:`HOLD`.
    - A whispering supervisor is heard by the agent only; a listening one
      by nobody; no supervisor is ever seen by anyone.
    - A guest is seen only by its member and the agent (a supervisor hears
      a guest the agent hears, but never sees one).
    - The agent's side receives only peers of the room; nobody receives
      themselves; someone not in the room receives nothing at all.
    """
    agent_side = state.agent_side
    agent = {state.agent} if state.agent is not None else set()
    party_peers = {p for k in state.kiosks for p in state.party(k)}
    in_room = agent_side | party_peers
    modes = {s.peer: s.mode for s in state.supervisors}
    guest_of = {p.peer: p.member for p in state.participants if p.role == GUEST}
    for recipient, row in matrix.rows.items():
        if recipient in row.sources:
            raise PrivacyViolation(f"{recipient!r} would receive themselves")
        for feed in row.audio:
            mode = modes.get(feed.source)
            if mode == LISTEN or (mode == WHISPER and recipient not in agent):
                raise PrivacyViolation(f"{recipient!r} would hear supervisor {feed.source!r} in {mode}")
        if any(f.source in modes for f in row.video):
            raise PrivacyViolation(f"{recipient!r} would see a supervisor, who sends no camera")
        for feed in row.video:
            if feed.source in guest_of and recipient not in agent | {guest_of[feed.source]}:
                raise PrivacyViolation(f"{recipient!r} would see {feed.source!r}, the guest of another")
        if recipient in agent_side:
            if not row.sources <= in_room:
                raise PrivacyViolation(f"{recipient!r}'s row names a source outside the room: {row}")
            continue
        member = state.member_of(recipient)
        if member is None:
            raise PrivacyViolation(f"row for {recipient!r}, who is not in the room")
        allowed = agent | {HOLD}
        if recipient == member:
            allowed |= set(state.guests_of(member))
            if state.agent is not None and member in state.focus:
                allowed |= {f.source for f in row.audio if modes.get(f.source) == BARGE}
        else:
            allowed |= {member}
        extra = row.sources - allowed
        if extra:
            raise PrivacyViolation(f"member-side {recipient!r} would receive {sorted(extra)}")
