"""``lapak serve``'s options for real networks: HTTPS, TURN, a server behind NAT, a fixed port range, the mail server.

Each option is checked before anything starts; a bad one raises
:class:`OptionError` naming the option and why, and ``lapak serve`` exits
non-zero with that message (``server/cli.py``).
"""

from __future__ import annotations

import argparse
import ipaddress
import ssl
from pathlib import Path

from .config import Config
from .mailer import parse_smtp_url
from .media.network import PEERS_PER_ROOM, ports_needed
from .turn import DEFAULT_TTL, TurnUrlError, parse_turn_url


class OptionError(ValueError):
    """A command-line option that cannot be used: ``option`` names it, the message says why."""

    def __init__(self, option: str, why: str) -> None:
        super().__init__(f"{option}: {why}")
        self.option = option


def add_options(p: argparse.ArgumentParser) -> None:
    """The options, on ``serve`` and ``demo``."""
    p.add_argument("--tls-cert", default=None, metavar="FILE", help="certificate (PEM) to serve HTTPS directly")
    p.add_argument("--tls-key", default=None, metavar="FILE", help="the certificate's private key (PEM)")
    p.add_argument(
        "--turn-url",
        action="append",
        default=None,
        metavar="URL",
        help="TURN server handed to clients, e.g. turn:turn.example.org:3478?transport=udp, "
        "turns:turn.example.org:5349 (repeatable)",
    )
    p.add_argument("--turn-secret", default=None, help="coturn's static-auth-secret (use-auth-secret)")
    p.add_argument(
        "--turn-ttl", type=int, default=DEFAULT_TTL, help=f"seconds TURN credentials stay valid (default {DEFAULT_TTL})"
    )
    p.add_argument(
        "--announce-address",
        action="append",
        default=None,
        metavar="ADDR",
        help="address put in the server's ICE candidates instead of the bound one, e.g. a cloud VM's public "
        "address (repeatable)",
    )
    p.add_argument(
        "--rtc-ports", default=None, metavar="MIN-MAX", help="UDP port range every media socket binds in"
    )


def port_range(text: str, workers: int, addresses: int) -> tuple[int, int]:
    """``MIN-MAX`` as (first, last); large enough for one full room per worker on each ICE address."""
    try:
        first, last = (int(x) for x in text.split("-"))
    except ValueError:
        raise OptionError("--rtc-ports", f"{text!r} is not MIN-MAX (e.g. 40000-40999)") from None
    if not 1 <= first <= last <= 65535:
        raise OptionError("--rtc-ports", f"{text!r}: need 1 <= MIN <= MAX <= 65535")
    needed = ports_needed(workers, addresses)
    if last - first + 1 < needed:
        raise OptionError(
            "--rtc-ports",
            f"{text!r} holds {last - first + 1} ports; {max(1, workers)} media worker(s) need at least {needed} "
            f"({PEERS_PER_ROOM} per full room per worker and ICE address)",
        )
    return first, last


def tls_context(cert: str | None, key: str | None) -> ssl.SSLContext | None:
    """The server's TLS context, or None for plain HTTP; refuses a half-given or unloadable pair."""
    if not cert and not key:
        return None
    if not cert or not key:
        raise OptionError("--tls-cert" if not cert else "--tls-key", "HTTPS needs both --tls-cert and --tls-key")
    for option, path in (("--tls-cert", cert), ("--tls-key", key)):
        if not Path(path).is_file():
            raise OptionError(option, f"cannot read {path}")
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    try:
        context.load_cert_chain(cert, key)
    except (ssl.SSLError, OSError, ValueError) as exc:
        raise OptionError("--tls-cert", f"{cert} with {key} does not load: {exc}") from None
    return context


def apply(args: argparse.Namespace, config: Config) -> None:
    """Check the options and put them in ``config``; raises :class:`OptionError`."""
    tls_context(args.tls_cert, args.tls_key)  # loads once now, so a bad file stops the start
    if args.tls_cert:
        config.tls_cert, config.tls_key = Path(args.tls_cert), Path(args.tls_key)
    urls = []
    for text in args.turn_url or ():
        try:
            urls.append(parse_turn_url(text))
        except TurnUrlError as exc:
            raise OptionError("--turn-url", str(exc)) from None
    if urls and not args.turn_secret:
        raise OptionError("--turn-secret", "--turn-url needs --turn-secret (coturn's static-auth-secret)")
    if args.turn_ttl <= 0:
        raise OptionError("--turn-ttl", f"{args.turn_ttl} is not a positive number of seconds")
    config.turn_urls, config.turn_secret, config.turn_ttl = tuple(urls), args.turn_secret, args.turn_ttl
    announce = []
    for text in args.announce_address or ():
        try:
            announce.append(str(ipaddress.ip_address(text)))
        except ValueError:
            raise OptionError("--announce-address", f"{text!r} is not an IP address") from None
    config.announce_addresses = tuple(announce)
    if getattr(args, "smtp", None):
        try:
            parse_smtp_url(args.smtp)
        except ValueError as exc:
            raise OptionError("--smtp", str(exc)) from None
    if args.rtc_ports:
        config.rtc_ports = port_range(args.rtc_ports, config.media_workers, len(config.ice_addresses or ()))
