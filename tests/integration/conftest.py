"""Fixtures for tests that talk to the real PostgreSQL: a schema of the test's own, dropped afterwards."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from shared.db import Database, schema_for
from shared.settings import PlatformSettings


@pytest.fixture
async def db(platform: PlatformSettings) -> AsyncIterator[Database]:
    """The core schema (events, outbox, inbox, persons, views) migrated into a fresh schema."""
    database = Database(platform.database_url.get_secret_value(), schema_for(platform, "test"), max_size=30)
    await database.open()
    yield database
    await database.close()
    await database.drop()
