"""A load-generator process: headless agents and kiosks that send pre-encoded media.

Run as ``python -m bench.loadgen`` by :mod:`bench.run`; it speaks JSON lines on
stdin/stdout (one command in, one reply out, matched by ``id``). Each room
(one agent and six kiosks) lives entirely in one generator process, so a
snapshot of what was sent and what was received is taken at one instant.

Clients speak Lapak's real protocol (socket.io + one peer connection each)
or, with ``mode = "janus"``, Janus's VideoRoom (see :mod:`bench.janus`).
Media: :mod:`bench.rtp`. Latency probes:

- session start: from a kiosk's ``session.request`` to the agent's first
  *decoded* frame of that member on its tile;
- focus switch: from the agent's ``focus.set`` to the first packet of the new
  member's audio at the agent, recognised by its tone (Opus decode + DFT bin);
- first frame: from the same ``focus.set`` to the newly focused kiosk's first
  complete, decoded frame of the agent's video (the PLI round trip).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import random
import sys
import time

import av
import numpy as np
import socketio
from aiortc import RTCConfiguration, RTCPeerConnection, RTCSessionDescription
from aiortc.rtcconfiguration import RTCBundlePolicy
from aiortc.rtp import RTCP_PSFB_FIR, RTCP_PSFB_PLI, RtcpPsfbPacket

from server.media import bridge
from server.media.ice import restrict_host_addresses
from server.media.peer import ParkedTrack  # aiortc negotiates sending, the pump does the sending
from server.media.vp8 import starts_keyframe

from .media import AUDIO_FRAME, SAMPLE_RATE, TONES, Clips, Vp8FrameDecoder, load_clips
from .rtp import Counter, Pump, Stream, tap_receive

logger = logging.getLogger("bench.loadgen")


def new_pc() -> RTCPeerConnection:
    return RTCPeerConnection(RTCConfiguration(iceServers=[], bundlePolicy=RTCBundlePolicy.MAX_BUNDLE))


async def wait_for(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out after {timeout:.0f}s waiting for {what}")
        await asyncio.sleep(0.02)


class ToneDetector:
    """Is tone ``f`` the loudest of the known tones in one 20 ms Opus frame?"""

    def __init__(self) -> None:
        self.decoder = av.CodecContext.create("libopus", "r")
        n = np.arange(AUDIO_FRAME)
        self.basis = {f: np.exp(-2j * np.pi * f * n / SAMPLE_RATE) for f in TONES}

    def levels(self, payload: bytes) -> dict[float, float]:
        try:
            frames = self.decoder.decode(av.Packet(payload))
        except av.FFmpegError:
            return {}
        if not frames:
            return {}
        frame = frames[0]
        pcm = frame.to_ndarray().astype(np.float32)
        channels = len(frame.layout.channels)
        if frame.format.is_planar:
            pcm = pcm.mean(axis=0)
        else:
            pcm = pcm.reshape(-1, channels).mean(axis=1)
        if frame.format.name.startswith("s16"):
            pcm = pcm / 32768.0
        pcm = pcm[:AUDIO_FRAME]
        if len(pcm) < AUDIO_FRAME:
            return {}
        return {f: float(abs(pcm @ b)) * 2 / AUDIO_FRAME for f, b in self.basis.items()}


class FirstFrame:
    """Collects one frame from its keyframe start to its marker and decodes it."""

    def __init__(self, on_frame) -> None:
        self.on_frame = on_frame
        self.payloads: list[bytes] | None = None
        self.active = False
        self.decoder = Vp8FrameDecoder()

    def arm(self) -> None:
        self.active = True
        self.payloads = None

    def feed(self, payload: bytes, marker: bool) -> None:
        if not self.active:
            return
        if self.payloads is None:
            if not starts_keyframe(payload):
                return
            self.payloads = []
        self.payloads.append(payload)
        if marker:
            frame = self.decoder.decode(self.payloads)
            self.payloads = None
            if frame is not None:
                self.active = False
                self.on_frame(frame)


class Generator:
    """All rooms of this process."""

    def __init__(self, clips: Clips, ice: list[str] | None) -> None:
        self.clips = clips
        self.ice = ice
        self.pump = Pump()
        self.rooms: dict[int, object] = {}
        self.session_start: list[float] = []
        self.focus_audio: list[float] = []
        self.focus_audio_payload: list[float] = []
        self.first_frame: list[float] = []
        self.focus_events: list[dict] = []
        self.decoded = 0
        self.decode_errors = 0
        self.wrong_pattern = 0
        restrict_host_addresses(ice)

    def snapshot(self) -> dict:
        out = {
            "video_sent": 0, "video_packets_sent": 0, "audio_sent": 0, "audio_packets_sent": 0,
            "video_delivered": 0, "video_packets_delivered": 0, "audio_delivered": 0,
            "hold_delivered": 0, "kiosk_audio": 0, "kiosk_agent_audio": 0, "tile_frames": [], "kiosk_video_frames": [], "keyframe_requests": 0,
            "rooms": len(self.rooms), "pump_errors": self.pump.errors,
        }
        for room in self.rooms.values():
            room.add_counts(out)
        out["decoded"] = self.decoded
        out["decode_errors"] = self.decode_errors
        out["wrong_pattern"] = self.wrong_pattern
        return out


# -- Lapak clients ----------------------------------------------------------------


class LapakPeer:
    """One client's socket and peer connection, sending through the pump."""

    namespace = "/kiosk"

    def __init__(self, gen: Generator, server: str, token: str, pattern: int) -> None:
        self.gen = gen
        self.server = server
        self.token = token
        self.pattern = pattern
        self.sio = socketio.AsyncClient(reconnection=False)
        self.pc: RTCPeerConnection | None = None
        self.streams: dict[str, Stream] = {}
        self.counters: dict[str, Counter] = {}

    async def connect(self) -> None:
        await self.sio.connect(
            self.server, namespaces=[self.namespace], auth={"token": self.token},
            transports=["websocket"], wait_timeout=20,
        )

    async def call(self, event: str, data: dict) -> dict:
        ack = await self.sio.call(event, data, namespace=self.namespace, timeout=60)
        if not ack.get("ok"):
            raise RuntimeError(f"{event} refused: {ack}")
        return ack

    def _layout(self, pc: RTCPeerConnection) -> None:
        raise NotImplementedError

    async def offer(self, event: str, extra: dict) -> None:
        pc = self.pc = new_pc()
        self._layout(pc)
        await pc.setLocalDescription(await pc.createOffer())
        ack = await self.call(event, {**extra, "sdp": pc.localDescription.sdp})
        await pc.setRemoteDescription(RTCSessionDescription(ack["sdp"], "answer"))
        self._tap(pc)
        asyncio.ensure_future(self._start_when_connected(pc))

    def _tap(self, pc: RTCPeerConnection) -> None:
        dtls = pc.getTransceivers()[0].sender.transport
        by_mid = {}
        for t in pc.getTransceivers():
            if t.direction in ("sendrecv", "recvonly"):
                counter = self.counter_for(t)
                if counter is not None:
                    counter.payload_types = {bridge.payload_type(t)}
                    by_mid[t.mid] = counter
        tap_receive(dtls, by_mid)
        for t in pc.getTransceivers():
            if t.direction in ("sendrecv", "sendonly"):
                holder = self

                kind = t.kind

                def take(packet, kind=kind) -> bool:
                    if isinstance(packet, RtcpPsfbPacket) and packet.fmt in (RTCP_PSFB_PLI, RTCP_PSFB_FIR):
                        stream = holder.streams.get(kind)
                        if stream is not None:
                            stream.request_keyframe()
                        return True
                    return False

                bridge.intercept_sender_rtcp(t.sender, take)

    def counter_for(self, transceiver) -> Counter | None:
        raise NotImplementedError

    async def _start_when_connected(self, pc: RTCPeerConnection) -> None:
        try:
            await wait_for(lambda: pc.connectionState in ("connected", "failed", "closed"), 60, "connection")
        except TimeoutError:
            logger.warning("%s: no connection", self.token[:8])
            return
        if pc.connectionState != "connected":
            return
        for t in pc.getTransceivers():
            if t.direction in ("sendrecv", "sendonly") and t.kind not in self.streams:
                clip = self.gen.clips.video[self.pattern] if t.kind == "video" else self.gen.clips.audio[self.pattern]
                stream = Stream(
                    f"{self.token[:6]}:{t.kind}", t.kind, t.sender.transport, bridge.sender_ssrc(t.sender),
                    bridge.payload_type(t), t.mid, clip,
                )
                stream.routed = self.initially_routed(t.kind)
                self.streams[t.kind] = stream
                self.gen.pump.add(stream, phase=random.random() * stream.period)

    def initially_routed(self, kind: str) -> bool:
        return True

    async def close(self) -> None:
        for s in self.streams.values():
            s.closed = True
        if self.pc is not None:
            await self.pc.close()
        if self.sio.connected:
            await self.sio.disconnect()


