"""A headless client's media in the load generator: sent by the pump, counted at the RTP level.

:class:`PumpedMedia` is the :class:`kiosk_client.external_media.ExternalMedia`
the benchmark gives :class:`~kiosk_client.client.HeadlessKiosk` and
:class:`~agent_console.client.HeadlessAgent` (and the Janus clients): for each
peer connection it replaces the DTLS transport's RTP handler by counters
(:func:`bench.rtp.tap_receive`), turns a PLI or FIR from the server into a
jump to the clip's next keyframe, and once ICE and DTLS are up adds one
:class:`bench.rtp.Stream` per sending m-line to the process's pump. Nothing
here runs per packet except the pump and the counters.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable

from aiortc import RTCPeerConnection, RTCRtpTransceiver

from kiosk_client.client import until
from signaling.tasks import Tasks

from .media import Clips
from .rtp import Counter, Pump, Stream, on_keyframe_request, payload_type, sender_ssrc, tap_receive

logger = logging.getLogger("bench.pumped")

#: Which counter receives an m-line: (transceiver, its index in the peer connection) -> counter or None.
CounterFor = Callable[[RTCRtpTransceiver, int], "Counter | None"]


class PumpedMedia:
    """One client's sending streams and receiving counters, for each of its peer connections."""

    def __init__(
        self, name: str, pattern: int, clips: Clips, pump: Pump, tasks: Tasks, counter_for: CounterFor,
        initially_routed: Callable[[str], bool] = lambda kind: True,
    ) -> None:
        self.name = name
        self.pattern = pattern
        self.clips = clips
        self.pump = pump
        self.tasks = tasks
        self.counter_for = counter_for
        self.initially_routed = initially_routed
        #: The stream sending each kind ("audio", "video") on the current connection.
        self.streams: dict[str, Stream] = {}

    def attach(self, pc: RTCPeerConnection) -> None:
        """Count what ``pc`` receives, answer its keyframe requests, and send once it is connected."""
        self.close()  # a new connection replaces the old one's senders
        transceivers = pc.getTransceivers()
        by_mid: dict[str, Counter] = {}
        for index, t in enumerate(transceivers):
            if t.direction in ("sendrecv", "recvonly"):
                counter = self.counter_for(t, index)
                if counter is not None:
                    counter.payload_types = {payload_type(t)}
                    by_mid[t.mid] = counter
        tap_receive(transceivers[0].sender.transport, by_mid)
        for t in transceivers:
            if t.direction in ("sendrecv", "sendonly"):
                self._keyframes_on_request(t)
        self.tasks.spawn(self._start_when_connected(pc), f"{self.name}: senders")

    def _keyframes_on_request(self, t: RTCRtpTransceiver) -> None:
        """A PLI or FIR makes this kind's stream jump to its next keyframe; other RTCP goes to aiortc."""
        kind = t.kind

        def request() -> None:
            stream = self.streams.get(kind)
            if stream is not None:
                stream.request_keyframe()

        on_keyframe_request(t, request)

    async def _start_when_connected(self, pc: RTCPeerConnection) -> None:
        try:
            await until(lambda: pc.connectionState in ("connected", "failed", "closed"), 60, "connection")
        except TimeoutError:
            logger.warning("%s: no connection", self.name)
            return
        if pc.connectionState != "connected":
            return
        for t in pc.getTransceivers():
            if t.direction in ("sendrecv", "sendonly") and t.kind not in self.streams:
                clip = self.clips.video[self.pattern] if t.kind == "video" else self.clips.audio[self.pattern]
                stream = Stream(
                    f"{self.name}:{t.kind}", t.kind, t.sender.transport, sender_ssrc(t),
                    payload_type(t), t.mid, clip,
                )
                stream.routed = self.initially_routed(t.kind)
                self.streams[t.kind] = stream
                self.pump.add(stream, phase=random.random() * stream.period)

    def close(self) -> None:
        """Stop this client's streams (the pump drops closed streams)."""
        for stream in self.streams.values():
            stream.closed = True
        self.streams = {}


def add_room_counts(out: dict, agent, kiosks) -> None:
    """Add one room's sent and delivered counts (an agent with six tiles, its members) to ``out``."""
    for k in kiosks:
        v = k.streams.get("video")
        a = k.streams.get("audio")
        if v:
            out["video_sent"] += v.frames
            out["video_packets_sent"] += v.packets
            out["keyframe_requests"] += v.keyframe_requests
        if a:
            out["audio_sent"] += a.routed_packets
            out["audio_packets_sent"] += a.packets
        out["video_delivered"] += k.video.frames
        out["video_packets_delivered"] += k.video.packets
        out["kiosk_audio"] += k.audio.packets
        out["kiosk_video_frames"].append(k.video.frames)
    v = agent.streams.get("video")
    a = agent.streams.get("audio")
    if v:
        out["video_sent"] += v.frames
        out["video_packets_sent"] += v.packets
        out["keyframe_requests"] += v.keyframe_requests
    if a:
        out["audio_packets_sent"] += a.packets
    for tile in agent.tiles:
        out["video_delivered"] += tile.frames
        out["video_packets_delivered"] += tile.packets
        out["tile_frames"].append(tile.frames)
    out["audio_delivered"] += agent.audio.packets
