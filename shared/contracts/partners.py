"""Events partners send on their inbound topics (`<prefix>.partner.<p>.inbound`).

Partners: court, police, procuratorate (政法机关), the petition office (信访部门: dispute referrals, 访调对接), the
12345 government hotline and 110 dispatch (call transfers both ways with 12348, seeds 002 and 004). The envelope's
`source` must be `partner/<name>` and match the topic (and the Kafka principal), and the type must be one that
partner sends (`senders`); `subject` is the partner's reference; `correlationid` is the id the case keeps end to
end. What partners receive back are `PartnerNotice` events defined by each department.

12345 / 110 linkage (热线联动): `call_transferred` hands a call to 12348 (the partner's ticket is the reference;
intake opens a request and reports its result back with `caseflow.intake.transfer_result_reported`); for a
transfer out of 12348 (`caseflow.intake.request_transferred`) the hotline answers `transfer_accepted` with its
ticket, then `transfer_handled` with the outcome, both naming the intake `request_id`.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from shared.contracts.common import (
    HOTLINES,
    REFERRING_ORGANS,
    CaseId,
    LongText,
    Partner,
    PartnerRequest,
    PersonRef,
    RegionCode,
    ShortText,
)
from shared.contracts.intake import ExternalRef, RequestKind, TopicCode
from shared.events import event


class DefenceKind(StrEnum):
    NOTIFIED_DEFENCE = "notified_defence"  # 通知辩护
    DUTY_LAWYER = "duty_lawyer"  # 值班律师法律帮助


class ProceedingStage(StrEnum):
    INVESTIGATION = "investigation"  # police
    PROSECUTION_REVIEW = "prosecution_review"  # procuratorate
    TRIAL = "trial"  # court


@event
class NotifiedDefenceRequested(PartnerRequest):
    """通知辩护 / 法律帮助: an organ asks legal aid to assign a defender (assignment due within 3 days)."""

    event_type = "caseflow.partner.notified_defence_requested"
    kind: DefenceKind
    defendant_ref: PersonRef
    region: RegionCode
    stage: ProceedingStage
    charge: ShortText
    notified_at: datetime
    reason: ShortText | None = None  # e.g. minor, blind/deaf/mute, possible life sentence


@event
class DetaineeApplicationForwarded(PartnerRequest):
    """A detainee's legal aid application forwarded by the organ (art. 39: within 24 hours of receipt)."""

    event_type = "caseflow.partner.detainee_application_forwarded"
    applicant_ref: PersonRef
    region: RegionCode
    matter: ShortText
    received_at: datetime  # when the organ received the application
    forwarded_at: datetime


class ReferralKind(StrEnum):
    POLICE_110 = "police_110"  # 警调对接
    COURT_PRE_LITIGATION = "court_pre_litigation"  # 诉前调解 / 委派调解
    PROCURATORATE_RECONCILIATION = "procuratorate_reconciliation"  # 检调对接
    PETITION = "petition"  # 访调对接 (信访部门, seed 004)


@event
class DisputeReferred(PartnerRequest):
    """An organ refers a dispute to people's mediation; acknowledged (accepted/declined) back to it."""

    event_type = "caseflow.partner.dispute_referred"
    senders = REFERRING_ORGANS
    kind: ReferralKind
    dispute_type: ShortText
    region: RegionCode
    parties: list[PersonRef] = Field(min_length=1, max_length=20)
    summary: LongText
    referred_at: datetime


class ConfirmationOutcome(StrEnum):
    CONFIRMED = "confirmed"
    REJECTED = "rejected"


@event
class JudicialConfirmationDecided(PartnerRequest):
    """The court's ruling on a mediation agreement's judicial confirmation (司法确认)."""

    event_type = "caseflow.partner.judicial_confirmation_decided"
    senders = frozenset({Partner.COURT})
    dispute_id: ShortText  # the mediation case id the court was given
    outcome: ConfirmationOutcome
    reason: ShortText | None = None
    decided_at: datetime


class CommissionKind(StrEnum):
    SERVICE_OF_DOCUMENTS = "service_of_documents"
    EVIDENCE_PRESERVATION = "evidence_preservation"
    ON_SITE_SUPERVISION = "on_site_supervision"
    ENFORCEMENT_ASSISTANCE = "enforcement_assistance"


@event
class NotaryCommissioned(PartnerRequest):
    """A court commissions a notary office for judicial auxiliary work."""

    event_type = "caseflow.partner.notary_commissioned"
    senders = frozenset({Partner.COURT})
    kind: CommissionKind
    region: RegionCode
    details: LongText
    due_by: datetime | None = None
    commissioned_at: datetime


@event
class NotarialDocumentFeedback(PartnerRequest):
    """A court says whether a notarial document used as evidence was adopted (采信)."""

    event_type = "caseflow.partner.notarial_document_feedback"
    senders = frozenset({Partner.COURT})
    certificate_no: ShortText
    adopted: bool
    reason: ShortText | None = None
    decided_at: datetime


# -- 12348 ↔ 12345 ↔ 110 linkage (热线联动, seeds 002 and 004) ------------------------------------------------
@event
class CallTransferred(PartnerRequest):
    """12345 or 110 hands a call to 12348 (转办): `partner_reference` is its ticket; intake opens one request per
    ticket (a re-sent transfer changes nothing) with a work order (工单, seed 002) and reports the result back."""

    event_type = "caseflow.partner.call_transferred"
    senders = HOTLINES
    partner_reference: ExternalRef  # the hotline's ticket number
    region: RegionCode
    kind: RequestKind
    topic: TopicCode  # the matter category, from intake's list (never free text)
    reason: ShortText  # why the hotline hands it over
    asked: ShortText  # what 12348 is asked to do
    person_ref: PersonRef | None = None
    transferred_at: datetime
    #: the hotline's time limit (办理时限) for the work order 12348 opens; intake's default (72 h) when absent
    deadline_hours: int | None = Field(default=None, ge=1, le=720)


@event
class TransferAccepted(PartnerRequest):
    """The hotline took a call 12348 transferred to it: `partner_reference` is the ticket it opened."""

    event_type = "caseflow.partner.transfer_accepted"
    senders = HOTLINES
    partner_reference: ExternalRef  # the hotline's ticket number
    request_id: CaseId  # the intake request that was transferred
    accepted_at: datetime


@event
class TransferHandled(PartnerRequest):
    """The hotline's result for a call 12348 transferred to it (办理结果反馈), under its ticket."""

    event_type = "caseflow.partner.transfer_handled"
    senders = HOTLINES
    partner_reference: ExternalRef  # the hotline's ticket number
    request_id: CaseId
    outcome: ShortText
    handled_at: datetime
