"""Real network parts for tests: coturn with a test secret, nftables rules inside a namespace, a booth process there.

coturn (Debian's ``turnserver``) runs in a temporary folder on a free port,
with ``use-auth-secret`` and the test's secret, relaying to loopback (where
the test's server is); it is stopped at the end. The rules are loaded with
``nft`` inside the test's own namespace (bench/netns.py), so nothing outside
it changes.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

from conftest import free_port

SECRET = "lapak-test-secret"
HERE = Path(__file__).parent


def missing() -> str | None:
    """Why coturn/nftables tests cannot run here, or None."""
    for tool, package in (("turnserver", "coturn"), ("nft", "nftables"), ("tc", "iproute2")):
        if shutil.which(tool) is None:
            return f"no `{tool}` command (Debian's {package}; scripts/test installs it)"
    return None


class Coturn:
    """One coturn process listening on ``address:port`` (UDP and TCP)."""

    def __init__(self, folder: Path, address: str, secret: str = SECRET) -> None:
        self.folder, self.address, self.secret = folder, address, secret
        self.port = free_port()
        self.log = folder / "turn.log"
        self.process: subprocess.Popen | None = None

    def start(self) -> "Coturn":
        relay_low = 49152 + (self.port % 1000) * 10
        cmd = [
            "turnserver", "-n", "--verbose", "--no-cli", "--no-tls", "--no-dtls", "--fingerprint",
            "--listening-ip", self.address, "--listening-port", str(self.port),
            "--relay-ip", "127.0.0.1", "--allow-loopback-peers",
            "--min-port", str(relay_low), "--max-port", str(relay_low + 9),
            "--use-auth-secret", f"--static-auth-secret={self.secret}", "--realm", "lapak.test",
            "--log-file", str(self.log), "--simple-log", "--pidfile", str(self.folder / "turn.pid"),
            "--userdb", str(self.folder / "turndb"),
        ]
        self.process = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=self.folder)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"turnserver exited {self.process.returncode}: {self.logged()[-2000:]}")
            probe = subprocess.run(["ss", "-ltnH", f"sport = :{self.port}"], capture_output=True, text=True)
            if probe.stdout.strip():
                return self
            time.sleep(0.05)
        raise RuntimeError(f"turnserver did not listen on {self.port}: {self.logged()[-2000:]}")

    def url(self, transport: str = "tcp") -> str:
        return f"turn:{self.address}:{self.port}?transport={transport}"

    def logged(self) -> str:
        found = sorted(self.folder.glob("turn*.log"))
        return "".join(p.read_text(errors="replace") for p in found)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def nft(namespace, ruleset: str) -> None:
    """Load ``ruleset`` (nft syntax) inside ``namespace``."""
    subprocess.run(namespace.command("nft", "-f", "-"), input=ruleset, text=True, check=True, capture_output=True)


def drop_udp_to(address: str, translated: str) -> str:
    """A firewall that lets a booth's TCP reach ``address`` but drops its UDP (media and TURN over UDP).

    UDP sent to ``translated`` is address-translated to ``address`` (DNAT, as a
    cloud's 1:1 NAT does for a VM's public address) and let through: only a
    peer that was told ``translated`` reaches ``address`` over UDP.
    """
    return f"""table ip lapaktest {{
  chain nat_out {{ type nat hook output priority -100; policy accept;
    ip daddr {translated} meta l4proto udp dnat to {address}
  }}
  chain out {{ type filter hook output priority 0; policy accept;
    ip daddr {address} meta l4proto udp ct status & dnat == 0 drop
  }}
}}
"""


class BoothProcess:
    """tests/booth_process.py run inside a namespace; ``latest`` is its last report."""

    def __init__(self, namespace, url: str, token: str, tone: float, relay_only: bool = False) -> None:
        args = [sys.executable, str(HERE / "booth_process.py"), url, token, str(tone)]
        self.cmd = namespace.command(*args, *(["--relay-only"] if relay_only else []))
        self.process: asyncio.subprocess.Process | None = None
        self.latest: dict = {}
        self._reader: asyncio.Task | None = None

    async def start(self) -> "BoothProcess":
        self.process = await asyncio.create_subprocess_exec(
            *self.cmd, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE
        )
        self._reader = asyncio.get_running_loop().create_task(self._read())
        return self

    async def _read(self) -> None:
        assert self.process is not None and self.process.stdout is not None
        async for line in self.process.stdout:
            try:
                self.latest = json.loads(line)
            except ValueError:
                continue

    def level(self, hz: float) -> float:
        return self.latest.get("levels", {}).get(str(hz), 0.0)

    async def stop(self) -> None:
        if self.process is not None and self.process.returncode is None:
            assert self.process.stdin is not None
            self.process.stdin.close()
            try:
                await asyncio.wait_for(self.process.wait(), 10)
            except asyncio.TimeoutError:
                self.process.kill()
                await self.process.wait()
        if self._reader is not None:
            self._reader.cancel()
            await asyncio.gather(self._reader, return_exceptions=True)
