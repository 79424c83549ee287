"""The agent's offer layout with and without the six guest m-lines (issue 14), answered by a real Peer.

Eight m-lines (audio, camera, six tiles) or fourteen (six more, each tile's
guest); anything else is refused with the layouts named, as every layout is.
"""

from __future__ import annotations

import pytest

from kiosk_client.client import new_peer_connection
from server.media.peer import AGENT, Peer
from server.media.ice import use_host_addresses
from signaling.core.errors import OfferError

pytestmark = pytest.mark.asyncio


async def offer(recvonly: int) -> tuple[object, str]:
    use_host_addresses(["127.0.0.1"])
    pc = new_peer_connection()
    pc.addTransceiver("audio", direction="sendrecv")
    pc.addTransceiver("video", direction="sendonly")
    for _ in range(recvonly):
        pc.addTransceiver("video", direction="recvonly")
    await pc.setLocalDescription(await pc.createOffer())
    return pc, pc.localDescription.sdp


@pytest.mark.parametrize("recvonly, outputs", [(6, 6), (12, 12), (7, None), (11, None), (13, None)])
async def test_an_agent_offers_six_tiles_and_optionally_six_guest_lines(recvonly, outputs):
    client, sdp = await offer(recvonly)
    peer = Peer("agent-1", AGENT, lambda peer, state: None, ice_addresses=["127.0.0.1"])
    try:
        if outputs is None:
            with pytest.raises(OfferError, match="m-lines"):
                await peer.answer(sdp)
        else:
            await peer.answer(sdp)
            assert len(peer.video_out) == outputs and peer.video_in is not None
    finally:
        await peer.close()
        await client.close()