class LapakKiosk(LapakPeer):
    namespace = "/kiosk"

    def __init__(self, room: "LapakRoom", token: str, pattern: int) -> None:
        super().__init__(room.gen, room.server, token, pattern)
        self.room = room
        self.session_id: str | None = None
        self.state: str | None = None
        self.requested_at = 0.0
        self.video = Counter(f"{token[:6]}:video-in", "video")
        self.audio = Counter(f"{token[:6]}:audio-in", "audio")
        self.agent_audio = 0
        self.hold_audio = 0
        agent_payloads = set(room.gen.clips.audio[0])
        first = FirstFrame(self._first_frame)
        self.first = first
        self.switched_at = 0.0

        def on_audio(payload: bytes, marker: bool) -> None:
            if payload in agent_payloads:
                self.agent_audio += 1
            else:
                self.hold_audio += 1

        self.audio.on_packet = on_audio
        self.video.on_packet = first.feed

        @self.sio.on("session.state", namespace="/kiosk")
        async def on_state(data: dict) -> None:
            self.state = data.get("state")
            if data.get("session_id"):
                self.session_id = data["session_id"]
            if self.state == "connecting" and self.pc is None:
                self.pc = False  # type: ignore[assignment]  # offering
                asyncio.ensure_future(self.offer("media.offer", {"session_id": self.session_id}))

    def initially_routed(self, kind: str) -> bool:
        return kind == "video"  # audio only while focused

    def _layout(self, pc) -> None:
        pc.addTransceiver(ParkedTrack("audio"), direction="sendrecv")
        pc.addTransceiver(ParkedTrack("video"), direction="sendrecv")

    def counter_for(self, t) -> Counter | None:
        return self.audio if t.kind == "audio" else self.video

    async def request(self) -> None:
        self.requested_at = time.monotonic()
        ack = await self.call("session.request", {"service": "jht", "language": "id"})
        self.session_id = ack["session_id"]

    def _first_frame(self, frame) -> None:
        self.gen.decoded += 1
        self.gen.first_frame.append(time.monotonic() - self.switched_at)
        from kiosk_client.synthetic import identify_pattern

        if identify_pattern(frame) != 0:
            self.gen.wrong_pattern += 1


