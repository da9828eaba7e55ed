"""The migration runner on the real PostgreSQL: a fresh schema and an upgraded one end identical; a changed or
unknown applied migration stops the start with a clear message."""

import shutil
import uuid
from pathlib import Path

import pytest
from psycopg import AsyncConnection, sql

from shared import migrations
from shared.db import CORE_MIGRATIONS, Database
from shared.migrations import MigrationError

pytestmark = pytest.mark.integration

SHAPE = """
SELECT table_name, column_name, data_type, is_nullable, coalesce(column_default, '')
FROM information_schema.columns WHERE table_schema = %s ORDER BY table_name, column_name
"""
INDEXES = """
SELECT indexname, regexp_replace(indexdef, ' ON [a-z0-9_]+\\.', ' ON ') FROM pg_indexes WHERE schemaname = %s ORDER BY 1
"""
APPLIED = "SELECT component, version, name, checksum FROM {}.schema_migrations ORDER BY 1, 2"


async def shape(url: str, schema: str) -> list[tuple]:
    async with await AsyncConnection.connect(url) as conn:
        cols = await (await conn.execute(SHAPE, (schema,))).fetchall()
        idx = await (await conn.execute(INDEXES, (schema,))).fetchall()
        applied = await (await conn.execute(sql.SQL(APPLIED).format(sql.Identifier(schema)))).fetchall()
    return [*cols, *idx, *applied]


@pytest.fixture
def url(platform) -> str:
    return platform.database_url.get_secret_value()


async def test_a_fresh_schema_and_one_upgraded_step_by_step_end_identical(url, tmp_path):
    service = tmp_path / "demo" / "sql"
    service.mkdir(parents=True)
    (service / "0001_things.sql").write_text("CREATE TABLE things (id text PRIMARY KEY);")
    step_by_step = Database(url, f"m{uuid.uuid4().hex[:8]}")
    await step_by_step.open(service)  # the schema as an older release left it
    (service / "0002_more.sql").write_text("ALTER TABLE things ADD COLUMN size integer; CREATE INDEX ON things (size);")
    await step_by_step.open(service)  # upgraded in place
    fresh = Database(url, f"m{uuid.uuid4().hex[:8]}")
    await fresh.open(service)
    try:
        assert await shape(url, step_by_step.schema) == await shape(url, fresh.schema)
        assert len(await shape(url, fresh.schema)) > 10
    finally:
        for d in (step_by_step, fresh):
            await d.close()
            await d.drop()


async def test_an_applied_migration_that_changed_or_vanished_refuses_to_start(url, tmp_path):
    service = tmp_path / "demo" / "sql"
    service.mkdir(parents=True)
    (service / "0001_things.sql").write_text("CREATE TABLE things (id text PRIMARY KEY);")
    db = Database(url, f"m{uuid.uuid4().hex[:8]}")
    await db.open(service)
    try:
        (service / "0001_things.sql").write_text("CREATE TABLE things (id integer PRIMARY KEY);")
        with pytest.raises(MigrationError, match="changed after it was applied"):
            await db.open(service)
        shutil.rmtree(service)
        service.mkdir()
        with pytest.raises(MigrationError, match="applied but not in the code"):
            await db.open(service)
    finally:
        await db.close()
        await db.drop()


def test_migration_files_are_numbered_without_gaps(tmp_path: Path):
    (tmp_path / "0001_a.sql").write_text("SELECT 1;")
    (tmp_path / "0003_c.sql").write_text("SELECT 1;")
    with pytest.raises(MigrationError, match="without gaps"):
        migrations.discover("x", tmp_path)
    assert [m.version for m in migrations.discover("core", CORE_MIGRATIONS)] == list(range(1, 4))
