"""Use cases combining the command bus, the committee registry, the person vault and the clock.

Each turns an HTTP request or an incoming event into a domain command: referrals get their dispute id (derived
from the referrer's own reference, so a re-sent referral lands on the same dispute), their time limit and
whether a committee can take them; assignments get the committee and mediator looked up (or proposed).
"""

from __future__ import annotations

import hashlib
import uuid
from collections.abc import Callable
from datetime import UTC, datetime

from services.mediation import committees, domain
from services.mediation.committees import CommitteeState, MediatorIn
from services.mediation.config import Settings
from services.mediation.domain import Dispute
from services.mediation.reference import Committee, CommitteeRegistry, Mediator
from services.mediation.views import overdue_query
from shared.commands import CommandBus, CommandContext, Outcome
from shared.contracts.common import Partner
from shared.contracts.mediation import CommitteeKind, Referrer, Source
from shared.contracts.partners import DisputeReferred, ReferralKind
from shared.errors import NotFound, ValidationFailed
from shared.readmodel import ReadModel

Clock = Callable[[], datetime]
KIND_SOURCE = {
    ReferralKind.POLICE_110: Source.POLICE_110,
    ReferralKind.COURT_PRE_LITIGATION: Source.COURT_PRE_LITIGATION,
    ReferralKind.PROCURATORATE_RECONCILIATION: Source.PROCURATORATE_RECONCILIATION,
}


def utcnow() -> datetime:
    return datetime.now(UTC)


def _digest(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:24]


def referral_dispute_id(referrer: str, reference: str) -> str:
    """Deterministic: the same referral (by the referrer's own reference) always maps to the same dispute."""
    return f"md-{referrer}-{_digest(reference)}"


def new_dispute_id() -> str:
    return f"md-{uuid.uuid4().hex[:24]}"


def partner_of_source(source: str) -> Partner:
    """`partner/<name>` → Partner, refusing an organ the platform does not know."""
    kind, _, name = source.partition("/")
    try:
        if kind != "partner":
            raise ValueError
        return Partner(name)
    except ValueError:
        raise ValidationFailed(f"unknown referring organ {source!r}", field="source") from None


class MediationService:
    def __init__(
        self,
        bus: CommandBus[Dispute],
        cases: ReadModel[Dispute],
        registry: CommitteeRegistry,
        settings: Settings,
        clock: Clock = utcnow,
    ) -> None:
        self.bus = bus
        self.cases = cases
        self.registry = registry
        self.settings = settings
        self.clock = clock

    async def execute(self, dispute_id: str, command: domain.Command, ctx: CommandContext) -> Outcome[Dispute]:
        return await self.bus.execute(dispute_id, command, ctx)

    # -- registration --------------------------------------------------------------------------------------
    def registration(
        self,
        *,
        dispute_id: str,
        at: datetime,
        source: Source,
        dispute_type: str,
        region: str,
        parties: list[str],
        claim: str,
        complex: bool | None = None,
        referrer: Referrer | None = None,
        partner_reference: str | None = None,
        intake_case_id: str | None = None,
    ) -> domain.RegisterDispute:
        return domain.RegisterDispute(
            dispute_id=dispute_id,
            at=at,
            source=source,
            dispute_type=dispute_type,
            region=region,
            parties=parties,
            claim=claim,
            complex=complex,
            referrer=referrer,
            partner_reference=partner_reference,
            intake_case_id=intake_case_id,
            time_limit_days=self.settings.time_limit(source),
            not_covered=self.registry.coverage_problem(region, dispute_type),
        )

    async def register_partner_referral(
        self, partner: Partner, referral: DisputeReferred, ctx: CommandContext
    ) -> Outcome[Dispute]:
        """警调 / 诉调 / 检调对接: the organ's referral becomes a dispute (or a reasoned decline)."""
        source = KIND_SOURCE[referral.kind]
        dispute_id = referral_dispute_id(partner.value, referral.partner_reference)
        command = self.registration(
            dispute_id=dispute_id,
            at=self.clock(),
            source=source,
            dispute_type=referral.dispute_type,
            region=referral.region,
            parties=list(referral.parties),
            claim=referral.summary,
            referrer=Referrer(partner.value),
            partner_reference=referral.partner_reference,
        )
        return await self.bus.execute(dispute_id, command, ctx)

    # -- assignment ----------------------------------------------------------------------------------------
    async def assign(
        self, dispute_id: str, committee_id: str | None, mediator_id: str | None, at: datetime, ctx: CommandContext
    ) -> Outcome[Dispute]:
        """Assign the named committee/mediator, or the registry's proposal when none is named."""
        state, _ = await self.bus.load(dispute_id)
        if state.status is domain.Status.NEW:
            raise NotFound("no such dispute", field="dispute_id")
        mediator: Mediator
        if committee_id is None and mediator_id is None:
            committee, mediator = self.registry.pick(
                state.region, state.dispute_type, state.referrer.value if state.referrer else None
            )
        else:
            named = self.registry.mediator(mediator_id) if mediator_id else None
            committee = self.registry.committee(committee_id or (named.committee_id if named else ""))
            if named is None:
                candidates = sorted(
                    self.registry.mediators_of(committee.id),
                    key=lambda m: (state.dispute_type not in m.specialisms, m.id),
                )
                if not candidates:
                    raise ValidationFailed(f"committee {committee.id} has no active mediator", field="mediator_id")
                named = candidates[0]
            mediator = named
        fit = domain.CommitteeFit(
            committee_id=committee.id,
            committee_kind=committee.kind,
            regions=list(committee.regions),
            dispute_types=list(committee.dispute_types),
            mediator_id=mediator.id,
            mediator_committee_id=mediator.committee_id,
            mediator_active=mediator.active,
        )
        return await self.bus.execute(dispute_id, domain.AssignMediator(at=at, fit=fit), ctx)

    # -- deadlines -----------------------------------------------------------------------------------------
    async def sweep_lapsed_windows(self, actor: str = "system:mediation") -> list[str]:
        """Record the lapse of every confirmation window that closed without a request; returns the disputes."""
        now = self.clock()
        query = {**overdue_query(now)["$or"][1], "window_lapsed": False}
        lapsed: list[str] = []
        for doc in await self.cases.find(query, limit=1000):
            ctx = CommandContext(actor=actor, idempotency_key=f"lapse:{doc['_id']}")
            outcome = await self.bus.execute(doc["_id"], domain.RecordWindowLapse(at=now), ctx)
            if outcome.events:
                lapsed.append(doc["_id"])
        return lapsed


