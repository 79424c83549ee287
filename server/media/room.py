"""A room's mechanics: applying the routing matrix to its peers' streams.

The :class:`Room` holds the peers of one agent's room and wires their
sources to consumers exactly as :func:`signaling.core.matrix.derive` says. It
decides nothing itself.
"""

from __future__ import annotations

import time

from .audio import LoopSource, Mixer
from signaling.core.errors import UnsupportedRouting
from signaling.core.matrix import HOLD, MAX_KIOSKS, Matrix, RoomState, Row, derive
from .peer import AGENT, GUEST, KIOSK, MAX_VIDEO, SUPERVISOR, Peer
from .recorder import Recorder
from .streams import Consumer


def video_slots(state: RoomState, recipient: str, row: Row) -> list[str | None]:
    """The source of each of ``recipient``'s video outputs, in m-line order.

    The agent's six tile m-lines show the member on that tile, its six
    optional guest m-lines that member's guest; a supervisor's first six
    show the tiles too, the seventh the agent's camera; a member's and a
    guest's are their row's video feeds in order (the agent, then their
    party's other peer). A slot the recipient did not offer is not wired.
    """
    shown = {f.source for f in row.video}
    if recipient == state.agent or any(s.peer == recipient for s in state.supervisors):
        slots = [k if k is not None and k in shown else None for k in state.tiles]
        if recipient != state.agent:
            slots.append(state.agent if state.agent in shown else None)
        else:
            guests = [next(iter(state.guests_of(k)), None) if k is not None else None for k in state.tiles]
            slots += [g if g is not None and g in shown else None for g in guests]
        return slots
    return [f.source for f in row.video]


