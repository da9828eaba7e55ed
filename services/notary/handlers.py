"""Notary's use cases: open an application, act on one, assess its fee against legal aid's waivers, issue its
certificate through the register, record a court's feedback, accept and act on a court's commission — and turn
each outcome into its view.

Routes call these with the wired service (`bootstrap.Notary`) and the `Call` (who, when, which key); consumers
with a context built from the incoming event. Nothing here knows HTTP or the database.

Certificate numbers (出证编号): the register stream of (office, year) allocates the next sequence *after* the
application was checked issuable, bound to that application id, so a retried issue gets the same number back and
a failed issue never leaves a hole in the register.
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from services.notary import views
from services.notary.domain import (
    AcceptCommission,
    AllocateNumber,
    Application,
    AssessFee,
    Commission,
    IssueCertificate,
    RecordCourtFeedback,
    Register,
    SubmitApplication,
    commission_stream,
    ensure_issuable,
    register_stream,
)
from services.notary.schemas import (
    ApplicationBody,
    ApplicationView,
    AssessFeeBody,
    CommissionBody,
    CommissionView,
    FeedbackBody,
)
from shared.calendar import china_date, working_days_between
from shared.commands import CommandBus, CommandContext, Outcome
from shared.contracts.partners import NotarialDocumentFeedback, NotaryCommissioned
from shared.deps import Call
from shared.errors import NotFound
from shared.events import Command

if TYPE_CHECKING:  # the container holds this module's issuer: imported for annotations only
    from services.notary.bootstrap import Notary


# -- applications -----------------------------------------------------------------------------------------------
async def submit_application(svc: Notary, body: ApplicationBody, call: Call) -> ApplicationView:
    matter = svc.catalogue.get(body.matter)  # unknown matter → 422 naming the field
    applicant_ref = body.applicant_ref
    if applicant_ref is None:
        assert body.applicant is not None  # the body holds exactly one of the two
        applicant_ref = await svc.vault.register(body.applicant)
    application_id = f"na-{uuid.uuid4().hex[:20]}"
    command = SubmitApplication(
        application_id=application_id,
        region=body.region,
        office=body.office,
        matter=matter,
        catalogue_version=svc.catalogue.version,
        applicant_ref=applicant_ref,
        materials_supplied=body.materials_supplied,
        aid_case_id=body.aid_case_id,
        in_person=body.in_person,
        at=call.now,
    )
    outcome = await svc.applications.execute(application_id, command, call.context(creates=True))
    return application_view(svc, call.answered(outcome), call.now)


async def load_application(bus: CommandBus[Application], application_id: str) -> Application:
    state, _ = await bus.load(application_id)
    if state.status == "new":
        raise NotFound(f"no notary application {application_id}", field="application_id")
    return state


async def act_on_application(svc: Notary, application_id: str, command: Command, call: Call) -> ApplicationView:
    """Execute one command on an existing application (404 when there is none); a replayed key is marked."""
    await load_application(svc.applications, application_id)
    outcome = await svc.applications.execute(application_id, command, call.context())
    return application_view(svc, call.answered(outcome), call.now)


async def assess_fee(svc: Notary, application_id: str, body: AssessFeeBody, call: Call) -> ApplicationView:
    """Late waivers: the registry is looked up now; an aid-linked application whose waiver has not arrived is
    refused (409, nothing written) until it arrives, unless the clerk proceeds without it. The registry also says
    whether legal aid vouches for the claimed aid case at all (the fee-waiver indicator counts only those)."""
    state = await load_application(svc.applications, application_id)
    waiver = await svc.waivers.find(state.applicant_ref, state.matter, body.waiver_aid_case_id)
    claimed = body.waiver_aid_case_id or state.aid_case_id
    command = AssessFee(
        waiver=waiver,
        claim_vouched=claimed is not None and await svc.waivers.vouches(state.applicant_ref, claimed),
        claimed_aid_case_id=body.waiver_aid_case_id,
        proceed_without_waiver=body.proceed_without_waiver,
        at=call.now,
    )
    outcome = await svc.applications.execute(application_id, command, call.context())
    return application_view(svc, call.answered(outcome), call.now)


async def issue_certificate(svc: Notary, application_id: str, collected_in_person: bool, call: Call) -> ApplicationView:
    outcome = await svc.issuer.issue(
        application_id, collected_in_person=collected_in_person, at=call.now, ctx=call.context()
    )
    return application_view(svc, call.answered(outcome), call.now)


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
        year = china_date(at).year
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


# -- the court: document feedback and commissions ---------------------------------------------------------------
async def record_feedback(
    svc: Notary, feedback: FeedbackBody | NotarialDocumentFeedback, *, at: datetime, ctx: CommandContext
) -> Outcome[Application]:
    """The court says whether a notarial document used as evidence was adopted (采信)."""
    found = await svc.application_views.find({"certificate_no": feedback.certificate_no}, limit=1)
    if not found:
        raise NotFound(f"no notarial certificate {feedback.certificate_no!r} was issued here", field="certificate_no")
    command = RecordCourtFeedback(**feedback.model_dump(), at=at)
    return await svc.applications.execute(found[0]["_id"], command, ctx)


async def court_feedback(svc: Notary, body: FeedbackBody, call: Call) -> ApplicationView:
    outcome = await record_feedback(svc, body, at=call.now, ctx=call.context())
    return application_view(svc, call.answered(outcome), call.now)


async def accept_commission(
    svc: Notary, body: CommissionBody | NotaryCommissioned, *, at: datetime, ctx: CommandContext
) -> Outcome[Commission]:
    """The same commission over HTTP and Kafka lands on one stream (its id derives from the court's reference)."""
    command = AcceptCommission(**body.model_dump(), at=at)
    return await svc.commissions.execute(commission_stream(body.partner_reference), command, ctx)


async def act_on_commission(svc: Notary, commission_id: str, command: Command, call: Call) -> CommissionView:
    """Execute one command on an existing commission (404 when there is none); a replayed key is marked."""
    await stored_commission(svc, commission_id)
    return commission_view(call.answered(await svc.commissions.execute(commission_id, command, call.context())))


# -- views ------------------------------------------------------------------------------------------------------
def application_out(doc: dict[str, Any], today: date) -> ApplicationView:
    """An application's view as of `today` (China time): working days left on the issuance clock, overdue."""
    due = date.fromisoformat(doc["due_on"]) if doc.get("due_on") else None
    running = doc["status"] in views.OPEN_STATUSES
    left = working_days_between(today, due) if due and running else None
    fields = {k: v for k, v in doc.items() if k in ApplicationView.model_fields}
    return ApplicationView(
        **{**fields, "due_on": due},
        application_id=doc["_id"],
        working_days_left=left,
        overdue=bool(due and running and today > due),
    )


def application_view(svc: Notary, outcome: Outcome[Application], now: datetime) -> ApplicationView:
    doc = views.render_application(outcome.stream_id, outcome.state, outcome.version)
    return application_out(doc, china_date(now))


async def stored_application(svc: Notary, application_id: str, now: datetime) -> ApplicationView:
    doc = await svc.application_views.get(application_id)
    if doc is None or doc.get("kind") != "application":
        raise NotFound(f"no notary application {application_id}", field="application_id")
    return application_out(doc, china_date(now))


def commission_out(doc: dict[str, Any]) -> CommissionView:
    fields = {k: v for k, v in doc.items() if k in CommissionView.model_fields and k != "kind"}
    return CommissionView(**fields, commission_id=doc["_id"], kind=doc.get("commission_kind"))


def commission_view(outcome: Outcome[Commission]) -> CommissionView:
    return commission_out(views.render_commission(outcome.stream_id, outcome.state, outcome.version))


async def stored_commission(svc: Notary, commission_id: str) -> CommissionView:
    doc = await svc.commission_views.get(commission_id)
    if doc is None or doc.get("kind") != "commission":
        raise NotFound(f"no court commission {commission_id}", field="commission_id")
    return commission_out(doc)
