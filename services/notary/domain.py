"""The notary domain (公证): applications, the certificate register, court commissions — pure rules.

Three aggregates, each a `Decider`:
- `application`: applied → (一次性告知 once) → accepted | refused → fee assessed → issued → court feedback.
- `register`: one stream per (office, year); each `CertificateNumberAllocated` takes the next sequence, so the
  stream version *is* the certificate sequence and optimistic concurrency makes numbers unique and gap-free.
  A number is bound to its application: allocating again for the same application returns the same number.
- `commission`: a court's commission accepted → performed → reported back.

Also the pure reference-data types (matter catalogue, holiday calendar) and the working-day arithmetic for the
15-working-day issuance deadline (公证程序规则). Nothing here reads a clock or does I/O.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta, timezone
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.contracts.common import CaseId, LongText, Partner, PersonRef, RegionCode, ShortText
from shared.contracts.notary import (
    ApplicationAccepted,
    ApplicationRefused,
    ApplicationSubmitted,
    CertificateIssued,
    CertificateNumberAllocated,
    CommissionAccepted,
    CommissionPerformed,
    CommissionReported,
    CourtFeedbackRecorded,
    FeeAssessed,
    MaterialId,
    MaterialsNoticeIssued,
    MaterialsSupplemented,
    MatterId,
    OfficeCode,
)
from shared.contracts.partners import CommissionKind
from shared.decider import Decider
from shared.errors import DomainError, InvalidTransition, ValidationFailed
from shared.events import Command, Event

#: China Standard Time: deadlines and certificate years follow the office's calendar, not UTC.
CST = timezone(timedelta(hours=8), "CST")
ISSUE_WITHIN_WORKING_DAYS = 15


# ---------------------------------------------------------------------------------------------------------------
# Reference data: matter catalogue and holiday calendar (loaded from versioned files by config.py)
# ---------------------------------------------------------------------------------------------------------------
class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class MaterialSpec(_Frozen):
    id: MaterialId
    name_zh: ShortText
    name_en: ShortText


class MatterSpec(_Frozen):
    """One matter type (公证事项) with its material checklist (材料清单) and standard fee in yuan."""

    id: MatterId
    name_zh: ShortText
    name_en: ShortText
    materials: list[MaterialSpec] = Field(min_length=1, max_length=30)
    standard_fee: float = Field(ge=0, le=100_000)

    @model_validator(mode="after")
    def _unique_materials(self) -> MatterSpec:
        ids = [m.id for m in self.materials]
        if len(ids) != len(set(ids)):
            raise ValueError(f"matter {self.id}: duplicate material ids")
        return self

    @property
    def material_ids(self) -> tuple[str, ...]:
        return tuple(m.id for m in self.materials)


class MatterCatalogue(_Frozen):
    version: ShortText
    matters: list[MatterSpec] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_matters(self) -> MatterCatalogue:
        ids = [m.id for m in self.matters]
        if len(ids) != len(set(ids)):
            raise ValueError("duplicate matter ids")
        return self

    def get(self, matter_id: str) -> MatterSpec:
        for m in self.matters:
            if m.id == matter_id:
                return m
        known = ", ".join(m.id for m in self.matters)
        raise ValidationFailed(f"unknown matter type {matter_id!r} (known: {known})", field="matter")

    def __contains__(self, matter_id: object) -> bool:
        return any(m.id == matter_id for m in self.matters)


class HolidayCalendar(_Frozen):
    """Public holidays (法定节假日) and adjusted working days (调休: weekend days that are worked)."""

    version: ShortText = "none"
    holidays: frozenset[date] = frozenset()
    workdays: frozenset[date] = frozenset()

    @model_validator(mode="after")
    def _disjoint(self) -> HolidayCalendar:
        both = self.holidays & self.workdays
        if both:
            raise ValueError(f"dates both holiday and working day: {sorted(both)}")
        return self

    def is_working_day(self, day: date) -> bool:
        if day in self.workdays:
            return True
        if day in self.holidays:
            return False
        return day.weekday() < 5


def local_date(at: datetime) -> date:
    return at.astimezone(CST).date()


def add_working_days(start: date, days: int, calendar: HolidayCalendar) -> date:
    """The `days`-th working day after `start` (the start day itself is not counted)."""
    current = start
    left = days
    while left > 0:
        current += timedelta(days=1)
        if calendar.is_working_day(current):
            left -= 1
    return current


def working_days_between(start: date, end: date, calendar: HolidayCalendar) -> int:
    """Working days in (start, end]; negative when `end` is before `start` (days overdue)."""
    if end < start:
        return -working_days_between(end, start, calendar)
    count, current = 0, start
    while current < end:
        current += timedelta(days=1)
        count += calendar.is_working_day(current)
    return count


def issuance_due(accepted_at: datetime, calendar: HolidayCalendar) -> date:
    return add_working_days(local_date(accepted_at), ISSUE_WITHIN_WORKING_DAYS, calendar)


def end_of_day(day: date) -> datetime:
    """24:00 China time of `day`: a deadline on that day passes at this instant."""
    return datetime.combine(day + timedelta(days=1), time(0), CST)


def certificate_number(office: str, year: int, sequence: int) -> str:
    """e.g. `(2026)GZ4310证字第000042号` — office, year and a six-digit sequence gap-free per office and year."""
    return f"({year}){office}证字第{sequence:06d}号"


# ---------------------------------------------------------------------------------------------------------------
# Application aggregate
# ---------------------------------------------------------------------------------------------------------------
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
    standard_fee: float = 0.0
    notice_given: tuple[str, ...] | None = None  # the one-time notice's list, once given
    visits: int = 0
    applied_at: datetime | None = None
    accepted_at: datetime | None = None
    due_on: date | None = None
    refused_reason: str | None = None
    charged_fee: float | None = None
    waived: bool = False
    aid_linked: bool = False
    certificate_no: str | None = None
    issued_at: datetime | None = None
    feedback: tuple[Feedback, ...] = field(default_factory=tuple)

    @property
    def missing(self) -> tuple[str, ...]:
        have = set(self.supplied)
        return tuple(m for m in self.required if m not in have)


class WaiverGrant(_Frozen):
    """A fee waiver from legal aid as the waiver registry holds it (flow 7)."""

    aid_case_id: CaseId
    person_ref: PersonRef
    notary_matter: str
    waiver: float = Field(gt=0, le=1)


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
    calendar: HolidayCalendar
    at: datetime


class RefuseApplication(Command):
    reason: LongText
    at: datetime


class AssessFee(Command):
    """`waiver` is what the waiver registry holds for this applicant and matter at assessment time (or None).

    `claimed_aid_case_id`: the aid case the applicant presents (defaults to the linked one); a claim with no
    matching waiver is refused unless `proceed_without_waiver` (then the full fee is charged).
    """

    waiver: WaiverGrant | None = None
    claimed_aid_case_id: CaseId | None = None
    proceed_without_waiver: bool = False
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


def _decide_application(command: Command, state: Application) -> list[Event]:
    match command:
        case SubmitApplication():
            return _submit(command, state)
        case IssueMaterialsNotice():
            _require(state, ("applied",), "give the one-time notice for")
            if state.notice_given is not None:
                raise DomainError(
                    "一次性告知 was already given for this application; a second notice is refused",
                    field="notice",
                )
            if not state.missing:
                raise DomainError("no material is missing: nothing to notify", field="notice")
            return [MaterialsNoticeIssued(missing=list(state.missing), notified_at=command.at)]
        case SupplementMaterials():
            _require(state, ("applied",), "supplement materials of")
            _check_materials(command.materials, state.required, "materials")
            return [
                MaterialsSupplemented(materials=command.materials, in_person=command.in_person, supplied_at=command.at)
            ]
        case AcceptApplication():
            _require(state, ("applied",), "accept")
            if state.missing:
                raise DomainError(f"materials missing: {', '.join(state.missing)}", field="materials")
            due_on = issuance_due(command.at, command.calendar)
            return [ApplicationAccepted(accepted_at=command.at, due_on=due_on, due_by=end_of_day(due_on))]
        case RefuseApplication():
            _require(state, ("applied",), "refuse")
            return [ApplicationRefused(reason=command.reason, refused_at=command.at)]
        case AssessFee():
            return _assess(command, state)
        case IssueCertificate():
            ensure_issuable(state)
            if command.year != local_date(command.at).year:
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
                    within_deadline=local_date(command.at) <= state.due_on,
                )
            ]
        case RecordCourtFeedback():
            _require(state, ("issued",), "record court feedback for")
            if command.certificate_no != state.certificate_no:
                raise ValidationFailed("certificate number does not belong to this application", field="certificate_no")
            if not command.adopted and not command.reason:
                raise ValidationFailed("a document not adopted needs the court's reason", field="reason")
            if command.partner_reference and any(
                f.partner_reference == command.partner_reference for f in state.feedback
            ):
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
    raise TypeError(f"not an application command: {type(command).__name__}")


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


def _assess(command: AssessFee, state: Application) -> list[Event]:
    _require(state, ("accepted",), "assess the fee of")
    waiver = command.waiver
    claimed = command.claimed_aid_case_id or state.aid_case_id
    if waiver is not None:
        # the registry is keyed by person and matter; re-check so a wrong lookup can never waive a fee
        if waiver.person_ref != state.applicant_ref:
            raise ValidationFailed("fee waiver is for another person than the applicant", field="waiver")
        if waiver.notary_matter != state.matter:
            raise ValidationFailed(
                f"fee waiver covers matter {waiver.notary_matter!r}, not {state.matter!r}", field="waiver"
            )
        if command.claimed_aid_case_id and waiver.aid_case_id != command.claimed_aid_case_id:
            waiver = None
    if waiver is None and claimed is not None and not command.proceed_without_waiver:
        raise DomainError(
            f"no fee waiver from legal aid covers this applicant and matter {state.matter!r} for aid case {claimed}: "
            "the applicant is not (yet) an aid recipient for it; assess again once legal aid's waiver arrives, "
            "or with proceed_without_waiver to charge the standard fee",
            field="waiver",
        )
    share = waiver.waiver if waiver is not None else 0.0
    return [
        FeeAssessed(
            matter=state.matter,
            standard_fee=state.standard_fee,
            charged_fee=round(state.standard_fee * (1 - share), 2),
            waived=share > 0,
            waiver_share=share,
            aid_linked=claimed is not None or waiver is not None,
            aid_case_id=waiver.aid_case_id if waiver is not None else claimed,
            assessed_at=command.at,
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
        case CourtFeedbackRecorded():
            fb = Feedback(event.partner_reference, event.adopted, event.reason)
            return replace(state, feedback=(*state.feedback, fb))
    return state  # events of other aggregates in the same store are not this one's business


application = Decider("notary_application", Application, _decide_application, _evolve_application)


# ---------------------------------------------------------------------------------------------------------------
# Certificate register: one stream per (office, year); version == last sequence
# ---------------------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Register:
    office: str = ""
    year: int = 0
    last: int = 0
    by_application: tuple[tuple[str, int], ...] = ()

    def sequence_of(self, application_id: str) -> int | None:
        for app, seq in self.by_application:
            if app == application_id:
                return seq
        return None


class AllocateNumber(Command):
    office: OfficeCode
    year: int = Field(ge=2000, le=2200)
    application_id: CaseId
    at: datetime


def register_stream(office: str, year: int) -> str:
    return f"notary-register:{office}:{year}"


def _decide_register(command: Command, state: Register) -> list[Event]:
    if not isinstance(command, AllocateNumber):
        raise TypeError(f"not a register command: {type(command).__name__}")
    if state.last and (state.office, state.year) != (command.office, command.year):
        raise ValidationFailed("register belongs to another office or year", field="office")
    if state.sequence_of(command.application_id) is not None:
        return []  # bound already (a retried issue): the same number again, never a new one
    return [
        CertificateNumberAllocated(
            office=command.office,
            year=command.year,
            sequence=state.last + 1,
            application_id=command.application_id,
            allocated_at=command.at,
        )
    ]


def _evolve_register(state: Register, event: Event) -> Register:
    if isinstance(event, CertificateNumberAllocated):
        return Register(
            office=event.office,
            year=event.year,
            last=event.sequence,
            by_application=(*state.by_application, (event.application_id, event.sequence)),
        )
    return state


register = Decider("notary_register", Register, _decide_register, _evolve_register)


# ---------------------------------------------------------------------------------------------------------------
# Court commissions (法院委托): accepted → performed → reported
# ---------------------------------------------------------------------------------------------------------------
CommissionStatus = Literal["new", "accepted", "performed", "reported"]


@dataclass(frozen=True)
class Commission:
    status: CommissionStatus = "new"
    partner_reference: str | None = None
    kind: CommissionKind | None = None
    region: str = ""
    details: str = ""
    due_by: datetime | None = None
    commissioned_at: datetime | None = None
    accepted_at: datetime | None = None
    summary: str | None = None
    performed_at: datetime | None = None
    reported_at: datetime | None = None


class AcceptCommission(Command):
    partner_reference: ShortText
    kind: CommissionKind
    region: RegionCode
    details: LongText
    due_by: datetime | None = None
    commissioned_at: datetime
    at: datetime


class PerformCommission(Command):
    summary: LongText
    at: datetime


class ReportCommission(Command):
    at: datetime


def _decide_commission(command: Command, state: Commission) -> list[Event]:
    match command:
        case AcceptCommission():
            if state.status != "new":
                if state.partner_reference == command.partner_reference and state.kind == command.kind:
                    return []  # the same commission again (over HTTP and Kafka): accepted once
                raise InvalidTransition("accept", state.status, "a different commission has this reference")
            return [
                CommissionAccepted(
                    recipient=Partner.COURT,
                    partner_reference=command.partner_reference,
                    kind=command.kind,
                    region=command.region,
                    details=command.details,
                    due_by=command.due_by,
                    commissioned_at=command.commissioned_at,
                    accepted_at=command.at,
                )
            ]
        case PerformCommission():
            if state.status != "accepted":
                raise InvalidTransition("perform", state.status)
            return [CommissionPerformed(summary=command.summary, performed_at=command.at)]
        case ReportCommission():
            if state.status != "performed":
                raise InvalidTransition("report", state.status, "the commission must be performed first")
            assert state.kind is not None and state.summary is not None and state.performed_at is not None
            return [
                CommissionReported(
                    recipient=Partner.COURT,
                    partner_reference=state.partner_reference,
                    kind=state.kind,
                    summary=state.summary,
                    performed_at=state.performed_at,
                    reported_at=command.at,
                )
            ]
    raise TypeError(f"not a commission command: {type(command).__name__}")


def _evolve_commission(state: Commission, event: Event) -> Commission:
    match event:
        case CommissionAccepted():
            return Commission(
                status="accepted",
                partner_reference=event.partner_reference,
                kind=event.kind,
                region=event.region,
                details=event.details,
                due_by=event.due_by,
                commissioned_at=event.commissioned_at,
                accepted_at=event.accepted_at,
            )
        case CommissionPerformed():
            return replace(state, status="performed", summary=event.summary, performed_at=event.performed_at)
        case CommissionReported():
            return replace(state, status="reported", reported_at=event.reported_at)
    return state


commission = Decider("notary_commission", Commission, _decide_commission, _evolve_commission)


def commission_stream(partner_reference: str) -> str:
    """Stream id of a court's commission, derived from the court's reference so HTTP and Kafka deliveries of the
    same commission land on one stream (the reference may hold characters a stream id may not)."""
    return f"notary-commission-{hashlib.sha256(partner_reference.encode()).hexdigest()[:24]}"
