"""The router's RTCP sender reports, as real aiortc peers receive them.

Every forwarded stream (the agent's voice and camera at a member, the
member's voice and camera at the agent) and the server-made hold audio at a
held member must get sender reports that count exactly what arrived, and map
RTP time to NTP time consistently with the stream's own timestamps, also after
the stream switched sources (so that its timestamp offset is not zero).
"""

from __future__ import annotations

import asyncio
import datetime
from dataclasses import dataclass, field

from aiortc.rtp import RtcpSrPacket

from helpers import close_all, make_room
from kiosk_client.client import until


@dataclass
class Report:
    packet_count: int
    octet_count: int
    ntp: int
    rtp: int
    #: What the recipient had received when this report arrived.
    received: int
    octets: int
    lossless: bool
    last_ts: int | None


@dataclass
class StreamTap:
    """What one receiver got: RTP counted as it arrived, and each sender report with the counts at its arrival."""

    rate: int
    received: int = 0
    octets: int = 0
    lossless: bool = True
    last_seq: int | None = None
    last_ts: int | None = None
    reports: list[Report] = field(default_factory=list)

    def install(self, receiver) -> None:
        on_rtp, on_rtcp = receiver._handle_rtp_packet, receiver._handle_rtcp_packet

        async def rtp(packet, arrival_time_ms):
            self.received += 1
            self.octets += len(packet.payload)
            if self.last_seq is not None and packet.sequence_number != (self.last_seq + 1) & 0xFFFF:
                self.lossless = False  # lost, late or repeated on the way: counts cannot match exactly
            self.last_seq, self.last_ts = packet.sequence_number, packet.timestamp
            await on_rtp(packet, arrival_time_ms)

        async def rtcp(packet):
            if isinstance(packet, RtcpSrPacket):
                info = packet.sender_info
                self.reports.append(Report(info.packet_count, info.octet_count, info.ntp_timestamp,
                                           info.rtp_timestamp, self.received, self.octets, self.lossless,
                                           self.last_ts))
            await on_rtcp(packet)

        receiver._handle_rtp_packet, receiver._handle_rtcp_packet = rtp, rtcp

    def check(self, name: str, since: int) -> None:
        reports = [r for r in self.reports[since:] if r.received]
        assert len(reports) >= 2, f"{name}: {len(reports)} sender reports"
        exact = [r for r in reports if r.lossless]
        assert exact, f"{name}: no report arrived before a packet was lost on the last hop"
        for r in exact:
            assert (r.packet_count, r.octet_count) == (r.received, r.octets), f"{name}: {r}"
        for r in reports:
            # The mapping, moved to the report's time, lands on the timestamps the stream carries now:
            # the newest packet (sent a frame or so before the report) is within 300 ms of it.
            drift = ((r.rtp - r.last_ts + 0x80000000) & 0xFFFFFFFF) - 0x80000000
            assert abs(drift) < 0.3 * self.rate, f"{name}: report's RTP time is {drift / self.rate:.3f} s off"
            assert (r.ntp >> 32) > 3_155_673_600, f"{name}: NTP time before 2000: {r}"  # not 1900


def taps_for(client, indexes: dict[str, tuple[int, int]]) -> dict[str, StreamTap]:
    """Taps on the receivers of ``client``'s current connection: name -> (transceiver index, clock rate)."""
    transceivers = client.pc.getTransceivers()
    taps = {}
    for name, (index, rate) in indexes.items():
        taps[name] = StreamTap(rate)
        taps[name].install(transceivers[index].receiver)
    return taps


async def test_every_forwarded_stream_and_hold_audio_get_true_sender_reports(server):
    agent, (talking, held) = await make_room(server.url, 2)
    try:
        # New connections, tapped from their first packet (no await between offer and tap).
        await talking.start_media()
        taps = taps_for(talking, {"agent voice at member": (0, 48000), "agent camera at member": (1, 90000)})
        await held.start_media()
        taps |= taps_for(held, {"hold audio at held member": (0, 48000)})
        await agent.start_media()
        tile = 2 + agent.tile_of(talking.session_id)
        taps |= taps_for(agent, {"member voice at agent": (0, 48000), "member camera at agent": (tile, 90000)})

        # Switch the member's streams away and back, so that their timestamp offsets are not zero.
        for focus in ([talking.session_id], [], [talking.session_id]):
            assert (await agent.focus(focus))["ok"]
            await asyncio.sleep(0.6)
        await until(lambda: talking.state == "talking" and held.state == "on_hold", 5, "focus on one member")
        since = {name: len(tap.reports) for name, tap in taps.items()}
        await until(lambda: all(len(t.reports) >= since[n] + 3 for n, t in taps.items()), 15, "three sender reports")
        for name, tap in taps.items():
            tap.check(name, since[name])

        # The same, as aiortc's own statistics show it to an application.
        stats = await talking.pc.getTransceivers()[1].receiver.getStats()
        remote = [s for s in stats.values() if s.type == "remote-outbound-rtp"]
        assert remote and remote[0].packetsSent > 0
        assert remote[0].remoteTimestamp > datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc)
    finally:
        await close_all(talking, held, agent)
