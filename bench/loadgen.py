"""A load-generator process: whole rooms of headless clients that send pre-encoded media.

Run as ``python -m bench.loadgen`` by :mod:`bench.run` (through
:mod:`bench.control`); it speaks JSON lines on stdin/stdout (one command in,
one reply out, matched by ``id``). Each room (one agent and six kiosks) lives
entirely in one generator process, so a snapshot of what was sent and what
was received is taken at one instant.

Rooms speak Lapak's real protocol through the project's headless clients
(:mod:`bench.lapak_room`) or, with ``mode = "janus"``, Janus's VideoRoom
(:mod:`bench.janus_room`). Media: :mod:`bench.pumped` and :mod:`bench.rtp`;
what the process holds and counts: :mod:`bench.generator`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys

from server.media.ice import restrict_host_addresses
from signaling.tasks import Tasks

from .generator import Generator, Room
from .janus_room import JanusRoom
from .lapak_room import LapakRoom
from .media import load_clips

logger = logging.getLogger("bench.loadgen")


def make_room(gen: Generator, args: dict) -> Room:
    """The room an ``add_room`` command asks for."""
    if args.get("mode") == "janus":
        return JanusRoom(gen, args["server"], args["room"])
    return LapakRoom(gen, args["server"], args["agent"], args["kiosks"], args.get("switch", 4.0), args["room"])


async def serve(clips_path: str, ice: list[str] | None) -> None:
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=1 << 22)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    out = sys.stdout.buffer
    restrict_host_addresses(ice)  # the Janus clients gather with the process default
    gen = Generator(load_clips(clips_path), ice)
    commands = Tasks("load generator commands")
    done = asyncio.Event()

    def send(message: dict) -> None:
        out.write(json.dumps(message).encode() + b"\n")
        out.flush()

    async def run(message: dict) -> None:
        rid = message.get("id")
        cmd = message.get("cmd")
        args = message.get("args", {})
        try:
            if cmd == "add_room":
                room = make_room(gen, args)
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
                result = gen.latencies(clear=bool(args.get("clear")))
            elif cmd == "close":
                await gen.close()
                send({"id": rid, "ok": True, "result": None})
                done.set()
                return
            else:
                raise ValueError(f"unknown command {cmd!r}")
            send({"id": rid, "ok": True, "result": result})
        except Exception as exc:
            logger.exception("command %s failed", cmd)
            send({"id": rid, "ok": False, "error": f"{type(exc).__name__}: {exc}"})

    async def read_commands() -> None:
        while True:
            line = await reader.readline()
            if not line:
                break
            commands.spawn(run(json.loads(line)), "command")  # commands overlap (add_room takes seconds)
        done.set()

    reading = asyncio.create_task(read_commands())
    try:
        await done.wait()
    finally:
        reading.cancel()
        await asyncio.gather(reading, return_exceptions=True)
        await commands.close()
        await gen.close()


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--clips", required=True)
    p.add_argument("--ice-address", action="append", default=None)
    args = p.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr, format="loadgen %(levelname)s %(name)s: %(message)s")
    try:
        asyncio.run(serve(args.clips, args.ice_address))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
