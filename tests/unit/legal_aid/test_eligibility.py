"""Eligibility table: matter scope, every exemption ground with its source, exact threshold edges, every city
profile."""

from decimal import Decimal

import pytest

from services.legal_aid.domain import EXEMPTIONS, IN_SCOPE, Threshold, assess
from services.legal_aid.reference import load_profiles
from shared.contracts.legal_aid import ExemptionGround, MatterType
from shared.errors import ValidationFailed

D = Decimal
BENGBU = Threshold("蚌埠市 Bengbu", D("760.00"), D("2.5"))  # 1,900.00


@pytest.mark.parametrize(
    ("income", "eligible"),
    [("0.00", True), ("1899.99", True), ("1900.00", False), ("1900.01", False), ("5000.00", False)],
)
def test_economic_test_edges_at_the_threshold(income, eligible):
    """Seed 004: aid for income below 2.5 × the local 低保; exactly at the threshold is not below it."""
    result = assess(MatterType.WAGES, D(income), [], BENGBU)
    assert result.eligible is eligible
    assert result.threshold == D("1900.00")
    economic = [g for g in result.grounds if g.rule == "economic_test"]
    assert economic and economic[0].passed is eligible
    assert result.reason.startswith("granted" if eligible else "refused")


def test_the_reason_states_both_amounts_exactly():
    """Seed 004 (2.5 × 低保): the written reason (法律援助法 art. 43: a refusal says why) names income and threshold
    to the fen, and how the threshold is made."""
    t = Threshold("蚌埠市 Bengbu", D("780.00"), D("2.5"))
    refused = assess(MatterType.WAGES, D("1999.99"), [], t)
    assert refused.reason == (
        "refused: household income per head 1,999.99 yuan/month ≥ threshold 1,950.00 (2.5 × 780.00 低保, 蚌埠市 Bengbu)"
    )
    granted = assess(MatterType.WAGES, D("1949.99"), [], t)
    assert "1,949.99 yuan/month < threshold 1,950.00" in granted.reason


def test_the_threshold_is_computed_exactly():
    """Seed 004: 2.5 × 低保 in decimal arithmetic — 2.5 × 780.10 is 1,950.25 exactly, and an income that sums to the
    threshold from parts (0.1 + 0.2 style) meets it exactly, where binary floats would drift."""
    t = Threshold("蚌埠市 Bengbu", D("780.10"), D("2.5"))
    assert t.amount == D("1950.25")
    parts = [D("1950.05"), D("0.1"), D("0.1")]  # 1950.25, which in floats is 1950.2499999999998
    assert sum(parts) == t.amount and sum(float(p) for p in parts) != float(t.amount)
    assert not assess(MatterType.WAGES, sum(parts), [], t).eligible  # at the threshold: not below it


def test_a_fractional_threshold_rounds_half_up_to_the_fen():
    """Seed 004 (a multiple of 低保): a product finer than the fen is rounded half up to the fen, the unit money has."""
    assert Threshold("x", D("700.01"), D("1.5")).amount == D("1050.02")  # 1050.015
    assert Threshold("x", D("700.03"), D("1.5")).amount == D("1050.05")  # 1050.045


@pytest.mark.parametrize("matter", sorted(IN_SCOPE))
def test_every_in_scope_matter_passes_the_scope_rule(matter):
    """法律援助法 art. 24-25, 31 and seed 004's 补充事项: the matters legal aid covers."""
    result = assess(matter, D("100.00"), [], BENGBU)
    assert result.eligible
    assert result.grounds[0].rule == "matter_in_scope" and result.grounds[0].passed


@pytest.mark.parametrize("matter", [MatterType.COMMERCIAL, MatterType.OTHER])
def test_out_of_scope_matters_are_refused_even_for_exempt_grounds(matter):
    """法律援助法 art. 31: an exemption waives the economic test, not the scope."""
    result = assess(matter, D(0), [ExemptionGround.SEVERELY_DISABLED], BENGBU)
    assert not result.eligible
    assert "not within legal aid scope" in result.reason


