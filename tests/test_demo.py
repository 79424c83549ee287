"""`lapak demo`, the README's first command, really shows six live booths to an agent."""

from __future__ import annotations

import re
import signal
import subprocess
import sys
import time

import aiohttp

from agent_console.client import HeadlessAgent
from conftest import free_port
from kiosk_client.client import until


async def test_lapak_demo_serves_six_simulated_booths(tmp_path):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "server.cli", "demo", "--port", str(port), "--data", str(tmp_path), "--media-workers", "1"],
        stdout=subprocess.PIPE,
        text=True,
    )
    agent = None
    try:
        output = ""
        deadline = time.monotonic() + 30
        while "Press Ctrl+C" not in output:
            assert time.monotonic() < deadline and proc.poll() is None, output
            output += proc.stdout.readline()
        token = re.search(r"--token (demo-agent-\S+)", output).group(1)
        assert "/agent?token=" in output and "supervisor" in output and "petugas" in output
        # The printed console link opens the console for the demo's agent; without it, sign-in.
        link = re.search(r"(http://\S+/agent\?token=\S+)", output).group(1)
        async with aiohttp.ClientSession() as http:
            async with http.get(link, allow_redirects=False) as r:
                assert r.status == 200 and 'id="tiles"' in await r.text()
            async with http.get(f"http://127.0.0.1:{port}/agent", allow_redirects=False) as r:
                assert r.status == 302 and r.headers["Location"] == "/login?next=/agent"
        agent = HeadlessAgent(f"http://127.0.0.1:{port}", token, width=160, height=120, fps=5)
        await agent.connect()
        await agent.wait_sessions(6, 30)
        await until(lambda: all(t.frames > 2 for t in agent.tiles), 30, "six live tiles")
        assert sorted(t.last_pattern for t in agent.tiles) == [1, 2, 3, 4, 5, 6]
        await agent.close()
        agent = None
        proc.send_signal(signal.SIGINT)
        assert proc.wait(20) == 0
    finally:
        if agent is not None:
            await agent.close()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
