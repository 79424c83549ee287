"""socket.io room bookkeeping indexed per socket (signaling/socket_rooms.py).

The index must leave python-socketio's room table exactly as python-socketio
itself would, for any order of enters, leaves and disconnects; and a socket
leaving must look only at its own rooms, not at every room of the namespace.
"""

from __future__ import annotations

import random

import socketio
from socketio import base_manager

from agent_console.client import HeadlessAgent
from conftest import make_config, start_server
from helpers import close_all
from kiosk_client.client import HeadlessKiosk, until
from server import appkeys
from signaling.socket_rooms import IndexedManager, Packet


class _Server:
    """What a manager needs of its server to connect sockets: ids."""

    packet_class = Packet

    def __init__(self) -> None:
        self.n = 0
        self.eio = self

    def generate_id(self) -> str:
        self.n += 1
        return f"s{self.n}"


def _managers() -> tuple[base_manager.BaseManager, IndexedManager]:
    plain, indexed = base_manager.BaseManager(), IndexedManager()
    for m in (plain, indexed):
        m.set_server(_Server())
        m.initialize()
    return plain, indexed


def test_the_index_leaves_the_same_rooms_as_python_socketio_in_any_order():
    rng = random.Random(12)
    plain, indexed = _managers()
    live: list[tuple[str, str]] = []
    for step in range(3000):
        op = rng.random()
        namespace = rng.choice(["/kiosk", "/agent"])
        if op < 0.3 or not live:
            eio = f"e{step}"
            sids = {base_manager.BaseManager.pre_connect(m, eio, namespace) for m in (plain, indexed)}
            assert len(sids) == 1
            sid = sids.pop()
            for m in (plain, indexed):
                base_manager.BaseManager.connect(m, sid, namespace)  # the synchronous steps of the async manager
            live.append((namespace, sid))
        elif op < 0.6:
            namespace, sid = rng.choice(live)
            room = f"screen:{rng.randrange(40)}"
            for m in (plain, indexed):
                m.basic_enter_room(sid, namespace, room)
        elif op < 0.75:
            namespace, sid = rng.choice(live)
            room = f"screen:{rng.randrange(40)}"
            for m in (plain, indexed):
                m.basic_leave_room(sid, namespace, room)
        elif op < 0.8:
            room = f"screen:{rng.randrange(40)}"
            for m in (plain, indexed):
                m.basic_close_room(room, namespace)
        else:
            namespace, sid = live.pop(rng.randrange(len(live)))
            for m in (plain, indexed):
                m.basic_disconnect(sid, namespace)
        if step % 100 == 0 and live:
            namespace, sid = rng.choice(live)
            assert sorted(indexed.get_rooms(sid, namespace)) == sorted(plain.get_rooms(sid, namespace))
        assert indexed.rooms == plain.rooms, f"step {step}"
    for namespace, sid in live:
        for m in (plain, indexed):
            m.basic_disconnect(sid, namespace)
    assert indexed.rooms == plain.rooms == {}
    assert indexed._index() == {}, "a socket that left is still indexed"


class _CountingRooms(dict):
    """A namespace's room table that counts how many rooms are looked at."""

    looked = 0

    def items(self):
        for item in super().items():
            _CountingRooms.looked += 1
            yield item

    def copy(self):
        return _CountingRooms(self)


def test_a_socket_leaving_looks_at_its_own_rooms_not_every_room():
    _, indexed = _managers()
    sids = []
    for i in range(2000):
        sid = base_manager.BaseManager.pre_connect(indexed, f"e{i}", "/kiosk")
        base_manager.BaseManager.connect(indexed, sid, "/kiosk")
        indexed.basic_enter_room(sid, "/kiosk", f"kiosk:{i}")
        sids.append(sid)
    indexed.rooms["/kiosk"] = _CountingRooms(indexed.rooms["/kiosk"])
    _CountingRooms.looked = 0
    for sid in sids[:100]:
        indexed.basic_disconnect(sid, "/kiosk")
    # python-socketio's own basic_disconnect walks all ~4,000 rooms for each: 400,000 looks.
    assert _CountingRooms.looked == 0, _CountingRooms.looked
    assert len(indexed.rooms["/kiosk"]) == 1 + 2 * 1900


def test_the_packet_does_not_scan_for_binary_and_encodes_as_before():
    data = ["room.state", {"tiles": [None] * 6, "nested": [{"a": [1, 2, {"b": "c"}]}]}]
    assert Packet(packet_type=2, data=data, namespace="/agent").encode() == socketio.packet.Packet(
        packet_type=2, data=data, namespace="/agent").encode()
    called = []
    original = Packet.data_is_binary
    try:
        Packet.data_is_binary = classmethod(lambda cls, d: called.append(d) or False)
        Packet(packet_type=2, data=data, namespace="/agent").encode()
    finally:
        Packet.data_is_binary = original
    assert called == []


async def test_clients_that_leave_leave_no_room_behind(tmp_path):
    srv = await start_server(make_config(tmp_path, kiosks=20, agents=3))
    manager = srv.app[appkeys.SIGNALING].manager
    assert isinstance(manager, IndexedManager)
    kiosks = [HeadlessKiosk(srv.url, f"kiosk-token-{i}", auto_media=False) for i in range(1, 21)]
    agents = [HeadlessAgent(srv.url, f"agent-token-{i}") for i in range(1, 4)]
    try:
        for a in agents:
            await a.connect(media=False)
        for k in kiosks:
            await k.connect()
        sid = next(iter(manager.rooms["/kiosk"][None]))
        assert len(manager.get_rooms(sid, "/kiosk")) == 2  # its own sid's room and its screen's, nothing else
        await close_all(*kiosks[:10], *agents[:2])
        await until(lambda: len(manager.rooms.get("/kiosk", {}).get(None, {})) == 10, 5, "ten booths left")
        await until(lambda: len(manager.rooms.get("/agent", {}).get(None, {})) == 1, 5, "two consoles left")
        assert len(manager.rooms["/kiosk"]) == 1 + 2 * 10
        assert sum(1 for (ns, _) in manager._index() if ns == "/kiosk") == 10
    finally:
        await close_all(*kiosks, *agents)
        await srv.runner.cleanup()
