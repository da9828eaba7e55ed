"""Two metrics writers share the work: one joins under load and takes some by-case partitions, the first leaves
under load and the other takes them all; every case is folded exactly once into the writers' changelog and every
published indicator equals one engine rebuilding everything from the topics (what one writer computes).

The joining writer runs as its own process (`python -m services.metrics.writer`, as `make run` and Kubernetes run
it); the first one runs here, so the test can watch its partitions move.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from services.metrics.config import Settings
from services.metrics.rebuild import compare_with_writer
from services.metrics.topics import partition_of
from services.metrics.writer import running_writer
from shared import kafka
from shared.contracts.legal_aid import DefenceNotified, ProviderAssigned
from shared.envelope import Envelope
from shared.settings import PlatformSettings
from shared.topics import Topics
from tests.integration.helpers import eventually

pytestmark = pytest.mark.integration
REGION = "431002001001"
CASES = 240


def events_of(i: int, at: datetime) -> list[Envelope]:
    """A case's two events, keyed by the legal aid case id and correlated by another id (the router re-keys them)."""
    case, corr = f"la-{i}", f"rq-{i}"
    notified = DefenceNotified(
        kind="notified_defence", region=REGION, defendant_ref="p-" + "a" * 16, notified_by="court",
        partner_reference=f"court-{i}", stage="trial", charge="theft", notified_at=at,
    )  # fmt: skip
    assigned = ProviderAssigned(provider_type="lawyer", provider_id="lw-1", assigned_at=at,
                                due_at=at + timedelta(days=3), on_time=i % 3 != 0)  # fmt: skip
    return [
        Envelope.wrap(p, source="caseflow/legal_aid", subject=case, correlationid=corr, actor="dept:legal_aid", time=at)
        for p in (notified, assigned)
    ]


async def steady_load(platform: PlatformSettings, stop: asyncio.Event, sent: list[int]) -> None:
    """Cases at ~20/s until `stop` (then the rest at once), so they arrive while writers join and leave."""
    topic = Topics(platform.topic_prefix).department("legal_aid")
    producer = kafka.producer(platform)
    await producer.start()
    at = datetime.now(UTC) - timedelta(hours=1)
    try:
        for i in range(CASES):
            for env in events_of(i, at):
                key, value, headers = env.to_kafka()
                await producer.send_and_wait(topic, value=value, key=key, headers=headers)
            sent.append(i)
            if not stop.is_set():
                await asyncio.sleep(0.05)
    finally:
        await producer.stop()


def spawn_writer(platform: PlatformSettings, state_dir: Path, log: Path) -> subprocess.Popen[bytes]:
    env = {**os.environ, **platform.to_env(), "METRICS_STATE_DIR": str(state_dir), "METRICS_SESSION_TIMEOUT": "6"}
    with log.open("wb") as out:
        return subprocess.Popen([sys.executable, "-m", "services.metrics.writer"], env=env, stderr=out, stdout=out)


async def test_a_writer_joins_and_another_leaves_under_load_and_the_indicators_equal_one_writers(platform, tmp_path):
    platform = platform.model_copy(update={"partitions": 6})
    every = set(range(platform.partitions))
    assert len({partition_of(f"rq-{i}".encode(), 6) for i in range(CASES)}) == 6  # the cases spread over all
    settings = Settings(platform=platform, state_dir=tmp_path / "a", session_timeout=6)
    stop, sent = asyncio.Event(), []
    log = tmp_path / "writer-b.log"
    other: subprocess.Popen[bytes] | None = None
    try:
        async with running_writer(settings) as first:
            assert first.owned() == every
            load = asyncio.create_task(steady_load(platform, stop, sent))
            await eventually(lambda: first.folded >= 20, timeout=30, what="the first writer folding")
            other = spawn_writer(platform, tmp_path / "b", log)
            await eventually(
                lambda: 0 < len(first.owned()) < len(every) and first.recovered.is_set(),
                timeout=90,
                what=lambda: (
                    f"the second writer taking partitions (first owns {sorted(first.owned())}; "
                    f"second exited {other.poll() if other else None})"
                ),
            )
            shared_at = len(sent)
            folded = first.folded
            await eventually(lambda: first.folded > folded + 20, timeout=60, what="the first writer folding its share")
            assert len(sent) < CASES, "the load ended before the writers shared the work: nothing was shown"
        # the first writer has left (under load): the second takes every partition and the reducer's place
        left_at = len(sent)
        await asyncio.sleep(3)
        stop.set()
        await asyncio.wait_for(load, 60)
        assert other.poll() is None, log.read_text()[-3000:]
        started = time.monotonic()

        async def identical() -> bool:
            comparison = await compare_with_writer(settings, show_progress=False)
            identical.last = comparison.summary()  # type: ignore[attr-defined]
            return comparison.equal and comparison.live_cases == CASES and comparison.published > 0

        await eventually(identical, timeout=120, what=lambda: f"one writer's result: {identical.last}")  # type: ignore[attr-defined]
        print(f"shared from case {shared_at}, first writer left at case {left_at}, identical "
              f"{time.monotonic() - started:.1f} s after the load")  # fmt: skip
    finally:
        stop.set()
        if other is not None:
            other.terminate()
            try:
                other.wait(30)
            except subprocess.TimeoutExpired:
                other.kill()
