"""``lapak demo``: the whole service plus six simulated booths, in one command.

The service runs as ``lapak serve`` would; the simulated kiosks run in a
child process (``lapak kiosk``), each sending its own colour pattern and
tone, and wait in the queue until an agent connects. The demo prints where
to open the agent console, and the command for a headless agent.

The booths' process dies with the demo, however the demo ends: the kernel
signals it when the demo dies (:mod:`server.lifeline`), and it also leaves
when the pipe the demo holds to its stdin closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets
import sys

from .accounts import AccountError
from .running import run_app, wait_for_signal
from .config import Config
from signaling.core.vocabulary import AgentIdentity, KioskIdentity
from .lifeline import child_options
from .storage import Storage

DEMO_BRANCH = ("demo", "KC Demo Jakarta Pusat")
#: Demo accounts: (username, password, role). For trying Lapak only.
DEMO_USERS = (
    ("supervisor", "demo-supervisor", "supervisor"),
    ("petugas", "demo-petugas1", "officer"),
    ("agen", "demo-agen-123", "agent"),
)


def demo_accounts(config: Config) -> None:
    """Create the demo branch and accounts in the data directory (kept if they exist)."""
    storage = Storage(config.database_target)
    try:
        accounts = storage.accounts
        try:
            accounts.add_branch(*DEMO_BRANCH)
        except AccountError:
            pass
        for username, password, role in DEMO_USERS:
            if accounts.user(username) is None:
                accounts.add_user(
                    username, password, role, name=username.capitalize(),
                    branch_id=DEMO_BRANCH[0] if role == "officer" else None,
                )
    finally:
        storage.close()


def demo_credentials(config: Config, kiosks: int) -> tuple[str, list[str]]:
    """Add a demo agent and ``kiosks`` booths to ``config``; return their tokens."""
    agent_token = "demo-agent-" + secrets.token_urlsafe(8)
    config.agent_tokens[agent_token] = AgentIdentity("agent-demo", name="Agen Demo")
    tokens = []
    for booth in range(1, kiosks + 1):
        token = f"demo-kiosk-{booth}-" + secrets.token_urlsafe(6)
        config.kiosk_tokens[token] = KioskIdentity(f"kiosk-{booth}", branch=DEMO_BRANCH[0], booth=booth)
        tokens.append(token)
    # One more booth for a person to try the kiosk page in a browser.
    spare = "demo-kiosk-browser-" + secrets.token_urlsafe(6)
    config.kiosk_tokens[spare] = KioskIdentity("kiosk-browser", branch=DEMO_BRANCH[0], booth=kiosks + 1)
    tokens.append(spare)
    return agent_token, tokens


async def run_demo(config: Config, kiosks: int = 6) -> None:
    agent_token, tokens = demo_credentials(config, kiosks)
    demo_accounts(config)
    runner = await run_app(config)
    base = f"http://{config.host}:{config.port}"
    cmd = [sys.executable, "-m", "server.cli", "kiosk", "--server", base, "--seconds", "0", "--watch-stdin"]
    for token in tokens[:kiosks]:
        cmd += ["--token", token]
    booths = await asyncio.create_subprocess_exec(
        *cmd, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL, **child_options()
    )
    account_lines = "\n".join(f"    {role:<11} {user:<11} password {pw}" for user, pw, role in DEMO_USERS)
    print(
        f"""
Lapak demo is running on {base}/  (data in {config.data_dir}, {config.media_workers} media worker(s))

  {kiosks} simulated booths are waiting in the queue, each with its own colour and tone.

  Agent console (open in Chromium):  {base}/agent?token={agent_token}
  Or a headless agent in a terminal: lapak agent --server {base} --token {agent_token}
  A booth to try in the browser:     {base}/kiosk?token={tokens[-1]}

  Demo accounts (sign in at {base}/login):
{account_lines}

Press Ctrl+C to stop.
""",
        flush=True,
    )
    try:
        await wait_for_signal()
    finally:
        with contextlib.suppress(ProcessLookupError):
            booths.terminate()
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(booths.wait(), 5)
        await runner.cleanup()
