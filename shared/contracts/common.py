"""Value types every department's contracts share (the published language's vocabulary)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Annotated, Any, ClassVar

from pydantic import AfterValidator, BeforeValidator, Field, PlainSerializer, StringConstraints, ValidationInfo
from pydantic_core import PydanticCustomError

from shared.events import STORED, Event, event

#: 12-digit statistical division code (GB/T 2260 + town/village digits), e.g. 431002001001
RegionCode = Annotated[str, StringConstraints(pattern=r"^\d{12}$")]
#: Pseudonymous reference to a person; the owning service alone maps it to name/ID number/phone.
PersonRef = Annotated[str, StringConstraints(pattern=r"^p-[0-9a-f]{16,64}$")]
#: A case id of any department (the stream id).
CaseId = Annotated[str, StringConstraints(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:-]+$")]
ShortText = Annotated[str, StringConstraints(min_length=1, max_length=500, strip_whitespace=True)]
LongText = Annotated[str, StringConstraints(min_length=1, max_length=5000, strip_whitespace=True)]
#: 随单评价 (seed 004: every service evaluated once by the person served): 1 very dissatisfied … 5 very satisfied;
#: 4–5 count as satisfied in the `satisfaction` indicator (seeds 000, 002: ≥95%).
Satisfaction = Annotated[int, Field(ge=1, le=5)]

FEN = Decimal("0.01")
MONEY_MAX = Decimal("999999999999.99")  # under a trillion yuan: beyond any fee, income or subsidy; exact in 28 digits


def _as_written(value: Any) -> Any:
    """A JSON number reaches us as a float: take the decimal its shortest repr spells (what the sender wrote)."""
    if isinstance(value, float):
        return Decimal(repr(value))
    return value


def _to_the_fen(rule: str) -> Callable[[Decimal, ValidationInfo], Decimal]:
    """Refuse a value finer than 0.01 (new input), or keep it as written (an event stored before the rule)."""

    def check(value: Decimal, info: ValidationInfo) -> Decimal:
        if value == value.quantize(FEN):
            return value.quantize(FEN)
        if info.context and info.context.get(STORED):
            return value
        raise PydanticCustomError("decimal_max_places", "{rule}, got {value}", {"rule": rule, "value": str(value)})

    return check


def _text(value: Decimal) -> str:
    return format(value, "f")


#: An amount of money in yuan (元), exact: non-negative, at most two decimal places (fen, 分). JSON carries it as a
#: string ("1999.99"); a JSON number is read as the decimal it spells (events stored before this type decode).
#: Finer input is refused with "at most two decimal places (fen)" (docs/decisions/0006-money-is-exact.md).
Money = Annotated[
    Decimal,
    BeforeValidator(_as_written),
    Field(ge=0, le=MONEY_MAX, allow_inf_nan=False),
    AfterValidator(_to_the_fen("at most two decimal places (fen)")),
    PlainSerializer(_text, return_type=str, when_used="json"),
]
#: A share of a fee (0 to 1, e.g. 0.5 = halved), exact to a whole percent; carried like Money.
Share = Annotated[
    Decimal,
    BeforeValidator(_as_written),
    Field(ge=0, le=1, allow_inf_nan=False),
    AfterValidator(_to_the_fen("at most two decimal places (a whole percent)")),
    PlainSerializer(_text, return_type=str, when_used="json"),
]


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


class CaseEvaluated(Event):
    """Base of every department's 随单评价 event: the person served rated the closed case, once (seed 004).

    Each department registers its own type (`caseflow.<dept>.<case>_evaluated`) with these fields, so the metrics
    `satisfaction` indicator reads them alike and splits them per department."""

    satisfaction: Satisfaction
    evaluated_at: datetime
    region: RegionCode


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


#: Why a referral was refused: an error code of `shared.errors` or a department's own (e.g. region_not_served).
ReasonCode = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9_]{0,63}$")]


@event
class ReferralRefused(Event):
    """A department could not accept another department's referral (转介退回): the referring case learns why.

    Published on the refusing department's topic (subject: its refusal stream, `refusal-…`), under the referring
    case's correlation id; the referring department folds it into `referral_case_id` (intake: "referral refused").
    """

    event_type = "caseflow.platform.referral_refused"
    referral_case_id: CaseId  # the referring department's case
    referral_event_id: str  # the referral event refused
    referred_by: Department
    refused_by: Department
    reason_code: ReasonCode
    reason: LongText
    field: str | None = None  # the referral's field at fault, when one is
    region: RegionCode
    refused_at: datetime