def test_unclassified_matter_cannot_be_reviewed():
    """法律援助法 art. 41: the review decides on a classified matter."""
    with pytest.raises(ValidationFailed) as err:
        assess(MatterType.UNSPECIFIED, D(0), [], BENGBU)
    assert err.value.field == "matter_type"


#: (ground, a matter it covers, the source the reason must cite)
CITED = [
    (ExemptionGround.HERO_MARTYR_RELATIVE, MatterType.HERO_HONOUR, "法律援助法 art. 32(1)"),
    (ExemptionGround.BRAVE_ACT, MatterType.INJURY_COMPENSATION, "法律援助法 art. 32(2)"),
    (ExemptionGround.RETRIAL_ACQUITTAL, MatterType.STATE_COMPENSATION, "法律援助法 art. 32(3)"),
    (ExemptionGround.ABUSE_VICTIM, MatterType.FAMILY, "法律援助法 art. 32(4)"),
    (ExemptionGround.MINOR_WITHOUT_INCOME, MatterType.MAINTENANCE, "法律援助法 art. 42(1)"),
    (ExemptionGround.ELDERLY_WITHOUT_INCOME, MatterType.MAINTENANCE, "法律援助法 art. 42(1)"),
    (ExemptionGround.DISABLED_WITHOUT_INCOME, MatterType.SOCIAL_INSURANCE, "法律援助法 art. 42(1)"),
    (ExemptionGround.SOCIAL_ASSISTANCE_RECIPIENT, MatterType.SOCIAL_ASSISTANCE, "法律援助法 art. 42(2)"),
    (ExemptionGround.JUDICIAL_ASSISTANCE_RECIPIENT, MatterType.FAMILY, "法律援助法 art. 42(2)"),
    (ExemptionGround.SERVICEMAN_FAMILY, MatterType.PENSION_RELIEF, "法律援助法 art. 42(2)"),
    (ExemptionGround.MIGRANT_WORKER, MatterType.WAGES, "法律援助法 art. 42(3)"),
    (ExemptionGround.DISTRESSED_CHILD, MatterType.FAMILY, "seed 001"),
    (ExemptionGround.SEVERELY_DISABLED, MatterType.FAMILY, "seed 001"),
    (ExemptionGround.SERIOUSLY_ILL, MatterType.EDUCATION_MEDICAL, "seed 001"),
]


def test_every_exemption_ground_has_its_own_entry_and_source():
    """法律援助法 arts. 32 and 42, seed 001: each ground is its own rule with its own citation, none left out."""
    assert set(EXEMPTIONS) == set(ExemptionGround) == {g for g, _, _ in CITED}


@pytest.mark.parametrize(("ground", "matter", "source"), CITED, ids=[g.value for g, _, _ in CITED])
def test_each_exemption_ground_skips_the_economic_test_citing_its_source(ground, matter, source):
    """法律援助法 art. 32 (不受经济困难条件的限制: (1) 英雄烈士近亲属, (2) 见义勇为, (3) 再审改判无罪请求国家赔偿,
    (4) 虐待、遗弃、家庭暴力受害人), art. 42 (免予核查: (1) 无固定生活来源的未成年人、老年人、残疾人, (2) 社会救助、
    司法救助、优抚对象, (3) 进城务工人员), seed 001 (困境儿童、重度残疾人、重病患者): income far above the threshold,
    or unknown, is no bar, and the reason cites the ground's own source."""
    for income in (D("99999.00"), None):
        result = assess(matter, income, [ground], BENGBU)
        assert result.eligible
        assert [g.rule for g in result.grounds] == ["matter_in_scope", "special_group"]
        assert "economic test waived" in result.reason and source in result.reason
        assert EXEMPTIONS[ground].source.startswith(source)


