"""Mediation's use cases: register a dispute (walk-in, partner or intake referral), assign and act on it, record
the court's ruling, sweep lapsed windows; and turn outcomes into their views (the committee registry's use
cases: roster.py).

Routes call these with the wired service (`bootstrap.Mediation`) and the `Call` (who, when, which key);
consumers with a context made from the incoming event. A referral's dispute id comes from the referrer's own
reference, so a re-sent referral lands on the same dispute. Nothing here knows HTTP or the database.
"""

from __future__ import annotations

import hashlib
import uuid
from datetime import datetime
from typing import TYPE_CHECKING, Any

from services.mediation import domain, views
from services.mediation.reference import Committee, CommitteeRegistry, Mediator
from services.mediation.schemas import (
    AckOut,
    AssignIn,
    CommandOut,
    DisputeList,
    DisputeOut,
    Flags,
    PartyIn,
    ReferralIn,
    RegisterIn,
    RulingIn,
    recorded_at,
)
from shared.auth import Principal
from shared.commands import CommandContext, Outcome
from shared.contracts.common import Partner
from shared.contracts.intake import RequestReferred
from shared.contracts.mediation import AckDecision, Referrer, Source
from shared.contracts.mediation import Outcome as MediationOutcome
from shared.contracts.partners import DisputeReferred, JudicialConfirmationDecided, ReferralKind
from shared.deps import Call
from shared.errors import NotFound, ValidationFailed
from shared.events import Command

if TYPE_CHECKING:  # bootstrap subscribes the consumers, which call these
    from services.mediation.bootstrap import Mediation

DisputeOutcome = Outcome[domain.Dispute]
KIND_SOURCE = {
    ReferralKind.POLICE_110: Source.POLICE_110,
    ReferralKind.COURT_PRE_LITIGATION: Source.COURT_PRE_LITIGATION,
    ReferralKind.PROCURATORATE_RECONCILIATION: Source.PROCURATORATE_RECONCILIATION,
    ReferralKind.PETITION: Source.PETITION,
}


def referral_dispute_id(referrer: str, reference: str) -> str:
    """Deterministic: the same referral (by the referrer's own reference) always maps to the same dispute."""
    return f"md-{referrer}-{hashlib.sha256(reference.encode()).hexdigest()[:24]}"


def new_dispute_id() -> str:
    return f"md-{uuid.uuid4().hex[:24]}"


def partner_of_source(source: str) -> Partner:
    """An event's `partner/<name>` source → Partner, refusing an organ the platform does not know."""
    kind, _, name = source.partition("/")
    return _organ(name if kind == "partner" else "", source, "source")


def partner_of_caller(principal: Principal) -> Partner:
    return _organ(principal.partner or "", principal.subject, "authorization")


def _organ(name: str, shown: str, field: str) -> Partner:
    try:
        return Partner(name)
    except ValueError:
        raise ValidationFailed(f"unknown referring organ {shown!r}", field=field) from None


# -- disputes -----------------------------------------------------------------------------------------------
async def act(m: Mediation, dispute_id: str, command: Command, call: Call, *, creates: bool = False) -> CommandOut:
    """Execute one command on one dispute; a replayed key is marked on the answer."""
    return command_out(call.answered(await m.bus.execute(dispute_id, command, call.context(creates=creates))))


def _registration(m: Mediation, **fields: Any) -> domain.RegisterDispute:
    """A registration with the time limit of its source and the registry's word on whether a committee can take it."""
    return domain.RegisterDispute(
        **fields,
        time_limit_days=m.settings.time_limit(fields["source"]),
        not_covered=m.registry.coverage_problem(fields["region"], fields["dispute_type"]),
    )


async def register(m: Mediation, body: RegisterIn, call: Call) -> CommandOut:
    """Walk-in registration (当事人申请) under a fresh id, or a petition office referral (访调对接) typed in by staff,
    under the id the office's own referral event would get (one dispute per petition reference)."""
    at = recorded_at(body.registered_at, call.now)  # before the vault write: a refused request stores nobody
    reference = body.petition_reference if body.source is Source.PETITION else None
    dispute_id = referral_dispute_id(Partner.PETITION_OFFICE.value, reference) if reference else new_dispute_id()
    command = _registration(
        m,
        dispute_id=dispute_id,
        at=at,
        source=body.source,
        dispute_type=body.dispute_type,
        region=body.region,
        parties=[await _party(m, p) for p in body.parties],
        claim=body.claim,
        complex=body.complex,
        referrer=Referrer.PETITION_OFFICE if body.source is Source.PETITION else None,
        partner_reference=body.petition_reference,
    )
    return await act(m, dispute_id, command, call, creates=True)


async def _party(m: Mediation, party: PartyIn) -> str:
    if party.person is not None:
        return await m.vault.register(party.person)
    assert party.person_ref is not None  # PartyIn holds exactly one of the two
    return party.person_ref


async def register_referral(
    m: Mediation, partner: Partner, referral: DisputeReferred, at: datetime, ctx: CommandContext
) -> DisputeOutcome:
    """警调 / 诉调 / 检调 / 访调对接: the organ's referral becomes a dispute (or a reasoned decline)."""
    dispute_id = referral_dispute_id(partner.value, referral.partner_reference)
    command = _registration(
        m,
        dispute_id=dispute_id,
        at=at,
        source=KIND_SOURCE[referral.kind],
        dispute_type=referral.dispute_type,
        region=referral.region,
        parties=list(referral.parties),
        claim=referral.summary,
        referrer=Referrer(partner.value),
        partner_reference=referral.partner_reference,
    )
    return await m.bus.execute(dispute_id, command, ctx)