class LapakAgent(LapakPeer):
    namespace = "/agent"

    def __init__(self, room: "LapakRoom", token: str) -> None:
        super().__init__(room.gen, room.server, token, 0)
        self.room = room
        self.room_state: dict | None = None
        self.tiles = [Counter(f"{token[:6]}:tile{i + 1}", "video") for i in range(6)]
        self.audio = Counter(f"{token[:6]}:audio-in", "audio")
        self.tile_first: list[float | None] = [None] * 6
        self.firsts = [FirstFrame(lambda f, i=i: self._tile_frame(i, f)) for i in range(6)]
        for i, tile in enumerate(self.tiles):
            tile.on_packet = self.firsts[i].feed
            self.firsts[i].arm()
        self.payload_owner = {p: k for k in range(1, 7) for p in room.gen.clips.audio[k]}
        self.kiosk_audio = 0
        self.tones = ToneDetector()
        self.awaiting: tuple[int, float] | None = None  # (kiosk pattern, since)
        self.awaiting_payload: tuple[int, float] | None = None
        self.audio.on_packet = self._on_audio

        @self.sio.on("room.state", namespace="/agent")
        async def on_room(data: dict) -> None:
            self.room_state = data

    def _layout(self, pc) -> None:
        pc.addTransceiver(ParkedTrack("audio"), direction="sendrecv")
        pc.addTransceiver(ParkedTrack("video"), direction="sendonly")
        for _ in range(6):
            pc.addTransceiver("video", direction="recvonly")

    def counter_for(self, t) -> Counter | None:
        if t.kind == "audio":
            return self.audio
        index = self.pc.getTransceivers().index(t)
        return self.tiles[index - 2] if index >= 2 else None

    def _tile_frame(self, index: int, frame) -> None:
        self.gen.decoded += 1
        self.tile_first[index] = time.monotonic()
        from kiosk_client.synthetic import identify_pattern

        tile = (self.room_state or {}).get("tiles", [None] * 6)[index]
        kiosk = self.room.kiosk_by_session(tile["session_id"]) if tile else None
        if kiosk is not None:
            self.gen.session_start.append(self.tile_first[index] - kiosk.requested_at)
            if identify_pattern(frame) != kiosk.pattern:
                self.gen.wrong_pattern += 1

    def _on_audio(self, payload: bytes, marker: bool) -> None:
        owner = self.payload_owner.get(payload)
        if owner is not None:
            self.kiosk_audio += 1
        now = time.monotonic()
        if self.awaiting_payload is not None and owner == self.awaiting_payload[0]:
            self.gen.focus_audio_payload.append(now - self.awaiting_payload[1])
            self.awaiting_payload = None
        if self.awaiting is not None:
            pattern, since = self.awaiting
            levels = self.tones.levels(payload)
            if levels:
                want = levels[TONES[pattern]]
                others = max(v for f, v in levels.items() if f != TONES[pattern])
                if want > 0.05 and want > 2 * others:
                    self.gen.focus_audio.append(now - since)
                    self.awaiting = None
            if self.awaiting is not None and now - since > 3:
                self.awaiting = None  # give up: counted as missing

    def sessions(self) -> list[str]:
        return [t["session_id"] for t in (self.room_state or {}).get("tiles", []) if t]


