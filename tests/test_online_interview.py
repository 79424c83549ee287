"""The interview from home through the real server: slots, joining on /kiosk with the status link, the tile,
the outcome and its payment instruction, and e-mail through a local SMTP server the test starts."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import aiohttp
import pytest
import socketio
from aiosmtpd.controller import Controller

from agent_console.client import HeadlessAgent
from browser.harness import TEST_TIME
from conftest import free_port
from kiosk_client.client import HeadlessKiosk, until
from online_helpers import Agent, Member, online_server
from selfservice_helpers import JHT
from server.online_routes import MAILER, ONLINE
from signaling.core.daytime import wib

SLOT = wib("2026-11-30 11:00")


class Inbox:
    """aiosmtpd handler keeping every message."""

    def __init__(self) -> None:
        self.messages: list[str] = []

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 - aiosmtpd's name
        self.messages.append(envelope.content.decode("utf-8", "replace"))
        return "250 OK"


class HomeKiosk(HeadlessKiosk):
    """A phone at home: ``/kiosk`` with the status link instead of a booth token."""

    async def connect_socket(self) -> None:
        await self.sio.connect(self.server_url, namespaces=[self.namespace], auth={"claim": self.token},
                               transports=["websocket"], wait_timeout=self.connect_timeout)

    async def join(self, language: str = "id") -> dict:
        ack = await self.call("interview.join", {"language": language})
        if ack.get("ok"):
            self.session_id = ack["session_id"]
        return ack


async def refused_code(url: str, token: str) -> str | None:
    """Connect a phone; the connect_error's code, or None if it was let in."""
    sio = socketio.AsyncClient(reconnection=False)
    errors: list = []
    sio.on("connect_error", lambda data: errors.append(data), namespace="/kiosk")
    try:
        await sio.connect(url, namespaces=["/kiosk"], auth={"claim": token}, transports=["websocket"], wait_timeout=5)
    except socketio.exceptions.ConnectionError:
        pass
    finally:
        await sio.disconnect()
    return errors[0]["data"]["code"] if errors else None


@pytest.fixture
async def smtp():
    inbox, port = Inbox(), free_port()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    yield inbox, port
    controller.stop()


async def ready_for_interview(http, url: str, address: str) -> tuple[Member, str]:
    member = Member(http, url, address)
    reference = await member.file_claim()
    await Agent(http, url, "agent-token-2").accept_all(reference)
    return member, reference


async def test_booking_slots(tmp_path):
    srv = await online_server(tmp_path, trusted_proxies=("127.0.0.1",), interview_capacity=16)
    try:
        async with aiohttp.ClientSession() as http:
            early = Member(http, srv.url, "10.3.0.1")
            await early.file_claim()
            status, body = await early.book({"slot": SLOT})
            assert status == 409 and body["error"]["code"] == "invalid_state"  # documents not accepted yet
            first, _ = await ready_for_interview(http, srv.url, "10.3.0.2")
            second, _ = await ready_for_interview(http, srv.url, "10.3.0.3")
            status, data = await first.status()
            slots = {s["at"]: s["free"] for s in data["slots"]}
            assert min(slots) == SLOT and slots[SLOT] == 1 and data["join_now"] is False
            status, data = await first.book({"slot": SLOT})
            assert status == 200 and data["claim"]["state"] == "interview_booked" and data["claim"]["slot"] == SLOT
            status, body = await second.book({"slot": SLOT})
            assert status == 409 and body["error"]["code"] == "slot_full" and body["error"]["message"]
            status, body = await second.book({"slot": wib("2026-11-30 10:00")})
            assert status == 409 and body["error"]["code"] == "slot_past"
            status, body = await second.book({"slot": SLOT + 7 * 60})
            assert status == 400
            for bad in ({}, {"slot": SLOT, "now": True}, {"slot": True}, {"slot": str(SLOT)}, {"now": "yes"},
                        {"now": False}, {"slot": None, "now": 1}):
                status, body = await second.book(bad)
                assert (status, body["error"]["code"]) == (400, "invalid_payload"), (bad, body)
                assert body["error"]["message"]
            status, body = await second.book({"now": True})
            assert status == 409 and body["error"]["code"] == "no_free_agent"
            assert (await second.status())[1]["claim"]["state"] == "interview_to_book"
            # A supervisor's day with no interviews offers none that day.
            srv.app[ONLINE].store.set_capacity("2026-11-30", 0)
            assert all(s["at"] > wib("2026-12-01 00:00") for s in (await second.status())[1]["slots"])
            # The member moves their booking: the old slot frees up.
            status, data = await first.book({"slot": wib("2026-12-01 09:00")})
            assert status == 200
    finally:
        await srv.runner.cleanup()


