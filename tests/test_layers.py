"""The layers of docs/architecture.md, held by reading every module's imports (AST, nothing imported).

- ``signaling/core`` is pure: no I/O libraries, nothing from ``server`` or from
  ``signaling`` outside the core.
- ``signaling`` never imports ``server``.
- ``server/media`` imports only ``signaling.core`` from ``signaling``.
- No import cycles among the project's modules (bench and tests included).
- No module over :data:`MAX_LINES` lines, the pages' JavaScript modules included.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("server", "signaling", "kiosk_client", "agent_console", "bench", "tests")
MAX_LINES = 420
#: What the pure core may not import (I/O, sockets, media, SQL, the event loop).
IMPURE = {"aiohttp", "socketio", "engineio", "aiortc", "aioice", "av", "sqlite3", "asyncio", "socket", "subprocess", "os", "shutil"}

#: Imports that break a rule today and are being fixed by another helper of issue 11; the lead empties these at merge.
PENDING_IMPORTS: set[tuple[str, str]] = set()
#: Import cycles being broken by another helper of issue 11; the lead empties this at merge.
PENDING_CYCLES: list[set[str]] = []
#: Modules over MAX_LINES on this branch, each being split by another helper of issue 11; the lead empties this at merge.
OVER_LIMIT: set[str] = set()


def modules() -> dict[str, Path]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            parts = list(path.relative_to(ROOT).with_suffix("").parts)
            if parts[-1] == "__init__":
                parts = parts[:-1]
            found[".".join(parts)] = path
    return found


MODULES = modules()


def imports_of(name: str, path: Path) -> set[str]:
    """Every module ``name`` imports (anywhere in the file, type-only imports included), resolved."""
    is_package = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = name.split(".")
                base = base[: len(base) - node.level + (1 if is_package else 0)]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            submodules = {f"{module}.{alias.name}" for alias in node.names if f"{module}.{alias.name}" in MODULES}
            found |= submodules
            if len(submodules) < len(node.names):  # ``from pkg import sub`` alone depends on ``sub``, not on pkg's body
                found.add(module)
    return found


GRAPH = {name: imports_of(name, path) for name, path in MODULES.items()}


def project_edges(name: str) -> set[str]:
    """The project modules ``name`` depends on (an import of ``a.b.c`` counts as ``a.b.c``, else its nearest known parent)."""
    edges = set()
    for imported in GRAPH[name]:
        parts = imported.split(".")
        while parts and ".".join(parts) not in MODULES:
            parts.pop()
        if parts and ".".join(parts) != name:
            edges.add(".".join(parts))
    return edges


def broken(name: str, rule) -> list[str]:
    return sorted(i for i in GRAPH[name] if rule(i) and (name, i) not in PENDING_IMPORTS)


def top(module: str) -> str:
    return module.split(".")[0]


def test_the_core_is_pure():
    core = [n for n in MODULES if n == "signaling.core" or n.startswith("signaling.core.")]
    assert core, "signaling/core exists"
    bad = {
        n: broken(n, lambda i: top(i) in IMPURE or top(i) == "server" or (top(i) == "signaling" and not i.startswith("signaling.core")))
        for n in core
    }
    assert {n: b for n, b in bad.items() if b} == {}


def test_signaling_never_imports_server():
    bad = {n: broken(n, lambda i: top(i) == "server") for n in MODULES if top(n) == "signaling"}
    assert {n: b for n, b in bad.items() if b} == {}


def test_the_media_router_knows_only_the_core_of_signaling():
    media = [n for n in MODULES if n.startswith("server.media")]
    bad = {n: broken(n, lambda i: top(i) == "signaling" and not i.startswith("signaling.core")) for n in media}
    assert {n: b for n, b in bad.items() if b} == {}


def cycles() -> list[set[str]]:
    """Every group of project modules that import each other in a circle (Tarjan's strongly connected components)."""
    edges = {n: project_edges(n) for n in MODULES}
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    groups: list[set[str]] = []

    def visit(n: str) -> None:
        index[n] = low[n] = len(index)
        stack.append(n)
        for m in sorted(edges[n]):
            if m not in index:
                visit(m)
                low[n] = min(low[n], low[m])
            elif m in stack:
                low[n] = min(low[n], index[m])
        if low[n] == index[n]:
            group = set()
            while True:
                m = stack.pop()
                group.add(m)
                if m == n:
                    break
            if len(group) > 1:
                groups.append(group)

    for n in sorted(MODULES):
        if n not in index:
            visit(n)
    return groups


def test_no_import_cycles():
    found = [g for g in cycles() if g not in PENDING_CYCLES]
    assert found == []
    assert all(g in cycles() for g in PENDING_CYCLES), "a pending cycle is gone: drop it from PENDING_CYCLES"


@pytest.mark.parametrize("name", sorted(MODULES))
def test_no_module_is_too_long(name):
    path = MODULES[name]
    relative = str(path.relative_to(ROOT))
    lines = len(path.read_text().splitlines())
    if relative in OVER_LIMIT:
        return
    assert lines <= MAX_LINES, f"{relative} has {lines} lines (split it)"


def scripts() -> list[Path]:
    """The pages' own JavaScript modules (vendored libraries excluded)."""
    return sorted(p for package in PACKAGES for p in (ROOT / package).rglob("*.js") if "vendor" not in p.parts)


def test_the_pages_scripts_are_found():
    names = {str(p.relative_to(ROOT)) for p in scripts()}
    assert {"kiosk_client/static/kiosk.js", "agent_console/static/agent.js"} <= names


@pytest.mark.parametrize("path", scripts(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_page_script_is_too_long(path):
    lines = len(path.read_text().splitlines())
    assert lines <= MAX_LINES, f"{path.relative_to(ROOT)} has {lines} lines (split it into modules)"


def test_the_allowlists_hold_only_what_still_breaks_a_rule():
    over = {str(p.relative_to(ROOT)) for p in MODULES.values() if len(p.read_text().splitlines()) > MAX_LINES}
    assert over == {p for p in OVER_LIMIT if (ROOT / p).exists()}, "OVER_LIMIT names exactly the modules still too long"
    stale = {(n, i) for n, i in PENDING_IMPORTS if n in GRAPH and i not in GRAPH[n]}
    assert stale == set(), "a pending import is gone: drop it from PENDING_IMPORTS"
