"""Citizens arriving as planned: at the walk-in windows (4 levels), on the 12348 hotline, on the 12348 web, and
at the counters of the notary, the mediation committee and the legal aid centre."""

from __future__ import annotations

from functools import cache
from typing import Any

from integrations.demo import intake_staff
from integrations.demo.cities import city_of
from integrations.demo.day import Demo
from integrations.demo.people import person
from integrations.demo.plan import Visit, fate
from integrations.demo.scheduler import Act

#: share of web visitors who ask for a real-time consultation before posting their question
REALTIME_SHARE = 0.4


def handle(demo: Demo, v: Visit) -> Act:
    """The act that plays visit `v` when it is due."""
    play = {"walk_in": walk_in, "hotline": hotline, "web": web, "notary": notary, "mediation": mediation,
            "legal_aid": legal_aid}[v.channel]  # fmt: skip

    async def act() -> None:
        await play(demo, v)

    return act


async def walk_in(demo: Demo, v: Visit) -> None:
    request_id = await intake_staff.receive(demo, v, "walk_in", person(demo.seed, v.n, v.city))
    await intake_staff.settle(demo, v, request_id)


async def hotline(demo: Demo, v: Visit) -> None:
    offered_at = demo.scheduler.clock()
    call_id = await intake_staff.offer_call(demo, v, offered_at)
    if v.path == "abandon":
        demo.later(call_id, "abandon", v.wait_seconds / 3600, lambda: _abandon(demo, call_id))
        return

    async def answered() -> None:
        await intake_staff.answer_call(demo, call_id, offered_at, v.wait_seconds)
        request_id = await intake_staff.receive(demo, v, "hotline_12348", None, call_id=call_id)
        if v.path == "work_order":
            await intake_staff.open_work_order(demo, v, request_id)
        else:
            await intake_staff.settle(demo, v, request_id)

    demo.later(call_id, "answer", v.wait_seconds / 3600, answered)


async def _abandon(demo: Demo, call_id: str) -> None:
    await demo.platform.post("intake", f"/calls/{call_id}/abandon", None, demo.key(call_id, "abandon"))


async def web(demo: Demo, v: Visit) -> None:
    """A question posted on the 12348 web; some visitors first ask for a real-time consultation (实时咨询, 002),
    connected after a wait (some over the 30 s target)."""
    rng = fate(demo.seed, "realtime", v.n)
    if rng.random() < REALTIME_SHARE:
        offered_at = demo.scheduler.clock()
        call_id = await intake_staff.offer_call(demo, v, offered_at, line="web_12348")
        wait = rng.randint(31, 90) if rng.random() < 0.1 else rng.randint(3, 30)
        demo.later(call_id, "answer", wait / 3600, lambda: intake_staff.answer_call(demo, call_id, offered_at, wait))
    body = {"region": v.region, "topic": v.topic, "kind": v.kind}
    rq = await demo.platform.post("intake", "/web/questions", body, demo.key(demo.run_id, v.n, "question"))
    intake_staff.publish_reply_later(demo, v, str(rq["request_id"]))


async def notary(demo: Demo, v: Visit) -> None:
    """A notarisation application at the city's notary office, every required material brought along."""
    applicant = {"applicant": person(demo.seed, v.n, v.city)}
    await notarisation(demo, v.region, v.matter, applicant, demo.key(demo.run_id, v.n, "notary"))


async def notarisation(
    demo: Demo, region: str, matter: str, applicant: dict[str, Any], key: str, aid_case_id: str | None = None
) -> None:
    """Apply at the notary office of the region's city (`applicant`: {"applicant": person} or {"applicant_ref"})."""
    city = city_of(demo.cities, region)
    body = {"region": region, "office": f"GZ{city[:4]}", "matter": matter, "aid_case_id": aid_case_id,
            "materials_supplied": await _materials(demo, matter), **applicant}  # fmt: skip
    await demo.platform.post("notary", "/applications", body, key)


async def _materials(demo: Demo, matter: str) -> list[str]:
    catalogue = await _catalogue(demo)
    return catalogue.get(matter, [])


@cache
def _catalogue_cache() -> dict[str, list[str]]:
    return {}


async def _catalogue(demo: Demo) -> dict[str, list[str]]:
    cached = _catalogue_cache()
    if not cached:
        data = await demo.platform.get("notary", "/matters")
        cached.update({m["id"]: [x["id"] for x in m["materials"]] for m in data["matters"]})
    return cached


async def mediation(demo: Demo, v: Visit) -> None:
    """Parties register a dispute at the town's committee (当事人申请)."""
    parties = [{"person": person(demo.seed, v.n, v.city)}, {"person": person(demo.seed, v.n + 1_000_000, v.city)}]
    body = {"source": "walk_in", "dispute_type": v.matter, "region": v.region, "parties": parties,
            "claim": "双方就赔偿数额协商未果, 申请人民调解"}  # fmt: skip
    await demo.platform.post("mediation", "/disputes", body, demo.key(demo.run_id, v.n, "dispute"))


async def legal_aid(demo: Demo, v: Visit) -> None:
    """An application for legal aid at the aid centre's window (公民申请)."""
    body = {"channel": "walk_in", "region": v.region, "matter_type": v.matter, "matter": "请求支付拖欠的劳动报酬",
            "applicant": person(demo.seed, v.n, v.city)}  # fmt: skip
    await demo.platform.post("legal_aid", "/applications", body, demo.key(demo.run_id, v.n, "aid"))
