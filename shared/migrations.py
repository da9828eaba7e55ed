"""A minimal, versioned migration runner: numbered `.sql` files per component, applied once each, in order.

`apply` takes a transaction-scoped advisory lock on the schema (two services starting at once apply a
migration once), records each file's name and SHA-256 in `schema_migrations`, and refuses to start when an
applied file has changed or a recorded migration no longer exists: a malformed migration state is an operator's
problem to look at, never something to paper over. Why not a library: docs/decisions/0002-migrations.md.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path

from psycopg import AsyncConnection, sql

from shared.errors import CaseflowError

_FILE = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


class MigrationError(CaseflowError):
    """The database's migration record does not match the code: start refused."""

    code = "migration_state_invalid"
    http_status = 503


@dataclass(frozen=True)
class Migration:
    component: str
    version: int
    name: str
    sql: str

    @property
    def checksum(self) -> str:
        return hashlib.sha256(self.sql.encode()).hexdigest()


def discover(component: str, folder: Path) -> list[Migration]:
    found = []
    for path in sorted(folder.glob("*.sql")):
        match = _FILE.match(path.name)
        if match is None:
            raise MigrationError(f"{path}: migration files are named NNNN_words.sql")
        found.append(Migration(component, int(match.group(1)), path.name, path.read_text()))
    versions = [m.version for m in found]
    if versions != list(range(1, len(found) + 1)):
        raise MigrationError(f"{folder}: migrations must be numbered 0001, 0002, … without gaps (found {versions})")
    return found


async def apply(conn: AsyncConnection, schema: str, sources: list[tuple[str, Path]]) -> list[Migration]:
    """Apply what is missing in `schema`; returns the migrations applied now."""
    wanted = [m for component, folder in sources for m in discover(component, folder)]
    target = sql.Identifier(schema)
    applied_now: list[Migration] = []
    async with conn.transaction():
        await conn.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", (f"caseflow-migrations:{schema}",))
        await conn.execute(sql.SQL("SET LOCAL search_path TO {}").format(target))
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " component text NOT NULL, version integer NOT NULL, name text NOT NULL, checksum text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (component, version))"
        )
        cur = await conn.execute("SELECT component, version, name, checksum FROM schema_migrations")
        recorded = {(c, v): (n, s) for c, v, n, s in await cur.fetchall()}
        known = {(m.component, m.version): m for m in wanted}
        for key, (name, checksum) in sorted(recorded.items()):
            m = known.get(key)
            if m is None and key[0] in {c for c, _ in sources}:
                raise MigrationError(f"schema {schema}: migration {key[0]}/{name} is applied but not in the code")
            if m is not None and (m.name, m.checksum) != (name, checksum):
                raise MigrationError(
                    f"schema {schema}: migration {m.component}/{m.name} changed after it was applied "
                    f"(recorded {name} {checksum[:12]}, code has {m.checksum[:12]}): add a new migration instead"
                )
        for m in wanted:
            if (m.component, m.version) in recorded:
                continue
            await conn.execute(m.sql.encode())
            await conn.execute(
                "INSERT INTO schema_migrations (component, version, name, checksum) VALUES (%s, %s, %s, %s)",
                (m.component, m.version, m.name, m.checksum),
            )
            applied_now.append(m)
    return applied_now
