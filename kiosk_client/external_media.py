"""Media a headless client leaves to someone else: the benchmark's RTP pump and counters.

By default a headless kiosk or agent sends synthetic tracks through aiortc and
decodes what it receives (:mod:`kiosk_client.synthetic`): right for tests and
the CLI, far too dear for a load generator holding dozens of clients. Given an
:class:`ExternalMedia`, the client negotiates exactly the same m-lines, but
with :class:`ParkedTrack` senders (aiortc sends nothing itself) and no
decoding consumers; it hands each new peer connection, once its answer is
set, to :meth:`ExternalMedia.attach`, which sends and counts at the RTP level
(:mod:`bench.pumped`). The signaling (socket, offers, retries, states) stays
the client's own, so the benchmark speaks the protocol exactly as tests do.
"""

from __future__ import annotations

from typing import Protocol

from aiortc import MediaStreamTrack, RTCPeerConnection

from server.media.peer import ParkedTrack


class ExternalMedia(Protocol):
    """Sends and receives one client's media outside aiortc's tracks."""

    def attach(self, pc: RTCPeerConnection) -> None:
        """Take over the media of ``pc`` (called once per peer connection, after the answer is set)."""


def parked(kind: str) -> MediaStreamTrack:
    """A sending track that never yields a frame: negotiates sending, sends nothing."""
    return ParkedTrack(kind)
