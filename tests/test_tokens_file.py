"""``lapak serve --tokens FILE``: the documented format loads; anything else stops the start with a reason."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conftest import free_port
from signaling.core.vocabulary import AgentIdentity, KioskIdentity
from server.tokens import TokensError, load_tokens

GOOD = {
    "kiosks": {"kiosk-token-jkt-1": {"kiosk_id": "jkt-1", "branch": "jkt", "booth": 1},
               "kiosk-token-jkt-2": {"kiosk_id": "jkt-2"}},
    "agents": {"agent-token-sari": {"agent_id": "agent-sari", "name": "Sari", "capacity": 4, "skills": ["jht", "jkk"]},
               "agent-token-budi": {"agent_id": "agent-budi"}},
}


def write(tmp_path, data) -> str:
    path = tmp_path / "tokens.json"
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    return str(path)


def test_the_documented_format_loads(tmp_path):
    kiosks, agents = load_tokens(write(tmp_path, GOOD))
    assert kiosks == {"kiosk-token-jkt-1": KioskIdentity("jkt-1", "jkt", 1),
                      "kiosk-token-jkt-2": KioskIdentity("jkt-2", "demo", 1)}
    assert agents["agent-token-sari"] == AgentIdentity("agent-sari", "Sari", 4, frozenset({"jht", "jkk"}))
    assert agents["agent-token-budi"] == AgentIdentity("agent-budi", "Agen", 6, None)


@pytest.mark.parametrize("data,words", [
    ("{not json", "not JSON"),
    ([], "file"),
    ({"kiosk": {}}, "kiosk"),
    ({"kiosks": {"kiosk-token-1": {"kiosk_id": "k1", "boot": 1}}}, "boot"),
    ({"kiosks": {"kiosk-token-1": {"kiosk_id": "k1", "booth": "1"}}}, "booth"),
    ({"kiosks": {"kiosk-token-1": {"kiosk_id": "k1", "booth": 0}}}, "booth"),
    ({"kiosks": {"short": {"kiosk_id": "k1"}}}, "short"),
    ({"kiosks": {"kiosk-token-1": {"kiosk_id": "k 1"}}}, "kiosk_id"),
    ({"kiosks": {"kiosk-token-1": {"kiosk_id": "k1"}, "kiosk-token-2": {"kiosk_id": "k1"}}}, "two tokens"),
    ({"agents": {"agent-token-1": {"agent_id": "a1", "skills": ["pizza"]}}}, "skills"),
    ({"agents": {"agent-token-1": {"agent_id": "a1", "capacity": 7}}}, "capacity"),
    ({"agents": {"agent-token-1": {"name": "Sari"}}}, "agent_id"),
])
def test_a_wrong_file_is_refused_with_the_reason(tmp_path, data, words):
    with pytest.raises(TokensError, match=words):
        load_tokens(write(tmp_path, data))


def test_serve_stops_at_a_wrong_tokens_file(tmp_path):
    path = write(tmp_path, {"kiosks": {"kiosk-token-1": {"kiosk_id": "k1", "boot": 1}}})
    try:
        done = subprocess.run(
            [sys.executable, "-m", "server.cli", "serve", "--tokens", path, "--data", str(tmp_path / "data"),
             "--port", str(free_port()), "--media-workers", "0"],
            capture_output=True, text=True, timeout=60,
        )
    except subprocess.TimeoutExpired:
        raise AssertionError("lapak serve started with a wrong tokens file") from None
    assert done.returncode == 2
    assert "--tokens" in done.stderr and "boot" in done.stderr and "Traceback" not in done.stderr