async def refer(m: Mediation, body: ReferralIn, call: Call) -> AckOut:
    """A partner organ's referral over HTTP, answered with the acknowledgement its outbound topic gets."""
    partner = partner_of_caller(call.principal)
    referral = DisputeReferred(**body.model_dump(exclude={"correlation_id"}))
    ctx = call.context(correlation_id=body.correlation_id)
    outcome = call.answered(await register_referral(m, partner, referral, call.now, ctx))
    declined = outcome.state.status is domain.Status.DECLINED
    return AckOut(
        dispute_id=outcome.stream_id,
        decision=AckDecision.DECLINED if declined else AckDecision.ACCEPTED,
        reason=outcome.state.decline_reason,
        correlation_id=outcome.correlation_id,
    )


async def register_intake_referral(
    m: Mediation, intake_case_id: str, referral: RequestReferred, at: datetime, ctx: CommandContext
) -> DisputeOutcome:
    """Intake's triage referral (to mediation) becomes a dispute under an id derived from the intake case."""
    if not referral.dispute_type:
        raise ValidationFailed("a mediation referral needs a dispute type", field="dispute_type")
    if referral.person_ref is None:
        raise ValidationFailed("a mediation referral needs the person's reference", field="person_ref")
    dispute_id = referral_dispute_id("intake", intake_case_id)
    command = _registration(
        m,
        dispute_id=dispute_id,
        at=at,
        source=Source.INTAKE,
        dispute_type=referral.dispute_type,
        region=referral.region,
        parties=[referral.person_ref],
        claim=referral.matter,
        referrer=Referrer.INTAKE,
        intake_case_id=intake_case_id,
    )
    return await m.bus.execute(dispute_id, command, ctx)


async def assign(m: Mediation, dispute_id: str, body: AssignIn, call: Call) -> CommandOut:
    """Assign the named committee/mediator, or the registry's proposal when none is named."""
    at = recorded_at(body.at, call.now)
    state, _ = await m.bus.load(dispute_id)
    if state.status is domain.Status.NEW:
        raise NotFound("no such dispute", field="dispute_id")
    committee, mediator = _chosen(m.registry, state, body.committee_id, body.mediator_id)
    fit = domain.CommitteeFit(
        committee_id=committee.id,
        committee_kind=committee.kind,
        regions=list(committee.regions),
        dispute_types=list(committee.dispute_types),
        mediator_id=mediator.id,
        mediator_committee_id=mediator.committee_id,
        mediator_active=mediator.active,
    )
    return await act(m, dispute_id, domain.AssignMediator(at=at, fit=fit), call)


def _chosen(
    registry: CommitteeRegistry, state: domain.Dispute, committee_id: str | None, mediator_id: str | None
) -> tuple[Committee, Mediator]:
    if committee_id is None and mediator_id is None:
        return registry.pick(state.region, state.dispute_type, state.referrer.value if state.referrer else None)
    named = registry.mediator(mediator_id) if mediator_id else None
    committee = registry.committee(committee_id or (named.committee_id if named else ""))
    if named is not None:
        return committee, named
    candidates = sorted(
        registry.mediators_of(committee.id), key=lambda m: (state.dispute_type not in m.specialisms, m.id)
    )
    if not candidates:
        raise ValidationFailed(f"committee {committee.id} has no active mediator", field="mediator_id")
    return committee, candidates[0]


async def record_ruling(
    m: Mediation, dispute_id: str, ruling: RulingIn | JudicialConfirmationDecided, ctx: CommandContext
) -> DisputeOutcome:
    """The court's ruling on judicial confirmation (司法确认), over HTTP or on its inbound topic."""
    command = domain.RecordConfirmation(
        at=ruling.decided_at,
        outcome=MediationOutcome(ruling.outcome.value),
        reason=ruling.reason,
        court_reference=ruling.partner_reference,
    )
    return await m.bus.execute(dispute_id, command, ctx)


async def sweep_lapsed_windows(m: Mediation, now: datetime, actor: str = "system:mediation") -> list[str]:
    """Record the lapse of every confirmation window that closed without a request; returns the disputes."""
    query = {**views.overdue_query(now)["$or"][1], "window_lapsed": False}
    lapsed: list[str] = []
    for doc in await m.cases.find(query, limit=1000):
        ctx = CommandContext(actor=actor, idempotency_key=f"lapse:{doc['_id']}")
        outcome = await m.bus.execute(doc["_id"], domain.RecordWindowLapse(at=now), ctx)
        if outcome.events:
            lapsed.append(doc["_id"])
    return lapsed


def command_out(outcome: DisputeOutcome) -> CommandOut:
    return CommandOut(
        dispute_id=outcome.stream_id,
        status=outcome.state.status.value,
        version=outcome.version,
        duplicate=outcome.duplicate,
        correlation_id=outcome.correlation_id,
        events=[e.type for e in outcome.events],
    )


def dispute_view(doc: dict[str, Any], now: datetime) -> DisputeOut:
    fields = {k: doc.get(k) for k in DisputeOut.model_fields if k != "flags"}
    return DisputeOut(**fields, flags=Flags(**views.flags(doc, now)))


def dispute_list(docs: list[dict[str, Any]], now: datetime, next_page: str | None = None) -> DisputeList:
    return DisputeList(items=[dispute_view(d, now) for d in docs], count=len(docs), next=next_page)


async def stored_dispute(m: Mediation, dispute_id: str, now: datetime) -> DisputeOut:
    doc = await m.cases.get(dispute_id)
    if doc is None:
        raise NotFound(f"no dispute {dispute_id}", field="dispute_id")
    return dispute_view(doc, now)
