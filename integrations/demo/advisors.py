"""Village and community legal advisors (村居法律顾问): each village's advisor from the reference data is
registered with intake once, then logs service hours as the scenario days pass."""

from __future__ import annotations

from integrations.demo.day import Demo
from integrations.demo.plan import fate

KINDS = ("consultation", "legal_opinion", "publicity_lecture", "document_drafting", "dispute_mediation")
#: scenario hours between two logs of one village's advisor
EVERY_HOURS = 12.0


async def register(demo: Demo) -> None:
    """Assign every village's advisor (a no-op when intake already has them)."""
    for city in demo.cities:
        for village, advisor in city.villages:
            if advisor:
                body = {"advisor_id": advisor}
                await demo.platform.post("intake", f"/advisors/{village}/assign", body, demo.key(village, advisor))


def schedule_service(demo: Demo, village: str, advisor: str, n: int = 0) -> None:
    """Log a visit's hours every ~12 scenario hours, forever."""
    rng = fate(demo.seed, "advisor", village, demo.run_id, n)

    async def log_service() -> None:
        served_on = demo.scheduler.clock().date()  # intake checks it against the UTC date of the act
        body = {"advisor_id": advisor, "hours": round(rng.uniform(1, 6), 1), "kind": rng.choice(KINDS),
                "served_on": served_on.isoformat()}  # fmt: skip
        try:
            key = demo.key(demo.run_id, village, n)
            await demo.platform.post("intake", f"/advisors/{village}/services", body, key)
        finally:
            schedule_service(demo, village, advisor, n + 1)

    demo.scheduler.after(rng.uniform(0.5, 1.5) * EVERY_HOURS * 3600, "advisor:service", log_service)


def start(demo: Demo) -> None:
    for city in demo.cities:
        for village, advisor in city.villages:
            if advisor:
                schedule_service(demo, village, advisor)
