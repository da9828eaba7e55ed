"""A writer whose recovery outlasts its session timeout keeps its partitions, and its start waits for the load
however long it takes (a province's changelog takes minutes).

aiokafka sends no heartbeat while the assignment callback runs; without `faust_app.heartbeat_while_assigned` the
broker expels a writer loading a large changelog, the group rebalances and the load starts again, for ever.
"""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Any

import pytest

from services.metrics.config import Settings
from services.metrics.engine import MetricsEngine
from services.metrics.writer import MetricsWriter

pytestmark = pytest.mark.integration
SESSION = 6.0  # s, the least the writer accepts
LOAD = SESSION + 4  # s, the first recovery's length


async def test_a_recovery_longer_than_the_session_timeout_is_not_expelled(platform, tmp_path, monkeypatch):
    from services.metrics import writer as writer_module  # patched below

    loads: list[float] = []
    load = writer_module.MetricsWriter._engines_from_changelog

    async def slow_load(self: Any, partitions: set[int], now: datetime) -> dict[int, MetricsEngine]:
        loads.append(asyncio.get_running_loop().time())
        if len(loads) == 1:
            await asyncio.sleep(LOAD)  # a changelog that takes longer to read than the session lasts
        return await load(self, partitions, now)

    monkeypatch.setattr(writer_module.MetricsWriter, "_engines_from_changelog", slow_load)
    writer = MetricsWriter(Settings(platform=platform, state_dir=tmp_path, session_timeout=SESSION))
    try:
        await writer.start(timeout=LOAD - 1)  # the timeout bounds the wait for an assignment, not the load
        assert writer.owned() == set(range(platform.partitions))
        await asyncio.sleep(2 * SESSION)  # an expelled member learns it at its next heartbeat, then rejoins
        assert len(loads) == 1, f"the writer was expelled and loaded its partitions {len(loads)} times"
        assert writer.recoveries == 1 and writer.owned() == set(range(platform.partitions))
    finally:
        await writer.stop()
