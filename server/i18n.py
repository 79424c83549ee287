"""Text catalogue for the pages: Bahasa Indonesia first, English second.

``catalogue(lang)`` returns a flat ``{key: text}`` mapping loaded from
``server/locales/<lang>.json``. Unknown languages fall back to Indonesian,
and keys missing from a non-default language fall back to the Indonesian
text, so a page never shows a bare key. Texts may hold ``{name}``
placeholders that the page's JavaScript fills in.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path

#: Languages with a catalogue, the default first.
LANGUAGES: tuple[str, ...] = ("id", "en")
DEFAULT_LANGUAGE = "id"

_LOCALES = Path(__file__).resolve().parent / "locales"


def normalise(lang: str | None) -> str:
    """The supported language code for ``lang`` (``id`` when unknown)."""
    lang = (lang or "").strip().lower()[:8]
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


@lru_cache(maxsize=None)
def _load(lang: str) -> dict[str, str]:
    with open(_LOCALES / f"{lang}.json", encoding="utf-8") as fh:
        data = json.load(fh)
    if not isinstance(data, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in data.items()
    ):
        raise ValueError(f"locale {lang}: expected a flat object of strings")
    return data


def catalogue(lang: str | None = DEFAULT_LANGUAGE) -> dict[str, str]:
    """The texts of ``lang`` (a fresh dict; missing keys from Indonesian)."""
    lang = normalise(lang)
    texts = dict(_load(DEFAULT_LANGUAGE))
    if lang != DEFAULT_LANGUAGE:
        texts.update(_load(lang))
    return texts


def catalogues() -> dict[str, dict[str, str]]:
    """Every language's catalogue, for pages that switch without reloading."""
    return {lang: catalogue(lang) for lang in LANGUAGES}
