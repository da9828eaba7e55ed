"""Legal aid use cases that combine the command bus with reference data, the case read model and the vault.

HTTP routes and Kafka consumers both call these, so a notice arriving over HTTP or on a partner topic takes
the same path. Case ids: a citizen application gets a random id; a notice or a referral gets one derived from
what identifies it (the organ and its reference, the referral event), so a repeat never opens a second case.
"""

from __future__ import annotations

import hashlib
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from services.legal_aid import domain
from services.legal_aid.domain import AidCase, ProviderFacts
from services.legal_aid.reference import Profiles, Providers
from shared.commands import CommandBus, CommandContext, Outcome
from shared.contracts.common import Partner
from shared.contracts.intake import RequestReferred
from shared.contracts.legal_aid import CaseKind, Channel, MatterType
from shared.contracts.partners import DefenceKind, DetaineeApplicationForwarded, NotifiedDefenceRequested
from shared.errors import DomainError, NotFound, ValidationFailed
from shared.readmodel import ReadModel


def new_case_id() -> str:
    return f"la-{uuid.uuid4().hex[:20]}"


def notice_case_id(organ: str, reference: str, kind: str) -> str:
    digest = hashlib.sha256(f"{organ}\x00{reference}\x00{kind}".encode()).hexdigest()[:20]
    return f"la-n-{digest}"


def referral_case_id(event_id: str) -> str:
    return f"la-r-{hashlib.sha256(event_id.encode()).hexdigest()[:20]}"


@dataclass
class LegalAid:
    """The service's ports, bundled for the use cases."""

    bus: CommandBus[AidCase]
    cases: ReadModel[AidCase]
    profiles: Profiles
    providers: Providers

    def require_profile(self, region: str) -> domain.Threshold:
        profile = self.profiles.for_region(region)
        if profile is None:
            raise ValidationFailed(f"no legal aid city profile serves region {region}", field="region")
        return profile.threshold

    async def get_case(self, case_id: str) -> dict[str, Any]:
        doc = await self.cases.get(case_id)
        if doc is None:
            raise NotFound(f"no legal aid case {case_id}", field="id")
        return doc

    # -- ways in ----------------------------------------------------------------------------------------------
    async def open_application(
        self, case_id: str, cmd: domain.ReceiveApplication, ctx: CommandContext
    ) -> Outcome[AidCase]:
        self.require_profile(cmd.region)
        return await self.bus.execute(case_id, cmd, ctx)

    async def notified_defence(
        self, organ: Partner, p: NotifiedDefenceRequested, ctx: CommandContext
    ) -> Outcome[AidCase]:
        self.require_profile(p.region)  # an organ outside every served city is unknown here
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
        return await self.bus.execute(notice_case_id(organ.value, p.partner_reference, kind.value), cmd, ctx)

    async def detainee_application(
        self, organ: Partner, p: DetaineeApplicationForwarded, ctx: CommandContext
    ) -> Outcome[AidCase]:
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
        return await self.open_application(case_id, cmd, ctx)

    async def referral(self, event_id: str, intake_case: str, p: RequestReferred, at: datetime, ctx: CommandContext):
        cmd = domain.ReceiveApplication(
            channel=Channel.INTAKE_REFERRAL,
            region=p.region,
            matter_type=MatterType.UNSPECIFIED,  # the reviewer classifies it
            matter=p.matter[:500],
            applicant_ref=p.person_ref,
            applied_at=at,
            referral_case_id=intake_case,
        )
        return await self.open_application(referral_case_id(event_id), cmd, ctx)

    # -- steps ------------------------------------------------------------------------------------------------
    async def review(self, case_id: str, cmd: domain.Review, ctx: CommandContext) -> Outcome[AidCase]:
        doc = await self.get_case(case_id)
        profile = self.profiles.for_region(doc["region"])
        cmd = cmd.model_copy(update={"threshold": profile.threshold if profile else None})
        return await self.bus.execute(case_id, cmd, ctx)

    async def assign(self, case_id: str, provider_id: str, at: datetime, ctx: CommandContext) -> Outcome[AidCase]:
        doc = await self.get_case(case_id)
        provider = self.providers.get(provider_id)
        if provider is None:
            raise ValidationFailed(f"no provider {provider_id} in the registry", field="provider_id")
        profile = self.profiles.for_region(doc["region"])
        if profile is None or profile.code != provider.city:
            raise DomainError(
                f"provider {provider_id} does not serve region {doc['region']}", field="provider_id", code="wrong_city"
            )
        facts = await self.provider_facts(provider_id, provider.type, provider.capacity, exclude=case_id)
        return await self.bus.execute(case_id, domain.Assign(case_id=case_id, provider=facts, at=at), ctx)

    async def provider_facts(self, provider_id: str, ptype: Any, capacity: int, *, exclude: str = "") -> ProviderFacts:
        docs = await self.cases.find({"provider_id": provider_id, "_id": {"$ne": exclude}}, limit=10_000)
        open_cases = sum(1 for d in docs if d["status"] == "assigned")
        clients = frozenset(d["client_ref"] for d in docs if d.get("client_ref"))
        opponents = frozenset(r for d in docs for r in d.get("opposing_refs", []))
        return ProviderFacts(provider_id, ptype, capacity, open_cases, clients, opponents)

    async def provider_loads(self) -> dict[str, int]:
        docs = await self.cases.find({"status": "assigned"}, limit=100_000)
        loads: dict[str, int] = {}
        for d in docs:
            loads[d["provider_id"]] = loads.get(d["provider_id"], 0) + 1
        return loads
