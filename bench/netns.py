"""A test host of our own: a network namespace joined to this machine by a veth pair.

Used by the benchmark (Janus, which gathers no loopback candidates, runs in
one) and by tests (a booth whose network link is really cut). Addresses are
a /30 inside a namespace made here and deleted afterwards: no traffic leaves
the sandbox. Needs root and Debian's iproute2.
"""

from __future__ import annotations

import os
import shutil
import subprocess


def unavailable() -> str | None:
    """Why network namespaces cannot be made here, or None."""
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None:
        return "no `ip` command (Debian's iproute2)"
    return None


class Namespace:
    """A network namespace with one veth link (``host_addr`` here, ``ns_addr`` inside)."""

    def __init__(self, prefix: str, subnet: str) -> None:
        tag = os.getpid() % 100000
        self.ns = f"lapak{prefix}{tag}"
        self.veth_host = f"l{prefix[:2]}h{tag}"
        self.veth_ns = f"l{prefix[:2]}n{tag}"
        self.host_addr = f"{subnet}.1"
        self.ns_addr = f"{subnet}.2"

    def _ip(self, *args: str, ns: bool = False) -> None:
        cmd = ["ip", "netns", "exec", self.ns, "ip", *args] if ns else ["ip", *args]
        subprocess.run(cmd, check=True, capture_output=True)

    def create(self) -> None:
        self.delete()
        self._ip("netns", "add", self.ns)
        self._ip("link", "add", self.veth_host, "type", "veth", "peer", "name", self.veth_ns)
        self._ip("link", "set", self.veth_ns, "netns", self.ns)
        self._ip("addr", "add", f"{self.host_addr}/30", "dev", self.veth_host)
        self._ip("link", "set", self.veth_host, "up")
        self._ip("addr", "add", f"{self.ns_addr}/30", "dev", self.veth_ns, ns=True)
        self._ip("link", "set", self.veth_ns, "up", ns=True)
        self._ip("link", "set", "lo", "up", ns=True)

    def delete(self) -> None:
        subprocess.run(["ip", "link", "del", self.veth_host], capture_output=True)
        subprocess.run(["ip", "netns", "del", self.ns], capture_output=True)

    def link(self, up: bool) -> None:
        """Plug the namespace in, or pull its cable."""
        self._ip("link", "set", self.veth_host, "up" if up else "down")

    def command(self, *cmd: str) -> list[str]:
        """``cmd`` run inside the namespace."""
        return ["ip", "netns", "exec", self.ns, *cmd]

    def __enter__(self) -> "Namespace":
        self.create()
        return self

    def __exit__(self, *exc) -> None:
        self.delete()
