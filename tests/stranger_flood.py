"""A stranger on the same machine: sends a bounded flood of datagrams at media ports.

Run as a separate process (``python tests/stranger_flood.py JSON``), so the
flood competes for the CPU as an outside sender would and does not share the
server's event loop. JSON: ``{"ports": [...], "per_port": N, "seconds": S,
"ufrags": {port: server ufrag}, "ssrcs": [...], "kinds": [...]}`` (kinds:
default all); loopback only. Prints one
JSON line: how many datagrams of each kind were sent, and how many answers
came back. Written from the RFCs, without Lapak's or aioice's code.
"""

from __future__ import annotations

import json
import os
import random
import socket
import struct
import sys
import time
import zlib

MAGIC = 0x2112A442


def stun_request(username: bytes | None, integrity: bool) -> bytes:
    """A STUN binding request (RFC 5389) whose credentials are wrong or missing."""
    attrs = b""
    if username is not None:
        pad = (-len(username)) % 4
        attrs += struct.pack("!HH", 0x0006, len(username)) + username + b"\x00" * pad
    attrs += struct.pack("!HHL", 0x0024, 4, random.getrandbits(32))  # PRIORITY
    if integrity:
        attrs += struct.pack("!HH", 0x0008, 20) + os.urandom(20)  # MESSAGE-INTEGRITY with no key behind it
    tid = os.urandom(12)
    header = struct.pack("!HHL", 0x0001, len(attrs) + 8, MAGIC) + tid
    crc = zlib.crc32(header + attrs) ^ 0x5354554E
    return header + attrs + struct.pack("!HHL", 0x8028, 4, crc)


def srtp(ssrcs: list[int]) -> bytes:
    """An SRTP packet under a key nobody agreed on: a real-looking header, random body and tag."""
    ssrc = random.choice(ssrcs) if ssrcs and random.random() < 0.7 else random.getrandbits(32)
    header = struct.pack("!BBHLL", 0x80, random.choice((96, 97, 111, 0xE0)), random.getrandbits(16),
                         random.getrandbits(32), ssrc)
    return header + os.urandom(random.randint(20, 1100)) + os.urandom(10)


def srtcp(ssrcs: list[int]) -> bytes:
    ssrc = random.choice(ssrcs) if ssrcs else random.getrandbits(32)
    pt = random.choice((200, 201, 205, 206))
    return struct.pack("!BBHL", 0x81, pt, 6, ssrc) + os.urandom(24) + struct.pack("!L", 0x80000000 | random.getrandbits(31)) + os.urandom(10)


def dtls() -> bytes:
    """A DTLS record (handshake, alert or application data) that belongs to no association."""
    content = random.choice((20, 21, 22, 23))
    body = os.urandom(random.randint(2, 300))
    return struct.pack("!BHHHL", content, 0xFEFD, random.randint(0, 2), 0, random.getrandbits(32)) + struct.pack("!H", len(body)) + body


def junk() -> bytes:
    return os.urandom(random.randint(1, 1400))


def main() -> None:
    args = json.loads(sys.argv[1])
    ports, per_port, seconds = args["ports"], args["per_port"], args["seconds"]
    ufrags = {int(k): v.encode() for k, v in args.get("ufrags", {}).items()}
    ssrcs = args.get("ssrcs", [])
    random.seed(args.get("seed", 16))
    kinds = {
        "junk": junk,
        "stun_no_credentials": lambda: stun_request(None, False),
        "stun_wrong_credentials": lambda: stun_request(b"stranger:nobody", True),
        "stun_right_ufrag_wrong_key": None,
        "srtp_wrong_key": lambda: srtp(ssrcs),
        "srtcp_wrong_key": lambda: srtcp(ssrcs),
        "dtls_foreign": dtls,
    }
    if args.get("kinds"):
        kinds = {k: v for k, v in kinds.items() if k in args["kinds"]}
    sent = {k: 0 for k in kinds}
    answers = 0
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.bind(("127.0.0.1", 0))
        sock.setblocking(False)
        total = per_port * len(ports)
        pause = seconds / max(1, total // 20)
        names = list(kinds)
        for i in range(total):
            port = ports[i % len(ports)]
            kind = names[(i // len(ports)) % len(names)]
            if kind == "stun_right_ufrag_wrong_key":
                data = stun_request(ufrags.get(port, b"x") + b":stranger", True)
            else:
                data = kinds[kind]()
            try:
                sock.sendto(data, ("127.0.0.1", port))
                sent[kind] += 1
            except BlockingIOError:
                pass
            if i % 20 == 19:
                time.sleep(pause)
                while True:
                    try:
                        sock.recvfrom(2048)
                        answers += 1
                    except BlockingIOError:
                        break
    print(json.dumps({"sent": sent, "answers": answers}))


if __name__ == "__main__":
    main()
