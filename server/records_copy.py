"""``lapak admin migrate --to postgresql://…``: move a branch pilot's SQLite records into PostgreSQL.

Both databases are first brought to the newest schema version
(:mod:`server.migrations`; the SQLite file is upgraded in place, as the next
``lapak serve`` would do). Then every table of :mod:`server.schema` is
copied in one PostgreSQL transaction, parents before children, with the same
ids; PostgreSQL's id sequences are moved past the copied ids; the counts are
compared before the commit. Nothing is written when:

- the target already holds records (a second run, or the wrong database):
  it refuses and names the tables that have rows;
- the SQLite file holds a table this version does not know (it would be lost).

Documents and recordings stay files in the data directory; their rows keep
their paths.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa

from . import schema
from .database import Database

#: Rows read and written at a time.
CHUNK = 1000
#: Tables that are not records: Alembic's version, SQLite's own bookkeeping.
_NOT_RECORDS = {"alembic_version", "sqlite_sequence"}
#: Rows the newest schema writes into an empty database by itself (not "data" when checking the target).
_SEEDED = {"record_versions"}


class CopyRefused(RuntimeError):
    """The copy was not started: the reason is in the message, nothing was written."""


def _count(conn: sa.Connection, table: sa.Table) -> int:
    return conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()


def copy_records(source: Path, target: str, say: Callable[[str], None] = print) -> dict[str, int]:
    """Copy every record of the SQLite file ``source`` into the PostgreSQL database ``target``; rows per table."""
    if not Path(source).is_file():
        raise CopyRefused(f"no SQLite records at {source} (is --data the pilot's data directory?)")
    src = Database(Path(source))
    try:
        dst = Database(target)
    except BaseException:
        src.close()
        raise
    try:
        if dst.dialect != "postgresql":
            raise CopyRefused("the target is not a PostgreSQL database (--to postgresql://user@host:port/database)")
        unknown = set(sa.inspect(src.engine).get_table_names()) - set(schema.metadata.tables) - _NOT_RECORDS
        if unknown:
            raise CopyRefused(f"the SQLite file has tables this version does not know: {', '.join(sorted(unknown))}")
        tables = schema.metadata.sorted_tables
        counts: dict[str, int] = {}
        with src.begin() as read, dst.begin() as write:
            held = {t.name: n for t in tables if t.name not in _SEEDED and (n := _count(write, t))}
            if held:
                listed = ", ".join(f"{name} ({n} rows)" for name, n in held.items())
                raise CopyRefused(f"{dst.where} already holds records: {listed}; migrate only into an empty database")
            for table in tables:
                if table.name in _SEEDED:
                    write.execute(table.delete())
                rows = read.execute(table.select()).mappings()
                counts[table.name] = 0
                while chunk := rows.fetchmany(CHUNK):
                    write.execute(table.insert(), [dict(r) for r in chunk])
                    counts[table.name] += len(chunk)
            for name, column in schema.SERIAL.items():
                write.execute(
                    sa.text(f"SELECT setval(pg_get_serial_sequence('{name}', '{column}'), "
                            f"COALESCE((SELECT MAX({column}) FROM {name}), 0) + 1, false)")
                )
            copied = {t.name: _count(write, t) for t in tables}
            if copied != counts:  # raising here rolls the whole copy back
                raise CopyRefused(f"the copy does not match the source (source {counts}, copied {copied}); nothing written")
        for name, n in counts.items():
            say(f"{name:<18} {n:>8}")
        say(f"Copied {sum(counts.values())} rows from {src.where} into {dst.where}.")
        return counts
    finally:
        src.close()
        dst.close()
