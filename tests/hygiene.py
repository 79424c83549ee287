"""The suite's hygiene, for every test (a pytest plugin: ``pytest_plugins = ["hygiene"]``).

- Whatever process a test started is killed and reaped after it, pass or
  fail, orphans included (:func:`reap_processes`; pytest adopts orphans as
  a Linux child subreaper, so a child's child that outlived its parent is
  still found).
- The checkout is the same after the run as before (:func:`checkout_unchanged`):
  tests write only to temporary folders.
- Screenshots go to a temporary folder unless ``--screenshots DIR`` asks
  for another (:func:`screenshots`; scripts/screenshots.py uses it).
- Each test's web apps are freed after it, and what is alive between tests
  is frozen out of later collections (:func:`release_apps`). aiohttp
  caches each app's middleware chain in a module-level cache of 1,024
  entries, which kept every test's app, hub and database schema alive
  (about 8,600 objects a test, millions by the end of the suite); every
  full garbage collection then walked them all, 1.2-1.8 s pauses that fell
  inside whatever test was running (a node's heartbeat lapsed in one).
  Even without that leak the suite's process holds 200,000-650,000 objects
  (the libraries, the browser driver), and a full collection walking them
  took about half a second; frozen, a collection walks only what the
  running test made, as the serving process does (``server/collector.py``).

Standalone on purpose (no project imports beyond :mod:`server.lifeline`),
so tests/test_process_hygiene.py can load it into a pytest of its own.
"""

from __future__ import annotations

import gc
import hashlib
import shutil
import subprocess
import warnings
from pathlib import Path

import psutil
import pytest

from server.lifeline import become_subreaper

ROOT = Path(__file__).resolve().parent.parent


def pytest_addoption(parser):
    parser.addoption(
        "--screenshots",
        default=None,
        metavar="DIR",
        help="write the staff pages' screenshots to DIR (scripts/screenshots.py --part staff uses it to refresh "
        "docs/screenshots); by default they go to a temporary folder",
    )


@pytest.fixture
def screenshots(request, tmp_path) -> Path:
    """Where a test saves screenshots: a temporary folder unless ``--screenshots DIR`` says otherwise."""
    chosen = request.config.getoption("--screenshots")
    out = Path(chosen).resolve() if chosen else tmp_path / "screenshots"
    out.mkdir(parents=True, exist_ok=True)
    return out


# ---------------------------------------------------------------- processes


def _descendants() -> dict[int, psutil.Process]:
    return {p.pid: p for p in psutil.Process().children(recursive=True)}


@pytest.fixture(scope="session", autouse=True)
def _adopt_orphans() -> None:
    """Orphans of what the tests start stay this process's descendants, so they can be found and reaped."""
    become_subreaper()


@pytest.fixture(autouse=True)
def reap_processes(_adopt_orphans):
    """Kill and reap every process the test started (and their children), pass or fail.

    Processes that were already running (Chromium and Playwright, started
    once per session) and their children are left alone.
    """
    before = _descendants()
    yield
    leftover = []
    for pid, proc in _descendants().items():
        if pid in before:
            continue
        try:
            if any(parent.pid in before for parent in proc.parents()):
                continue  # a new renderer of the session's browser
            leftover.append(proc)
        except psutil.NoSuchProcess:
            continue
    running = []
    for proc in leftover:
        try:
            if proc.status() != psutil.STATUS_ZOMBIE:
                running.append(f"{proc.pid} {' '.join(proc.cmdline()[:5])}")
                proc.kill()
        except psutil.NoSuchProcess:
            pass
    psutil.wait_procs(leftover, timeout=5)  # reaps them (zombies too: orphans are ours)
    if running:
        warnings.warn(f"the test left processes running; killed them: {running}", stacklevel=1)


# ---------------------------------------------------------------- memory


def free_apps() -> None:
    """Drop aiohttp's cached middleware chains (they hold their apps), then collect what they held."""
    import aiohttp.web_app

    aiohttp.web_app._cached_build_middleware.cache_clear()
    gc.collect()


@pytest.fixture(autouse=True)
def release_apps():
    """After each test, free the apps it built (and all they hold), and freeze what is still alive (the
    libraries, session fixtures), so that no collection inside a later test walks them again."""
    yield
    free_apps()
    gc.freeze()


# ---------------------------------------------------------------- the checkout


def _checkout_state() -> dict[str, str] | None:
    """``git status --porcelain`` of the checkout with a hash of each listed file; None outside git."""
    if shutil.which("git") is None or not (ROOT / ".git").exists():
        return None
    result = subprocess.run(
        ["git", "-C", str(ROOT), "status", "--porcelain=v1", "-z", "--untracked-files=all", "--no-renames"],
        capture_output=True,
    )
    if result.returncode != 0:
        return None
    state = {}
    for entry in result.stdout.decode(errors="replace").split("\0"):
        if not entry:
            continue
        path = entry[3:]
        target = ROOT / path
        digest = hashlib.sha256(target.read_bytes()).hexdigest() if target.is_file() else "-"
        state[path] = f"{entry[:2]} {digest}"
    return state


@pytest.fixture(scope="session", autouse=True)
def checkout_unchanged(request):
    """Fail the run if a test changed, added or removed a file of the checkout (tests write to tmp_path).

    Skipped when the tests do not run from a git checkout. Files under
    ``--screenshots DIR`` are allowed to change: that is asking for it.
    """
    before = _checkout_state()
    yield
    if before is None:
        return
    after = _checkout_state()
    chosen = request.config.getoption("--screenshots")
    allowed = Path(chosen).resolve() if chosen else None
    changed = sorted(
        path for path in set(before) | set(after or {})
        if before.get(path) != (after or {}).get(path)
        and not (allowed is not None and (ROOT / path).resolve().is_relative_to(allowed))
    )
    assert not changed, f"the tests changed files in the checkout {ROOT}: {changed}"

