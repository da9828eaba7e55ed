"""Legal aid case (法律援助案件): eligibility rules, statutory deadlines and the case decider. Pure: no I/O, no clock.

Lifecycle: applied (citizen, intake referral, or a detainee's application forwarded by an organ) or notified
(通知辩护 / 法律帮助: granted on receipt) → reviewed (the 7-day clock stops while the applicant supplements
materials; granted | refused with a written reason naming the justice bureau as the place of objection; an
objection is lodged once, then the case is reviewed again) → assigned (lawyer | grassroots worker | aid-centre
staff; the notifying organ is told) → closed (outcome) → quality reviewed → subsidy paid. A granted recipient may
be given a notary fee waiver (flow 7, 法律援助法 art. 53) at any point after the grant. Amounts are exact `Money`
(decimal yuan).

Modules: eligibility.py (who gets aid), deadlines.py (the statutory periods), case.py (state and commands),
decider.py (decide and evolve).
"""

from services.legal_aid.domain.case import (
    AidCase,
    Assign,
    Close,
    Contest,
    FeeWaiver,
    GrantNotaryFeeWaiver,
    PaySubsidy,
    ProviderFacts,
    ReceiveApplication,
    ReceiveNotice,
    ReceiveSupplement,
    RequestSupplement,
    Review,
    ReviewQuality,
    Status,
)
from services.legal_aid.domain.deadlines import (
    ASSIGN_DAYS,
    DUE_SOON,
    FORWARD_HOURS,
    REVIEW_DAYS,
    Deadline,
    DeadlineName,
    DeadlineStatus,
    assignment_due,
    deadline_status,
    forwarding_due,
    review_due,
)
from services.legal_aid.domain.decider import GRANTED_STATES, decide, decider, evolve
from services.legal_aid.domain.eligibility import (
    EXEMPTIONS,
    IN_SCOPE,
    Assessment,
    Exemption,
    Threshold,
    assess,
)

__all__ = [
    "ASSIGN_DAYS",
    "DUE_SOON",
    "EXEMPTIONS",
    "FORWARD_HOURS",
    "GRANTED_STATES",
    "IN_SCOPE",
    "REVIEW_DAYS",
    "AidCase",
    "Assessment",
    "Assign",
    "Close",
    "Contest",
    "Deadline",
    "Exemption",
    "DeadlineName",
    "DeadlineStatus",
    "FeeWaiver",
    "GrantNotaryFeeWaiver",
    "PaySubsidy",
    "ProviderFacts",
    "ReceiveApplication",
    "ReceiveNotice",
    "ReceiveSupplement",
    "RequestSupplement",
    "Review",
    "ReviewQuality",
    "Status",
    "Threshold",
    "assess",
    "assignment_due",
    "deadline_status",
    "decide",
    "decider",
    "evolve",
    "forwarding_due",
    "review_due",
]
