"""A room's mechanics: applying the routing matrix to its peers' streams.

The :class:`Room` holds the peers of one agent's room and wires their
sources to consumers exactly as :func:`signaling.core.matrix.derive` says. It
decides nothing itself.
"""

from __future__ import annotations

import time

from .audio import LoopSource, Mixer
from signaling.core.errors import UnsupportedRouting
from signaling.core.matrix import HOLD, MAX_KIOSKS, Matrix, RoomState, derive
from .peer import AGENT, Peer
from .recorder import Recorder
from .streams import Consumer


class Room:
    """One agent's room: its peers, its mixer, and the wiring between them."""

    #: Speaking levels are reported every this many ticks (10 × 20 ms).
    LEVEL_TICKS = 10

    def __init__(self, room_id: str, hold: LoopSource, on_event=None) -> None:
        self.room_id = room_id
        self.on_event = on_event or (lambda event: None)
        self._ticks = 0
        self._levels: dict[str, float] = {}
        self.state = RoomState()
        self.matrix = Matrix()
        self.peers: dict[str, Peer] = {}
        self.hold = hold
        self.mixer = Mixer(f"{room_id}:mix")
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

        Only the agent's audio goes through the room's mixer; every other
        recipient has one audio consumer and one video consumer, so its row
        may hold at most one audio feed at gain 1 and one video feed.
        """
        for recipient, row in matrix.rows.items():
            if recipient == state.agent:
                continue
            if row.mixed or len(row.video) > 1:
                raise UnsupportedRouting(
                    f"room {self.room_id}: {recipient!r} would need a mix of "
                    f"{[f.source for f in row.audio]} (video {[f.source for f in row.video]}); "
                    "only the agent's audio is mixed"
                )

    def apply(self, matrix: Matrix | None = None) -> None:
        """Wire every known peer's consumers as the matrix of the current state says."""
        matrix = matrix if matrix is not None else derive(self.state)
        self.check_wirable(self.state, matrix)  # never cut a row short, whoever set the state
        self.matrix = matrix
        self.applied_at = time.monotonic()
        agent = self.peers.get(self.state.agent) if self.state.agent else None
        if agent is not None:
            self._wire_agent(agent)
        in_room = set(self.state.kiosks)
        for peer_id, peer in self.peers.items():
            if peer.role == AGENT:
                if peer_id != self.state.agent:
                    self._unwire(peer)
                continue
            if peer_id not in in_room:
                self._unwire(peer)
                continue
            row = self.matrix.row(peer_id)
            audio = row.audio[0].source if row.audio else None
            if peer.audio_out is not None:
                peer.audio_out.set_source(self._audio_source(audio))
            video = row.video[0].source if row.video else None
            for consumer in peer.video_out:
                consumer.set_source(self._video_source(video))
        for member_id, recorder in self.recorders.items():
            recorder.agent_audible = self.state.agent in {f.source for f in self.matrix.row(member_id).audio}

    def _wire_agent(self, agent: Peer) -> None:
        row = self.matrix.row(agent.peer_id)
        # Audio: one source at gain 1 is forwarded; several are mixed.
        feeds = {f.source: f.gain for f in row.audio}
        mixing = len(feeds) > 1 or any(g != 1.0 for g in feeds.values())
        for peer_id in self.peers:
            source = self._peer_audio(peer_id)
            if source is not None and (peer_id not in feeds or not mixing):
                source.pcm_sinks.pop(self.mixer, None)
        if agent.audio_out is not None:
            if not feeds:
                self.mixer.set_inputs({})
                agent.audio_out.set_source(None)
            elif len(feeds) == 1 and next(iter(feeds.values())) == 1.0:
                self.mixer.set_inputs({})
                (kiosk,) = feeds
                agent.audio_out.set_source(self._peer_audio(kiosk))
            else:
                sinks = self.mixer.set_inputs(feeds)
                for kiosk, sink in sinks.items():
                    source = self._peer_audio(kiosk)
                    if source is not None:
                        source.pcm_sinks[self.mixer] = sink
                agent.audio_out.set_source(self.mixer)
        # Video: tile n shows the kiosk on tile n, if the matrix says so.
        shown = {f.source for f in row.video}
        for index in range(min(MAX_KIOSKS, len(agent.video_out))):
            kiosk = self.state.tiles[index]
            source = None
            if kiosk is not None and kiosk in shown:
                peer = self.peers.get(kiosk)
                source = peer.video_in if peer is not None else None
            agent.video_out[index].set_source(source)

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
            source.pcm_sinks.pop(self.mixer, None)
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
        self.recorders[member_id] = recorder

    def record_stop(self, member_id: str) -> dict:
        recorder = self.recorders.pop(member_id, None)
        if recorder is None:
            raise KeyError(f"no recording of {member_id!r}")
        return recorder.stop()

    def tick(self) -> None:
        self.mixer.tick()
        for recorder in list(self.recorders.values()):
            recorder.tick()
        self._ticks += 1
        if self._ticks % self.LEVEL_TICKS == 0:
            self._report_levels()

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
