"""Use cases that combine more than one aggregate or a read model: issuing (register + application), fee
assessment (waiver registry + application), court feedback (certificate lookup + application), and the fee-waiver
registry fed by legal aid.

Certificate numbers (出证编号): the register stream of (office, year) allocates the next sequence *after* the
application was checked issuable, bound to that application id. Issuance then appends to the application with the
number. If that append fails (crash, timeout), the number stays bound to the application and a retried issue
gets the same number back — no other application can take it and no new number is drawn, so the register never
has a hole made by a failed issue. (A failed issue retried only in the next calendar year would leave its number
unused in the old year's register; the register still shows to which application it belongs.)

Late waivers: legal aid's waiver may arrive after the application. Fee assessment looks the registry up at
assessment time; an aid-linked application whose waiver has not arrived is refused assessment (409, nothing
written) until it arrives, unless the clerk explicitly proceeds without it.
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from services.notary.domain import (
    AllocateNumber,
    Application,
    AssessFee,
    IssueCertificate,
    RecordCourtFeedback,
    Register,
    WaiverGrant,
    ensure_issuable,
    local_date,
    register_stream,
)
from shared.commands import CommandBus, CommandContext, Outcome
from shared.contracts.legal_aid import NotaryFeeWaiverGranted
from shared.db import Database
from shared.errors import NotFound
from shared.readmodel import ReadModel


class WaiverRegistry:
    """Fee waivers granted by legal aid (flow 7), one row per (person, matter, aid case): table `fee_waivers`."""

    def __init__(self, db: Database) -> None:
        self.db = db

    async def record(self, w: NotaryFeeWaiverGranted, event_id: str) -> None:
        async with self.db.pool.connection() as conn:
            await conn.execute(
                "INSERT INTO fee_waivers (person_ref, notary_matter, aid_case_id, waiver, granted_at, event_id)"
                " VALUES (%s, %s, %s, %s, %s, %s) ON CONFLICT (person_ref, notary_matter, aid_case_id) DO UPDATE"
                " SET waiver = EXCLUDED.waiver, granted_at = EXCLUDED.granted_at, event_id = EXCLUDED.event_id",
                (w.person_ref, w.notary_matter, w.aid_case_id, w.waiver, w.granted_at, event_id),
            )

    async def find(self, person_ref: str, matter: str, aid_case_id: str | None = None) -> WaiverGrant | None:
        """The most generous waiver covering this person and matter (for `aid_case_id` only, when given)."""
        async with self.db.pool.connection() as conn:
            cur = await conn.execute(
                "SELECT aid_case_id, waiver FROM fee_waivers WHERE person_ref = %s AND notary_matter = %s"
                " AND (%s::text IS NULL OR aid_case_id = %s) ORDER BY waiver DESC LIMIT 1",
                (person_ref, matter, aid_case_id, aid_case_id),
            )
            row = await cur.fetchone()
        if row is None:
            return None
        return WaiverGrant(aid_case_id=row[0], person_ref=person_ref, notary_matter=matter, waiver=row[1])


async def load_application(bus: CommandBus[Application], application_id: str) -> Application:
    state, _ = await bus.load(application_id)
    if state.status == "new":
        raise NotFound(f"no notary application {application_id}", field="application_id")
    return state


async def assess_fee(
    bus: CommandBus[Application],
    waivers: WaiverRegistry,
    application_id: str,
    *,
    claimed_aid_case_id: str | None,
    proceed_without_waiver: bool,
    at: datetime,
    ctx: CommandContext,
) -> Outcome[Application]:
    state = await load_application(bus, application_id)
    waiver = await waivers.find(state.applicant_ref, state.matter, claimed_aid_case_id)
    command = AssessFee(
        waiver=waiver, claimed_aid_case_id=claimed_aid_case_id, proceed_without_waiver=proceed_without_waiver, at=at
    )
    return await bus.execute(application_id, command, ctx)


class CertificateIssuer:
    """出证: draws the register number and records the issuance.

    Allocations to one register are queued on an in-process lock, so concurrent issues in one replica wait in
    line instead of colliding and retrying; across replicas the register stream's version check still lets
    exactly one writer take each sequence.
    """

    def __init__(self, applications: CommandBus[Application], registers: CommandBus[Register]) -> None:
        self.applications = applications
        self.registers = registers
        self._locks: dict[str, asyncio.Lock] = {}

    async def issue(
        self, application_id: str, *, collected_in_person: bool, at: datetime, ctx: CommandContext
    ) -> Outcome[Application]:
        year = local_date(at).year
        if ctx.idempotency_key and await self.applications.store.find_key(ctx.idempotency_key):
            # a retried request that already issued: the bus replays the earlier outcome without deciding
            return await self.applications.execute(application_id, IssueCertificate(year=year, sequence=1, at=at), ctx)
        state = await load_application(self.applications, application_id)
        ensure_issuable(state)  # before a number is drawn: a refused issue never consumes one
        stream = register_stream(state.office, year)
        async with self._locks.setdefault(stream, asyncio.Lock()):
            allocation = await self.registers.execute(
                stream,
                AllocateNumber(office=state.office, year=year, application_id=application_id, at=at),
                CommandContext(actor=ctx.actor, causation_id=ctx.causation_id),
            )
        sequence = allocation.state.sequence_of(application_id)
        assert sequence is not None  # the allocation just bound it (or had bound it earlier)
        command = IssueCertificate(year=year, sequence=sequence, collected_in_person=collected_in_person, at=at)
        return await self.applications.execute(application_id, command, ctx)


async def record_feedback(
    bus: CommandBus[Application],
    applications: ReadModel[Application],
    *,
    certificate_no: str,
    partner_reference: str | None,
    adopted: bool,
    reason: str | None,
    decided_at: datetime,
    at: datetime,
    ctx: CommandContext,
) -> Outcome[Application]:
    found = await applications.find({"certificate_no": certificate_no}, limit=1)
    if not found:
        raise NotFound(f"no notarial certificate {certificate_no!r} was issued here", field="certificate_no")
    command = RecordCourtFeedback(
        certificate_no=certificate_no,
        partner_reference=partner_reference,
        adopted=adopted,
        reason=reason,
        decided_at=decided_at,
        at=at,
    )
    return await bus.execute(found[0]["_id"], command, ctx)
