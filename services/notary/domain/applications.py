"""The application aggregate (公证申请): applied → (一次性告知 once) → accepted | refused → fee assessed → issued →
court feedback. Pure: time and reference data come in on the commands."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Literal

from pydantic import Field

from services.notary.domain.calendar import issuance_due
from services.notary.domain.catalogue import MatterSpec
from services.notary.domain.fees import AssessFee, assess
from services.notary.domain.registers import certificate_number
from shared.calendar import china_date, end_of_day
from shared.contracts.common import CaseId, LongText, Partner, PersonRef, RegionCode, ShortText
from shared.contracts.notary import (
    ApplicationAccepted,
    ApplicationEvaluated,
    ApplicationRefused,
    ApplicationSubmitted,
    CertificateIssued,
    CourtFeedbackRecorded,
    FeeAssessed,
    MaterialId,
    MaterialsNoticeIssued,
    MaterialsSupplemented,
    OfficeCode,
)
from shared.decider import Decider, Rules, decide_by_type
from shared.errors import DomainError, InvalidTransition, ValidationFailed
from shared.evaluation import EvaluateCase, evaluation_rule
from shared.events import Command, Event

Status = Literal["new", "applied", "accepted", "refused", "fee_assessed", "issued"]


@dataclass(frozen=True)
class Feedback:
    partner_reference: str | None
    adopted: bool
    reason: str | None


@dataclass(frozen=True)
class Application:
    status: Status = "new"
    application_id: str = ""
    region: str = ""
    office: str = ""
    matter: str = ""
    matter_name: str = ""
    applicant_ref: str = ""
    required: tuple[str, ...] = ()
    supplied: tuple[str, ...] = ()
    aid_case_id: str | None = None
    standard_fee: Decimal = Decimal(0)
    notice_given: tuple[str, ...] | None = None  # the one-time notice's list, once given
    visits: int = 0
    applied_at: datetime | None = None
    accepted_at: datetime | None = None
    due_on: date | None = None
    refused_reason: str | None = None
    charged_fee: Decimal | None = None
    waived: bool = False
    aid_linked: bool = False
    aid_link_verified: bool = False
    certificate_no: str | None = None
    issued_at: datetime | None = None
    feedback: tuple[Feedback, ...] = field(default_factory=tuple)
    satisfaction: int | None = None  # 随单评价, once issued or refused

    @property
    def missing(self) -> tuple[str, ...]:
        have = set(self.supplied)
        return tuple(m for m in self.required if m not in have)


class SubmitApplication(Command):
    application_id: CaseId
    region: RegionCode
    office: OfficeCode
    matter: MatterSpec
    catalogue_version: ShortText
    applicant_ref: PersonRef
    materials_supplied: list[MaterialId] = Field(default_factory=list, max_length=50)
    aid_case_id: CaseId | None = None
    in_person: bool = True
    at: datetime


class IssueMaterialsNotice(Command):
    """一次性告知: list every missing material at once; a second notice is refused."""

    at: datetime


class SupplementMaterials(Command):
    materials: list[MaterialId] = Field(min_length=1, max_length=50)
    in_person: bool
    at: datetime


class AcceptApplication(Command):
    at: datetime


class RefuseApplication(Command):
    reason: LongText
    at: datetime


class IssueCertificate(Command):
    year: int
    sequence: int = Field(ge=1)
    collected_in_person: bool = False
    at: datetime


class RecordCourtFeedback(Command):
    certificate_no: ShortText
    partner_reference: str | None = None
    adopted: bool
    reason: ShortText | None = None
    decided_at: datetime
    at: datetime


def ensure_issuable(state: Application) -> None:
    """Raise unless a certificate may be issued now (checked before a register number is allocated)."""
    if state.status != "fee_assessed":
        raise InvalidTransition("issue a certificate for", state.status, "the fee must be assessed after acceptance")


def _give_materials_notice(command: IssueMaterialsNotice, state: Application) -> list[Event]:
    _require(state, ("applied",), "give the one-time notice for")
    if state.notice_given is not None:
        raise DomainError(
            "一次性告知 was already given for this application; a second notice is refused",
            field="notice",
        )
    if not state.missing:
        raise DomainError("no material is missing: nothing to notify", field="notice")
    return [MaterialsNoticeIssued(missing=list(state.missing), notified_at=command.at)]


def _supplement(command: SupplementMaterials, state: Application) -> list[Event]:
    _require(state, ("applied",), "supplement materials of")
    _check_materials(command.materials, state.required, "materials")
    return [MaterialsSupplemented(materials=command.materials, in_person=command.in_person, supplied_at=command.at)]


def _accept(command: AcceptApplication, state: Application) -> list[Event]:
    _require(state, ("applied",), "accept")
    if state.missing:
        raise DomainError(f"materials missing: {', '.join(state.missing)}", field="materials")
    due_on = issuance_due(command.at)
    return [ApplicationAccepted(accepted_at=command.at, due_on=due_on, due_by=end_of_day(due_on))]


def _refuse(command: RefuseApplication, state: Application) -> list[Event]:
    _require(state, ("applied",), "refuse")
    return [ApplicationRefused(reason=command.reason, refused_at=command.at)]


def _issue(command: IssueCertificate, state: Application) -> list[Event]:
    ensure_issuable(state)
    if command.year != china_date(command.at).year:
        raise ValidationFailed("certificate year must be the year of issuance", field="year")
    assert state.due_on is not None  # set on acceptance
    visits = state.visits + (1 if command.collected_in_person else 0)
    return [
        CertificateIssued(
            certificate_no=certificate_number(state.office, command.year, command.sequence),
            office=state.office,
            year=command.year,
            sequence=command.sequence,
            issued_at=command.at,
            visits=visits,
            one_trip=visits <= 1,
            due_on=state.due_on,
            within_deadline=china_date(command.at) <= state.due_on,
        )
    ]


def _record_court_feedback(command: RecordCourtFeedback, state: Application) -> list[Event]:
    _require(state, ("issued",), "record court feedback for")
    if command.certificate_no != state.certificate_no:
        raise ValidationFailed("certificate number does not belong to this application", field="certificate_no")
    if not command.adopted and not command.reason:
        raise ValidationFailed("a document not adopted needs the court's reason", field="reason")
    if command.partner_reference and any(f.partner_reference == command.partner_reference for f in state.feedback):
        raise DomainError(
            f"feedback from court case {command.partner_reference} already recorded", field="partner_reference"
        )
    return [
        CourtFeedbackRecorded(
            recipient=Partner.COURT,
            partner_reference=command.partner_reference,
            application_id=state.application_id,
            certificate_no=command.certificate_no,
            adopted=command.adopted,
            reason=command.reason,
            decided_at=command.decided_at,
            recorded_at=command.at,
        )
    ]


def _submit(command: SubmitApplication, state: Application) -> list[Event]:
    if state.status != "new":
        raise InvalidTransition("submit", state.status, "application already exists")
    _check_materials(command.materials_supplied, command.matter.material_ids, "materials_supplied")
    return [
        ApplicationSubmitted(
            application_id=command.application_id,
            region=command.region,
            office=command.office,
            matter=command.matter.id,
            matter_name=command.matter.name_zh,
            applicant_ref=command.applicant_ref,
            required_materials=list(command.matter.material_ids),
            materials_supplied=list(dict.fromkeys(command.materials_supplied)),
            standard_fee=command.matter.standard_fee,
            aid_case_id=command.aid_case_id,
            in_person=command.in_person,
            catalogue_version=command.catalogue_version,
            applied_at=command.at,
        )
    ]


def _require(state: Application, allowed: tuple[str, ...], action: str) -> None:
    if state.status not in allowed:
        raise InvalidTransition(action, state.status)


def _check_materials(materials: list[str], checklist: tuple[str, ...], field_name: str) -> None:
    unknown = [m for m in materials if m not in checklist]
    if unknown:
        raise ValidationFailed(
            f"not on this matter's checklist: {', '.join(unknown)} (checklist: {', '.join(checklist)})",
            field=field_name,
        )


_RULES: Rules[Application] = {
    SubmitApplication: _submit,
    IssueMaterialsNotice: _give_materials_notice,
    SupplementMaterials: _supplement,
    AcceptApplication: _accept,
    RefuseApplication: _refuse,
    AssessFee: assess,
    IssueCertificate: _issue,
    RecordCourtFeedback: _record_court_feedback,
    # 随单评价 (seed 004): once the application is finished, issued or refused
    EvaluateCase: evaluation_rule(ApplicationEvaluated, lambda s: s.status in ("issued", "refused")),
}


_decide_application = decide_by_type(
    _RULES, lambda command, _state: TypeError(f"not an application command: {type(command).__name__}")
)


def _evolve_application(state: Application, event: Event) -> Application:
    match event:
        case ApplicationSubmitted():
            return Application(
                status="applied",
                application_id=event.application_id,
                region=event.region,
                office=event.office,
                matter=event.matter,
                matter_name=event.matter_name,
                applicant_ref=event.applicant_ref,
                required=tuple(event.required_materials),
                supplied=tuple(event.materials_supplied),
                standard_fee=event.standard_fee,
                aid_case_id=event.aid_case_id,
                visits=1 if event.in_person else 0,
                applied_at=event.applied_at,
            )
        case MaterialsNoticeIssued():
            return replace(state, notice_given=tuple(event.missing))
        case MaterialsSupplemented():
            supplied = tuple(dict.fromkeys((*state.supplied, *event.materials)))
            return replace(state, supplied=supplied, visits=state.visits + (1 if event.in_person else 0))
        case ApplicationAccepted():
            return replace(state, status="accepted", accepted_at=event.accepted_at, due_on=event.due_on)
        case ApplicationRefused():
            return replace(state, status="refused", refused_reason=event.reason)
        case FeeAssessed():
            return replace(
                state,
                status="fee_assessed",
                charged_fee=event.charged_fee,
                waived=event.waived,
                aid_linked=event.aid_linked,
                aid_link_verified=bool(event.aid_link_verified),
                aid_case_id=event.aid_case_id,
            )
        case CertificateIssued():
            return replace(
                state,
                status="issued",
                certificate_no=event.certificate_no,
                issued_at=event.issued_at,
                visits=event.visits,
            )
        case ApplicationEvaluated():
            return replace(state, satisfaction=event.satisfaction)
        case CourtFeedbackRecorded():
            fb = Feedback(event.partner_reference, event.adopted, event.reason)
            return replace(state, feedback=(*state.feedback, fb))
    return state  # events of other aggregates in the same store are not this one's business


application = Decider("notary_application", Application, _decide_application, _evolve_application)