class CommitteeAdmin:
    """Registry changes as events: committees registered, mediators added and deactivated (名册管理).

    Each committee is a stream; the in-memory registry the assignments read is overlaid with the streams'
    state at start and after every change. A seed committee from the reference file is adopted into a stream
    (with its mediators) the first time it is changed.
    """

    def __init__(
        self,
        bus: CommandBus[CommitteeState],
        view: ReadModel[CommitteeState],
        registry: CommitteeRegistry,
        clock: Clock = utcnow,
    ) -> None:
        self.bus = bus
        self.view = view
        self.registry = registry
        self.clock = clock

    async def load_overlay(self) -> int:
        docs = await self.view.find({}, limit=100_000)
        for doc in docs:
            self._put(_state_of(doc))
        return len(docs)

    async def register(self, command: committees.RegisterCommittee, ctx: CommandContext) -> Outcome[CommitteeState]:
        outcome = await self.bus.execute(committees.stream_id(command.committee_id), command, ctx)
        self._put(outcome.state)
        return outcome

    async def add_mediator(
        self, committee_id: str, mediator: MediatorIn, at: datetime, ctx: CommandContext
    ) -> Outcome[CommitteeState]:
        await self._adopt(committee_id, ctx.actor)
        held = self.registry.mediators.get(mediator.mediator_id)
        command = committees.AddMediator(at=at, mediator=mediator, held_by=held.committee_id if held else None)
        outcome = await self.bus.execute(committees.stream_id(committee_id), command, ctx)
        self._put(outcome.state)
        return outcome

    async def deactivate(
        self, committee_id: str, mediator_id: str, reason: str, at: datetime, ctx: CommandContext
    ) -> Outcome[CommitteeState]:
        await self._adopt(committee_id, ctx.actor)
        command = committees.DeactivateMediator(at=at, mediator_id=mediator_id, reason=reason)
        outcome = await self.bus.execute(committees.stream_id(committee_id), command, ctx)
        self._put(outcome.state)
        return outcome

    async def _adopt(self, committee_id: str, actor: str) -> None:
        state, _ = await self.bus.load(committees.stream_id(committee_id))
        if state.exists:
            return
        c = self.registry.committee(committee_id)  # NotFound when neither the file nor a stream has it
        seed = committees.RegisterCommittee(
            at=self.clock(),
            committee_id=c.id,
            name=c.name,
            kind=c.kind,
            regions=list(c.regions),
            dispute_types=list(c.dispute_types),
            serves=c.serves,
            mediators=[
                MediatorIn(
                    mediator_id=m.id, display_name=m.display_name, specialisms=list(m.specialisms), active=m.active
                )
                for m in self.registry.mediators_of(c.id, active_only=False)
            ],
            known_types=list(self.registry.dispute_types),
        )
        ctx = CommandContext(actor=actor, idempotency_key=f"adopt:{c.id}:{self.registry.version}")
        await self.bus.execute(committees.stream_id(c.id), seed, ctx)

    def _put(self, state: CommitteeState) -> None:
        if not state.exists or state.kind is None:
            return
        committee = Committee(
            state.committee_id, state.name, state.kind, state.regions, state.dispute_types, state.serves
        )
        mediators = [
            Mediator(m.mediator_id, state.committee_id, m.display_name, m.specialisms, m.active)
            for m in state.mediators
        ]
        self.registry.put(committee, mediators)


def render_committee(stream_id: str, s: CommitteeState, version: int) -> dict[str, object]:
    return {
        "committee_id": s.committee_id,
        "name": s.name,
        "kind": s.kind.value if s.kind else None,
        "regions": list(s.regions),
        "dispute_types": list(s.dispute_types),
        "serves": s.serves,
        "mediators": [
            {
                "mediator_id": m.mediator_id,
                "display_name": m.display_name,
                "specialisms": list(m.specialisms),
                "active": m.active,
            }
            for m in s.mediators
        ],
        "version": version,
    }


def _state_of(doc: dict[str, object]) -> CommitteeState:
    mediators = doc.get("mediators") or []
    assert isinstance(mediators, list)
    return CommitteeState(
        committee_id=str(doc["committee_id"]),
        name=str(doc["name"]),
        kind=CommitteeKind(str(doc["kind"])),
        regions=tuple(doc["regions"]),  # type: ignore[arg-type]
        dispute_types=tuple(doc["dispute_types"]),  # type: ignore[arg-type]
        serves=doc.get("serves"),  # type: ignore[arg-type]
        mediators=tuple(
            committees.MediatorState(m["mediator_id"], m["display_name"], tuple(m["specialisms"]), m["active"])
            for m in mediators
        ),
    )
