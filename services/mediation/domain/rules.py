"""Who may refer what, which disputes count as complex (疑难复杂), and which committee covers a dispute's region."""

from __future__ import annotations

from shared.contracts.common import Partner, region_ancestors
from shared.contracts.mediation import Referrer, Source

#: 疑难复杂: dispute types that always get a follow-up visit; group disputes (群体性) also count as complex.
COMPLEX_TYPES = frozenset({"medical", "demolition", "environment", "forest_land", "land_contract", "labour"})
GROUP_DISPUTE_PARTIES = 5
#: the organ a partner referral must come from, per kind of referral
PARTNER_SOURCES = {
    Partner.POLICE: Source.POLICE_110,
    Partner.COURT: Source.COURT_PRE_LITIGATION,
    Partner.PROCURATORATE: Source.PROCURATORATE_RECONCILIATION,
    Partner.PETITION_OFFICE: Source.PETITION,  # 访调对接 (seed 004)
}
#: referrers with an outbound topic: acknowledged and told the outcome there
PARTNER_REFERRERS = frozenset({Referrer.COURT, Referrer.POLICE, Referrer.PROCURATORATE, Referrer.PETITION_OFFICE})


def is_complex(dispute_type: str, party_count: int) -> bool:
    return dispute_type in COMPLEX_TYPES or party_count >= GROUP_DISPUTE_PARTIES


def covers(committee_regions: list[str], region: str) -> bool:
    """A committee covers a dispute when one of its regions is the dispute's region or an ancestor of it."""
    ancestors = set(region_ancestors(region))
    return any(r in ancestors for r in committee_regions)
