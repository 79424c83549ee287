"""Nothing for strangers: ``/metrics`` behind a same-host proxy, and the agent console page.

Behind nginx or Caddy on the same machine every outside request arrives
from 127.0.0.1, so a source address proves nothing: metrics go to a
scraper's bearer token (``--metrics-token``), to a separate listener
(``--metrics-listen``), or to a signed-in supervisor.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys

import aiohttp
import pytest

from access_helpers import supervisor
from conftest import free_port, make_config, start_server
from server.cli import config_from_args, parser
from test_authorization import PASSWORD, setup_accounts

PROXIED = {"X-Forwarded-For": "203.0.113.9", "X-Real-IP": "203.0.113.9"}


async def _get(url: str, headers: dict | None = None, http: aiohttp.ClientSession | None = None) -> tuple[int, str]:
    own = http is None
    http = http or aiohttp.ClientSession()
    try:
        async with http.get(url, headers=headers or {}, allow_redirects=False) as r:
            return r.status, await r.text()
    finally:
        if own:
            await http.close()


@pytest.mark.config(metrics_token="scraper-secret-0123456789")
async def test_metrics_need_the_scrapers_token_not_a_local_address(server):
    setup_accounts(server.hub)
    # A stranger's request, relayed by a proxy on this machine: it arrives from 127.0.0.1.
    status, text = await _get(server.url + "/metrics", PROXIED)
    assert status == 401 and "lapak_queue_waiting" not in text
    for wrong in ("Bearer wrong", "Bearer ", "Basic c2NyYXBlci1zZWNyZXQ=", "Bearer kiosk-token-1"):
        status, text = await _get(server.url + "/metrics", {**PROXIED, "Authorization": wrong})
        assert status == 401, wrong
    status, text = await _get(server.url + "/metrics", {"Authorization": "Bearer scraper-secret-0123456789"})
    assert status == 200 and "lapak_queue_waiting" in text
    # A signed-in supervisor still sees them; other staff do not.
    http = await supervisor(server.url)
    try:
        assert (await _get(server.url + "/metrics", PROXIED, http))[0] == 200
    finally:
        await http.close()
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.post(server.url + "/api/login", json={"username": "sari", "password": PASSWORD}) as r:
            assert r.status == 200
        assert (await _get(server.url + "/metrics", None, http))[0] == 403


async def test_without_a_token_metrics_are_for_supervisors_only(server):
    status, text = await _get(server.url + "/metrics")
    assert status == 401 and "lapak_" not in text


async def test_a_separate_metrics_listener_serves_only_metrics(tmp_path):
    metrics_port = free_port()
    srv = await start_server(make_config(tmp_path, metrics_listen=("127.0.0.1", metrics_port)))
    try:
        side = f"http://127.0.0.1:{metrics_port}"
        status, text = await _get(side + "/metrics")
        assert status == 200 and "lapak_queue_waiting" in text and text.rstrip().endswith("# EOF")
        for path in ("/", "/healthz", "/agent", "/api/admin/users", "/socket.io/?EIO=4&transport=polling"):
            assert (await _get(side + path))[0] == 404, path
        # The main site still refuses strangers.
        assert (await _get(srv.url + "/metrics", PROXIED))[0] == 401
    finally:
        await srv.runner.cleanup()
    with pytest.raises(aiohttp.ClientConnectionError):
        await _get(f"http://127.0.0.1:{metrics_port}/metrics")  # closed with the service


def test_the_command_line_takes_both_metrics_options_by_their_names():
    args = parser().parse_args(
        ["serve", "--metrics-token", "abc-def-ghi-jkl", "--metrics-listen", "127.0.0.1:9464", "--media-workers", "0"]
    )
    config = config_from_args(args)
    assert config.metrics_token == "abc-def-ghi-jkl" and config.metrics_listen == ("127.0.0.1", 9464)
    assert config_from_args(parser().parse_args(["serve", "--metrics-listen", "[::1]:9464"])).metrics_listen == ("::1", 9464)
    for bad in ("9464", "host:", "host:port", "127.0.0.1:70000"):
        with pytest.raises(SystemExit):
            config_from_args(parser().parse_args(["serve", "--metrics-listen", bad]))


async def test_lapak_serve_with_metrics_options(tmp_path):
    port, metrics_port = free_port(), free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "serve", "--port", str(port), "--data", str(tmp_path),
         "--media-workers", "0", "--metrics-token", "tok-0123456789abcdef", "--metrics-listen", f"127.0.0.1:{metrics_port}"],
        stdout=subprocess.PIPE, text=True,
    )
    try:
        line = await asyncio.to_thread(proc.stdout.readline)
        assert "serving" in line and f"127.0.0.1:{metrics_port}" in line, line
        main = f"http://127.0.0.1:{port}/metrics"
        assert (await _get(main, PROXIED))[0] == 401
        assert (await _get(main, {"Authorization": "Bearer tok-0123456789abcdef"}))[0] == 200
        # With a token configured, the separate listener asks for it too.
        assert (await _get(f"http://127.0.0.1:{metrics_port}/metrics"))[0] == 401
        status, _ = await _get(f"http://127.0.0.1:{metrics_port}/metrics", {"Authorization": "Bearer tok-0123456789abcdef"})
        assert status == 200
    finally:
        proc.terminate()
        proc.wait(20)


# ------------------------------------------------------------------ the agent console page


async def test_the_agent_console_is_only_for_its_agent(server):
    setup_accounts(server.hub)
    page = server.url + "/agent"
    # No cookie, a wrong token, a booth's bearer token: off to sign in, no console.
    for headers, url in (({}, page), ({}, page + "?token=wrong"), ({"Authorization": "Bearer kiosk-token-1"}, page),
                         ({}, page + "?token=kiosk-token-1")):
        async with aiohttp.ClientSession() as http:
            async with http.get(url, headers=headers, allow_redirects=False) as r:
                assert r.status == 302 and r.headers["Location"] == "/login?next=/agent", (url, headers, r.status)
    # Signed-in staff of another role: 403, the same page the other staff pages show.
    for username in ("budi", "boss"):
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            async with http.post(server.url + "/api/login", json={"username": username, "password": PASSWORD}) as r:
                assert r.status == 200
            status, text = await _get(page, None, http)
            assert status == 403 and 'id="tiles"' not in text, username
    # The agent, by cookie or by the agent's token link (the demo's), gets the console.
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.post(server.url + "/api/login", json={"username": "sari", "password": PASSWORD}) as r:
            assert r.status == 200
        status, text = await _get(page, None, http)
        assert status == 200 and 'id="tiles"' in text and "Sari" in text
    status, text = await _get(page + "?token=agent-token-1")
    assert status == 200 and 'id="tiles"' in text and "Agen 1" in text


async def test_a_disabled_agents_console_page_is_gone_too(server):
    setup_accounts(server.hub)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.post(server.url + "/api/login", json={"username": "sari", "password": PASSWORD}) as r:
            assert r.status == 200
        assert (await _get(server.url + "/agent", None, http))[0] == 200
        server.hub.storage.accounts.set_active("sari", False)
        assert (await _get(server.url + "/agent", None, http))[0] == 302