def test_groups_a_seed_adds_cite_the_seed_not_the_law():
    """Seed 001 (鄂州 十四五规划 (十一)) adds 困境儿童、重度残疾人、重病患者; the law's own lists (arts. 32, 42) do not
    name them."""
    for ground in (ExemptionGround.DISTRESSED_CHILD, ExemptionGround.SEVERELY_DISABLED, ExemptionGround.SERIOUSLY_ILL):
        assert EXEMPTIONS[ground].source.startswith("seed 001")
    assert all(e.source.startswith("法律援助法") for g, e in EXEMPTIONS.items() if "seed" not in e.source)


@pytest.mark.parametrize(
    ("ground", "matter", "exempt"),
    [
        (ExemptionGround.MIGRANT_WORKER, MatterType.WAGES, True),
        (ExemptionGround.MIGRANT_WORKER, MatterType.INJURY_COMPENSATION, True),
        (ExemptionGround.MIGRANT_WORKER, MatterType.FAMILY, False),
        (ExemptionGround.HERO_MARTYR_RELATIVE, MatterType.HERO_HONOUR, True),
        (ExemptionGround.HERO_MARTYR_RELATIVE, MatterType.WAGES, False),
        (ExemptionGround.RETRIAL_ACQUITTAL, MatterType.STATE_COMPENSATION, True),
        (ExemptionGround.RETRIAL_ACQUITTAL, MatterType.FAMILY, False),
    ],
)
def test_matter_bound_exemption_grounds(ground, matter, exempt):
    """法律援助法 art. 32(1) (英雄烈士人格权益 only), art. 32(3) (国家赔偿 only), art. 42(3) (劳动报酬、工伤 only)."""
    result = assess(matter, D("5000.00"), [ground], BENGBU)
    assert result.eligible is exempt
    if not exempt:  # the explanation says why the ground did not help, then applies the economic test
        source = EXEMPTIONS[ground].source
        assert any(g.rule == "special_group" and not g.passed and source in g.text for g in result.grounds)
        assert result.grounds[-1].rule == "economic_test"


def test_income_is_required_without_an_exemption():
    """Seed 004: without an exemption the economic test needs the household income."""
    with pytest.raises(ValidationFailed) as err:
        assess(MatterType.WAGES, None, [], BENGBU)
    assert err.value.field == "household_income_per_head"


def test_region_without_profile_cannot_run_the_economic_test():
    """法律援助法 art. 34: the economic standard is set per region; no profile, no test."""
    with pytest.raises(ValidationFailed) as err:
        assess(MatterType.WAGES, D("10.00"), [], None)
    assert err.value.field == "region"


@pytest.mark.parametrize(
    ("region", "code", "threshold"),
    [
        ("431002001001", "431000", "630.00"),  # Chenzhou, a district below the city
        ("420700000000", "420700", "750.00"),  # Ezhou
        ("440203000000", "440200", "890.00"),  # Shaoguan
        ("500114100200", "500114", "700.00"),  # Qianjiang district: its own 6-digit profile
        ("340304000000", "340300", "1900.00"),  # Bengbu: 2.5 x 760 (seed 004)
    ],
)
def test_each_city_profile_sets_its_threshold(region, code, threshold):
    """Seed 004 (Bengbu 2.5 × 低保) and 法律援助法 art. 34 (per-region standards): each profile's exact threshold,
    with a fen below it passing and the threshold itself not."""
    profile = load_profiles().for_region(region)
    assert profile is not None and profile.code == code and profile.sample
    t = profile.threshold
    assert t.amount == D(threshold) and isinstance(t.amount, Decimal)
    assert assess(MatterType.WAGES, D(threshold) - D("0.01"), [], t).eligible
    assert not assess(MatterType.WAGES, D(threshold), [], t).eligible


def test_unknown_region_has_no_profile():
    """法律援助法 art. 34: a region no profile serves has no standard here."""
    assert load_profiles().for_region("110101000000") is None


def test_an_income_stored_before_the_fen_rule_is_stated_as_written():
    """Seed 004: the reason states the income exactly — one stored with a third decimal before the rule is not
    rounded into looking equal to the threshold."""
    result = assess(MatterType.WAGES, D("1899.999"), [], BENGBU)
    assert result.eligible and "1,899.999 yuan/month < threshold 1,900.00" in result.reason
