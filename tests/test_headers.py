"""Security headers on every answer, and pages that need no inline script (so CSP can forbid it).

Every GET route of the app is fetched as every role (anonymous, booth, agent,
officer, supervisor): each answer (page, API, static file, redirect, error)
carries the Content-Security-Policy, ``nosniff`` and ``frame-ancestors 'none'``;
every HTML page among them is parsed, and none has an inline script, an inline
event handler, a ``javascript:`` URL or an inline style. And the pages' own
scripts never parse a string as markup (``innerHTML`` and its kin): text
typed by members and staff is set with ``textContent`` or as a value
(proved in the browser by tests/browser/test_text_is_text.py).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import aiohttp

from server.headers import CSP
from test_authorization import ROLES, concrete, setup_accounts, sign_in

USERS = {"agent": "sari", "officer": "budi", "supervisor": "boss"}
#: Query strings that show other states of a page.
VARIANTS = {
    "/login": ("", "?failed=1", "?wait=5", "?locked=900&lang=en"),
    "/kiosk": ("?token=kiosk-token-1", "?token=not-a-token", ""),
    "/agent": ("?token=agent-token-1", "?token=wrong", ""),
}


def directives(csp: str) -> dict[str, list[str]]:
    out = {}
    for part in csp.split(";"):
        words = part.split()
        if words:
            out[words[0]] = words[1:]
    return out


def test_the_policy_forbids_inline_script_and_framing():
    d = directives(CSP)
    assert d["default-src"] == ["'self'"]
    assert d["script-src"] == ["'self'"]
    assert d["frame-ancestors"] == ["'none'"]
    assert d["object-src"] == ["'none'"] and d["base-uri"] == ["'none'"]
    assert "'unsafe-inline'" not in CSP and "'unsafe-eval'" not in CSP and "*" not in CSP


class InlineFinder(HTMLParser):
    """Everything in a page that a CSP without 'unsafe-inline' would block."""

    def __init__(self) -> None:
        super().__init__()
        self.problems: list[str] = []
        self._script: dict | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for name, value in attrs:
            if name.startswith("on"):
                self.problems.append(f"<{tag} {name}=…> inline event handler")
            if name in ("href", "src", "action", "formaction") and (value or "").strip().lower().startswith("javascript:"):
                self.problems.append(f"<{tag} {name}=javascript:…>")
            if name == "style":
                self.problems.append(f"<{tag} style=…> inline style")
        if tag == "style":
            self.problems.append("<style> element")
        if tag == "script":
            self._script = a
            if "src" in a:
                if not a["src"].startswith("/") or a["src"].startswith("//"):
                    self.problems.append(f"script from another origin: {a['src']}")
            elif a.get("type") != "application/json":
                self.problems.append(f"inline <script type={a.get('type')!r}>")

    def handle_data(self, data):
        if self._script is not None and "src" in self._script and data.strip():
            self.problems.append("<script src> with inline code")

    def handle_endtag(self, tag):
        if tag == "script":
            self._script = None


def inline_problems(html: str) -> list[str]:
    finder = InlineFinder()
    finder.feed(html)
    finder.close()
    return finder.problems


def test_the_finder_finds_what_it_looks_for():
    bad = ('<script>alert(1)</script><button onclick="x()">b</button><a href="javascript:x()">a</a>'
           '<div style="color:red"></div><style>p{}</style><script src="https://cdn.example/x.js"></script>')
    assert len(inline_problems(bad)) == 6
    good = '<script type="application/json" id="d">{"a": "</b>"}</script><script type="module" src="/static/x.js"></script>'
    assert inline_problems(good) == []


async def test_every_answer_has_the_headers_and_no_page_has_inline_script(server):
    setup_accounts(server.hub)
    gets = sorted(
        {r.resource.canonical for r in server.app.router.routes() if r.method == "GET" and r.resource is not None}
    )
    static = ["/static/staff/staff.js", "/static/common/i18n.js", "/static/vendor/socket.io.min.js",
              "/static/kiosk/kiosk.js", "/static/agent/agent.js", "/static/staff/nope.js"]
    pages_seen: set[str] = set()
    answers = 0
    for role in ROLES:
        async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
            if role in USERS:
                await sign_in(http, server.url, USERS[role])
            headers = {"Authorization": "Bearer kiosk-token-1"} if role == "kiosk" else {}
            paths = [p for p in gets if "{filename" not in p and not p.startswith("/socket.io")]
            urls = [concrete(p) + v for p in paths for v in VARIANTS.get(p, ("",))] + static + ["/no-such-page"]
            for url in urls:
                async with http.get(server.url + url, headers=headers, allow_redirects=False) as r:
                    body = await r.text()
                    answers += 1
                    assert r.headers.get("Content-Security-Policy") == CSP, (role, url, r.status)
                    assert r.headers.get("X-Content-Type-Options") == "nosniff", (role, url)
                    assert r.headers.get("X-Frame-Options") == "DENY", (role, url)
                    if r.content_type == "text/html":
                        pages_seen.add(f"{role} {url} {r.status}")
                        assert inline_problems(body) == [], (role, url)
            async with http.post(server.url + "/api/login", json={"username": f"x-{role}", "password": "y"}) as r:
                assert r.status == 401 and r.headers.get("Content-Security-Policy") == CSP
    # The check saw the pages themselves, not only redirects: each role's own, the sign-in, 403 pages.
    for expected in ("anonymous /login 200", "anonymous /kiosk?token=kiosk-token-1 200", "agent /agent 200",
                     "officer /officer 200", "supervisor /supervisor/audit 200", "supervisor /admin 200",
                     "officer /admin 403", "supervisor /supervisor/claims 200"):
        assert expected in pages_seen, (expected, sorted(pages_seen))
    assert answers > 200


ROOT = Path(__file__).resolve().parents[1]
#: Ways a script turns a string into markup (jQuery is not used; the vendored socket.io client is not ours).
SINKS = re.compile(r"\.(innerHTML|outerHTML)\s*[+]?=|insertAdjacentHTML|document\.write|createContextualFragment|DOMParser")


def test_page_scripts_never_turn_strings_into_markup():
    scripts = [p for d in ("server/static", "kiosk_client/static", "agent_console/static") for p in (ROOT / d).rglob("*.js")
               if "vendor" not in p.parts]
    assert len(scripts) >= 12
    found = [f"{p.relative_to(ROOT)}:{n}: {line.strip()}" for p in scripts
             for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), start=1) if SINKS.search(line)]
    assert found == [], "\n".join(found)