class LapakRoom:
    """One agent and six kiosks, speaking to a Lapak server."""

    def __init__(self, gen: Generator, server: str, agent_token: str, kiosk_tokens: list[str], switch: float, room: int) -> None:
        self.gen = gen
        self.room_id = f"a{room}"  # the router's room id: the agent's id
        self.server = server
        self.switch = switch
        self.agent = LapakAgent(self, agent_token)
        self.kiosks = [LapakKiosk(self, t, i + 1) for i, t in enumerate(kiosk_tokens)]
        self.focus_index = 0
        self._task: asyncio.Task | None = None
        self.switching = True

    def kiosk_by_session(self, session_id: str):
        for k in self.kiosks:
            if k.session_id == session_id:
                return k
        return None

    async def start(self) -> dict:
        await self.agent.connect()
        await self.agent.offer("media.offer", {})
        await asyncio.gather(*(k.connect() for k in self.kiosks))
        await asyncio.gather(*(k.request() for k in self.kiosks))
        await wait_for(lambda: all(k.state in ("on_hold", "talking") for k in self.kiosks), 90, "six active sessions")
        await wait_for(lambda: all(t is not None for t in self.agent.tile_first), 30, "a decoded frame on every tile")
        await wait_for(lambda: all(len(p.streams) == 2 for p in self.kiosks) and len(self.agent.streams) == 2, 30, "senders")
        await self.focus(0)
        self._task = asyncio.ensure_future(self._switch_forever())
        return {"ok": True}

    def kiosk_on_tile(self, index: int) -> LapakKiosk:
        session = self.agent.room_state["tiles"][index]["session_id"]
        return self.kiosk_by_session(session)

    async def focus(self, index: int) -> None:
        new = self.kiosk_on_tile(index)
        old = self.kiosk_on_tile(self.focus_index)
        now = time.monotonic()
        audio = new.streams.get("audio")
        if audio:
            if not audio.routed and audio.packets:
                # The router starts a newly focused member with their latest packet
                # (sent up to 20 ms before the switch), so the agent gets one more.
                audio.routed_packets += 1
            audio.routed = True  # counted as routed from before the request
        new.switched_at = now
        new.first.arm()
        self.agent.awaiting = (new.pattern, now)
        self.agent.awaiting_payload = (new.pattern, now)
        self.gen.focus_events.append({"t": now, "room": self.room_id})
        await self.agent.call("focus.set", {"session_ids": [new.session_id]})
        if old is not new and old.streams.get("audio"):
            old.streams["audio"].routed = False  # ...and until the router has applied it
        self.focus_index = index

    async def _switch_forever(self) -> None:
        await asyncio.sleep(random.random() * self.switch)
        while True:
            await asyncio.sleep(self.switch)
            if self.switching and not self.gen.pump.paused:
                try:
                    await self.focus((self.focus_index + 1) % 6)
                except Exception:
                    logger.exception("focus switch failed")

    def add_counts(self, out: dict) -> None:
        agent = self.agent
        for k in self.kiosks:
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
            out["kiosk_agent_audio"] += k.agent_audio
            out["hold_delivered"] += k.hold_audio
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

    async def close(self) -> None:
        if self._task:
            self._task.cancel()
        await asyncio.gather(*(p.close() for p in [self.agent, *self.kiosks]), return_exceptions=True)


