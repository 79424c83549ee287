"""Media commands for a room on another node: request/reply over Redis pub/sub, one channel per node.

Why Redis and not HTTP between nodes: every node already holds a Redis
connection and needs no address of the others (a node is known by its name
only; nodes behind the load balancer need not reach each other directly), and
``PUBLISH`` says how many listeners got a message, so a request to a node
that is gone fails at once (0 receivers) instead of after a timeout.

A request ``{"id", "from", "cmd", "args"}`` goes to ``<prefix>media:<node>``;
the owner runs it on its media workers (:meth:`MediaRelay.serve`, each request
a task on the relay's :class:`~signaling.tasks.Tasks`) and publishes
``{"reply": id, "ok", "result" | "error": {"type", "message"}}`` on the
requester's channel. Errors that cross the media seam (``OfferError``,
``UnsupportedRouting``, ``WorkerError``) come back as themselves.

A command whose loss the room survives (a room's routing, a peer removed:
:meth:`MediaRelay.tell`) carries no ``id`` and gets no reply: the sender
learns only that the node is listening, and the owner logs a failure
itself. Commands from one node to another arrive in the order sent (one
connection, one channel), and the owner carries out those for one room one
after the other, in that order (:meth:`MediaRelay._in_turn`).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import redis.asyncio as aioredis

from ..core.errors import BY_NAME, WorkerError
from ..tasks import Tasks

logger = logging.getLogger(__name__)

#: Seconds a forwarded command may take (an offer's answer includes gathering the owner's candidates).
CALL_TIMEOUT = 15.0

Handler = Callable[[str, dict], Awaitable[Any]]


class NodeUnreachable(WorkerError):
    """The room's node did not receive the command (it is gone) or did not answer in time."""


