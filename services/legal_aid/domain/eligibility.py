"""Who gets legal aid (法律援助法 art. 24-25, 31, 41-42): the matters in scope, the special groups exempt from
the economic test, and a city's economic threshold; `assess` explains every rule it applies.
"""

from __future__ import annotations

from dataclasses import dataclass

from shared.contracts.legal_aid import (
    Ground,
    MatterType,
    SpecialGroup,
)
from shared.errors import ValidationFailed

IN_SCOPE: frozenset[MatterType] = frozenset(
    {
        MatterType.CRIMINAL,
        MatterType.STATE_COMPENSATION,
        MatterType.SOCIAL_INSURANCE,
        MatterType.SOCIAL_ASSISTANCE,
        MatterType.PENSION_RELIEF,
        MatterType.MAINTENANCE,
        MatterType.WAGES,
        MatterType.INJURY_COMPENSATION,
        MatterType.FAMILY,
        MatterType.FOOD_AND_DRUG,
        MatterType.EDUCATION_MEDICAL,
        MatterType.ENVIRONMENT,
        MatterType.HERO_HONOUR,
    }
)

#: Groups exempt from the economic test only for some matters (art. 42); absent = exempt for every matter.
EXEMPT_ONLY_FOR: dict[SpecialGroup, frozenset[MatterType]] = {
    SpecialGroup.MIGRANT_WORKER: frozenset({MatterType.WAGES, MatterType.INJURY_COMPENSATION}),
    SpecialGroup.HERO_MARTYR_RELATIVE: frozenset({MatterType.HERO_HONOUR}),
}

GROUP_NAMES: dict[SpecialGroup, str] = {
    SpecialGroup.DISTRESSED_CHILD: "困境儿童 distressed child",
    SpecialGroup.SEVERELY_DISABLED: "重度残疾人 severely disabled person",
    SpecialGroup.SERIOUSLY_ILL: "重病患者 seriously ill person",
    SpecialGroup.ELDERLY_WITHOUT_INCOME: "无固定生活来源的老年人 elderly person without fixed income",
    SpecialGroup.SOCIAL_ASSISTANCE_RECIPIENT: "社会救助对象 social assistance recipient",
    SpecialGroup.MIGRANT_WORKER: "进城务工人员 migrant worker",
    SpecialGroup.SERVICEMAN_FAMILY: "军人军属 serviceman or family",
    SpecialGroup.HERO_MARTYR_RELATIVE: "英雄烈士近亲属 close relative of a hero or martyr",
}


@dataclass(frozen=True)
class Threshold:
    """The economic test of one city profile: income per head per month below multiplier × 低保."""

    city: str
    minimum_living_standard: float  # yuan per person per month
    multiplier: float

    @property
    def amount(self) -> float:
        return round(self.minimum_living_standard * self.multiplier, 2)


@dataclass(frozen=True)
class Assessment:
    eligible: bool
    grounds: tuple[Ground, ...]
    reason: str
    threshold: float | None = None


def assess(
    matter_type: MatterType,
    income_per_head: float | None,
    special_groups: tuple[SpecialGroup, ...] | list[SpecialGroup],
    threshold: Threshold | None,
) -> Assessment:
    """Eligibility of a citizen's application, with a written explanation of every rule applied."""
    if matter_type is MatterType.UNSPECIFIED:
        raise ValidationFailed("the matter type must be classified before review", field="matter_type")
    grounds: list[Ground] = []
    in_scope = matter_type in IN_SCOPE
    grounds.append(
        Ground(
            rule="matter_in_scope",
            passed=in_scope,
            text=f"matter type '{matter_type.value}' is "
            + ("within legal aid scope" if in_scope else "not within legal aid scope (法律援助法 art. 24-25, 31)"),
        )
    )
    if not in_scope:
        return Assessment(False, tuple(grounds), grounds[0].text)
    exempting = [g for g in special_groups if matter_type in EXEMPT_ONLY_FOR.get(g, IN_SCOPE)]
    if exempting:
        names = ", ".join(GROUP_NAMES[g] for g in exempting)
        grounds.append(Ground(rule="special_group", passed=True, text=f"economic test waived: {names} (art. 42)"))
        return Assessment(True, tuple(grounds), f"granted: {grounds[-1].text}")
    for g in special_groups:  # claimed but not exempting for this matter: say why
        grounds.append(
            Ground(
                rule="special_group",
                passed=False,
                text=f"{GROUP_NAMES[g]} waives the economic test only for "
                + "/".join(sorted(m.value for m in EXEMPT_ONLY_FOR[g])),
            )
        )
    if threshold is None:
        raise ValidationFailed("no city profile sets an economic threshold for this region", field="region")
    if income_per_head is None:
        raise ValidationFailed(
            "household income per head is required unless a special group waives the economic test",
            field="household_income_per_head",
        )
    below = income_per_head < threshold.amount
    text = (
        f"household income per head {income_per_head:.2f} yuan/month is "
        + ("below" if below else "not below")
        + f" the {threshold.city} threshold {threshold.amount:.2f} "
        + f"({threshold.multiplier:g} x minimum living standard {threshold.minimum_living_standard:.2f})"
    )
    grounds.append(Ground(rule="economic_test", passed=below, text=text))
    return Assessment(below, tuple(grounds), ("granted: " if below else "refused: ") + text, threshold.amount)
