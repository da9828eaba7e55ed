"""One demo run: wait for the departments, register the advisors, log last year's sample calls, then play the
planned visits and the staff's worklist rounds until cancelled."""

from __future__ import annotations

import asyncio
import logging

from integrations.demo import advisors, citizens, legal_aid_staff, mediation_staff, notary_staff
from integrations.demo.backfill import backfill
from integrations.demo.day import Demo, plan_loop, rounds_loop

log = logging.getLogger("integrations.demo")
ROUNDS = (legal_aid_staff.round_, mediation_staff.round_, notary_staff.round_)


async def play(demo: Demo, per_hour: float, every: float, last_year: bool) -> None:
    """Wait for the departments, register the advisors, log last year's sample calls, then play forever."""
    await demo.platform.wait_ready()
    start = demo.scheduler.clock()
    log.info("demo run %s (seed %s) at %s, clock rate %s", demo.run_id, demo.seed, start, demo.scheduler.clock.rate)
    await advisors.register(demo)
    if last_year:
        log.info("logged %d of last year's sample calls", await backfill(demo, start))
    advisors.start(demo)
    await asyncio.gather(
        demo.scheduler.run(),
        plan_loop(demo, per_hour, start, citizens.handle),
        rounds_loop(demo, ROUNDS, every),
        _report(demo),
    )


async def _report(demo: Demo) -> None:
    while True:
        await asyncio.sleep(30)
        log.info("acts done %s; failed %s; pending %d", dict(demo.scheduler.done), dict(demo.scheduler.failed),
                 demo.scheduler.pending())  # fmt: skip
