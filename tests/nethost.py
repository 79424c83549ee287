"""The test's booth host: a network namespace of its own (see bench/netns.py).

Addresses in 10.231.79.0/30, inside a namespace the test makes and deletes;
taking the host end of the link down cuts the booth off, as a pulled cable would.
"""

from __future__ import annotations

from bench.netns import Namespace, unavailable

SUBNET = "10.231.79"
HOST_ADDR = f"{SUBNET}.1"
NS_ADDR = f"{SUBNET}.2"

__all__ = ["HOST_ADDR", "NS_ADDR", "booth_host", "unavailable"]


def booth_host() -> Namespace:
    return Namespace("test", SUBNET)
