"""One Janus VideoRoom room under load: an agent and six members as publishers and subscribers.

The same rooms as :mod:`bench.lapak_room` (see :mod:`bench.janus` for the
server and what is subscribed to what), media sent by the pump and counted at
the RTP level (:mod:`bench.pumped`).
"""

from __future__ import annotations

import asyncio
import contextlib

from aiortc import RTCPeerConnection, RTCSessionDescription

from kiosk_client.client import new_peer_connection, until
from kiosk_client.external_media import parked

from .generator import Generator
from .janus import JanusSession
from .pumped import PumpedMedia, add_room_counts
from .rtp import Counter, Stream, payload_type, tap_receive


class JanusClient:
    """A member or the agent in a Janus VideoRoom: one publisher and one subscriber connection."""

    def __init__(self, room, pattern: int, feed: int) -> None:
        self.gen = room.gen
        self.room = room
        self.token = f"janus-{feed}"
        self.pattern = pattern
        self.feed = feed
        self.pc: RTCPeerConnection | None = None
        self.sub: RTCPeerConnection | None = None
        self.media = PumpedMedia(self.token, pattern, room.gen.clips, room.gen.pump, room.gen.tasks,
                                 counter_for=lambda t, index: None)  # the publisher connection receives nothing
        self.pub_mid: dict[str, str] = {}
        self.sub_connected = False
        self.video = Counter(f"{feed}:video-in", "video")
        self.audio = Counter(f"{feed}:audio-in", "audio")
        self.tiles = [Counter(f"{feed}:tile{i + 1}", "video") for i in range(6)]

    @property
    def streams(self) -> dict[str, Stream]:
        return self.media.streams

    async def publish(self) -> None:
        s = self.room.session
        self.handle = await s.attach()
        await s.message(self.handle, {"request": "join", "ptype": "publisher", "room": self.room.room, "id": self.feed})
        pc = self.pc = new_peer_connection()
        pc.addTransceiver(parked("audio"), direction="sendonly")
        pc.addTransceiver(parked("video"), direction="sendonly")
        await pc.setLocalDescription(await pc.createOffer())
        for t in pc.getTransceivers():
            self.pub_mid[t.kind] = t.mid
        ev = await s.message(
            self.handle, {"request": "publish", "audio": True, "video": True},
            jsep={"type": "offer", "sdp": pc.localDescription.sdp, "trickle": False},
        )
        await s.trickle_done(self.handle)
        await pc.setRemoteDescription(RTCSessionDescription(ev["jsep"]["sdp"], "answer"))
        self.media.attach(pc)

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
        pc = self.sub = new_peer_connection()
        await pc.setRemoteDescription(RTCSessionDescription(ev["jsep"]["sdp"], "offer"))
        await pc.setLocalDescription(await pc.createAnswer())
        for t in pc.getTransceivers():
            c = by_mid.get(t.mid)
            if c is not None and payload_type(t) is not None:
                c.payload_types = {payload_type(t)}
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
        self.media.close()
        for pc in (self.pc, self.sub):
            if pc is not None:
                with contextlib.suppress(Exception):
                    await pc.close()


class JanusRoom:
    """One agent and six kiosks as Janus VideoRoom publishers and subscribers."""

    def __init__(self, gen: Generator, url: str, index: int) -> None:
        self.gen = gen
        self.url = url
        self.index = index
        self.room = 5000 + index
        self.session = JanusSession(url)
        self.agent = JanusClient(self, 0, feed=self.room * 10)
        self.kiosks = [JanusClient(self, i, feed=self.room * 10 + i) for i in range(1, 7)]

    async def start(self) -> dict:
        await self.session.create()
        handle = await self.session.attach()
        reply = await self.session._post(
            f"{self.url}/{self.session.session_id}/{handle}",
            {"janus": "message", "transaction": JanusSession._tx(), "body": {
                "request": "create", "room": self.room, "publishers": 10, "bitrate": 0,
                "videocodec": "vp8", "audiocodec": "opus", "fir_freq": 0, "notify_joining": False,
            }},
        )
        data = reply.get("plugindata", {}).get("data", {})
        if data.get("videoroom") != "created":
            raise RuntimeError(f"janus could not create the room: {reply}")
        clients = [self.agent, *self.kiosks]
        for c in clients:
            await c.publish()
        await until(lambda: all(len(c.streams) == 2 for c in clients), 60, "janus publishers connected")
        await asyncio.sleep(0.3)
        # The agent: six members' video, the focused member's (kiosk 1) audio.
        await self.agent.subscribe(
            [{"feed": k.feed, "mid": k.pub_mid["video"]} for k in self.kiosks]
            + [{"feed": self.kiosks[0].feed, "mid": self.kiosks[0].pub_mid["audio"]}]
        )
        for i, k in enumerate(self.kiosks):
            streams = [{"feed": self.agent.feed, "mid": self.agent.pub_mid["audio"]}]
            if i == 0:
                streams.append({"feed": self.agent.feed, "mid": self.agent.pub_mid["video"]})
            await k.subscribe(streams)
        await until(lambda: all(c.sub_connected for c in clients), 60, "janus subscribers connected")
        for k in self.kiosks[1:]:
            k.streams["audio"].routed = False
        await until(lambda: all(t.frames > 0 for t in self.agent.tiles), 30, "video on every janus tile")
        return {"ok": True}

    def add_counts(self, out: dict) -> None:
        add_room_counts(out, self.agent, self.kiosks)

    async def close(self) -> None:
        await asyncio.gather(*(c.close() for c in [self.agent, *self.kiosks]), return_exceptions=True)
        await self.session.close()
