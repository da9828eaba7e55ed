"""Notary (公证): events of a notarisation application, the certificate register and court commissions.

Event types (all `caseflow.notary.*`, version 1; payloads are self-describing for the metrics fold):
- application_submitted: 申请 — application_id, region, office, matter, matter_name, applicant_ref,
  required_materials (the checklist as of application), materials_supplied, standard_fee,
  aid_case_id (linked legal aid case or null), in_person (bool), catalogue_version, applied_at.
- materials_notice_issued: 一次性告知 — every missing material listed once (missing), notified_at.
- materials_supplemented: materials added (materials, in_person bool, supplied_at).
- application_accepted: 受理 — accepted_at, due_on (date: 15 working days later, holidays excluded), due_by
  (datetime: end of that day, China time).
- application_refused: 不予受理 — reason, refused_at.
- fee_assessed: matter, standard_fee, charged_fee, waived (bool: reduced or waived), waiver_share, aid_linked (bool:
  an aid case claimed), aid_link_verified (bool: legal aid vouches for the claim), aid_case_id, waiver_basis
  (法律援助法 art. 53 when waived), assessed_at.
- certificate_issued: 出证 — certificate_no, office, year, sequence, issued_at, visits, one_trip (bool: 最多跑一次),
  due_on, within_deadline (bool).
- certificate_number_allocated: entry of the per-(office, year) certificate register (office, year, sequence,
  application_id, allocated_at); the register stream's version is the sequence.
- court_feedback_recorded: 采信反馈 (PartnerNotice → court) — application_id, certificate_no, adopted (bool), reason,
  decided_at, recorded_at.
- commission_accepted: 法院委托 accepted (PartnerNotice → court) — kind, region, details, due_by, commissioned_at,
  accepted_at.
- commission_performed: the auxiliary work done — summary, performed_at.
- commission_reported: report back to the court (PartnerNotice → court) — kind, summary, performed_at, reported_at.
- application_evaluated: 随单评价 (seed 004) of an issued or refused application, once: satisfaction (1–5),
  evaluated_at, region (shared.contracts.common.CaseEvaluated).

Amounts (standard_fee, charged_fee) are `Money` and waiver_share a `Share` (shared/contracts/common.py): exact
decimals, strings in JSON.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated

from pydantic import Field, StringConstraints

from shared.contracts.common import (
    CaseEvaluated,
    CaseId,
    LongText,
    Money,
    Partner,
    PartnerNotice,
    PersonRef,
    RegionCode,
    Share,
    ShortText,
)
from shared.contracts.partners import CommissionKind
from shared.events import Event, event

#: Matter catalogue id (e.g. "birth", "kinship"); also the id legal aid names in a fee waiver.
MatterId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,39}$")]
#: The notary matter catalogue as published to other departments (公证事项): id → Chinese name. Notary owns the
#: full catalogue (services/notary/matters.json: checklists, fees) and its ids are exactly these; a department that
#: names a matter (legal aid's fee waiver) checks it here before issuing an event, never in notary's data.
PUBLISHED_MATTERS: dict[str, str] = {
    "birth": "出生公证",
    "kinship": "亲属关系公证",
    "no_criminal_record": "无犯罪记录公证",
    "degree": "学历学位公证",
    "contract": "合同公证",
    "will": "遗嘱公证",
    "inheritance": "继承公证",
    "power_of_attorney": "委托书公证",
    "evidence_preservation": "保全证据公证",
    "enforceable_debt_instrument": "赋予债权文书强制执行效力公证",
}


def published_matter(matter: str) -> str:
    """`matter` if the published notary catalogue holds it, else ValueError naming the known ids (a validator)."""
    if matter not in PUBLISHED_MATTERS:
        raise ValueError(f"unknown notary matter {matter!r}: the notary catalogue has {', '.join(PUBLISHED_MATTERS)}")
    return matter


#: Material checklist item id (e.g. "id_card", "household_register").
MaterialId = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{1,39}$")]
#: Notary office (公证处) code.
OfficeCode = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9][A-Z0-9-]{1,31}$")]


@event
class ApplicationSubmitted(Event):
    """申请公证: the case's first event."""

    event_type = "caseflow.notary.application_submitted"
    application_id: CaseId
    region: RegionCode
    office: OfficeCode
    matter: MatterId
    matter_name: ShortText
    applicant_ref: PersonRef
    required_materials: list[MaterialId] = Field(min_length=1, max_length=50)  # the checklist at application
    materials_supplied: list[MaterialId] = Field(default_factory=list, max_length=50)
    standard_fee: Money
    aid_case_id: CaseId | None = None
    in_person: bool = True
    catalogue_version: ShortText
    applied_at: datetime


