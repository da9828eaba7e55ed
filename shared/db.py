"""One service's PostgreSQL database: a connection pool bound to the service's schema, migrations, readiness.

Every table a service owns lives in one schema (`<topic prefix>_<service>`, or the `schema` given), which the
pool puts first on each connection's search path; the SQL in `shared/` and the services names tables without a
schema. Migrations are applied when the service starts (`shared.migrations`).
"""

from __future__ import annotations

import re
from pathlib import Path

from psycopg import AsyncConnection, sql
from psycopg.conninfo import conninfo_to_dict
from psycopg_pool import AsyncConnectionPool

from shared import migrations
from shared.settings import PlatformSettings

CORE_MIGRATIONS = Path(__file__).parent / "sql" / "core"


def schema_for(settings: PlatformSettings, service: str) -> str:
    """The schema a service's tables live in: a SQL identifier made from the topic prefix and the service."""
    return re.sub(r"[^a-z0-9_]", "_", f"{settings.topic_prefix}_{service}".lower())[:63]


class Database:
    """A pool of connections to one service's schema (autocommit: a transaction is always explicit)."""

    def __init__(self, url: str, schema: str, *, min_size: int = 1, max_size: int = 10, timeout: float = 5.0) -> None:
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", schema):
            raise ValueError(f"invalid schema name {schema!r}")
        conninfo_to_dict(url)  # raises a clear ProgrammingError on a malformed URL before any connection
        self.url = url
        self.schema = schema
        self.pool = AsyncConnectionPool(
            url,
            min_size=min_size,
            max_size=max_size,
            timeout=timeout,
            open=False,
            kwargs={"autocommit": True, "options": f"-c search_path={schema}"},
            name=schema,
        )

    @classmethod
    def for_service(cls, settings: PlatformSettings, service: str, **pool: float) -> Database:
        return cls(settings.database_url.get_secret_value(), schema_for(settings, service), **pool)  # type: ignore[arg-type]

    async def open(self, *migration_dirs: Path) -> None:
        """Create the schema, apply the core migrations and the service's own, then open the pool."""
        async with await AsyncConnection.connect(self.url, autocommit=True) as conn:
            await conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(self.schema)))
            await migrations.apply(conn, self.schema, [("core", CORE_MIGRATIONS), *_named(migration_dirs)])
        await self.pool.open(wait=True)

    async def close(self) -> None:
        await self.pool.close()

    async def ping(self) -> None:
        async with self.pool.connection(timeout=2.0) as conn:
            await conn.execute("SELECT 1")

    async def drop(self) -> None:
        """Remove the schema and everything in it (tests and benchmarks clean up with this)."""
        async with await AsyncConnection.connect(self.url, autocommit=True) as conn:
            await conn.execute(sql.SQL("DROP SCHEMA IF EXISTS {} CASCADE").format(sql.Identifier(self.schema)))


def _named(dirs: tuple[Path, ...]) -> list[tuple[str, Path]]:
    """A service's migration folder is named after its package (`services/notary/sql` → `notary`)."""
    return [(d.parent.name, d) for d in dirs]
