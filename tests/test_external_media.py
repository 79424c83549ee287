"""The headless clients with external media: the way ``lapak bench`` drives them.

With an ``ExternalMedia`` a headless kiosk or agent must negotiate exactly the
m-lines it always does, send nothing through aiortc (parked tracks), start
no decoding consumers, and hand every peer connection to the media object
once its answer is set. Without one, nothing changes (the rest of the suite).
Every background task a client starts is owned and gone once it is closed.
"""

from __future__ import annotations

from aiortc import RTCPeerConnection

from agent_console.client import HeadlessAgent
from helpers import SMALL, close_all
from kiosk_client.client import HeadlessKiosk, until
from server.media.peer import ParkedTrack


class Recorder:
    """An ExternalMedia that only remembers the connections handed to it."""

    def __init__(self) -> None:
        self.attached: list[RTCPeerConnection] = []

    def attach(self, pc: RTCPeerConnection) -> None:
        assert pc.remoteDescription is not None, "attached before the answer was set"
        self.attached.append(pc)


def layout(pc: RTCPeerConnection) -> list[tuple[str, str]]:
    return [(t.kind, t.direction) for t in pc.getTransceivers()]


async def test_external_media_negotiates_the_same_lines_and_sends_nothing_itself(server):
    agent_media, kiosk_media = Recorder(), Recorder()
    agent = HeadlessAgent(server.url, "agent-token-1", media=agent_media, **SMALL)
    kiosk = HeadlessKiosk(server.url, "kiosk-token-1", media=kiosk_media, **SMALL)
    try:
        await agent.connect()
        await kiosk.connect()
        before = kiosk.requested_at
        await kiosk.request()
        assert kiosk.requested_at > before  # the benchmark's session-start clock
        await kiosk.wait_state("on_hold", 20)  # the peer connection came up with parked tracks

        assert agent_media.attached == [agent.pc]
        assert kiosk_media.attached == [kiosk.pc]
        assert layout(kiosk.pc) == [("audio", "sendrecv"), ("video", "sendrecv")]
        assert layout(agent.pc) == [("audio", "sendrecv"), ("video", "sendonly")] + [("video", "recvonly")] * 6
        for pc in (agent.pc, kiosk.pc):
            for t in pc.getTransceivers():
                if t.direction != "recvonly":
                    assert isinstance(t.sender.track, ParkedTrack), t.sender.track
        # No decoding consumer was started for what arrives: the external media counts it.
        assert len(kiosk.tasks) == 0 and len(agent.tasks) == 0
        assert kiosk.camera is None
    finally:
        await close_all(kiosk, agent)


async def test_closing_a_client_cancels_and_awaits_its_tasks(server):
    agent = HeadlessAgent(server.url, "agent-token-1", **SMALL)
    kiosk = HeadlessKiosk(server.url, "kiosk-token-1", **SMALL)
    try:
        await agent.connect()
        await kiosk.connect()
        await kiosk.request()
        await kiosk.wait_state("on_hold", 20)
        # The decoding consumers run for as long as the tracks do.
        await until(lambda: len(kiosk.tasks) >= 2 and len(agent.tasks) >= 7, 10, "the clients' consumers")
    finally:
        await close_all(kiosk, agent)
    assert len(kiosk.tasks) == 0 and len(agent.tasks) == 0
    # A closed client starts nothing more: a late media attempt (a state that was in flight) is refused.
    kiosk._want_media(kiosk.session_id, 99)
    assert len(kiosk.tasks) == 0
