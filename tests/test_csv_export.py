"""Supervisors' CSV downloads: every cell is text to a spreadsheet, the name follows the service's clock."""

from __future__ import annotations

import csv
import io

from server.csv_export import cell, download


def test_a_formula_typed_anywhere_is_written_as_text():
    for typed in ("=HYPERLINK(\"http://x\")", "+1+1", "-2", "@SUM(A1)", "\tx", "\rx"):
        assert cell(typed) == "'" + typed
    assert cell("Sari") == "Sari" and cell(None) == "" and cell(3) == "3"


def test_download_names_the_file_after_the_clock_in_wib_and_guards_every_cell():
    # 2026-01-01 00:05 UTC is 07:05 WIB.
    response = download("lapak-sessions", 1767225900.0, ("who", "note"), [("=cmd", "ok"), ("Budi", "@x")])
    assert response.headers["Content-Disposition"] == 'attachment; filename="lapak-sessions-20260101-0705.csv"'
    rows = list(csv.reader(io.StringIO(response.text)))
    assert rows == [["who", "note"], ["'=cmd", "ok"], ["Budi", "'@x"]]
