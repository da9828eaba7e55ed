"""Value types every department's contracts share (the published language's vocabulary)."""

from __future__ import annotations

from enum import StrEnum
from typing import Annotated, ClassVar

from pydantic import StringConstraints

from shared.events import Event, event

#: 12-digit statistical division code (GB/T 2260 + town/village digits), e.g. 431002001001
RegionCode = Annotated[str, StringConstraints(pattern=r"^\d{12}$")]
#: Pseudonymous reference to a person; the owning service alone maps it to name/ID number/phone.
PersonRef = Annotated[str, StringConstraints(pattern=r"^p-[0-9a-f]{16,64}$")]
#: A case id of any department (the stream id).
CaseId = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=500, strip_whitespace=True)]
LongText = Annotated[str, StringConstraints(min_length=1, max_length=5000, strip_whitespace=True)]


class Department(StrEnum):
    INTAKE = "intake"
    LEGAL_AID = "legal_aid"
    MEDIATION = "mediation"
    NOTARY = "notary"


class Partner(StrEnum):
    """External organs that exchange events with the platform (values = `shared.topics.PARTNERS`)."""

    COURT = "court"
    POLICE = "police"
    PROCURATORATE = "procuratorate"
    PETITION_OFFICE = "petition_office"  # 信访部门: refers disputes for mediation (访调对接, seed 004)
    HOTLINE_12345 = "hotline_12345"  # 12345 政务服务热线: transfers calls both ways (seed 004)
    DISPATCH_110 = "dispatch_110"  # 110 指挥中心 / 报警服务台: transfers calls both ways (seeds 002, 004)


#: the judicial and public-security organs (政法机关): notified defence, forwarded applications, referrals
ORGANS = frozenset({Partner.COURT, Partner.POLICE, Partner.PROCURATORATE})
#: the hotlines 12348 transfers calls to and takes transfers from (12348 ↔ 12345 ↔ 110 联动)
HOTLINES = frozenset({Partner.HOTLINE_12345, Partner.DISPATCH_110})
#: organs that refer disputes to people's mediation and get the outcome back (警调 / 诉调 / 检调 / 访调对接)
REFERRING_ORGANS = ORGANS | {Partner.PETITION_OFFICE}


class PartnerNotice(Event):
    """Base of department events addressed to a partner: the router forwards them to its outbound topic.

    `recipients` names the partners a notice of this type may be addressed to (the AsyncAPI document lists it
    on their outbound channels)."""

    recipients: ClassVar[frozenset[Partner]] = ORGANS
    recipient: Partner
    partner_reference: str | None = None  # the partner's own case number, echoed back


class PartnerRequest(Event):
    """Base of events a partner sends on its inbound topic; `source` must be `partner/<recipient>`.

    `senders` names the partners that may send this type: one from any other partner is refused with a
    `PartnerEventRejected` notice (shared.partners.inbound_guard)."""

    senders: ClassVar[frozenset[Partner]] = ORGANS
    partner_reference: Annotated[str, StringConstraints(min_length=1, max_length=64)]


def region_ancestors(code: str) -> list[str]:
    """village → town → county → city → province codes (12 digits each), most specific first."""
    cuts = (12, 9, 6, 4, 2)
    out: list[str] = []
    for n in cuts:
        ancestor = code[:n].ljust(12, "0")
        if ancestor not in out:
            out.append(ancestor)
    return out


@event
class PartnerEventRejected(PartnerNotice):
    """An event a partner sent was refused: parked on the dead-letter topic, and the sender told why.

    `recipient` is the partner whose inbound topic carried it (the broker's ACLs make that the real sender).
    """

    event_type = "caseflow.platform.partner_event_rejected"
    recipients = frozenset(Partner)
    reason: str
    error_code: str
    rejected_by: str  # the consumer that refused it, e.g. caseflow.mediation.partners
    rejected_event_id: str | None = None
    rejected_type: str | None = None
