"""The text catalogues: Indonesian and English hold the same keys and placeholders, and every text the pages name exists.

Read as files (nothing rendered): ``server/locales/id.json`` and ``en.json``,
the keys the templates name (``data-i18n="…"``, ``t['…']``) and the literal
keys the pages' JavaScript asks for (``i18n.t("…")``, ``i18n.bind(el, "…")``).
A key built at run time (a template literal) is not checked here; the
browser tests see those texts.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
LOCALES = ROOT / "server" / "locales"
PAGES = ("server", "agent_console", "kiosk_client")
PLACEHOLDER = re.compile(r"\{(\w+)\}")
TEMPLATE_KEYS = re.compile(r"""data-i18n="([\w.]+)"|t\['([\w.]+)'\]|:([\w.]+)[",]""")
SCRIPT_KEYS = re.compile(r"""i18n\.t\(\s*"([\w.]+)"|i18n\.bind\([^,()]+,\s*"([\w.]+)"|\bt\(\s*"([\w.]+)\"""")


def catalogue(lang: str) -> dict[str, str]:
    return json.loads((LOCALES / f"{lang}.json").read_text(encoding="utf-8"))


def files(pattern: str) -> list[Path]:
    return [p for package in PAGES for p in sorted((ROOT / package).rglob(pattern)) if "vendor" not in p.parts]


def named_keys(paths: list[Path], pattern: re.Pattern) -> set[tuple[str, str]]:
    found = set()
    for path in paths:
        for match in pattern.finditer(path.read_text(encoding="utf-8")):
            key = next(g for g in match.groups() if g)
            if "." in key:
                found.add((str(path.relative_to(ROOT)), key))
    return found


def test_both_languages_have_the_same_keys_and_placeholders():
    ind, eng = catalogue("id"), catalogue("en")
    assert sorted(set(ind) ^ set(eng)) == []
    assert [k for k, v in {**ind, **eng}.items() if not v.strip()] == []
    differ = [k for k in ind if set(PLACEHOLDER.findall(ind[k])) != set(PLACEHOLDER.findall(eng[k]))]
    assert differ == []


@pytest.mark.parametrize(("kind", "pattern"), [("*.html", TEMPLATE_KEYS), ("*.js", SCRIPT_KEYS)])
def test_every_key_a_page_names_exists(kind, pattern):
    texts = catalogue("id")
    named = named_keys(files(kind), pattern)
    assert named, f"no keys found in {kind}: the pattern is wrong"
    assert sorted((where, key) for where, key in named if key not in texts) == []
