"""``lapak serve``'s network options: refusals at start, TURN credentials, and a full room inside --rtc-ports."""

from __future__ import annotations

import base64
import hashlib
import hmac

import psutil
import pytest

from conftest import RunningClock, TEST_TIME, make_config, start_server
from helpers import close_all, make_room
from server.cli import config_from_args, main, parser
from server.turn import credentials, parse_turn_url


def serve(*options: str) -> list[str]:
    return ["serve", "--host", "127.0.0.1", "--data", "unused", "--media-workers", "0", *options]


@pytest.mark.parametrize(
    "options, option, why",
    [
        (["--turn-url", "http://turn.example.org", "--turn-secret", "s"], "--turn-url", "is not a TURN URL"),
        (["--turn-url", "turns:t.example.org?transport=udp", "--turn-secret", "s"], "--turn-url", "TCP only"),
        (["--turn-url", "turn:t.example.org:3478"], "--turn-secret", "needs --turn-secret"),
        (["--turn-ttl", "0"], "--turn-ttl", "not a positive"),
        (["--rtc-ports", "40000"], "--rtc-ports", "is not MIN-MAX"),
        (["--rtc-ports", "40010-40000"], "--rtc-ports", "MIN <= MAX"),
        (["--media-workers", "2", "--rtc-ports", "40000-40012"], "--rtc-ports", "need at least 14"),
        (["--announce-address", "my.public.host"], "--announce-address", "not an IP address"),
        (["--tls-cert", "cert.pem"], "--tls-key", "needs both"),
        (["--smtp", "mail.example.org"], "--smtp", "is not smtp://"),
        (["--smtp", "http://mail.example.org"], "--smtp", "is not smtp://"),
        (["--smtp", "smtp://mail.example.org:port"], "--smtp", "valid port"),
        (["--smtp", "smtp://mail.example.org:99999"], "--smtp", "valid port"),
        (["--smtp", "smtp://mail.example.org?from=nobody"], "--smtp", "not an e-mail address"),
        (["--smtp", "smtp://mail.example.org?sender=a@b"], "--smtp", "unknown parameter sender"),
        (["--busy-lag", "-1"], "--busy-lag", "is not 0"),
    ],
)
def test_serve_refuses_a_bad_option_and_names_it(options, option, why, capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(serve(*options)) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"lapak serve: {option}: ") and why in err, err
    assert not (tmp_path / "unused").exists(), "nothing started"


def test_serve_refuses_a_certificate_that_does_not_load(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "cert.pem").write_text("-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n")
    (tmp_path / "key.pem").write_text("nor this\n")
    assert main(serve("--tls-cert", "cert.pem", "--tls-key", "key.pem")) == 2
    assert "lapak serve: --tls-cert: cert.pem with key.pem does not load" in capsys.readouterr().err
    assert main(serve("--tls-cert", "missing.pem", "--tls-key", "key.pem")) == 2
    assert "lapak serve: --tls-cert: cannot read missing.pem" in capsys.readouterr().err


def test_good_options_reach_the_config():
    args = parser().parse_args(
        serve(
            "--turn-url", "turn:198.51.100.7:3478?transport=udp", "--turn-url", "turns:[2001:db8::7]",
            "--turn-secret", "s3cret", "--turn-ttl", "600", "--announce-address", "203.0.113.9",
            "--rtc-ports", "40000-40006",
        )
    )
    config = config_from_args(args)
    assert [(u.host, u.port, u.transport, u.secure) for u in config.turn_urls] == [
        ("198.51.100.7", 3478, "udp", False), ("2001:db8::7", 5349, "tcp", True)
    ]
    assert (config.turn_secret, config.turn_ttl) == ("s3cret", 600)
    assert config.announce_addresses == ("203.0.113.9",) and config.rtc_ports == (40000, 40006)
    assert parse_turn_url("turn:turn.example.org").port == 3478


def test_turn_credentials_are_coturns_rest_scheme():
    username, password = credentials("s3cret", "kiosk-7", 600, now=1_700_000_000.9)
    assert username == "1700000600:kiosk-7"
    expected = base64.b64encode(hmac.new(b"s3cret", b"1700000600:kiosk-7", hashlib.sha1).digest()).decode()
    assert password == expected


async def test_each_client_asks_for_its_own_fresh_credentials(tmp_path):
    clock = RunningClock(TEST_TIME)
    config = make_config(tmp_path, clock=clock, turn_urls=(parse_turn_url("turn:127.0.0.1:3478?transport=tcp"),),
                         turn_secret="s3cret", turn_ttl=3600)
    server = await start_server(config)
    agent, kiosks = await make_room(server.url, 1)
    try:
        first = await kiosks[0].call("media.ice", {})
        assert first["ok"] and first["expires_at"] == int(clock()) + 3600
        [entry] = first["ice_servers"]
        assert entry["urls"] == ["turn:127.0.0.1:3478?transport=tcp"]
        assert entry["username"] == f"{int(clock()) + 3600}:kiosk-kiosk-1"
        assert entry["credential"] == credentials("s3cret", "kiosk-kiosk-1", 3600, clock())[1]
        mine = (await agent.call("media.ice", {}))["ice_servers"][0]["username"]
        assert mine.endswith(":agent-agent-1")
        refused = await kiosks[0].call("media.ice", {"password": "please"})
        assert refused["ok"] is False and refused["error"]["code"] == "invalid_payload"
    finally:
        await close_all(*kiosks, agent)
        await server.runner.cleanup()


async def test_without_turn_the_clients_get_no_ice_servers(server):
    agent, kiosks = await make_room(server.url, 1)
    try:
        assert await kiosks[0].call("media.ice", {}) == {"ok": True, "ice_servers": [], "expires_at": None}
    finally:
        await close_all(*kiosks, agent)


def udp_ports(pid: int) -> list[int]:
    return sorted(c.laddr.port for c in psutil.Process(pid).net_connections(kind="udp"))


async def test_every_media_socket_of_every_worker_is_inside_the_port_range(tmp_path):
    first, last = 47000, 47000 + 2 * 7 + 5
    config = make_config(tmp_path, media_workers=2, rtc_ports=(first, last))
    server = await start_server(config)
    agent, kiosks = await make_room(server.url, 6)  # a full room on one worker
    from helpers import make_agent, make_kiosk

    other = await make_agent(server.url, 2)  # and a room on the other
    extra = await make_kiosk(server.url, 7)
    try:
        await extra.wait_state("on_hold", 20)
        pids = [w.pid for w in server.hub.router.workers]
        used = {pid: udp_ports(pid) for pid in pids}
        print(f"media sockets per worker: {used}")
        assert sorted(len(p) for p in used.values()) == [2, 7], used
        assert all(first <= port <= last for ports in used.values() for port in ports), used
    finally:
        await close_all(extra, other, *kiosks, agent)
        await server.runner.cleanup()
