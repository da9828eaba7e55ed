"""The living platform for tests: the whole platform in-process with the living demo acting on it.

The four departments, the metrics writer and query API, the console, the partner router and simulators run on free
ports in a background thread (its own event loop) against the test Kafka and PostgreSQL, with the scenario clock at
3,600× (a demo hour per real second); the demo's citizens and staff act through the departments' HTTP APIs
(`integrations.demo`). Tests read it over HTTP (metrics API, console) from the main thread; `quiesce()` stops
every source of events and freezes the scenario clock, so the published indicators can be compared with a rebuild
from the topics.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Coroutine, Iterator
from typing import Any

import httpx
import uvicorn

from integrations.demo.cities import load_cities
from integrations.demo.client import Platform
from integrations.demo.day import Demo
from integrations.demo.plan import new_run_id
from integrations.demo.runner import play
from integrations.demo.scheduler import Scheduler
from integrations.router import PartnerRouter
from integrations.simulator import PartnerSimulator
from services.console.config import Settings as ConsoleSettings
from services.console.main import create_app as console_app
from services.intake.config import Settings as IntakeSettings
from services.intake.main import create_app as intake_app
from services.legal_aid.config import Settings as LegalAidSettings
from services.legal_aid.main import create_app as legal_aid_app
from services.mediation.config import Settings as MediationSettings
from services.mediation.main import create_app as mediation_app
from services.metrics.config import Settings as MetricsSettings
from services.metrics.follower import running_folder
from services.metrics.main import create_app as metrics_app
from services.notary.config import Settings as NotarySettings
from services.notary.main import create_app as notary_app
from shared.clock import ScenarioClock, use_clock
from shared.settings import PlatformSettings
from tests.conftest import token
from tests.integration.helpers import drop_schemas, free_ports

log = logging.getLogger(__name__)
RATE = 3600.0
CHENZHOU = "431000000000"
DEPARTMENTS = ("intake", "legal_aid", "mediation", "notary")
#: the 21 indicators of DOMAIN.md's indicator table (the catalogue adds advisor_villages and advisor_lawyer_share)
DOMAIN_INDICATORS = (
    "criminal_aid_coverage", "aid_assigned_on_time", "aid_reviewed_on_time", "aid_by_lawyers", "aid_per_100k",
    "mediation_success", "agreement_fulfilment", "dispute_resolution", "notary_not_adopted", "aid_fee_waiver",
    "hotline_answer_rate", "realtime_answer_30s", "web_reply_on_time", "qc_sample_rate", "work_order_completion",
    "same_visit_completion", "satisfaction", "hotline_growth", "advisor_coverage", "advisor_hours", "throughput",
)  # fmt: skip
#: a target state: judged against its target, judged on the year, or an indicator without a target (throughput)
TARGET_STATES = ("met", "not_met", "not_judged", "no_target")


def _apps(platform: PlatformSettings, urls: dict[str, str]) -> dict[str, Any]:
    console = ConsoleSettings(platform=platform, **{f"{n}_url": urls[n] for n in (*DEPARTMENTS, "metrics")})
    return {
        "intake": intake_app(IntakeSettings(platform=platform)),
        "legal_aid": legal_aid_app(LegalAidSettings(platform=platform)),
        "mediation": mediation_app(MediationSettings(platform=platform)),
        "notary": notary_app(NotarySettings(platform=platform)),
        "metrics": metrics_app(MetricsSettings(platform=platform)),
        "console": console_app(console),
    }


class LivingPlatform:
    """The whole platform and the living demo, in a background thread; `start()`, then read it, then `stop()`."""

    def __init__(self, platform: PlatformSettings, *, seed: int = 7) -> None:
        self.platform = platform
        self.clock = ScenarioClock(rate=RATE, epoch=time.time())
        names = [*DEPARTMENTS, "metrics", "console"]
        self.urls = {n: f"http://127.0.0.1:{p}" for n, p in zip(names, free_ports(len(names)), strict=True)}
        self.metrics_settings = MetricsSettings(platform=platform)
        self.demo = Demo(Platform(platform, self.urls | {"court": self.urls["notary"]}), Scheduler(self.clock), seed,
                         new_run_id(), load_cities())  # fmt: skip
        self.servers = [
            uvicorn.Server(uvicorn.Config(app, port=int(self.urls[n].rpartition(":")[2]), log_level="warning"))
            for n, app in _apps(platform, self.urls).items()
        ]
        self.writer: Any = None  # the metrics writer, once started
        self.failed: list[BaseException] = []
        self._acting: list[asyncio.Task[Any]] = []  # the demo and the partners: every source of events
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="living-platform", daemon=True)

    # -- lifecycle (main thread) ---------------------------------------------------------------------------------
    def start(self, timeout: float = 90) -> None:
        use_clock(self.clock)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not (self.writer is not None and all(s.started for s in self.servers)):
            assert not self.failed, f"the platform failed to start: {self.failed[0]!r}"
            assert time.monotonic() < deadline, f"the platform did not start within {timeout:.0f} s"
            time.sleep(0.1)

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(timeout=60)
        use_clock(None)

    def call(self, coro: Coroutine[Any, Any, Any], timeout: float = 60) -> Any:
        """Run a coroutine on the platform's loop and wait for its result."""
        assert self._loop is not None
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(timeout)

    def acts_failed(self) -> list[BaseException | None]:
        """Exceptions of the demo's or partners' tasks that ended before `quiesce()` (they run until cancelled)."""
        return [t.exception() for t in self._acting if t.done() and not t.cancelled()]

    def quiesce(self, settle: float = 3.0, timeout: float = 60) -> None:
        """Stop the demo, the simulators and the router, freeze the scenario clock, and wait until the metrics writer
        has folded everything (its count unchanged for `settle` s) and published what changed."""
        if self._acting:
            self.call(self._cancel_acting())
        frozen = self.clock.timestamp()
        use_clock(ScenarioClock(rate=1.0, epoch=0.0, real=lambda: frozen))
        deadline, seen, since = time.monotonic() + timeout, -1, time.monotonic()
        while time.monotonic() - since < settle:
            assert time.monotonic() < deadline, f"the metrics writer did not settle within {timeout:.0f} s"
            if self.writer.folded != seen:
                seen, since = self.writer.folded, time.monotonic()
            time.sleep(0.2)
        self.call(self.writer.flush())

    # -- reading ---------------------------------------------------------------------------------------------------
    def scorecard(self, region: str = CHENZHOU) -> dict[str, dict[str, Any]]:
        """The metrics API's scorecard of a region for this year: indicator → its value."""
        headers = token(self.platform, "user:ops", ["metrics:read"])
        r = httpx.get(f"{self.urls['metrics']}/regions/{region}/scorecard", params={"period": "year"},
                      headers=headers, timeout=10)  # fmt: skip
        r.raise_for_status()
        return {v["indicator"]: v for v in r.json()}

    def wait_until(self, missing: Callable[[], set[str]], timeout: float, every: float = 5) -> None:
        """Poll `missing()` (what is not there yet) until it is empty; fail naming what is still missing."""
        started, left = time.monotonic(), {"(not read yet)"}
        deadline = started + timeout
        while left:
            assert not self.acts_failed(), f"the demo or a partner stopped: {self.acts_failed()}"
            assert time.monotonic() < deadline, (
                f"after {timeout:.0f} s still missing: {sorted(left)}; acts done {dict(self.demo.scheduler.done)}, "
                f"failed {dict(self.demo.scheduler.failed)}"
            )
            with contextlib.suppress(httpx.HTTPError):
                left = missing()
            log.info("%.0f s: %d folded; missing %s", time.monotonic() - started, self.writer.folded, sorted(left))
            if left:
                time.sleep(every)

    # -- the platform's loop (background thread) -------------------------------------------------------------------
    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # surfaced by start()
            self.failed.append(exc)

    async def _main(self) -> None:
        self._loop, self._stop = asyncio.get_running_loop(), asyncio.Event()
        serving: list[asyncio.Task[Any]] = []
        try:
            async with running_folder(self.metrics_settings, writer=True) as writer:
                serving += [asyncio.create_task(s.serve()) for s in self.servers]
                self._acting += [
                    asyncio.create_task(PartnerRouter(self.platform).run()),
                    asyncio.create_task(PartnerSimulator(self.platform, rate=0.6, seed=self.demo.seed).run(0)),
                    asyncio.create_task(play(self.demo, per_hour=2.5, every=1.0, last_year=True)),
                ]
                self.writer = writer
                await self._stop.wait()
                await self._cancel_acting()
                for s in self.servers:
                    s.should_exit = True
                await asyncio.gather(*serving, return_exceptions=True)
        finally:
            await self.demo.platform.close()
            await drop_schemas(self.platform, *DEPARTMENTS, "metrics", "router")

    async def _cancel_acting(self) -> None:
        for task in self._acting:
            task.cancel()
        for task in self._acting:
            with contextlib.suppress(BaseException):
                await task
        self._acting = []


@contextlib.contextmanager
def living_platform(platform: PlatformSettings) -> Iterator[LivingPlatform]:
    living = LivingPlatform(platform)
    try:
        living.start()
        yield living
    finally:
        living.stop()
