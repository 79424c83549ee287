"""CSV downloads for supervisors: one place that writes them, safe to open in a spreadsheet.

History and the audit trail hold text typed by people (notes, names, user
names tried at sign-in). A spreadsheet runs a cell that starts with ``=``,
``+``, ``-`` or ``@`` as a formula, so every cell is written as text
(:func:`cell`), and every download is named after the service's clock.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from datetime import datetime

from aiohttp import web

from signaling.core.daytime import LOCAL

#: First characters a spreadsheet treats as the start of a formula.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def cell(value: object) -> str:
    """A CSV cell that a spreadsheet shows as text, never runs as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in FORMULA_STARTS else text


def download(stem: str, now: float, header: Sequence[str], rows: Iterable[Sequence[object]]) -> web.Response:
    """``stem-YYYYMMDD-HHMM.csv`` (WIB) with ``header`` and ``rows``, every cell made safe."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    for row in rows:
        writer.writerow([cell(v) for v in row])
    stamp = datetime.fromtimestamp(now, LOCAL).strftime("%Y%m%d-%H%M")
    return web.Response(
        text=out.getvalue(),
        content_type="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{stem}-{stamp}.csv"'},
    )
