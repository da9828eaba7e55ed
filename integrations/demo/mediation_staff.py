"""Mediation's staff: assign a mediator (指派), hold sessions, sign agreements or record failures and withdrawals,
request judicial confirmation for some agreements (the court simulator rules), follow up (回访) and archive."""

from __future__ import annotations

from typing import Any

from integrations.demo.day import Demo
from integrations.demo.plan import fate

DEPT = "mediation"


async def round_(demo: Demo) -> None:
    for d in await _list(demo, "registered"):
        demo.later(d["dispute_id"], "assign", demo.latency(d["dispute_id"], "assign", (0.2, 12), (72, 120)),
                   _act(demo, d["dispute_id"], "assign", {}))  # fmt: skip
    for d in await _list(demo, "assigned"):
        body = {"minutes": "双方陈述事实, 调解员释法说理"}
        demo.later(d["dispute_id"], "sessions", demo.latency(d["dispute_id"], "session", (0.5, 24), (96, 150)),
                   _act(demo, d["dispute_id"], "sessions", body))  # fmt: skip
    for d in await _list(demo, "in_mediation"):
        demo.later(d["dispute_id"], "end", demo.latency(d["dispute_id"], "end", (0.5, 12)),
                   _end(demo, d["dispute_id"]))  # fmt: skip


async def _list(demo: Demo, status: str) -> list[dict[str, Any]]:
    page = await demo.platform.get(DEPT, "/disputes", status=status, limit=200)
    items: list[dict[str, Any]] = page["items"]
    return items


def _act(demo: Demo, dispute_id: str, name: str, body: dict[str, Any]) -> Any:
    async def act() -> None:
        await demo.platform.post(DEPT, f"/disputes/{dispute_id}/{name}", body, demo.key(dispute_id, name))

    return act


def _end(demo: Demo, dispute_id: str) -> Any:
    async def act() -> None:
        rng = fate(demo.seed, "outcome", dispute_id)
        roll = rng.random()
        if roll < 0.86:
            await _act(demo, dispute_id, "agreement", {"terms": "一方于三十日内赔偿对方人民币五千元"})()
            if rng.random() < 0.5:  # the parties ask the court to confirm (人民调解法 art. 33, within 30 days)
                hours = demo.latency(dispute_id, "confirm", (2, 240), (740, 800), late_share=0.05)
                demo.later(
                    dispute_id, "request-confirmation", hours, _act(demo, dispute_id, "request-confirmation", {})
                )
            demo.later(
                dispute_id, "follow-up", demo.latency(dispute_id, "follow-up", (1, 36)), _follow_up(demo, dispute_id)
            )
            return
        name, reason = ("fail", "双方分歧过大, 调解不成") if roll < 0.95 else ("withdraw", "申请人撤回调解申请")
        await _act(demo, dispute_id, name, {"reason": reason})()
        demo.later(
            dispute_id, "archive", demo.latency(dispute_id, "archive", (1, 24)), _act(demo, dispute_id, "archive", {})
        )

    return act


def _follow_up(demo: Demo, dispute_id: str) -> Any:
    async def act() -> None:
        rng = fate(demo.seed, "follow-up", dispute_id)
        fulfilment = rng.choices(["fulfilled", "partly", "not"], [0.95, 0.03, 0.02])[0]
        await _act(demo, dispute_id, "follow-up", {"fulfilment": fulfilment})()
        demo.later(
            dispute_id, "archive", demo.latency(dispute_id, "archive", (1, 24)), _act(demo, dispute_id, "archive", {})
        )

    return act
