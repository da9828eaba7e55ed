"""Where citizens rate a service (随单评价, satisfaction 1–5): one line per department's evaluation route.

Adding a department's evaluation is one entry in `ROUTES` and a call to `evaluate` where its case closes.
"""

from __future__ import annotations

from integrations.demo.day import Demo

#: department → the path of its evaluation route for a case id, and the body field that carries the rating
ROUTES: dict[str, tuple[str, str]] = {
    "intake": ("/requests/{case_id}/evaluate", "satisfaction"),
}


async def evaluate(demo: Demo, dept: str, case_id: str, satisfaction: int) -> None:
    path, field = ROUTES[dept]
    await demo.platform.post(dept, path.format(case_id=case_id), {field: satisfaction}, demo.key(case_id, "evaluate"))


def schedule_evaluation(demo: Demo, dept: str, case_id: str, satisfaction: int | None, hours: float = 0.5) -> None:
    """The citizen rates the service a little after it closed (None: this citizen does not)."""
    if satisfaction is not None and dept in ROUTES:
        demo.later(case_id, "evaluate", hours, lambda: evaluate(demo, dept, case_id, satisfaction))
