"""The notary office's staff: accept (受理) or refuse applications, assess fees (waived for aid recipients whose
waiver legal aid granted), issue certificates (出证; some late past 15 working days), perform and report courts'
commissions; and the court's feedback on notarial documents it was shown as evidence (adopted or not)."""

from __future__ import annotations

from typing import Any

from integrations.demo.day import Demo
from integrations.demo.evaluations import citizen_rates
from integrations.demo.plan import fate
from integrations.demo.scheduler import Act

DEPT = "notary"


async def round_(demo: Demo) -> None:
    for a in await demo.worklist(DEPT, "/applications", "applied"):
        demo.due(a["application_id"], "accept", (0.2, 8), _accept(demo, a["application_id"]), late=(48, 72))
    for a in await demo.worklist(DEPT, "/applications", "accepted"):
        demo.due(a["application_id"], "assess-fee", (0.1, 2), _act(demo, a["application_id"], "assess-fee", {}))
    for a in await demo.worklist(DEPT, "/applications", "fee_assessed"):
        issue = _issue(demo, a["application_id"])
        demo.due(a["application_id"], "issue", (0.5, 24), issue, late=(24 * 22, 24 * 25), late_share=0.05)
    for c in await demo.platform.get(DEPT, "/commissions", status="accepted", limit=200):
        demo.due(c["commission_id"], "perform", (1, 48), _commission(demo, c["commission_id"]))


def _act(demo: Demo, application_id: str, name: str, body: dict[str, Any]) -> Act:
    return demo.act(DEPT, "/applications", application_id, name, body)


def _accept(demo: Demo, application_id: str) -> Any:
    async def act() -> None:
        if fate(demo.seed, "refuse", application_id).random() < 0.04:
            await _act(demo, application_id, "refuse", {"reason": "申请公证的事项不属于本公证机构执业区域"})()
        else:
            await _act(demo, application_id, "accept", {})()

    return act


def _issue(demo: Demo, application_id: str) -> Any:
    async def act() -> None:
        issued = await _act(demo, application_id, "issue", {"collected_in_person": True})()
        citizen_rates(demo, DEPT, application_id)
        rng = fate(demo.seed, "court", application_id)
        if rng.random() < 0.6:  # the document is later shown to a court as evidence
            demo.due(application_id, "feedback", (1, 24), _feedback(demo, issued, rng.random()))

    return act


def _feedback(demo: Demo, issued: dict[str, Any], roll: float) -> Any:
    async def act() -> None:
        body = {"partner_reference": f"DEMO-{demo.run_id}-{issued['application_id'][-10:]}",
                "certificate_no": issued["certificate_no"], "adopted": roll >= 0.005,
                "decided_at": demo.scheduler.clock().isoformat()}  # fmt: skip
        await demo.platform.post("court", "/feedback", body, demo.key(issued["application_id"], "feedback"))

    return act


def _commission(demo: Demo, commission_id: str) -> Any:
    async def act() -> None:
        await demo.act(DEPT, "/commissions", commission_id, "perform", {"summary": "已按委托完成送达"})()
        await demo.act(DEPT, "/commissions", commission_id, "report", None)()

    return act