class MediaRelay:
    """This node's request/reply channel: sends commands to other nodes, serves theirs."""

    def __init__(self, url: str, node: str, handler: Handler, *, prefix: str = "lapak:") -> None:
        self.url = url
        self.node = node
        self.handler = handler
        self.prefix = prefix
        self.redis = aioredis.Redis.from_url(url, decode_responses=True, socket_connect_timeout=3)
        self.tasks = Tasks(f"media relay {node}")
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future] = {}
        #: The last command received for each room, which the next one for that room waits for.
        self._tails: dict[object, asyncio.Task] = {}
        self._listener: asyncio.Task | None = None
        self._subscribed = asyncio.Event()

    def channel(self, node: str) -> str:
        return f"{self.prefix}media:{node}"

    async def start(self) -> None:
        """Listen on this node's channel (kept as the relay's own task, reconnecting while Redis is away)."""
        self._listener = asyncio.get_running_loop().create_task(self._listen(), name=f"media relay {self.node}")
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self._subscribed.wait(), 5)

    async def _listen(self) -> None:
        while True:
            pubsub = self.redis.pubsub(ignore_subscribe_messages=True)
            try:
                await pubsub.subscribe(self.channel(self.node))
                self._subscribed.set()
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        self._received(message["data"])
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis away: fail what waits, try again shortly
                logger.warning("media relay %s: %r; listening again shortly", self.node, exc)
                self._fail_pending(NodeUnreachable(f"Redis lost while waiting: {exc}"))
                await asyncio.sleep(0.5)
            finally:
                with contextlib.suppress(Exception):
                    await pubsub.aclose()

    def _received(self, text: str) -> None:
        try:
            message = json.loads(text)
        except ValueError:
            logger.warning("media relay %s: undecodable message dropped", self.node)
            return
        if not isinstance(message, dict) or not self._well_formed(message):
            logger.warning("media relay %s: malformed message dropped: %.200s", self.node, text)
            return
        if "reply" in message:
            future = self._pending.pop(message["reply"], None)
            if future is not None and not future.done():
                future.set_result(message)
        else:
            work = self._carry_out(message) if message.get("id") is None else self._serve(message)
            room = (message.get("args") or {}).get("room_id")
            task = self.tasks.spawn(self._in_turn(self._tails.get(room), work), name=f"relay {message.get('cmd')}")
            if task is not None:
                self._tails[room] = task
                task.add_done_callback(lambda t, room=room: self._tails.pop(room, None) if self._tails.get(room) is t else None)

    @staticmethod
    def _well_formed(message: dict) -> bool:
        """A reply to a numbered request, or a named command with its arguments as an object."""
        if "reply" in message:
            return isinstance(message["reply"], int) and not isinstance(message["reply"], bool)
        request_id = message.get("id")
        return (isinstance(message.get("cmd"), str) and isinstance(message.get("args", {}), dict)
                and (request_id is None or isinstance(request_id, int)))

    async def _in_turn(self, before: asyncio.Task | None, work) -> None:
        """Run ``work`` once the command received before it for the same room is done (so a room's
        routing is applied in the order it was sent, however long each takes)."""
        if before is not None:
            try:
                await asyncio.wait({before})  # its outcome is its own; this one's cancellation is not swallowed
            except BaseException:
                work.close()
                raise
        await work

    async def _carry_out(self, message: dict) -> None:
        """A command told, not asked: run it; a failure is this node's to log (nobody waits for it)."""
        try:
            await self.handler(message["cmd"], message.get("args") or {})
        except Exception as exc:  # noqa: BLE001 - logged here, where it happened
            logger.warning("media relay %s: %s from %s not carried out: %r", self.node, message.get("cmd"),
                           message.get("from"), exc)

    async def _serve(self, message: dict) -> None:
        reply: dict[str, Any] = {"reply": message.get("id")}
        try:
            reply["result"] = await self.handler(message["cmd"], message.get("args") or {})
            reply["ok"] = True
        except Exception as exc:  # noqa: BLE001 - the requester gets it, by name
            reply["ok"] = False
            reply["error"] = {"type": type(exc).__name__, "message": str(exc)}
        await self.redis.publish(self.channel(message.get("from", "")), json.dumps(reply))

    async def _send(self, node: str, request_id: int | None, cmd: str, args: dict) -> None:
        """Publish a command on ``node``'s channel; :class:`NodeUnreachable` if Redis or the node is not there."""
        payload = json.dumps({"id": request_id, "from": self.node, "cmd": cmd, "args": args})
        try:
            receivers = await self.redis.publish(self.channel(node), payload)
        except (aioredis.RedisError, OSError) as exc:
            raise NodeUnreachable(f"Redis unreachable: {exc}") from None
        if not receivers:
            raise NodeUnreachable(f"node {node} is not listening")

    async def tell(self, node: str, cmd: str, **args: Any) -> None:
        """Send ``cmd`` to ``node``'s media workers without waiting for it (:class:`NodeUnreachable` if nobody listens)."""
        await self._send(node, None, cmd, args)

    async def call(self, node: str, cmd: str, timeout: float = CALL_TIMEOUT, **args: Any) -> Any:
        """Run ``cmd`` on ``node``'s media workers and return its result (its errors raised here)."""
        request_id = next(self._ids)
        future = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        try:
            await self._send(node, request_id, cmd, args)
            try:
                reply = await asyncio.wait_for(future, timeout)
            except asyncio.TimeoutError:
                raise NodeUnreachable(f"node {node} did not answer {cmd} within {timeout:g} s") from None
        finally:
            self._pending.pop(request_id, None)
        if reply.get("ok"):
            return reply.get("result")
        error = reply.get("error") or {}
        known = BY_NAME.get(error.get("type", ""))
        raise (known or WorkerError)(error.get("message", f"node {node} refused {cmd}"))

    def _fail_pending(self, exc: Exception) -> None:
        for future in self._pending.values():
            if not future.done():
                future.set_exception(exc)
        self._pending.clear()

    async def close(self) -> None:
        if self._listener is not None:
            self._listener.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._listener
            self._listener = None
        self._fail_pending(NodeUnreachable("this node is stopping"))
        await self.tasks.close()
        with contextlib.suppress(Exception):
            await self.redis.aclose()