class Room:
    """One agent's room: its peers, its mixer, and the wiring between them."""

    #: Speaking levels are reported every this many ticks (10 × 20 ms).
    LEVEL_TICKS = 10
    #: Each peer's network quality is sampled every this many ticks (100 × 20 ms), told when it changes.
    QUALITY_TICKS = 100

    def __init__(self, room_id: str, hold: LoopSource, on_event=None) -> None:
        self.room_id = room_id
        self.on_event = on_event or (lambda event: None)
        self._ticks = 0
        self._levels: dict[str, float] = {}
        self.state = RoomState()
        self.matrix = Matrix()
        self.peers: dict[str, Peer] = {}
        self.hold = hold
        #: One mixer per recipient whose row is a mix (the agent talking to several, a supervisor, a guest).
        self.mixers: dict[str, Mixer] = {}
        self.applied_at = 0.0
        #: Interview recordings in progress, by member peer id.
        self.recorders: dict[str, Recorder] = {}
        #: Seconds from a routing change to the first packet of the new routing.
        self.switch_latencies: list[float] = []

    def add(self, peer: Peer) -> None:
        old = self.peers.get(peer.peer_id)
        if old is not None and old is not peer:
            self._unwire(old)
        self.peers[peer.peer_id] = peer
        for consumer in peer.consumers():
            consumer.on_switched = self._switched
        self.apply()
        for member_id, recorder in self.recorders.items():  # a reconnect: tap the new connection
            if peer.peer_id in (member_id, self.state.agent):
                recorder.bind(self.peers.get(member_id), self.peers.get(self.state.agent or ""))

    def remove(self, peer_id: str) -> Peer | None:
        recorder = self.recorders.pop(peer_id, None)
        if recorder is not None:  # the member left: the file is finished, its result kept for record_stop
            self.on_event({"event": "recording.finished", "room": self.room_id, "peer": peer_id, **recorder.stop()})
        peer = self.peers.pop(peer_id, None)
        if peer is not None:
            self._unwire(peer)
            self.apply()
        return peer

    def set_state(self, state: RoomState) -> None:
        """Route as ``state`` says; raises :class:`UnsupportedRouting` (and changes nothing) if it cannot."""
        matrix = derive(state)
        self.check_wirable(state, matrix)
        self.state = state
        self.apply(matrix)

    def check_wirable(self, state: RoomState, matrix: Matrix) -> None:
        """Refuse, loudly, a row this room cannot wire instead of cutting it short.

        Any recipient's audio may be a mix (one :class:`Mixer` per recipient
        that needs one), but hold audio is never mixed, and a row's video
        must fit its role's layout (:func:`video_slots`).
        """
        for recipient, row in matrix.rows.items():
            if row.mixed and any(f.source == HOLD for f in row.audio):
                raise UnsupportedRouting(f"room {self.room_id}: {recipient!r} would need hold audio in a mix")
            role = self._role_in(state, recipient)
            if len(row.video) > MAX_VIDEO[role]:
                raise UnsupportedRouting(
                    f"room {self.room_id}: {recipient!r} would need video {[f.source for f in row.video]}; "
                    f"a {role} receives at most {MAX_VIDEO[role]}"
                )

    @staticmethod
    def _role_in(state: RoomState, peer_id: str) -> str:
        if peer_id == state.agent:
            return AGENT
        if any(s.peer == peer_id for s in state.supervisors):
            return SUPERVISOR
        return GUEST if state.member_of(peer_id) not in (None, peer_id) else KIOSK

    def apply(self, matrix: Matrix | None = None) -> None:
        """Wire every known peer's consumers as the matrix of the current state says."""
        matrix = matrix if matrix is not None else derive(self.state)
        self.check_wirable(self.state, matrix)  # never cut a row short, whoever set the state
        self.matrix = matrix
        self.applied_at = time.monotonic()
        mixing = set()
        for peer_id, peer in self.peers.items():
            if peer_id not in matrix.rows or self._role_in(self.state, peer_id) != peer.role:
                self._unwire(peer)  # not (or no longer) in this room's routing, or not in this role
                continue
            row = matrix.row(peer_id)
            if row.mixed:
                mixing.add(peer_id)
            if peer.audio_out is not None:
                peer.audio_out.set_source(self._wire_audio(peer_id, row))
            slots = video_slots(self.state, peer_id, row)
            for index, consumer in enumerate(peer.video_out):
                consumer.set_source(self._video_source(slots[index] if index < len(slots) else None))
        for recipient in list(self.mixers):
            if recipient not in mixing:
                self._drop_mixer(recipient)
        for member_id, recorder in self.recorders.items():
            recorder.agent_audible = self.state.agent in {f.source for f in self.matrix.row(member_id).audio}
            recorder.supervised = bool(self.state.supervisors)

    def _wire_audio(self, recipient: str, row: Row):
        """The source of ``recipient``'s audio: one feed at gain 1 is forwarded; several are mixed."""
        if not row.mixed:
            self._drop_mixer(recipient)
            return self._audio_source(row.audio[0].source) if row.audio else None
        mixer = self.mixers.get(recipient)
        if mixer is None:
            mixer = self.mixers[recipient] = Mixer(f"{self.room_id}:mix:{recipient}")
        self._detach_mixer(mixer)
        sinks = mixer.set_inputs({f.source: f.gain for f in row.audio})
        for name, sink in sinks.items():
            source = self._peer_audio(name)
            if source is not None:
                source.pcm_sinks[mixer] = sink
        return mixer

    def _drop_mixer(self, recipient: str) -> None:
        mixer = self.mixers.pop(recipient, None)
        if mixer is not None:
            self._detach_mixer(mixer)
            for consumer in list(mixer.consumers):
                consumer.set_source(None)

    def _detach_mixer(self, mixer: Mixer) -> None:
        for peer in self.peers.values():
            if peer.audio_in is not None:
                peer.audio_in.pcm_sinks.pop(mixer, None)

    def _peer_audio(self, peer_id: str):
        peer = self.peers.get(peer_id)
        return peer.audio_in if peer is not None else None

    def _audio_source(self, name: str | None):
        if name is None:
            return None
        if name == HOLD:
            return self.hold
        return self._peer_audio(name)

    def _video_source(self, name: str | None):
        if name is None or name == HOLD:
            return None
        peer = self.peers.get(name)
        return peer.video_in if peer is not None else None

    def _unwire(self, peer: Peer) -> None:
        for consumer in peer.consumers():
            consumer.set_source(None)
        for source in (peer.audio_in, peer.video_in):
            if source is None:
                continue
            for mixer in self.mixers.values():
                source.pcm_sinks.pop(mixer, None)
            for consumer in list(source.consumers):
                if isinstance(consumer, Consumer):
                    consumer.set_source(None)
                else:
                    source.detach(consumer)

    def _switched(self, consumer, latency: float) -> None:
        self.switch_latencies.append(latency)
        if len(self.switch_latencies) > 1000:
            del self.switch_latencies[:500]

    def record_start(self, member_id: str, path: str) -> None:
        member = self.peers.get(member_id)
        if member is None or member.role == AGENT or member_id not in self.state.kiosks:
            raise KeyError(f"no member {member_id!r} connected in this room")
        if member_id in self.recorders:
            raise ValueError("this member is already being recorded")
        recorder = Recorder(path, member, self.peers.get(self.state.agent or ""))
        recorder.agent_audible = self.state.agent in {f.source for f in self.matrix.row(member_id).audio}
        recorder.supervised = bool(self.state.supervisors)
        self.recorders[member_id] = recorder

    def record_stop(self, member_id: str) -> dict:
        recorder = self.recorders.pop(member_id, None)
        if recorder is None:
            raise KeyError(f"no recording of {member_id!r}")
        return recorder.stop()

    def tick(self) -> None:
        for mixer in list(self.mixers.values()):
            mixer.tick()
        for recorder in list(self.recorders.values()):
            recorder.tick()
        self._ticks += 1
        if self._ticks % self.LEVEL_TICKS == 0:
            self._report_levels()
        if self._ticks % self.QUALITY_TICKS == 0:
            self._report_quality()

    def _report_quality(self) -> None:
        """Each connected peer's network quality (:mod:`signaling.core.quality`), when worth telling."""
        now = time.monotonic()
        for peer_id, peer in list(self.peers.items()):
            if peer.state != "connected":
                continue
            told = peer.teller.take(peer.meter.sample(peer), now)
            if told is not None:
                self.on_event({"event": "peer.quality", "room": self.room_id, "peer": peer_id, "quality": told})

    def _report_levels(self) -> None:
        """How loudly each member speaks (0..1), for the agent's tiles; sent when it changes."""
        levels = {}
        for kiosk in self.state.kiosks:
            source = self._peer_audio(kiosk)
            if source is not None:
                levels[kiosk] = round(max(0.0, 1.0 - source.level / 50.0), 2)
        if levels != self._levels:
            self._levels = levels
            self.on_event({"event": "room.levels", "room": self.room_id, "levels": levels})

    def stats(self) -> dict:
        peers = {}
        for peer_id, peer in self.peers.items():
            peers[peer_id] = {
                "role": peer.role,
                "state": peer.state,
                "strangers_dropped": peer.strangers.dropped,
                "quality": {"level": peer.teller.level, **peer.teller.told},
                "in": {
                    s.kind: {"packets": s.packets, "frames": s.frames, "bytes": s.bytes}
                    for s in (peer.audio_in, peer.video_in)
                    if s is not None
                },
                "out": [
                    {
                        "kind": c.kind,
                        "source": c.source.name if c.source is not None else None,
                        "packets": c.packets,
                        "frames": c.frames,
                        "bytes": c.bytes,
                    }
                    for c in peer.consumers()
                ],
            }
        return {"state": self.state.to_dict(), "peers": peers}
