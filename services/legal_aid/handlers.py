"""Legal aid's use cases: open a case (application, partner notice, intake referral), take it through its steps,
and read it back with its deadlines as they stand.

Routes call these with the wired service (`bootstrap.LegalAid`) and the `Call` (who, when, which key); consumers
call the ways in with a `CommandContext` made from the event, so a notice arriving over HTTP or on a partner
topic takes the same path. Case ids: a citizen application gets a random id; a notice or a referral gets one
derived from what identifies it (the organ and its reference, the referral event), so a repeat never opens a
second case. Nothing here knows HTTP or the database.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from services.legal_aid import domain, views
from services.legal_aid.schemas import (
    ApplicationBody,
    CaseView,
    DefenceNoticeBody,
    DetaineeNoticeBody,
    ProviderView,
    ReviewBody,
    Status,
)
from shared.commands import CommandContext, Outcome
from shared.contracts.common import Partner
from shared.contracts.intake import RequestReferred
from shared.contracts.legal_aid import CaseKind, Channel, MatterType, ProviderType
from shared.contracts.partners import DefenceKind, DetaineeApplicationForwarded, NotifiedDefenceRequested
from shared.deps import Call
from shared.errors import DomainError, Forbidden, NotFound, ValidationFailed
from shared.events import Command

if TYPE_CHECKING:  # bootstrap subscribes the consumers, which call these
    from services.legal_aid.bootstrap import LegalAid

CaseOutcome = Outcome[domain.AidCase]


def new_case_id() -> str:
    return f"la-{uuid.uuid4().hex[:20]}"


def notice_case_id(organ: str, reference: str, kind: str) -> str:
    digest = hashlib.sha256(f"{organ}\x00{reference}\x00{kind}".encode()).hexdigest()[:20]
    return f"la-n-{digest}"


def referral_case_id(event_id: str) -> str:
    return f"la-r-{hashlib.sha256(event_id.encode()).hexdigest()[:20]}"


def require_profile(la: LegalAid, region: str) -> domain.Threshold:
    profile = la.profiles.for_region(region)
    if profile is None:
        raise ValidationFailed(
            f"no legal aid city profile serves region {region}", field="region", code="region_not_served"
        )
    return profile.threshold


async def get_case(la: LegalAid, case_id: str) -> dict[str, Any]:
    doc = await la.cases.get(case_id)
    if doc is None:
        raise NotFound(f"no legal aid case {case_id}", field="id")
    return doc


# -- ways in (HTTP and Kafka) ----------------------------------------------------------------------------------


async def open_application(
    la: LegalAid, case_id: str, cmd: domain.ReceiveApplication, ctx: CommandContext
) -> CaseOutcome:
    require_profile(la, cmd.region)
    return await la.bus.execute(case_id, cmd, ctx)


async def notified_defence(
    la: LegalAid, organ: Partner, p: NotifiedDefenceRequested, ctx: CommandContext
) -> CaseOutcome:
    require_profile(la, p.region)  # an organ outside every served city is unknown here
    kind = CaseKind.NOTIFIED_DEFENCE if p.kind is DefenceKind.NOTIFIED_DEFENCE else CaseKind.DUTY_LAWYER
    cmd = domain.ReceiveNotice(
        kind=kind,
        region=p.region,
        defendant_ref=p.defendant_ref,
        notified_by=organ,
        partner_reference=p.partner_reference,
        stage=p.stage.value,
        charge=p.charge,
        reason=p.reason,
        notified_at=p.notified_at,
    )
    return await la.bus.execute(notice_case_id(organ.value, p.partner_reference, kind.value), cmd, ctx)


async def detainee_application(
    la: LegalAid, organ: Partner, p: DetaineeApplicationForwarded, ctx: CommandContext
) -> CaseOutcome:
    cmd = domain.ReceiveApplication(
        kind=CaseKind.DETAINEE_FORWARDED,
        channel=Channel.PARTNER,
        region=p.region,
        matter_type=MatterType.CRIMINAL,
        matter=p.matter,
        applicant_ref=p.applicant_ref,
        applied_at=p.forwarded_at,  # legal aid receives it when forwarded: the 7-day review clock starts here
        forwarded_by=organ,
        partner_reference=p.partner_reference,
        received_at=p.received_at,
        forwarded_at=p.forwarded_at,
    )
    case_id = notice_case_id(organ.value, p.partner_reference, CaseKind.DETAINEE_FORWARDED.value)
    return await open_application(la, case_id, cmd, ctx)


async def referral(
    la: LegalAid, event_id: str, intake_case: str, p: RequestReferred, at: datetime, ctx: CommandContext
) -> CaseOutcome:
    cmd = domain.ReceiveApplication(
        channel=Channel.INTAKE_REFERRAL,
        region=p.region,
        matter_type=MatterType.UNSPECIFIED,  # the reviewer classifies it
        matter=p.matter[:500],
        applicant_ref=p.person_ref,
        applied_at=at,
        referral_case_id=intake_case,
    )
    return await open_application(la, referral_case_id(event_id), cmd, ctx)


async def receive_application(la: LegalAid, body: ApplicationBody, call: Call) -> CaseView:
    require_profile(la, body.region)  # before anything is written, the vault included
    applicant = await la.vault.register(body.applicant)
    opposing = tuple([await la.vault.register(p) for p in body.opposing_parties])
    cmd = domain.ReceiveApplication(
        channel=body.channel,
        region=body.region,
        matter_type=body.matter_type,
        matter=body.matter,
        applicant_ref=applicant,
        opposing_party_refs=opposing,
        household_income_per_head=body.household_income_per_head,
        special_groups=tuple(body.special_groups),
        applied_at=call.now,
    )
    return answer(await open_application(la, new_case_id(), cmd, call.context(creates=True)), call)


async def receive_notice(la: LegalAid, body: DefenceNoticeBody | DetaineeNoticeBody, call: Call) -> CaseView:
    if call.principal.partner != body.organ.value:
        raise Forbidden(f"a {call.principal.partner} token cannot send a notice from the {body.organ.value}")
    fields = body.model_dump(exclude={"organ", "kind"})  # the rest is the partner's event, field for field
    if isinstance(body, DefenceNoticeBody):
        notice = NotifiedDefenceRequested(**fields, kind=DefenceKind(body.kind))
        outcome = await notified_defence(la, body.organ, notice, call.context())
    else:
        outcome = await detainee_application(la, body.organ, DetaineeApplicationForwarded(**fields), call.context())
    return answer(outcome, call)


# -- steps -----------------------------------------------------------------------------------------------------


async def act(la: LegalAid, case_id: str, command: Command, call: Call) -> CaseView:
    return answer(await la.bus.execute(case_id, command, call.context()), call)


async def take_step(la: LegalAid, case_id: str, command: Command, call: Call) -> CaseView:
    """One step on an existing case (a 404 rather than a stream opened by accident)."""
    await get_case(la, case_id)
    return await act(la, case_id, command, call)


async def review_application(la: LegalAid, case_id: str, body: ReviewBody, call: Call) -> CaseView:
    profile = la.profiles.for_region((await get_case(la, case_id))["region"])
    cmd = domain.Review(
        at=call.now,
        threshold=profile.threshold if profile else None,
        matter_type=body.matter_type,
        household_income_per_head=body.household_income_per_head,
        special_groups=tuple(body.special_groups) if body.special_groups is not None else None,
        refuse_reason=body.refuse_reason,
    )
    return await act(la, case_id, cmd, call)


async def assign_provider(la: LegalAid, case_id: str, provider_id: str, call: Call) -> CaseView:
    doc = await get_case(la, case_id)
    provider = la.providers.get(provider_id)
    if provider is None:
        raise ValidationFailed(f"no provider {provider_id} in the registry", field="provider_id")
    profile = la.profiles.for_region(doc["region"])
    if profile is None or profile.code != provider.city:
        raise DomainError(
            f"provider {provider_id} does not serve region {doc['region']}", field="provider_id", code="wrong_city"
        )
    facts = await provider_facts(la, provider_id, provider.type, provider.capacity, exclude=case_id)
    return await act(la, case_id, domain.Assign(case_id=case_id, provider=facts, at=call.now), call)


async def provider_facts(
    la: LegalAid, provider_id: str, ptype: ProviderType, capacity: int, *, exclude: str = ""
) -> domain.ProviderFacts:
    docs = await la.cases.find({"provider_id": provider_id, "_id": {"$ne": exclude}}, limit=10_000)
    open_cases = sum(1 for d in docs if d["status"] == "assigned")
    clients = frozenset(d["client_ref"] for d in docs if d.get("client_ref"))
    opponents = frozenset(r for d in docs for r in d.get("opposing_refs", []))
    return domain.ProviderFacts(provider_id, ptype, capacity, open_cases, clients, opponents)


# -- views -----------------------------------------------------------------------------------------------------


def case_view(doc: dict[str, Any], at: datetime) -> CaseView:
    """A case with each deadline's status as it stands at `at` (due soon or missed depends on the reader's clock)."""
    return CaseView.model_validate({**doc, "id": doc["_id"], "deadlines": views.deadline_view(doc, at)})


def answer(outcome: CaseOutcome, call: Call) -> CaseView:
    """The case a command left, as the caller sees it; a replayed key is marked on the response."""
    outcome = call.answered(outcome)
    return case_view(views.render(outcome.stream_id, outcome.state, outcome.version), call.now)


async def read_case(la: LegalAid, case_id: str, call: Call) -> CaseView:
    return case_view(await get_case(la, case_id), call.now)


async def find_cases(
    la: LegalAid,
    call: Call,
    *,
    status: Status | None = None,
    region: str | None = None,
    due_before: datetime | None = None,
    overdue: bool | None = None,
    limit: int = 100,
) -> list[CaseView]:
    """The worklist: cases by status and region; `due_before` / `overdue` pick cases by their next unmet deadline."""
    query: dict[str, Any] = {}
    if status:
        query["status"] = status
    if region:
        query["region"] = region if len(region) == 12 else {"$prefix": region}
    due: dict[str, Any] = {}
    if due_before is not None:
        due["$lte"] = due_before if due_before.tzinfo else due_before.replace(tzinfo=UTC)
    if overdue:
        due["$lte"] = min(due.get("$lte", call.now), call.now)
    elif overdue is False:
        due["$gt"] = call.now
    if due:
        query["next_due_at"] = {"$ne": None, **due}
    docs = await la.cases.find(query, sort="next_due_at" if due else "_id", limit=limit)
    return [case_view(d, call.now) for d in docs]


async def list_providers(la: LegalAid, city: str | None = None) -> list[ProviderView]:
    """The registry with each provider's open (assigned) cases against its capacity: one indexed count per
    provider, whatever the number of cases stored."""
    listed = [p for p in la.providers.providers if city is None or p.city == city]
    loads = {p.id: await la.cases.count({"status": "assigned", "provider_id": p.id}) for p in listed}
    return [
        ProviderView(
            id=p.id,
            type=p.type,
            city=p.city,
            capacity=p.capacity,
            open_cases=loads[p.id],
            available=loads[p.id] < p.capacity,
        )
        for p in listed
    ]
