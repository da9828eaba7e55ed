"""Eligibility table: matter scope, every special group, threshold edges, every city profile."""

import pytest

from services.legal_aid.domain import IN_SCOPE, Threshold, assess
from services.legal_aid.reference import load_profiles
from shared.contracts.legal_aid import MatterType, SpecialGroup
from shared.errors import ValidationFailed

BENGBU = Threshold("蚌埠市 Bengbu", 760.0, 2.5)  # 1900.00


@pytest.mark.parametrize(
    ("income", "eligible"),
    [(0.0, True), (1899.99, True), (1900.0, False), (1900.01, False), (5000.0, False)],
)
def test_economic_test_edges_at_the_threshold(income, eligible):
    result = assess(MatterType.WAGES, income, [], BENGBU)
    assert result.eligible is eligible
    assert result.threshold == 1900.0
    economic = [g for g in result.grounds if g.rule == "economic_test"]
    assert economic and economic[0].passed is eligible
    assert "1900.00" in result.reason and ("below" in result.reason)
    assert result.reason.startswith("granted" if eligible else "refused")


@pytest.mark.parametrize("matter", sorted(IN_SCOPE))
def test_every_in_scope_matter_passes_the_scope_rule(matter):
    result = assess(matter, 100.0, [], BENGBU)
    assert result.eligible
    assert result.grounds[0].rule == "matter_in_scope" and result.grounds[0].passed


@pytest.mark.parametrize("matter", [MatterType.COMMERCIAL, MatterType.OTHER])
def test_out_of_scope_matters_are_refused_even_for_special_groups(matter):
    result = assess(matter, 0.0, [SpecialGroup.SEVERELY_DISABLED], BENGBU)
    assert not result.eligible
    assert "not within legal aid scope" in result.reason


def test_unclassified_matter_cannot_be_reviewed():
    with pytest.raises(ValidationFailed) as err:
        assess(MatterType.UNSPECIFIED, 0.0, [], BENGBU)
    assert err.value.field == "matter_type"


UNIVERSAL = [
    SpecialGroup.DISTRESSED_CHILD,
    SpecialGroup.SEVERELY_DISABLED,
    SpecialGroup.SERIOUSLY_ILL,
    SpecialGroup.ELDERLY_WITHOUT_INCOME,
    SpecialGroup.SOCIAL_ASSISTANCE_RECIPIENT,
    SpecialGroup.SERVICEMAN_FAMILY,
]


@pytest.mark.parametrize("group", UNIVERSAL)
def test_special_groups_skip_the_economic_test(group):
    # income far above the threshold and even unknown: still granted, and the explanation names the group
    for income in (99999.0, None):
        result = assess(MatterType.FAMILY, income, [group], BENGBU)
        assert result.eligible
        assert [g.rule for g in result.grounds] == ["matter_in_scope", "special_group"]
        assert "economic test waived" in result.reason


@pytest.mark.parametrize(
    ("group", "matter", "exempt"),
    [
        (SpecialGroup.MIGRANT_WORKER, MatterType.WAGES, True),
        (SpecialGroup.MIGRANT_WORKER, MatterType.INJURY_COMPENSATION, True),
        (SpecialGroup.MIGRANT_WORKER, MatterType.FAMILY, False),
        (SpecialGroup.HERO_MARTYR_RELATIVE, MatterType.HERO_HONOUR, True),
        (SpecialGroup.HERO_MARTYR_RELATIVE, MatterType.WAGES, False),
    ],
)
def test_matter_bound_special_groups(group, matter, exempt):
    result = assess(matter, 5000.0, [group], BENGBU)
    assert result.eligible is exempt
    if not exempt:  # the explanation says why the group did not help, then applies the economic test
        assert any(g.rule == "special_group" and not g.passed for g in result.grounds)
        assert result.grounds[-1].rule == "economic_test"


def test_income_is_required_without_an_exemption():
    with pytest.raises(ValidationFailed) as err:
        assess(MatterType.WAGES, None, [], BENGBU)
    assert err.value.field == "household_income_per_head"


def test_region_without_profile_cannot_run_the_economic_test():
    with pytest.raises(ValidationFailed) as err:
        assess(MatterType.WAGES, 10.0, [], None)
    assert err.value.field == "region"


@pytest.mark.parametrize(
    ("region", "code", "threshold"),
    [
        ("431002001001", "431000", 630.0),  # Chenzhou, a district below the city
        ("420700000000", "420700", 750.0),  # Ezhou
        ("440203000000", "440200", 890.0),  # Shaoguan
        ("500114100200", "500114", 700.0),  # Qianjiang district: its own 6-digit profile
        ("340304000000", "340300", 1900.0),  # Bengbu: 2.5 x 760 (seed 004)
    ],
)
def test_each_city_profile_sets_its_threshold(region, code, threshold):
    profile = load_profiles().for_region(region)
    assert profile is not None and profile.code == code and profile.sample
    t = profile.threshold
    assert t.amount == threshold
    assert assess(MatterType.WAGES, threshold - 0.01, [], t).eligible
    assert not assess(MatterType.WAGES, threshold, [], t).eligible


def test_unknown_region_has_no_profile():
    assert load_profiles().for_region("110101000000") is None
