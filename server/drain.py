"""``lapak drain``: empty a node for an upgrade (several nodes on one Redis).

``lapak drain --redis URL --node-id ID`` marks the node as draining in Redis.
From its next heartbeat (about a second) the node takes no new rooms, answers
``/healthz`` with 503 (the load balancer sends it no new sockets), and hands
each of its rooms **at once** to the live node holding fewest rooms: every
peer of a moved room offers again to the new node for the same session (one
new media attempt). With ``--wait`` the command returns once the node holds
no room (exit 1 if that takes longer than ``--timeout``). ``--undo`` takes the
node back (it takes new rooms again; rooms that moved stay where they are).
A node that is then stopped (SIGTERM) closes its sockets; their clients
reconnect through the load balancer to the others.
"""

from __future__ import annotations

import argparse
import sys
import time

import redis

from signaling.nodes.registry import NodeRegistry
from signaling.state.redis_state import redacted


def add_parser(sub) -> None:
    p = sub.add_parser("drain", help="empty a node: no new rooms, its rooms move to the other nodes")
    p.add_argument("--redis", required=True, metavar="URL", help="the Redis the nodes share")
    p.add_argument("--node-id", required=True, metavar="ID", help="the node to drain (its --node-id)")
    p.add_argument("--undo", action="store_true", help="take the node back: it takes new rooms again")
    p.add_argument("--wait", action="store_true", help="return once the node holds no room")
    p.add_argument("--timeout", type=float, default=60.0, help="seconds --wait waits at most (default 60)")


def run(args: argparse.Namespace, *, sleep=time.sleep, monotonic=time.monotonic) -> int:
    client = redis.Redis.from_url(args.redis, decode_responses=True, socket_connect_timeout=3, socket_timeout=10)
    try:
        registry = NodeRegistry(client, args.node_id)
        try:
            registry.drain(args.node_id, on=not args.undo)
        except (redis.RedisError, OSError) as exc:
            print(f"lapak drain: --redis: Redis at {redacted(args.redis)} is unreachable: {exc}", file=sys.stderr)
            return 2
        if args.undo:
            print(f"node {args.node_id} takes new rooms again", flush=True)
            return 0
        rooms = _rooms_of(registry, args.node_id)
        print(f"node {args.node_id} is draining; it holds {len(rooms)} room(s)", flush=True)
        if not args.wait:
            return 0
        deadline = monotonic() + args.timeout
        while rooms:
            if monotonic() > deadline:
                print(f"node {args.node_id} still holds {len(rooms)} room(s) after {args.timeout:g} s: "
                      f"{', '.join(sorted(rooms))} (is another node up?)", file=sys.stderr)
                return 1
            sleep(0.2)
            rooms = _rooms_of(registry, args.node_id)
        print(f"node {args.node_id} holds no room", flush=True)
        return 0
    finally:
        client.close()


def _rooms_of(registry: NodeRegistry, node: str) -> list[str]:
    return [room for room, owner in registry.rooms().items() if owner == node]