# -- Janus clients -----------------------------------------------------------------------


class JanusClient(LapakPeer):
    """A member or the agent in a Janus VideoRoom: one publisher and one subscriber connection."""

    def __init__(self, room, pattern: int, feed: int) -> None:
        self.gen = room.gen
        self.room = room
        self.token = f"janus-{feed}"
        self.pattern = pattern
        self.feed = feed
        self.pc = None
        self.sub = None
        self.streams: dict[str, Stream] = {}
        self.pub_mid: dict[str, str] = {}
        self.sub_connected = False
        self.video = Counter(f"{feed}:video-in", "video")
        self.audio = Counter(f"{feed}:audio-in", "audio")
        self.tiles = [Counter(f"{feed}:tile{i + 1}", "video") for i in range(6)]

    def _layout(self, pc) -> None:
        pc.addTransceiver(ParkedTrack("audio"), direction="sendonly")
        pc.addTransceiver(ParkedTrack("video"), direction="sendonly")

    async def publish(self) -> None:
        s = self.room.session
        self.handle = await s.attach()
        await s.message(self.handle, {"request": "join", "ptype": "publisher", "room": self.room.room, "id": self.feed})
        pc = self.pc = new_pc()
        self._layout(pc)
        await pc.setLocalDescription(await pc.createOffer())
        for t in pc.getTransceivers():
            self.pub_mid[t.kind] = t.mid
        ev = await s.message(
            self.handle, {"request": "publish", "audio": True, "video": True},
            jsep={"type": "offer", "sdp": pc.localDescription.sdp, "trickle": False},
        )
        await s.trickle_done(self.handle)
        await pc.setRemoteDescription(RTCSessionDescription(ev["jsep"]["sdp"], "answer"))
        self._tap(pc)
        asyncio.ensure_future(self._start_when_connected(pc))

    def counter_for(self, t):
        return None  # the publisher connection receives nothing

    def initially_routed(self, kind: str) -> bool:
        return True

    async def subscribe(self, streams: list[dict]) -> None:
        s = self.room.session
        self.sub_handle = await s.attach()
        ev = await s.message(
            self.sub_handle, {"request": "join", "ptype": "subscriber", "room": self.room.room, "streams": streams}
        )
        data = ev["plugindata"]["data"]
        by_mid: dict[str, Counter] = {}
        feeds = {k.feed: i for i, k in enumerate(self.room.kiosks)}
        for st in data.get("streams", []):
            if st.get("type") == "video":
                counter = self.tiles[feeds[st["feed_id"]]] if self.pattern == 0 else self.video
            elif st.get("type") == "audio":
                counter = self.audio
            else:
                continue
            by_mid[st["mid"]] = counter
        pc = self.sub = new_pc()
        await pc.setRemoteDescription(RTCSessionDescription(ev["jsep"]["sdp"], "offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        for t in pc.getTransceivers():
            c = by_mid.get(t.mid)
            if c is not None and bridge.payload_type(t) is not None:
                c.payload_types = {bridge.payload_type(t)}
        tap_receive(pc.getTransceivers()[0].receiver.transport, by_mid)
        await s.message(
            self.sub_handle, {"request": "start"},
            jsep={"type": "answer", "sdp": pc.localDescription.sdp, "trickle": False},
        )
        await s.trickle_done(self.sub_handle)

        @pc.on("connectionstatechange")
        def changed() -> None:
            self.sub_connected = pc.connectionState == "connected"

    async def close(self) -> None:
        for st in self.streams.values():
            st.closed = True
        for pc in (self.pc, self.sub):
            if pc is not None:
                with contextlib.suppress(Exception):
                    await pc.close()


# -- the process -------------------------------------------------------------------


async def serve(clips_path: str, ice: list[str] | None) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 22)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    out = sys.stdout.buffer
    gen = Generator(load_clips(clips_path), ice)

    def send(message: dict) -> None:
        out.write(json.dumps(message).encode() + b"\n")
        out.flush()

    async def run(message: dict) -> None:
        rid = message.get("id")
        cmd = message.get("cmd")
        args = message.get("args", {})
        try:
            if cmd == "add_room":
                if args.get("mode") == "janus":
                    from .janus import JanusRoom

                    room = JanusRoom(gen, args["server"], args["room"])
                else:
                    room = LapakRoom(gen, args["server"], args["agent"], args["kiosks"], args.get("switch", 4.0), args["room"])
                gen.rooms[args["room"]] = room
                result = await room.start()
            elif cmd == "pause":
                gen.pump.pause()
                result = None
            elif cmd == "resume":
                gen.pump.resume()
                result = None
            elif cmd == "snapshot":
                result = gen.snapshot()
            elif cmd == "latencies":
                result = {
                    "session_start": gen.session_start, "focus_audio": gen.focus_audio,
                    "focus_audio_payload": gen.focus_audio_payload, "first_frame": gen.first_frame,
                    "focus_events": gen.focus_events,
                }
                if args.get("clear"):  # hand over and start new lists (one set per step)
                    gen.session_start, gen.focus_audio, gen.focus_audio_payload = [], [], []
                    gen.first_frame, gen.focus_events = [], []
            elif cmd == "close":
                await asyncio.gather(*(r.close() for r in gen.rooms.values()), return_exceptions=True)
                send({"id": rid, "ok": True, "result": None})
                loop.stop()
                return
            else:
                raise ValueError(f"unknown command {cmd!r}")
            send({"id": rid, "ok": True, "result": result})
        except Exception as exc:
            logger.exception("command %s failed", cmd)
            send({"id": rid, "ok": False, "error": f"{type(exc).__name__}: {exc}"})

    while True:
        line = await reader.readline()
        if not line:
            break
        asyncio.ensure_future(run(json.loads(line)))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--clips", required=True)
    p.add_argument("--ice-address", action="append", default=None)
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="loadgen %(levelname)s %(name)s: %(message)s")
    try:
        asyncio.run(serve(args.clips, args.ice_address))
    except (KeyboardInterrupt, RuntimeError):
        pass


if __name__ == "__main__":
    main()
