"""Who gets legal aid (法律援助法 art. 24-25, 31-32, 41-42): the matters in scope, the grounds exempt from the
economic test (each with its source), and a city's economic threshold; `assess` explains every rule it applies.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal

from shared.contracts.common import FEN
from shared.contracts.legal_aid import ExemptionGround, Ground, MatterType
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

@dataclass(frozen=True)
class Exemption:
    """One ground for skipping the economic test: its name, the source that grants it, and the matters it covers
    (None: any matter in scope)."""

    name: str
    source: str
    only_for: frozenset[MatterType] | None = None


_ART_32 = "法律援助法 art. 32"  # 不受经济困难条件的限制
_ART_42 = "法律援助法 art. 42"  # 免予核查经济困难状况
#: Seed 001 (鄂州 十四五规划 (十一)): 对困境儿童、重度残疾人、重病患者等特殊困难群体, 免予经济状况审查.
_SEED_001 = "seed 001 (鄂州 十四五规划 (十一), under 法律援助法 art. 42(4))"

#: Every exemption ground with its own citation; a ground without an entry here cannot exist (tests check).
EXEMPTIONS: dict[ExemptionGround, Exemption] = {
    ExemptionGround.HERO_MARTYR_RELATIVE: Exemption(
        "英雄烈士近亲属 close relative of a hero or martyr", f"{_ART_32}(1)", frozenset({MatterType.HERO_HONOUR})
    ),
    ExemptionGround.BRAVE_ACT: Exemption("见义勇为 acting bravely for a just cause", f"{_ART_32}(2)"),
    ExemptionGround.RETRIAL_ACQUITTAL: Exemption(
        "再审改判无罪 acquitted on retrial, claiming state compensation",
        f"{_ART_32}(3)",
        frozenset({MatterType.STATE_COMPENSATION}),
    ),
    ExemptionGround.ABUSE_VICTIM: Exemption(
        "遭受虐待、遗弃或者家庭暴力的受害人 victim of abuse, abandonment or domestic violence", f"{_ART_32}(4)"
    ),
    ExemptionGround.MINOR_WITHOUT_INCOME: Exemption(
        "无固定生活来源的未成年人 minor without fixed income", f"{_ART_42}(1)"
    ),
    ExemptionGround.ELDERLY_WITHOUT_INCOME: Exemption(
        "无固定生活来源的老年人 elderly person without fixed income", f"{_ART_42}(1)"
    ),
    ExemptionGround.DISABLED_WITHOUT_INCOME: Exemption(
        "无固定生活来源的残疾人 disabled person without fixed income", f"{_ART_42}(1)"
    ),
    ExemptionGround.SOCIAL_ASSISTANCE_RECIPIENT: Exemption("社会救助对象 social assistance recipient", f"{_ART_42}(2)"),
    ExemptionGround.JUDICIAL_ASSISTANCE_RECIPIENT: Exemption(
        "司法救助对象 judicial assistance recipient", f"{_ART_42}(2)"
    ),
    ExemptionGround.SERVICEMAN_FAMILY: Exemption("优抚对象 entitled serviceman or family", f"{_ART_42}(2)"),
    ExemptionGround.MIGRANT_WORKER: Exemption(
        "进城务工人员 migrant worker", f"{_ART_42}(3)", frozenset({MatterType.WAGES, MatterType.INJURY_COMPENSATION})
    ),
    ExemptionGround.DISTRESSED_CHILD: Exemption("困境儿童 distressed child", _SEED_001),
    ExemptionGround.SEVERELY_DISABLED: Exemption("重度残疾人 severely disabled person", _SEED_001),
    ExemptionGround.SERIOUSLY_ILL: Exemption("重病患者 seriously ill person", _SEED_001),
}


def _yuan(amount: Decimal) -> str:
    """An amount as written, to the fen (an income stored before the fen rule keeps its extra digits)."""
    return f"{amount:,.2f}" if amount == amount.quantize(FEN) else f"{amount:,f}"


@dataclass(frozen=True)
class Threshold:
    """The economic test of one city profile: income per head per month below multiplier × 低保 (seed 004: 2.5 ×
    in Bengbu), computed exactly and rounded half up to the fen."""

    city: str
    minimum_living_standard: Decimal  # yuan per person per month
    multiplier: Decimal

    @property
    def amount(self) -> Decimal:
        return (self.minimum_living_standard * self.multiplier).quantize(FEN, ROUND_HALF_UP)

    def explain(self, income: Decimal) -> tuple[bool, str]:
        """Whether `income` passes (strictly below the threshold) and the sentence saying so with both amounts."""
        below = income < self.amount
        return below, (
            f"household income per head {_yuan(income)} yuan/month {'<' if below else '≥'} threshold "
            f"{_yuan(self.amount)} ({self.multiplier.normalize():f} × {_yuan(self.minimum_living_standard)} 低保, "
            f"{self.city})"
        )


@dataclass(frozen=True)
class Assessment:
    eligible: bool
    grounds: tuple[Ground, ...]
    reason: str
    threshold: Decimal | None = None


def assess(
    matter_type: MatterType,
    income_per_head: Decimal | None,
    special_groups: tuple[ExemptionGround, ...] | list[ExemptionGround],
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
    exemptions = [EXEMPTIONS[g] for g in special_groups]
    exempting = [e for e in exemptions if e.only_for is None or matter_type in e.only_for]
    if exempting:
        names = "; ".join(f"{e.name} ({e.source})" for e in exempting)
        grounds.append(Ground(rule="special_group", passed=True, text=f"economic test waived: {names}"[:500]))
        return Assessment(True, tuple(grounds), f"granted: {grounds[-1].text}")
    for e in exemptions:  # claimed but not exempting for this matter: say why
        covered = "/".join(sorted(m.value for m in e.only_for or ()))
        text = f"{e.name} waives the economic test only for {covered} ({e.source})"
        grounds.append(Ground(rule="special_group", passed=False, text=text))
    if threshold is None:
        raise ValidationFailed("no city profile sets an economic threshold for this region", field="region")
    if income_per_head is None:
        raise ValidationFailed(
            "household income per head is required unless an exemption ground waives the economic test",
            field="household_income_per_head",
        )
    below, text = threshold.explain(income_per_head)
    grounds.append(Ground(rule="economic_test", passed=below, text=text))
    return Assessment(below, tuple(grounds), ("granted: " if below else "refused: ") + text, threshold.amount)
