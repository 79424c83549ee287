"""Several nodes as one service: which node holds which room, node liveness, takeover and drain.

With ``lapak serve --redis`` every node shares the live state (:mod:`signaling.state.redis_state`);
this package adds what a node's *media* needs (docs/architecture.md, "Rooms across nodes"):

- :mod:`.registry`: in Redis, each node's heartbeat (a key with a TTL), the
  draining nodes, which node holds which room, who armed each grace deadline,
  and the atomic steps that move them (Lua scripts);
- :mod:`.relay`: media commands for a room held by another node, sent to that
  node over Redis request/reply (pub/sub, one channel per node);
- :mod:`.router`: :class:`~.router.ClusterRouter`, the ``MediaRouter`` the hub
  talks to: the room's own node runs the command on its media workers, any
  other node forwards it;
- :mod:`.watch`: :class:`~.watch.NodeWatch`, each node's loop: heartbeat,
  take the rooms, presence and grace deadlines of dead nodes, hand over the
  rooms of a draining node, and notice Redis lost and back.
"""
