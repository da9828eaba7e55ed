"""Where citizens rate a service (随单评价, satisfaction 1–5): one line per department's evaluation route.

Every department's staff call `citizen_rates` where its case ends (legal aid: closed; mediation: archived;
notary: issued); it rates only where the department has an evaluation route, so adding one is one entry in
`ROUTES`.
"""

from __future__ import annotations

from integrations.demo.day import Demo
from integrations.demo.plan import SATISFACTION, fate

#: department → the path of its evaluation route for a case id, and the body field that carries the rating
ROUTES: dict[str, tuple[str, str]] = {
    "intake": ("/requests/{case_id}/evaluate", "satisfaction"),
    "legal_aid": ("/applications/{case_id}/evaluate", "satisfaction"),
    "mediation": ("/disputes/{case_id}/evaluate", "satisfaction"),
    "notary": ("/applications/{case_id}/evaluate", "satisfaction"),
}


async def evaluate(demo: Demo, dept: str, case_id: str, satisfaction: int) -> None:
    path, field = ROUTES[dept]
    await demo.platform.post(dept, path.format(case_id=case_id), {field: satisfaction}, demo.key(case_id, "evaluate"))


def schedule_evaluation(demo: Demo, dept: str, case_id: str, satisfaction: int | None, hours: float = 0.5) -> None:
    """The citizen rates the service a little after it closed (None: this citizen does not)."""
    if satisfaction is not None and dept in ROUTES:
        demo.later(case_id, "evaluate", hours, lambda: evaluate(demo, dept, case_id, satisfaction))


def citizen_rates(demo: Demo, dept: str, case_id: str) -> None:
    """Most citizens rate a service a little after it ended (seeded by the case)."""
    rng = fate(demo.seed, "satisfaction", case_id)
    satisfaction = None if rng.random() < 0.3 else rng.choices(list(SATISFACTION), list(SATISFACTION.values()))[0]
    schedule_evaluation(demo, dept, case_id, satisfaction, hours=rng.uniform(0.2, 4))
