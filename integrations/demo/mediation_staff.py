"""Mediation's staff: assign a mediator (指派), hold sessions, sign agreements or record failures and withdrawals,
request judicial confirmation for some agreements (the court simulator rules), follow up (回访) and archive."""

from __future__ import annotations

from typing import Any

from integrations.demo.day import Demo
from integrations.demo.evaluations import citizen_rates
from integrations.demo.plan import fate
from integrations.demo.scheduler import Act

DEPT = "mediation"


async def round_(demo: Demo) -> None:
    for d in await demo.worklist(DEPT, "/disputes", "registered"):
        demo.due(d["dispute_id"], "assign", (0.2, 12), _act(demo, d["dispute_id"], "assign", {}), late=(72, 120))
    for d in await demo.worklist(DEPT, "/disputes", "assigned"):
        session = _act(demo, d["dispute_id"], "sessions", {"minutes": "双方陈述事实, 调解员释法说理"})
        demo.due(d["dispute_id"], "sessions", (0.5, 24), session, late=(96, 150))
    for d in await demo.worklist(DEPT, "/disputes", "in_mediation"):
        demo.due(d["dispute_id"], "end", (0.5, 12), _end(demo, d["dispute_id"]))


def _act(demo: Demo, dispute_id: str, name: str, body: dict[str, Any]) -> Act:
    return demo.act(DEPT, "/disputes", dispute_id, name, body)


def _end(demo: Demo, dispute_id: str) -> Any:
    async def act() -> None:
        rng = fate(demo.seed, "outcome", dispute_id)
        roll = rng.random()
        if roll < 0.86:
            await _act(demo, dispute_id, "agreement", {"terms": "一方于三十日内赔偿对方人民币五千元"})()
            if rng.random() < 0.5:  # the parties ask the court to confirm (人民调解法 art. 33, within 30 days)
                request = _act(demo, dispute_id, "request-confirmation", {})
                demo.due(dispute_id, "request-confirmation", (2, 240), request, late=(740, 800), late_share=0.05)
            demo.due(dispute_id, "follow-up", (1, 36), _follow_up(demo, dispute_id))
            return
        name, reason = ("fail", "双方分歧过大, 调解不成") if roll < 0.95 else ("withdraw", "申请人撤回调解申请")
        await _act(demo, dispute_id, name, {"reason": reason})()
        demo.due(dispute_id, "archive", (1, 24), _archive(demo, dispute_id))

    return act


def _follow_up(demo: Demo, dispute_id: str) -> Any:
    async def act() -> None:
        rng = fate(demo.seed, "follow-up", dispute_id)
        fulfilment = rng.choices(["fulfilled", "partly", "not"], [0.95, 0.03, 0.02])[0]
        await _act(demo, dispute_id, "follow-up", {"fulfilment": fulfilment})()
        demo.due(dispute_id, "archive", (1, 24), _archive(demo, dispute_id))

    return act


def _archive(demo: Demo, dispute_id: str) -> Act:
    async def act() -> None:
        await _act(demo, dispute_id, "archive", {})()
        citizen_rates(demo, DEPT, dispute_id)

    return act
