"""Topic names (prefix from configuration) and their creation."""

from __future__ import annotations

from dataclasses import dataclass

DEPARTMENTS = ("intake", "legal_aid", "mediation", "notary")
#: external organs, each with its own inbound/outbound topic pair and broker principal: 法院, 公安, 检察院, 信访部门
#: (访调对接), the 12345 government hotline and 110 dispatch (热线联动, seeds 002 and 004)
PARTNERS = ("court", "police", "procuratorate", "petition_office", "hotline_12345", "dispatch_110")


@dataclass(frozen=True)
class Topics:
    prefix: str

    def department(self, dept: str) -> str:
        if dept not in DEPARTMENTS:
            raise ValueError(f"unknown department {dept!r}")
        return f"{self.prefix}.{dept}.events"

    def partner_inbound(self, partner: str) -> str:
        if partner not in PARTNERS:
            raise ValueError(f"unknown partner {partner!r}")
        return f"{self.prefix}.partner.{partner}.inbound"

    def partner_outbound(self, partner: str) -> str:
        if partner not in PARTNERS:
            raise ValueError(f"unknown partner {partner!r}")
        return f"{self.prefix}.partner.{partner}.outbound"

    @property
    def indicators(self) -> str:
        return f"{self.prefix}.metrics.indicators"

    @property
    def deadletter(self) -> str:
        return f"{self.prefix}.deadletter"

    @property
    def deadletter_replays(self) -> str:
        """Which dead letters an operator replayed (`caseflow dlq replay`), compacted, keyed by dead-letter id."""
        return f"{self.prefix}.deadletter.replays"

    def all_department_topics(self) -> list[str]:
        return [self.department(d) for d in DEPARTMENTS]

    def all(self) -> list[str]:
        names = self.all_department_topics()
        for p in PARTNERS:
            names += [self.partner_inbound(p), self.partner_outbound(p)]
        return [*names, self.indicators, self.deadletter]

    def compacted(self) -> set[str]:
        return {self.indicators}
