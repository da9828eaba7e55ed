"""Legal aid's staff: review applications (grant or refuse, 审查), assign a lawyer, grassroots worker or aid-centre
staff to granted cases and partners' notified-defence requests (指派), close, review quality, pay the subsidy, and
grant notary fee waivers to aid recipients who need a notarisation (flow 7)."""

from __future__ import annotations

from typing import Any

from integrations.demo import citizens
from integrations.demo.cities import city_of
from integrations.demo.day import Demo
from integrations.demo.evaluations import citizen_rates
from integrations.demo.plan import fate

DEPT = "legal_aid"
PROVIDER_TYPES = {"lawyer": 0.75, "grassroots_worker": 0.15, "aid_centre_staff": 0.10}
CRIMINAL_KINDS = ("notified_defence", "duty_lawyer", "detainee_forwarded")
WAIVED_MATTER = "kinship"


async def round_(demo: Demo) -> None:
    """Look at the worklist: schedule a review for each new application, and an assignment for each granted case
    while the city has a provider with room (the rest wait: deadlines are missed when a city has too few)."""
    for case in await demo.platform.get(DEPT, "/applications", status="applied", limit=200):
        demo.due(case["id"], "review", (0.5, 12), _review(demo, case), late=(170, 200))  # 7 days: art. 43
    free: dict[str, list[dict[str, Any]]] = {}
    for case in await demo.platform.get(DEPT, "/applications", status="granted", limit=200):
        if demo.is_scheduled(case["id"], "assign"):
            continue
        city = city_of(demo.cities, case["region"])
        if city not in free:
            free[city] = await demo.platform.get(DEPT, "/providers", city=city)
        provider = _provider_with_room(demo, case, free[city])
        if provider is not None:
            demo.due(case["id"], "assign", (0.5, 12), _assign(demo, case, provider), late=(73, 100))  # art. 36: 3 d


def _provider_with_room(demo: Demo, case: dict[str, Any], providers: list[dict[str, Any]]) -> str | None:
    """A provider of the type the case wants with a free place (places already promised counted), reserved."""
    rng = fate(demo.seed, "provider", case["id"])
    criminal = case.get("kind") in CRIMINAL_KINDS  # criminal defence: a lawyer only
    wanted = "lawyer" if criminal else rng.choices(list(PROVIDER_TYPES), list(PROVIDER_TYPES.values()))[0]
    room = [p for p in providers if p["capacity"] - p["open_cases"] - demo.reserved[p["id"]] > 0]
    pool = [p for p in room if p["type"] == wanted] or ([] if criminal else room)
    if not pool:
        return None
    chosen = str(rng.choice(pool)["id"])
    demo.reserved[chosen] += 1
    return chosen


def _step(demo: Demo, case_id: str, name: str, body: dict[str, Any]) -> Any:
    return demo.act(DEPT, "/applications", case_id, name, body)()


def _review(demo: Demo, case: dict[str, Any]) -> Any:
    async def act() -> None:
        rng = fate(demo.seed, "decision", case["id"])
        matter = case.get("matter_type")
        body: dict[str, Any] = {"matter_type": matter if matter not in (None, "unspecified") else "wages"}
        if rng.random() < 0.15:
            body |= {"household_income_per_head": 20000, "refuse_reason": "家庭经济状况不符合法律援助条件"}
        else:
            body["household_income_per_head"] = round(rng.uniform(200, 600))
        await _step(demo, case["id"], "review", body)

    return act


def _assign(demo: Demo, case: dict[str, Any], provider_id: str) -> Any:
    async def act() -> None:
        try:
            await _step(demo, case["id"], "assign", {"provider_id": provider_id})
        finally:
            demo.reserved[provider_id] -= 1
        criminal = case.get("kind") in CRIMINAL_KINDS
        demo.due(case["id"], "close", (6, 48), _close(demo, case), late=(72, 150))
        if not criminal and case.get("client_ref") and fate(demo.seed, "waiver", case["id"]).random() < 0.7:
            await _fee_waiver(demo, case)

    return act


def _close(demo: Demo, case: dict[str, Any]) -> Any:
    async def act() -> None:
        rng = fate(demo.seed, "outcome", case["id"])
        outcome = (
            "advice_given" if case.get("kind") == "duty_lawyer" else rng.choice(["judgment", "settled", "mediated"])
        )
        await _step(demo, case["id"], "close", {"outcome": outcome})
        citizen_rates(demo, DEPT, case["id"])
        demo.due(case["id"], "quality-review", (1, 24), _quality(demo, case["id"]))

    return act


def _quality(demo: Demo, case_id: str) -> Any:
    async def act() -> None:
        rng = fate(demo.seed, "quality", case_id)
        method = rng.choice(["file_review", "court_attendance", "client_follow_up"])
        await _step(demo, case_id, "quality-review", {"score": rng.randint(62, 100), "method": method})
        subsidy = {"amount": float(rng.randrange(800, 3000, 100))}
        demo.due(case_id, "subsidy", (1, 24), lambda: _step(demo, case_id, "subsidy", subsidy))

    return act


async def _fee_waiver(demo: Demo, case: dict[str, Any]) -> None:
    """The recipient needs a notarisation for the aid matter: legal aid waives the fee, the citizen applies."""
    await _step(demo, case["id"], "fee-waivers", {"notary_matter": WAIVED_MATTER, "waiver": 1.0})
    applicant = {"applicant_ref": case["client_ref"]}
    key = demo.key(case["id"], "notary-application")

    async def apply() -> None:
        await citizens.notarisation(demo, case["region"], WAIVED_MATTER, applicant, key, aid_case_id=case["id"])

    demo.due(case["id"], "notary-application", (0.2, 3), apply)