async def test_join_from_home_outcome_payment_and_mail(tmp_path, smtp):
    inbox, port = smtp
    srv = await online_server(tmp_path, trusted_proxies=("127.0.0.1",), smtp_url=f"smtp://127.0.0.1:{port}?from=klaim@lapak.test")
    agent = HeadlessAgent(srv.url, "agent-token-1", tone_hz=450)
    phones: list[HomeKiosk] = []
    try:
        async with aiohttp.ClientSession() as http:
            member, reference = await ready_for_interview(http, srv.url, "10.4.0.1")
            assert (await member.book({"slot": SLOT}))[0] == 200
            token = member.token
            assert await refused_code(srv.url, token) == "not_due"
            assert await refused_code(srv.url, "y" * 43) == "unknown_link"
            srv.config.clock.set(SLOT - 5 * 60)
            await agent.connect(media=False)
            phone = HomeKiosk(srv.url, token, auto_media=False)
            phones.append(phone)
            await phone.connect()
            assert await refused_code(srv.url, token) == "already_joined"
            booth = HeadlessKiosk(srv.url, "kiosk-token-1", auto_media=False)
            phones.append(booth)
            await booth.connect()
            assert (await booth.call("interview.join", {"language": "id"}))["error"]["code"] == "forbidden"
            assert (await phone.call("session.request", {"service": "jkk"}))["error"]["code"] == "forbidden"
            ack = await phone.join()
            assert ack["ok"], ack
            assert (await phone.join())["error"]["code"] == "invalid_state"  # twice
            await agent.wait_sessions(1)
            tile = next(t for t in agent.room["tiles"] if t)
            assert tile["kind"] == "home" and tile["session_id"] == phone.session_id and tile["service"] == "jht"
            assert (await Agent(http, srv.url, "agent-token-1").get(f"/api/online/sessions/{phone.session_id}"))[1] \
                == {"reference": reference}
            assert (await Agent(http, srv.url, "agent-token-2").get(f"/api/online/sessions/{phone.session_id}"))[0] == 404
            # Only the interviewing agent decides.
            status, body = await Agent(http, srv.url, "agent-token-2").post(
                f"/api/online/claims/{reference}/outcome", {"outcome": "approved"})
            assert status == 409
            status, body = await Agent(http, srv.url, "agent-token-1").post(
                f"/api/online/claims/{reference}/outcome", {"outcome": "approved"})
            assert status == 200 and body["state"] == "payment_instructed", body
            await phone.wait_state("ended")
            status, data = await member.status()
            assert data["claim"]["state"] == "payment_instructed" and data["claim"]["next"] == "claim.next.payment_instructed"
            payment = json.loads((Path(srv.config.data_dir) / "payments" / f"{reference}.json").read_text())
            assert payment["account_number"] == JHT["account_number"] and payment["bank_name"] == JHT["bank_name"]
            assert payment["account_holder"] == JHT["account_holder"] and payment["reference"] == reference
            await until(lambda: any("disetujui" in m for m in inbox.messages), 10, "the approval mail")
            mail = inbox.messages[-1]
            assert f"/claim/s/{token}" in mail and reference in mail
            for secret in (JHT["nik"], JHT["account_number"], JHT["full_name"], JHT["kpj"]):
                assert all(secret not in m for m in inbox.messages)
            sent = [m["state"] for m in srv.app[ONLINE].store.mails()]
            assert sent and set(sent) == {"sent"}
    finally:
        for p in phones:
            await p.close()
        await agent.close()
        await srv.runner.cleanup()


async def test_a_mail_that_fails_is_kept_and_sent_later(tmp_path):
    port = free_port()
    srv = await online_server(tmp_path, trusted_proxies=("127.0.0.1",), smtp_url=f"smtp://127.0.0.1:{port}")
    try:
        async with aiohttp.ClientSession() as http:
            member = Member(http, srv.url, "10.5.0.1")
            started = asyncio.get_running_loop().time()
            await member.file_claim()  # the member is never kept waiting by the mail server being down
            assert asyncio.get_running_loop().time() - started < 5
        mailer, store = srv.app[MAILER], srv.app[ONLINE].store
        await until(lambda: store.mails() and store.mails()[0]["attempts"] >= 1, 10, "a failed attempt")
        assert store.mails()[0]["state"] == "queued" and store.mails()[0]["last_error"]
        inbox = Inbox()
        controller = Controller(inbox, hostname="127.0.0.1", port=port)
        controller.start()
        try:
            srv.config.clock.set(TEST_TIME + 3600)
            assert await mailer.send_due() == 1
            assert store.mails()[0]["state"] == "sent" and len(inbox.messages) == 1
        finally:
            controller.stop()
    finally:
        await srv.runner.cleanup()
