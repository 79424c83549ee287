"""Validation in the back office: skills, one agent per claim (a lease), and many members and agents at once."""

from __future__ import annotations

import asyncio
import threading

import aiohttp
import pytest

from online_helpers import JKK_AGENT, Agent, Member, online_server
from server.database import Database
from server.online_store import OnlineClaimStore


@pytest.fixture
async def online(tmp_path):
    srv = await online_server(tmp_path, trusted_proxies=("127.0.0.1",), agents=4)
    async with aiohttp.ClientSession() as http:
        yield srv, http
    await srv.runner.cleanup()


async def test_an_agent_without_the_skill_can_neither_see_nor_validate(online):
    srv, http = online
    reference = await Member(http, srv.url, "10.1.0.1").file_claim()
    jkk = Agent(http, srv.url, JKK_AGENT)
    assert await jkk.queue() == []
    status, body = await jkk.open(reference)
    assert status == 403 and body["error"]["code"] == "forbidden"
    status, body = await jkk.get(f"/api/online/claims/{reference}")
    assert status == 403
    # Nothing changed: still waiting, unheld, and a skilled agent takes it.
    agent = Agent(http, srv.url, "agent-token-1")
    assert [c["state"] for c in await agent.queue()] == ["submitted"]
    assert (await agent.open(reference))[0] == 200


async def test_two_agents_never_validate_one_claim_at_once(online):
    srv, http = online
    reference = await Member(http, srv.url, "10.1.0.2").file_claim()
    agents = [Agent(http, srv.url, f"agent-token-{i}") for i in range(1, 5)]
    results = await asyncio.gather(*(a.open(reference) for a in agents))
    winners = [i for i, (status, _) in enumerate(results) if status == 200]
    assert len(winners) == 1, results
    assert all(body["error"]["code"] == "locked" for status, body in results if status != 200)
    holder, other = agents[winners[0]], agents[(winners[0] + 1) % 4]
    claim = results[winners[0]][1]
    status, body = await other.review(reference, claim["documents"][0]["document_id"], True)
    assert status == 409 and body["error"]["code"] == "locked"
    assert reference not in [c["reference"] for c in await other.queue()]
    # The holder releases it: another agent may take it.
    assert (await holder.post(f"/api/online/claims/{reference}/release"))[0] == 200
    assert (await other.open(reference))[0] == 200
    # A lease that ran out (the holder walked away) is taken over.
    srv.config.clock.set(srv.config.clock() + 601)
    assert (await holder.open(reference))[0] == 200


def test_the_lease_holds_between_processes(records_target):
    """Eight engines (as eight server processes would have) race for one claim's lease: one wins (SQLite and PostgreSQL)."""
    databases = [Database(records_target)] + [Database(records_target, migrate=False) for _ in range(7)]
    store = OnlineClaimStore(databases[0], clock=lambda: 100.0)
    store.add_claim({"claim_id": "c1", "token_hash": "h", "token": "t", "service": "jht", "lang": "id", "fields": {},
                     "state": "submitted", "origin": "x", "created_at": 1, "updated_at": 1, "expires_at": 1e12})
    stores = [store] + [OnlineClaimStore(d, clock=lambda: 100.0) for d in databases[1:]]
    won: list[str] = []
    barrier = threading.Barrier(len(stores))

    def race(i: int, s: OnlineClaimStore) -> None:
        barrier.wait()
        if s.take_lease("c1", f"agent-{i}", 100.0, 700.0):
            won.append(f"agent-{i}")

    threads = [threading.Thread(target=race, args=(i, s)) for i, s in enumerate(stores)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(won) == 1 and store.claim("c1")["lease_agent"] == won[0]
    for database in databases:
        database.close()


async def test_many_members_submit_and_are_validated_concurrently(online):
    srv, http = online
    members = [Member(http, srv.url, f"10.2.{i // 200}.{i % 200}") for i in range(24)]
    references = await asyncio.gather(*(m.file_claim() for m in members))
    assert len(set(references)) == 24
    agents = [Agent(http, srv.url, f"agent-token-{i}") for i in range(1, 5)]
    done: dict[str, list[str]] = {}

    async def work(agent: Agent, name: str) -> None:
        while True:
            queue = await agent.queue()
            if not queue:
                return
            for item in queue:
                status, claim = await agent.open(item["reference"])
                if status != 200:
                    continue
                for doc in claim["documents"]:
                    status, claim = await agent.review(item["reference"], doc["document_id"], True)
                    assert status == 200, claim
                done.setdefault(item["reference"], []).append(name)
                break

    await asyncio.gather(*(work(a, f"agent-{i}") for i, a in enumerate(agents, 1)))
    assert sorted(done) == sorted(references)
    assert all(len(by) == 1 for by in done.values()), done
    for member in members:
        status, data = await member.status()
        assert data["claim"]["state"] == "interview_to_book"
        assert sum(1 for h in data["claim"]["history"] if h["state"] == "checking") == 1


async def test_malformed_review_and_outcome_bodies_are_refused_and_change_nothing(online):
    srv, http = online
    reference = await Member(http, srv.url, "10.1.0.9").file_claim()
    agent = Agent(http, srv.url, "agent-token-1")
    status, claim = await agent.open(reference)
    assert status == 200
    doc = claim["documents"][0]["document_id"]
    review = f"/api/online/claims/{reference}/documents/{doc}/review"
    for body in ({"accepted": "yes"}, {"accepted": 1}, {"accepted": True, "reason": 5},
                 {"accepted": True, "extra": 1}, {}):
        status, reply = await agent.post(review, body)
        assert status == 400 and reply["error"]["code"] == "invalid_payload", (body, reply)
    for body in ({"outcome": 1}, {"outcome": "approved", "reason": None}, {"outcome": "approved", "x": 1}):
        status, reply = await agent.post(f"/api/online/claims/{reference}/outcome", body)
        assert status == 400 and reply["error"]["code"] == "invalid_payload", (body, reply)
    status, after = await agent.get(f"/api/online/claims/{reference}")
    assert status == 200 and [d["status"] for d in after["documents"]] == [d["status"] for d in claim["documents"]]
    assert after["state"] == claim["state"]
