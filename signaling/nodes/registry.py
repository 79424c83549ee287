"""Nodes, rooms and grace owners in Redis, and the atomic steps that move them.

Keys (``prefix`` default ``lapak:``):

- ``alive:<node>``: the node's heartbeat, set every ``heartbeat`` seconds with
  a TTL (``ttl``); a node whose key expired is dead;
- ``draining`` (set): nodes that take no new rooms and hand theirs over;
- ``rooms`` (hash agent id → node): the node whose media workers hold the room;
- ``grace-node`` (hash grace key → node): the node whose timer fires that
  grace deadline (``grace`` itself is :class:`~signaling.state.redis_state.RedisState`'s).

Every move that two nodes could race on is one Lua script: claiming a room
nobody holds (``HSETNX``), taking a dead node's room (only while its owner is
still that dead node *and* its heartbeat is gone), releasing a room, presence
and grace ownership (compare-and-set on the node).
"""

from __future__ import annotations

import json

import redis

#: KEYS: rooms, alive:<dead>. ARGV: room, dead node, new node. 1: taken; 0: someone else's, or not dead.
TAKE_ROOM = """
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
if redis.call('EXISTS', KEYS[2]) == 1 then return 0 end
redis.call('HSET', KEYS[1], ARGV[1], ARGV[3])
return 1
"""

#: KEYS: a hash. ARGV: field, expected value, new value ('' deletes). 1: written; 0: it held something else.
SWAP = """
if redis.call('HGET', KEYS[1], ARGV[1]) ~= ARGV[2] then return 0 end
if ARGV[3] == '' then redis.call('HDEL', KEYS[1], ARGV[1]) else redis.call('HSET', KEYS[1], ARGV[1], ARGV[3]) end
return 1
"""


class NodeRegistry:
    """This node's view of the others, through the shared state's Redis client."""

    def __init__(self, client: redis.Redis, node: str, *, prefix: str = "lapak:") -> None:
        self.redis = client
        self.node = node
        self.prefix = prefix
        self._rooms = prefix + "rooms"
        self._draining = prefix + "draining"
        self._grace_node = prefix + "grace-node"
        self._known = prefix + "nodes"
        self._take_room = client.register_script(TAKE_ROOM)
        self._swap = client.register_script(SWAP)

    def _alive(self, node: str) -> str:
        return f"{self.prefix}alive:{node}"

    # -- liveness ------------------------------------------------------------------------
    def beat(self, ttl: float, info: dict | None = None) -> None:
        """This node is alive for ``ttl`` more seconds."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.set(self._alive(self.node), json.dumps(info or {}), px=max(1, int(ttl * 1000)))
        pipe.sadd(self._known, self.node)
        pipe.execute()

    def leave(self) -> None:
        """A clean stop: the heartbeat goes at once, so others need not wait for its TTL."""
        self.redis.delete(self._alive(self.node))

    def alive(self) -> set[str]:
        """Every node whose heartbeat has not expired."""
        start = len(self.prefix) + len("alive:")
        return {key[start:] for key in self.redis.scan_iter(match=self._alive("*"), count=500)}

    def known(self) -> set[str]:
        """Every node that has beaten since it was last :meth:`forget`-ten (a dead one stays until cleared)."""
        return set(self.redis.smembers(self._known))

    def remember(self, nodes: set[str]) -> None:
        """Look for these nodes' leftovers until they are :meth:`forget`-ten (nodes found named in the state)."""
        if nodes:
            self.redis.sadd(self._known, *sorted(nodes))

    def forget(self, node: str) -> None:
        """``node`` is dead and nothing in the state names it any more: stop looking for its leftovers."""
        self.redis.srem(self._known, node)

    def is_alive(self, node: str) -> bool:
        return bool(self.redis.exists(self._alive(node)))

    # -- draining ------------------------------------------------------------------------
    def drain(self, node: str, on: bool = True) -> None:
        """Mark ``node`` as draining (no new rooms; its rooms move), or take it back."""
        if on:
            self.redis.sadd(self._draining, node)
        else:
            self.redis.srem(self._draining, node)

    def draining(self) -> set[str]:
        return set(self.redis.smembers(self._draining))

    def takes_rooms(self) -> set[str]:
        """Live nodes that are not draining: where a room may go."""
        return self.alive() - self.draining()

    # -- rooms ---------------------------------------------------------------------------
    def owner(self, room: str) -> str | None:
        return self.redis.hget(self._rooms, room)

    def owners(self, rooms: list[str]) -> list[str | None]:
        """The node holding each of ``rooms`` (None: nobody), in one round trip."""
        return list(self.redis.hmget(self._rooms, rooms)) if rooms else []

    def rooms(self) -> dict[str, str]:
        """Every room and the node holding it."""
        return dict(self.redis.hgetall(self._rooms))

    def claim(self, room: str, node: str) -> str:
        """Give a room nobody holds to ``node`` (the first claim stands); the room's owner after."""
        self.redis.hsetnx(self._rooms, room, node)
        return self.redis.hget(self._rooms, room) or node

    def take(self, room: str, dead: str) -> bool:
        """Take ``dead``'s room for this node, atomically: only if it is still ``dead``'s and ``dead`` has no heartbeat."""
        return bool(self._take_room(keys=[self._rooms, self._alive(dead)], args=[room, dead, self.node]))

    def hand_over(self, room: str, to: str) -> bool:
        """Move one of this node's rooms to ``to`` (draining); False if it is no longer this node's."""
        return bool(self._swap(keys=[self._rooms], args=[room, self.node, to]))

    def release(self, room: str) -> bool:
        """The room closed: forget it, if this node still holds it."""
        return bool(self._swap(keys=[self._rooms], args=[room, self.node, ""]))

    def least_loaded(self, candidates: set[str]) -> str | None:
        """The candidate node holding fewest rooms (ties: by name)."""
        if not candidates:
            return None
        load = {n: 0 for n in candidates}
        for owner in self.redis.hvals(self._rooms):
            if owner in load:
                load[owner] += 1
        return min(sorted(load), key=lambda n: load[n])

    # -- presence of a dead node's sockets -------------------------------------------------
    def release_presence(self, table: str, ident: str, dead: str) -> bool:
        """Mark a booth (``table="kiosks"``) or agent (``"agent:node"``) offline if it is still on ``dead``."""
        return bool(self._swap(keys=[self.prefix + table], args=[ident, dead, ""]))

    def presence_on(self, table: str, nodes: set[str]) -> list[tuple[str, str]]:
        """(id, node) of booths or agents whose socket is on one of ``nodes``."""
        return [(ident, node) for ident, node in self.redis.hgetall(self.prefix + table).items() if node in nodes]

    # -- grace deadlines: who fires them ---------------------------------------------------
    def graces_of(self, nodes: set[str]) -> list[tuple[str, str]]:
        """(grace key, node) of the deadlines armed by one of ``nodes``."""
        return [(key, node) for key, node in self.redis.hgetall(self._grace_node).items() if node in nodes]

    def adopt_grace(self, key: str, dead: str) -> bool:
        """This node fires ``key`` from now on, if ``dead`` still held it (one adopter wins)."""
        return bool(self._swap(keys=[self._grace_node], args=[key, dead, self.node]))
