"""A headless booth in a process of its own (run inside a test's network namespace), reporting as JSON lines.

``python tests/booth_process.py URL TOKEN TONE [--relay-only]``: requests a
session and prints, twice a second, ``{"state", "session", "offers", "frames", "levels", "pair", "network"}``:
its session state and id, how many offers it made (one per peer connection),
the agent's video frames it decoded, the tones it heard in the last second
(Hz: level), its nominated ICE pair's candidate types and the network quality
the server last told it (``media.network``).
Stops when its standard input closes.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

from conftest import AGENT_TONE, KIOSK_TONES
from helpers import SMALL
from kiosk_client.client import HeadlessKiosk
from server.lifeline import stdin_closed
from server.media import bridge

TONES = [AGENT_TONE, *KIOSK_TONES.values()]


async def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("url")
    p.add_argument("token")
    p.add_argument("tone", type=float)
    p.add_argument("--relay-only", action="store_true")
    args = p.parse_args()
    kiosk = HeadlessKiosk(args.url, args.token, tone_hz=args.tone, ice_addresses=None, relay_only=args.relay_only, **SMALL)
    closed = asyncio.ensure_future(stdin_closed())
    try:
        await kiosk.connect()
        await kiosk.request("jht")
        while not closed.done():
            await asyncio.wait({closed}, timeout=0.5)
            report = {
                "state": kiosk.state,
                "session": kiosk.session_id,
                "offers": len(kiosk.offers),
                "frames": kiosk.video.frames,
                "levels": {str(hz): round(v, 4) for hz, v in kiosk.audio.levels(TONES, 1.0).items()},
                "pair": bridge.selected_pair(kiosk.pc) if kiosk.pc is not None else None,
                "errors": kiosk.errors[-2:],
                "network": kiosk.network,
            }
            print(json.dumps(report), flush=True)
    finally:
        closed.cancel()
        await asyncio.gather(closed, return_exceptions=True)
        await kiosk.close()


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