@event
class MaterialsNoticeIssued(Event):
    """一次性告知: every material still missing, listed once and completely."""

    event_type = "caseflow.notary.materials_notice_issued"
    missing: list[MaterialId] = Field(min_length=1, max_length=50)
    notified_at: datetime


@event
class MaterialsSupplemented(Event):
    event_type = "caseflow.notary.materials_supplemented"
    materials: list[MaterialId] = Field(min_length=1, max_length=50)
    in_person: bool
    supplied_at: datetime


@event
class ApplicationAccepted(Event):
    """受理: the certificate is due within 15 working days (公证程序规则)."""

    event_type = "caseflow.notary.application_accepted"
    accepted_at: datetime
    due_on: date  # the 15th working day (China calendar)
    due_by: datetime  # end of the due day, 24:00 China time: the instant the deadline passes


@event
class ApplicationRefused(Event):
    """不予受理."""

    event_type = "caseflow.notary.application_refused"
    reason: LongText
    refused_at: datetime


@event
class FeeAssessed(Event):
    """Fee assessed; reduced or waived when legal aid's fee waiver covers this applicant and matter (flow 7,
    法律援助法 art. 53).

    `aid_linked`: the applicant claimed an aid case. `aid_link_verified`: legal aid vouches for that claim (its
    fee-waiver registry holds a waiver for this applicant on that aid case); false when the claim failed (no such
    aid case, aid refused, no waiver granted); absent on events stored before it was recorded.
    """

    event_type = "caseflow.notary.fee_assessed"
    matter: MatterId
    standard_fee: Money
    charged_fee: Money
    waived: bool  # reduced or waived
    waiver_share: Share = Decimal(0)
    aid_linked: bool
    aid_link_verified: bool | None = None
    aid_case_id: CaseId | None = None
    waiver_basis: ShortText | None = None  # the law that reduces the fee, when it is reduced
    assessed_at: datetime


@event
class CertificateIssued(Event):
    """出证: certificate number unique and gap-free per office and year."""

    event_type = "caseflow.notary.certificate_issued"
    certificate_no: ShortText
    office: OfficeCode
    year: int
    sequence: int = Field(ge=1)
    issued_at: datetime
    visits: int = Field(ge=0)
    one_trip: bool  # 最多跑一次: at most one in-person visit
    due_on: date
    within_deadline: bool


@event
class CertificateNumberAllocated(Event):
    """An entry of the certificate register (公证登记簿) of one office and year, bound to one application."""

    event_type = "caseflow.notary.certificate_number_allocated"
    office: OfficeCode
    year: int
    sequence: int = Field(ge=1)
    application_id: CaseId
    allocated_at: datetime


@event
class CourtFeedbackRecorded(PartnerNotice):
    """A court's word on a notarial document used as evidence (采信 / 不予采信), acknowledged back to it."""

    event_type = "caseflow.notary.court_feedback_recorded"
    recipients = frozenset({Partner.COURT})
    application_id: CaseId
    certificate_no: ShortText
    adopted: bool
    reason: ShortText | None = None
    decided_at: datetime
    recorded_at: datetime


@event
class CommissionAccepted(PartnerNotice):
    """A court's commission (service, evidence preservation, supervision, enforcement) accepted by the office."""

    event_type = "caseflow.notary.commission_accepted"
    recipients = frozenset({Partner.COURT})
    kind: CommissionKind
    region: RegionCode
    details: LongText
    due_by: datetime | None = None
    commissioned_at: datetime
    accepted_at: datetime


@event
class CommissionPerformed(Event):
    event_type = "caseflow.notary.commission_performed"
    summary: LongText
    performed_at: datetime


@event
class CommissionReported(PartnerNotice):
    """The commission's report back to the court."""

    event_type = "caseflow.notary.commission_reported"
    recipients = frozenset({Partner.COURT})
    kind: CommissionKind
    summary: LongText
    performed_at: datetime
    reported_at: datetime


@event
class ApplicationEvaluated(CaseEvaluated):
    """随单评价: the applicant rated the finished application (issued or refused, 1–5), once (seed 004)."""

    event_type = "caseflow.notary.application_evaluated"
