"""A media worker process: one :class:`~server.media.router.Router` behind stdin/stdout.

Started by :class:`server.media.workers.WorkerPool` as
``python -m server.media.worker``; see that module for the wire format.
The commands it serves are :data:`signaling.core.media.COMMANDS`, the
members of the ``MediaRouter`` Protocol, plus ``shutdown``. Its first line
says ``worker.ready``, or ``worker.failed`` with the error (aiortc or aioice
lacking what :mod:`server.media.bridge` needs) before it exits non-zero.
Exits when its stdin closes (the control process went away).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys

from signaling.core.errors import BY_NAME
from signaling.core.media import COMMANDS

from .ice import restrict_host_addresses, set_process_network
from .network import MediaNetwork
from .router import load_router_class
from .workers import LINE_LIMIT

async def serve(
    ice_addresses: list[str] | None, router_path: str | None = None, network: MediaNetwork | None = None
) -> None:
    restrict_host_addresses(ice_addresses)
    set_process_network(network)
    loop = asyncio.get_running_loop()
    reader = asyncio.StreamReader(limit=LINE_LIMIT)
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), sys.stdin)
    out = sys.stdout.buffer

    def send(message: dict) -> None:
        out.write(json.dumps(message).encode() + b"\n")
        out.flush()

    try:  # the router checks aiortc/aioice (server.media.bridge) before it takes a command
        router = load_router_class(router_path)(on_event=send)
    except Exception as exc:
        send({"event": "worker.failed", "error": f"{type(exc).__name__}: {exc}"})
        raise
    send({"event": "worker.ready"})
    running: set[asyncio.Task] = set()  # commands in flight, each answered whatever happens

    async def run(message: dict) -> None:
        request_id = message.get("id")
        cmd = message.get("cmd")
        try:
            if cmd == "shutdown":
                await router.close()
                send({"id": request_id, "ok": True, "result": None})
                reader.feed_eof()  # ends the loop below
                return
            if cmd not in COMMANDS:
                raise ValueError(f"unknown command {cmd!r}")
            result = await getattr(router, cmd)(**message.get("args", {}))
            send({"id": request_id, "ok": True, "result": result})
        except tuple(BY_NAME.values()) as exc:  # refused, not failed: no traceback
            send({"id": request_id, "ok": False, "error": {"type": type(exc).__name__, "message": str(exc)}})
        except Exception as exc:  # report, keep serving the other rooms
            logging.getLogger(__name__).exception("command %s failed", cmd)
            send({"id": request_id, "ok": False, "error": {"type": type(exc).__name__, "message": str(exc)}})

    while True:
        line = await reader.readline()
        if not line:
            break
        try:
            message = json.loads(line)
        except ValueError:
            continue
        task = loop.create_task(run(message), name=f"media command {message.get('cmd')}")
        running.add(task)
        task.add_done_callback(running.discard)
    for task in list(running):
        task.cancel()
    await asyncio.gather(*running, return_exceptions=True)
    await router.close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--ice-address", action="append", default=None)
    p.add_argument("--router", default=None, help='router class as "module:Class"')
    p.add_argument("--rtc-ports", default=None, help="MIN-MAX: the UDP ports media sockets bind in")
    p.add_argument("--announce-address", action="append", default=[], help="address put in host candidates")
    args = p.parse_args()
    ports = tuple(int(x) for x in args.rtc_ports.split("-")) if args.rtc_ports else None
    network = MediaNetwork(ports=ports, announce=tuple(args.announce_address))  # type: ignore[arg-type]
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    try:  # anything else (a failed compatibility check) ends the worker with its traceback
        asyncio.run(serve(args.ice_address, args.router, network))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
