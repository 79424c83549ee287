"""The ``lapak`` command line: serve, demo, headless agent and kiosk, bench."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import os
import secrets
import socket
import sys
from pathlib import Path


from .config import Config
from . import netoptions  # HTTPS, TURN, NAT, port range (issue 13)
from .database import DatabaseUnreachable, database_url
from .metrics_access import host_port
from .lifeline import stdin_closed
from .tokens import TokensError, load_tokens
from signaling.state.redis_state import StateUnavailable


def _network(text: str) -> str:
    """An address or network (``10.0.0.0/8``) for ``--trusted-proxy``."""
    import ipaddress

    try:
        ipaddress.ip_network(text, strict=False)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an address or network: {text!r}") from None
    return text


def _add_serve_options(p: argparse.ArgumentParser) -> None:
    p.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    p.add_argument("--port", type=int, default=8080, help="port to listen on (default 8080)")
    p.add_argument("--data", default="lapak-data", help="data directory: SQLite database (unless --database), documents")
    p.add_argument(
        "--database",
        default=None,
        type=database_url,
        metavar="URL",
        help="keep the records in PostgreSQL, e.g. postgresql://lapak@db.example:5432/lapak "
        "(default: SQLite in --data; see docs/operations.md)",
    )
    p.add_argument(
        "--media-workers",
        type=int,
        default=None,
        help="media worker processes (default: one per core; 0 runs media in the main process)",
    )
    p.add_argument(
        "--ice-address",
        action="append",
        default=None,
        help="address offered to peers for media (repeatable; default: every non-loopback interface, "
        "or 127.0.0.1 when --host is loopback)",
    )
    p.add_argument("--tokens", default=None, help="JSON file with kiosk and agent tokens (see docs/operations.md)")
    p.add_argument("--media-router", default=None, help=argparse.SUPPRESS)  # benchmarks only
    p.add_argument(
        "--kiosk-self-start",
        action="store_true",
        help="let members start a session from the booth's screen (self-service booths); "
        "by default the branch's security officer starts sessions",
    )
    p.add_argument(
        "--metrics-token",
        default=None,
        help="bearer token a metrics scraper sends for /metrics (default: only signed-in supervisors)",
    )
    p.add_argument(
        "--metrics-listen",
        type=host_port,
        default=None,
        metavar="HOST:PORT",
        help="also serve /metrics (and nothing else) on this address, e.g. 127.0.0.1:9464",
    )
    p.add_argument(
        "--trusted-proxy",
        action="append",
        default=None,
        metavar="ADDR",
        type=_network,
        help="address or network of a reverse proxy whose X-Forwarded-For names the client, for sign-in "
        "limits and the audit trail (repeatable; default: none, the header is ignored)",
    )
    p.add_argument(
        "--smtp",
        default=None,
        metavar="URL",
        help="mail server for the online claims' e-mails: smtp://[user:password@]host[:port][?from=a@b&starttls=1] "
        "or smtps://… (default: none; mails wait in the outbox)",
    )
    p.add_argument("--public-url", default=None, metavar="URL",
                   help="the address members' status links start with, e.g. https://klaim.example.id (default: the "
                   "address the member used)")
    p.add_argument("--interview-capacity", type=int, default=32, metavar="N",
                   help="video interviews offered per day to members at home (default 32; a supervisor may set a day's own)")
    p.add_argument(
        "--redis",
        default=None,
        metavar="URL",
        help="Redis holding the live state shared by several nodes, e.g. redis://10.0.0.5:6379/0 "
        "(default: none, one node keeps it in memory)",
    )
    p.add_argument(
        "--node-id", default=None, metavar="ID", help="this node's name among several (default: host name:port)"
    )
    p.add_argument(
        "--busy-lag", type=float, default=1.0, metavar="SECONDS",
        help="start no new session while the event loop runs this far behind, smoothed, until it has caught up "
        "(default 1.0; 0: never refuse for load)",
    )
    p.add_argument(
        "--reconnect-grace",
        type=float,
        default=60.0,
        help="seconds a dropped kiosk or agent has to come back before its sessions end (default 60)",
    )
    netoptions.add_options(p)  # --tls-cert/--tls-key, --turn-url/--turn-secret/--turn-ttl, --announce-address, --rtc-ports


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="lapak", description="Private one-to-many video service for branch kiosks.")
    p.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    sub = p.add_subparsers(dest="command", required=True)

    serve = sub.add_parser("serve", help="run the service")
    _add_serve_options(serve)

    demo = sub.add_parser("demo", help="run the service with six simulated kiosks and a headless agent's view")
    _add_serve_options(demo)
    demo.add_argument("--kiosks", type=int, default=6, help="simulated kiosks (default 6)")

    agent = sub.add_parser("agent", help="a headless agent: take sessions and report what it receives")
    agent.add_argument("--server", required=True, help="service URL, e.g. http://127.0.0.1:8080")
    agent.add_argument("--token", required=True, help="agent token")
    agent.add_argument("--focus", default="all", choices=["all", "none", "rotate"], help="whom to talk to")
    agent.add_argument("--seconds", type=float, default=0, help="stop after this long (0: run until Ctrl+C)")
    agent.add_argument("--relay-only", action="store_true", help="media only through the server's TURN relay")

    kiosk = sub.add_parser("kiosk", help="headless kiosks: request sessions and send test tones and patterns")
    kiosk.add_argument("--server", required=True)
    kiosk.add_argument("--token", action="append", required=True, help="kiosk token (repeat for several kiosks)")
    kiosk.add_argument("--service", default="jht")
    kiosk.add_argument("--seconds", type=float, default=0)
    kiosk.add_argument("--relay-only", action="store_true", help="media only through the server's TURN relay")
    kiosk.add_argument(
        "--watch-stdin", action="store_true", help="stop when standard input closes (a parent's pipe, as lapak demo gives)"
    )

    from .admin import add_parser as add_admin_parser

    add_admin_parser(sub)
    from .drain import add_parser as add_drain_parser

    add_drain_parser(sub)  # lapak drain: empty a node (several nodes)

    bench = sub.add_parser("bench", help="measure the media router (see docs/performance.md)", add_help=False)
    bench.add_argument("args", nargs=argparse.REMAINDER)
    return p


def config_from_args(args: argparse.Namespace) -> Config:
    loopback = args.host in ("127.0.0.1", "localhost", "::1")
    workers = args.media_workers if args.media_workers is not None else (os.cpu_count() or 1)
    config = Config(
        host=args.host,
        port=args.port,
        data_dir=Path(args.data),
        database_url=args.database,
        media_workers=workers,
        ice_addresses=args.ice_address or (["127.0.0.1"] if loopback else None),
        media_router=args.media_router,
        reconnect_grace=args.reconnect_grace,
        kiosk_self_start=args.kiosk_self_start or args.command == "demo",
        metrics_token=args.metrics_token or None,
        metrics_listen=args.metrics_listen,
        trusted_proxies=tuple(args.trusted_proxy or ()),
        smtp_url=args.smtp,
        public_url=args.public_url,
        interview_capacity=args.interview_capacity,
        redis_url=args.redis,
        node_id=args.node_id or f"{socket.gethostname()}:{args.port}",
        busy_lag=args.busy_lag,
    )
    if args.busy_lag < 0:
        raise netoptions.OptionError("--busy-lag", f"{args.busy_lag:g} is not 0 (never refuse for load) or more seconds")
    netoptions.apply(args, config)  # OptionError: main() names the option and stops
    if args.tokens:
        kiosks, agents = load_tokens(Path(args.tokens))  # TokensError: main() says why and stops
        config.kiosk_tokens.update(kiosks)
        config.agent_tokens.update(agents)
    return config


async def serve(args: argparse.Namespace) -> None:
    from .collector import settle
    from .database import describe, engine_url
    from .running import run_app, wait_for_signal

    config = config_from_args(args)
    runner = await run_app(config)
    settle()  # the garbage collector set for thousands of long-lived sockets (server/collector.py)
    metrics = ""
    if config.metrics_listen is not None:
        host, port = config.metrics_listen
        metrics = f", metrics on http://{f'[{host}]' if ':' in host else host}:{port}/metrics"
    scheme = "https" if config.tls_cert else "http"
    records = f", records in {describe(engine_url(config.database_url))}" if config.database_url else ""
    print(
        f"Lapak is serving on {scheme}://{config.host}:{config.port}/ (data in {config.data_dir}{records}{metrics})",
        flush=True,
    )
    try:
        await wait_for_signal()
    finally:
        await runner.cleanup()


async def demo(args: argparse.Namespace) -> None:
    from .demo import run_demo

    await run_demo(config_from_args(args), kiosks=args.kiosks)


async def agent(args: argparse.Namespace) -> None:
    from agent_console.client import HeadlessAgent

    client = HeadlessAgent(args.server, args.token, ice_addresses=None if not _loopback(args.server) else ["127.0.0.1"],
        relay_only=args.relay_only,
    )
    await client.connect()
    print("agent connected; waiting for sessions", flush=True)
    loop = asyncio.get_running_loop()
    started = loop.time()
    turn = 0
    try:
        while not args.seconds or loop.time() - started < args.seconds:
            await asyncio.sleep(3)
            sessions = client.sessions()
            if args.focus == "all" and sessions:
                await client.focus_all()
            elif args.focus == "rotate" and sessions:
                await client.focus([sessions[turn % len(sessions)]])
                turn += 1
            heard = {f: round(v, 3) for f, v in client.audio.levels(_demo_tones()).items() if v > 0.02}
            print(client.report(), f"\nhearing tones (Hz: level): {heard}\n", flush=True)
    finally:
        await client.close()


async def kiosk(args: argparse.Namespace) -> None:
    from kiosk_client.client import HeadlessKiosk

    ice = ["127.0.0.1"] if _loopback(args.server) else None
    clients = [
        HeadlessKiosk(args.server, token, tone_hz=_demo_tones()[i + 1], pattern=i + 1, ice_addresses=ice, relay_only=args.relay_only)
        for i, token in enumerate(args.token)
    ]
    closed = asyncio.ensure_future(stdin_closed()) if args.watch_stdin else None
    loop = asyncio.get_running_loop()
    started = loop.time()
    try:
        for c in clients:
            await c.connect()
            await c.request(args.service)
        while not args.seconds or loop.time() - started < args.seconds:
            if closed is not None:
                await asyncio.wait({closed}, timeout=3)
                if closed.done():
                    break
            else:
                await asyncio.sleep(3)
            for c in clients:
                print(f"{c.token[:12]}: {c.state} video frames={c.video.frames}", flush=True)
    finally:
        if closed is not None:
            closed.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await closed
        for c in clients:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(c.close(), 5)


def _loopback(url: str) -> bool:
    return "://127." in url or "://localhost" in url


def _demo_tones() -> list[float]:
    """Agent's tone first, then kiosk 1..8."""
    return [450.0, 600.0, 750.0, 900.0, 1050.0, 1200.0, 1350.0, 1500.0, 1650.0]


def new_token() -> str:
    return secrets.token_urlsafe(18)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv and argv[0] == "bench":  # its own options, e.g. lapak bench --quick --json
        from bench.cli import main as bench_main

        return bench_main(argv[1:])
    args = parser().parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if args.command == "admin":
        from .admin import run as run_admin

        return run_admin(args)
    if args.command == "drain":
        from .drain import run as run_drain

        return run_drain(args)
    if args.command == "bench":
        from bench.cli import main as bench_main

        return bench_main(args.args)
    command = {"serve": serve, "demo": demo, "agent": agent, "kiosk": kiosk}[args.command]
    try:
        asyncio.run(command(args))
    except KeyboardInterrupt:
        pass
    except TokensError as exc:
        print(f"lapak {args.command}: --tokens: {exc}", file=sys.stderr)
        return 2
    except netoptions.OptionError as exc:
        print(f"lapak {args.command}: {exc}", file=sys.stderr)
        return 2
    except StateUnavailable as exc:
        print(f"lapak {args.command}: --redis: {exc}", file=sys.stderr)
        return 2
    except DatabaseUnreachable as exc:
        print(f"lapak {args.command}: {exc}", file=sys.stderr)
        return 3
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
