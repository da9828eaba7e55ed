"""Events courts, police and procuratorates send on their inbound topics (`<prefix>.partner.<p>.inbound`).

The envelope's `source` must be `partner/<court|police|procuratorate>` and match the topic (and the Kafka
principal); `subject` is the partner's reference; `correlationid` is the id the case keeps end to end.
What partners receive back are `PartnerNotice` events defined by each department.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import Field

from shared.contracts.common import LongText, PartnerRequest, PersonRef, RegionCode, ShortText
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


@event
class DisputeReferred(PartnerRequest):
    """An organ refers a dispute to people's mediation; acknowledged (accepted/declined) back to it."""

    event_type = "caseflow.partner.dispute_referred"
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
    kind: CommissionKind
    region: RegionCode
    details: LongText
    due_by: datetime | None = None
    commissioned_at: datetime


@event
class NotarialDocumentFeedback(PartnerRequest):
    """A court says whether a notarial document used as evidence was adopted (采信)."""

    event_type = "caseflow.partner.notarial_document_feedback"
    certificate_no: ShortText
    adopted: bool
    reason: ShortText | None = None
    decided_at: datetime
