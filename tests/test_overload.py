"""Overload: a node whose event loop runs far behind starts no new session, and serves the ones it has.

:class:`~signaling.overload.LoopLag` is fed lateness samples directly (no
clock is read here): one long pause does not count, a backlog does, and the
node takes sessions again only after a calm spell. Through a live server:
the watch's change refuses a booth's request with ``unavailable`` and tells
every screen (``service.status``, reason ``overloaded``), while the agent
still talks to and ends the session already running.
"""

from __future__ import annotations

import pytest

from helpers import close_all, make_room
from kiosk_client.client import HeadlessKiosk, until
from outage import statuses
from server import appkeys
from signaling.overload import LoopLag


def test_one_pause_is_not_overload_and_a_backlog_is():
    lag = LoopLag(1.0)
    assert lag.sample(2.5, now=0.0) is None  # one collection of 2.5 s: smoothed to 0.5
    assert not lag.overloaded
    for t in range(1, 20):  # back to on time
        assert lag.sample(0.0, now=t * 0.1) is None
    changes = [lag.sample(1.5, now=2 + t * 0.1) for t in range(10)]  # a backlog: 1.5 s behind, tick after tick
    assert changes.count(True) == 1 and lag.overloaded
    # Calm again: taking sessions only after five seconds under the calm line (a fifth of the threshold).
    t, calm_at, back_at = 3.0, None, None
    while back_at is None:
        t = round(t + 0.1, 1)
        change = lag.sample(0.0, now=t)
        if calm_at is None and lag.lag < lag.calm:
            calm_at = t
        if change is not None:
            assert change is False
            back_at = t
    assert 5.0 <= back_at - calm_at < 5.2, (calm_at, back_at)
    # A relapse inside the calm spell starts the spell again.
    lag = LoopLag(1.0, leave=5.0)
    for t in range(10):
        lag.sample(2.0, now=t * 0.1)
    assert lag.overloaded
    for t in range(30):
        lag.sample(0.0, now=1 + t * 0.1)  # calm from about 1.9 s
    lag.sample(3.0, now=4.0)  # a relapse: the smoothed lag is over the calm line again
    assert lag.sample(0.0, now=7.0) is None and lag.overloaded  # the calm spell starts again after the relapse


@pytest.mark.config(busy_lag=1.0)
async def test_an_overloaded_node_refuses_new_sessions_and_serves_the_running_ones(server):
    watch = server.app[appkeys.OVERLOAD]
    agent, (member,) = await make_room(server.url, 1)
    waiting = HeadlessKiosk(server.url, "kiosk-token-2", auto_media=False)
    seen = statuses(waiting)
    try:
        await waiting.connect()
        for t in range(10):  # the loop ran 2 s behind, sample after sample
            await watch.observe(2.0, now=t * 0.1)
        await until(lambda: seen and seen[-1] == {"accepting": False, "reason": "overloaded"}, 5, "told")
        with pytest.raises(Exception, match="unavailable"):
            await waiting.request("jht")
        assert server.hub.state.open_session_of("kiosk-2") is None  # nothing started, nothing stored
        # The member already with the agent is served: talk and end go through.
        assert (await agent.talk(member.session_id))["ok"]
        # Caught up: calm for five seconds, then new sessions again.
        t = 1.0
        while watch.lag.overloaded:
            t += 0.1
            await watch.observe(0.0, now=t)
        await until(lambda: seen[-1] == {"accepting": True, "reason": None}, 5, "told again")
        await waiting.request("jht")
        await waiting.wait_state("connecting", 10)
    finally:
        await close_all(waiting, member, agent)
