"""A test host of our own: a network namespace joined to this machine by a veth pair.

Traffic to it stays inside the sandbox (addresses in 10.231.79.0/30, inside a
namespace this test makes and deletes). Taking the host end of the link down
cuts the test host off the network, as a booth's cable or Wi-Fi would.
"""

from __future__ import annotations

import os
import shutil
import subprocess

HOST_ADDR = "10.231.79.1"
NS_ADDR = "10.231.79.2"


def unavailable() -> str | None:
    if os.geteuid() != 0:
        return "network namespaces need root"
    if shutil.which("ip") is None:
        return "no `ip` command (Debian's iproute2)"
    return None


class TestHost:
    __test__ = False  # a helper, not a test class
    """A network namespace with one veth link to this machine."""

    def __init__(self) -> None:
        tag = os.getpid() % 100000
        self.ns = f"lapaktest{tag}"
        self.veth_host = f"lth{tag}"
        self.veth_ns = f"ltn{tag}"

    def _ip(self, *args: str, ns: bool = False) -> None:
        cmd = ["ip", "netns", "exec", self.ns, "ip", *args] if ns else ["ip", *args]
        subprocess.run(cmd, check=True, capture_output=True)

    def __enter__(self) -> "TestHost":
        self.close()
        self._ip("netns", "add", self.ns)
        self._ip("link", "add", self.veth_host, "type", "veth", "peer", "name", self.veth_ns)
        self._ip("link", "set", self.veth_ns, "netns", self.ns)
        self._ip("addr", "add", f"{HOST_ADDR}/30", "dev", self.veth_host)
        self._ip("link", "set", self.veth_host, "up")
        self._ip("addr", "add", f"{NS_ADDR}/30", "dev", self.veth_ns, ns=True)
        self._ip("link", "set", self.veth_ns, "up", ns=True)
        self._ip("link", "set", "lo", "up", ns=True)
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        subprocess.run(["ip", "link", "del", self.veth_host], capture_output=True)
        subprocess.run(["ip", "netns", "del", self.ns], capture_output=True)

    def link(self, up: bool) -> None:
        """Plug the test host in, or pull its cable."""
        self._ip("link", "set", self.veth_host, "up" if up else "down")

    def popen(self, *cmd: str, **kw) -> subprocess.Popen:
        """Run a command on the test host."""
        return subprocess.Popen(["ip", "netns", "exec", self.ns, *cmd], **kw)
