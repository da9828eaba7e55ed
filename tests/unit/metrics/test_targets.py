"""Stories of the indicator targets (national defaults, city profiles, annual judging), counts, the median handling
time, the disputes intake resolves, live web consultations and the village legal advisors, each citing its seed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from services.metrics.catalogue import load_catalogue
from services.metrics.publisher import Publisher
from services.metrics.reference import load_reference, load_regions
from services.metrics.values import Value, median_of_histogram
from shared.topics import Topics
from tests.unit.metrics.helpers import SHAOGUAN_VILLAGE, T0, applied, days, engine, env

CAT = load_catalogue()
HUATANG = "431002100000"  # 华塘镇 (北湖区, 郴州): 14 villages/communities in the shipped sample
EZHOU_VILLAGE = "420704001001"
CHENZHOU, EZHOU, SHAOGUAN, QIANJIANG, BENGBU = (
    "431000000000", "420700000000", "440200000000", "500114000000", "340300000000",
)  # fmt: skip
AFTER_2026 = datetime(2027, 1, 15, tzinfo=UTC)  # every 2026 period is over
MID_2026 = datetime(2026, 7, 2, 12, tzinfo=UTC)  # half of 2026 elapsed, March over


def value(e, ind, region=CHENZHOU, period="month:2026-03", now=AFTER_2026):  # type: ignore[no-untyped-def]
    return e.value(ind, region, period, now)


# -- targets: national defaults and city profiles ----------------------------------------------------------------
def test_every_indicator_the_seeds_give_a_target_for_has_a_national_default():
    """DOMAIN.md indicator table (targets from 000, 001, 002 and the Legal Aid Law): every indicator but the
    operational throughput has a default target, so a city without its own (Qianjiang, 003) is still judged."""
    without = {i.id for i in CAT.indicators if "default" not in i.targets}
    assert without == {"throughput"}


@pytest.mark.parametrize(
    ("indicator", "city", "op", "target", "source", "origin"),
    [
        ("aid_by_lawyers", CHENZHOU, ">=", 70, "000", "431000"),
        ("aid_by_lawyers", SHAOGUAN, ">=", 80, "002", "440200"),
        ("aid_by_lawyers", QIANJIANG, ">=", 70, "000", "default"),
        ("advisor_hours", CHENZHOU, ">=", 50, "000 indicator 19", "431000"),
        ("advisor_hours", EZHOU, ">=", 100, "001", "420700"),
        ("advisor_hours", SHAOGUAN, ">=", 100, "002", "440200"),
        ("advisor_hours", BENGBU, ">=", 50, "000 indicator 19", "default"),
        ("dispute_resolution", EZHOU, ">=", 95, "001", "420700"),
        ("realtime_answer_30s", SHAOGUAN, ">=", 95, "002", "440200"),
        ("notary_not_adopted", CHENZHOU, "<", 0.01, "000", "431000"),
        ("hotline_answer_rate", BENGBU, ">=", 90, "001", "default"),
    ],
)
def test_a_city_profile_overrides_the_national_default(indicator, city, op, target, source, origin):
    """Seeds 000 (Chenzhou), 001 (Ezhou), 002 (Shaoguan) set their own targets; 003 (Qianjiang) and 004 (Bengbu)
    give few numbers and take the national defaults (DOMAIN.md: targets are configuration per city profile)."""
    found, where = CAT.target_of(CAT.by_id[indicator], city)
    assert found is not None and (found.op, found.value, found.source, where) == (op, target, source, origin)


def test_qianjiang_and_bengbu_are_judged_on_the_national_defaults_for_every_indicator():
    """Seeds 003 and 004 (DOMAIN.md: 003 has few numeric targets, use the national defaults)."""
    e = engine()
    for city in (QIANJIANG, BENGBU):
        cards = e.scorecard(city, "year", AFTER_2026)
        assert {c.target_from for c in cards if c.indicator != "throughput"} == {"default"}
        assert all(c.target is not None for c in cards if c.indicator != "throughput")


# -- annual targets ------------------------------------------------------------------------------------------
def advisor_log(village: str, hours: float, at: datetime, n: int, on_site: bool = True):  # type: ignore[no-untyped-def]
    return env("caseflow.intake.advisor_service_logged", f"adv-{village}", at, id=f"log-{village}-{n}",
               village_region=village, advisor_id="adv-x", hours=hours, kind="consultation",
               served_on=at.date().isoformat(), logged_at=at, on_site=on_site)  # fmt: skip


def test_an_annual_target_is_judged_on_the_year_never_on_a_month_or_a_day():
    """Seed 001: 每年村(社区)法律顾问为每个村(社区)提供法律服务时长 ≥100 小时 — an annual target; a month's hours
    are shown but not judged against it (DOMAIN.md: never on a day's or a month's value)."""
    e = engine()
    for n in range(5):
        e.apply(advisor_log(EZHOU_VILLAGE, 24.0, T0 + days(n), n), T0)
    month = value(e, "advisor_hours", EZHOU_VILLAGE)
    assert (month.value, month.status, month.target.per) == (120.0, "not_judged", "year")
    day = value(e, "advisor_hours", EZHOU_VILLAGE, period="day:2026-03-02")
    assert day.status == "not_judged"
    year = value(e, "advisor_hours", EZHOU_VILLAGE, period="year:2026")
    assert (year.value, year.status, year.annualised) == (120.0, "met", False)


def test_a_running_year_is_judged_on_its_annualised_value_and_says_so():
    """Seed 001: ≥110 legal aid cases per 100,000 people a year. Half way through the year, 60 granted cases in
    Ezhou (1.08 M) are 5.6 per 100k so far: annualised 11.1, labelled, and judged on that."""
    e = engine()
    for n in range(60):
        e.apply(env("caseflow.legal_aid.defence_notified", f"la-{n}", T0, region=EZHOU_VILLAGE, notified_at=T0,
                    kind="notified_defence"), T0)  # fmt: skip
    v = e.value("aid_per_100k", EZHOU, "year:2026", MID_2026)
    assert v.value == pytest.approx(60 / 1_080_000 * 100_000)
    assert v.annualised and v.extra["annualised"] == pytest.approx(v.value / (182.5 / 365), rel=0.01)
    assert v.status == "not_met" and v.target_from == "420700"
    assert e.value("aid_per_100k", EZHOU, "month:2026-03", MID_2026).status == "not_judged"


# -- counts and the median -----------------------------------------------------------------------------------------
def test_a_count_with_no_cases_in_the_period_reads_zero_not_no_data():
    """DOMAIN.md (throughput, aid per 100k, advisor hours are counts): zero cases in a period is a value, 0;
    a rate with nothing to divide by stays "no data"."""
    e = engine()
    throughput = value(e, "throughput")
    assert (throughput.value, throughput.status) == (0.0, "no_target")
    aid = value(e, "aid_per_100k", period="year:2026")
    assert (aid.value, aid.status) == (0.0, "not_met")
    hours = value(e, "advisor_hours", HUATANG, period="year:2026")
    assert (hours.value, hours.status) == (0.0, "not_met")
    assert value(e, "mediation_success").status == "no_data"


def test_handling_time_is_the_median_not_only_the_mean():
    """DOMAIN.md throughput: median handling time. Cases handled in 0.9 h, 1.5 h and 100 h: the median is 1.5 h
    (interpolated in its histogram bucket), where the mean (34 h) is pulled by the one slow case."""
    e = engine()
    for n, hours in enumerate((0.9, 1.5, 100.0)):
        e.apply(applied(f"la-{n}"), T0)
        e.apply(env("caseflow.legal_aid.case_closed", f"la-{n}", T0 + timedelta(hours=hours), closed_at=T0), T0)
    v = value(e, "throughput")
    assert v.extra["median_handling_hours"] == pytest.approx(1.5)
    assert v.extra["mean_handling_hours"] == pytest.approx((0.9 + 1.5 + 100) / 3)
    assert "throughput|431000000000|month:2026-03|*" in e.take_changed()  # its histogram publishes as throughput


async def test_a_histogram_bucket_is_published_only_as_its_indicators_value():
    """DOMAIN.md throughput: the median is a field of the throughput value, so a closed case publishes each
    throughput cell once and never a bucket of its own."""
    e = engine()
    e.apply(applied("la-1"), T0)
    e.apply(env("caseflow.legal_aid.case_closed", "la-1", T0 + timedelta(hours=3), closed_at=T0), T0)
    publisher = Publisher(Topics("unittargets"))
    values: list[Value] = []
    publisher.listeners.append(values.extend)
    assert await publisher.changed(e, e.take_changed(), AFTER_2026) == len(values)
    keys = [f"{v.indicator}|{v.region}|{v.period}" for v in values]
    assert len(keys) == len(set(keys)) and "throughput|431000000000|month:2026-03" in keys
    assert not any("~" in k for k in keys)


def test_the_median_of_an_empty_histogram_is_none_and_the_open_bucket_reads_its_lower_edge():
    """DOMAIN.md throughput median: no closed case, no median; a case beyond a year reads as one year."""
    assert median_of_histogram({}) is None
    assert median_of_histogram({"19": 1.0}) == 8760


# -- dispute resolution and live web consultations -------------------------------------------------------------
def test_dispute_resolution_counts_disputes_intake_resolved_on_the_spot():
    """Seed 001: 矛盾纠纷化解率 ≥95% and (十二) 将矛盾纠纷化解在基层一线 — a help request (求助) answered on the spot
    at intake is a dispute resolved; a referred one counts once, at mediation; a consultation is no dispute."""
    e = engine()
    reg = {"region": SHAOGUAN_VILLAGE, "source": "walk_in"}
    e.apply(env("caseflow.mediation.dispute_registered", "md-1", **reg), T0)
    e.apply(env("caseflow.mediation.agreement_signed", "md-1", ended_at=T0, confirmation_deadline=T0 + days(30)), T0)
    e.apply(env("caseflow.mediation.dispute_registered", "md-2", **reg), T0)
    e.apply(env("caseflow.mediation.mediation_failed", "md-2", ended_at=T0), T0)
    for case, kind, on_the_spot in (("rq-1", "help", True), ("rq-2", "help", True), ("rq-3", "consultation", True),
                                    ("rq-4", "help", False)):  # fmt: skip
        e.apply(env("caseflow.intake.request_answered", case, answered_at=T0, on_the_spot=on_the_spot,
                    channel="walk_in", region=SHAOGUAN_VILLAGE, kind=kind), T0)  # fmt: skip
    v = value(e, "dispute_resolution", SHAOGUAN)
    assert (v.numerator, v.denominator, v.value) == (3, 4, 75.0)


def test_realtime_answer_counts_live_web_consultations_connected_within_30_seconds():
    """Seed 002 (网络平台): 实时咨询30秒内接通率达95% — live consultations on the web line connected within 30 s ÷
    all of them (one abandoned counts as not connected); hotline calls are not 实时咨询."""
    e = engine()
    for n, wait in enumerate((25, 30, 45, None)):
        e.apply(env("caseflow.intake.call_offered", f"web-{n}", region=SHAOGUAN_VILLAGE, line="web_12348"), T0)
        if wait is None:
            e.apply(env("caseflow.intake.call_abandoned", f"web-{n}", wait_seconds=60), T0)
        else:
            e.apply(env("caseflow.intake.call_answered", f"web-{n}", wait_seconds=wait), T0)
    e.apply(env("caseflow.intake.call_offered", "tel-1", region=SHAOGUAN_VILLAGE, line="hotline_12348"), T0)
    e.apply(env("caseflow.intake.call_answered", "tel-1", wait_seconds=5), T0)
    v = value(e, "realtime_answer_30s", SHAOGUAN)
    assert (v.numerator, v.denominator, v.value, v.status) == (2, 4, 50.0, "not_met")
    hotline = value(e, "hotline_answer_rate", SHAOGUAN)
    assert (hotline.numerator, hotline.denominator) == (1, 1)


# -- village legal advisors ----------------------------------------------------------------------------------------
def test_a_village_under_its_monthly_hours_is_listed_not_averaged_away():
    """Seed 000 (村（社区）法律顾问服务 1): 每月提供不少于1次、4小时的现场法律服务. In 华塘镇 13 villages get 8 h in
    March and one gets none: the hours per village average 7.4 h (over 4), yet that village is listed under target
    and the share of villages given their hours is 13/14."""
    e = engine()
    villages = load_reference().villages_under(HUATANG)
    assert len(villages) == 14
    for n, village in enumerate(villages[1:]):
        e.apply(advisor_log(village, 8.0, T0 + days(1), n), T0)
    assert value(e, "advisor_hours", HUATANG).value == pytest.approx(13 * 8 / 14)
    share = value(e, "advisor_villages", HUATANG)
    assert (share.numerator, share.denominator, share.status) == (13, 14, "not_met")
    assert share.extra["villages_under_target"] == 1 and share.extra["required_hours"] == 4
    listed = e.village_hours("advisor_villages", HUATANG, "month:2026-03", AFTER_2026)
    assert listed["under_target"] == [villages[0]]
    assert {v["status"] for v in listed["villages"] if v["village"] != villages[0]} == {"met"}


def test_only_on_site_hours_count_toward_the_monthly_requirement():
    """Seed 000 (村（社区）法律顾问服务 1): 每月…4小时的现场法律服务 — hours by phone or online (003: 即时电话预约,
    微信群) count toward the year's hours but not toward the month's on-site 4 h."""
    e = engine()
    village = "431002001001"
    e.apply(advisor_log(village, 3.0, T0, 1), T0)
    e.apply(advisor_log(village, 5.0, T0, 2, on_site=False), T0)
    month = e.village_hours("advisor_villages", village, "month:2026-03", AFTER_2026)
    assert month["villages"][0]["hours"] == 3.0 and month["under_target"] == [village]
    year = e.village_hours("advisor_villages", village, "year:2026", AFTER_2026)
    assert year["villages"][0]["hours"] == 8.0


def test_a_village_is_judged_on_the_year_against_its_citys_annual_hours():
    """Seed 001: ≥100 h a year per village in Ezhou; seed 000: ≥50 h in Chenzhou. 60 h in a year meets
    Chenzhou's requirement but not Ezhou's."""
    e = engine()
    chenzhou_village = "431002001001"
    for n, village in enumerate((EZHOU_VILLAGE, chenzhou_village)):
        for k in range(3):
            e.apply(advisor_log(village, 20.0, T0 + days(k), 10 * n + k), T0)
    ezhou = e.village_hours("advisor_villages", EZHOU_VILLAGE, "year:2026", AFTER_2026)
    chenzhou = e.village_hours("advisor_villages", chenzhou_village, "year:2026", AFTER_2026)
    assert (ezhou["required_hours"], ezhou["under_target"]) == (100, [EZHOU_VILLAGE])
    assert (chenzhou["required_hours"], chenzhou["under_target"]) == (50, [])


def test_while_a_period_runs_the_village_requirement_is_pro_rata():
    """Seed 000 indicator 19 (≥50 h a year): half way through the year a village needs 25 h so far."""
    e = engine()
    listed = e.village_hours("advisor_villages", "431002001001", "year:2026", MID_2026)
    assert listed["required_hours"] == 50 and listed["required_hours_so_far"] == pytest.approx(25, rel=0.01)


def test_logged_hours_republish_the_villages_share_of_every_ancestor():
    """Seed 000 (每月…4小时): a village's new hours move the villages-under-target indicator at once."""
    e = engine()
    e.apply(advisor_log("431002100201", 2.0, T0, 1), T0)
    changed = e.take_changed()
    assert {"advisor_villages|431002100000|month:2026-03|*", "advisor_villages|431000000000|year:2026|*"} <= changed
    day = "advisor_villages|431002100000|day:2026-03-02|*"  # its cell exists, but no per-village rule for a day
    assert (
        day in e.aggregates.cells
        and not e.publishes(day)
        and e.publishes(day.replace("day:2026-03-02", "month:2026-03"))
    )


def test_share_of_advisors_who_are_lawyers_or_grassroots_legal_workers():
    """Seed 000 indicator 18: 2022年律师、基层法律服务工作者担任村（社区）法律顾问的比例达80%. The shipped registry's
    qualifications count; an advisor assigned as `other` lowers the share at once."""
    e = engine()
    ref = load_reference()
    advised = [v for v in ref.villages_under(HUATANG) if ref.villages[v]]
    qualified = [v for v in advised if ref.kinds[v] in ("lawyer", "grassroots_worker")]
    v = value(e, "advisor_lawyer_share", HUATANG)
    assert (v.numerator, v.denominator) == (len(qualified), len(advised))
    village = qualified[0]
    e.apply(env("caseflow.intake.advisor_assigned", f"adv-{village}", T0, village_region=village,
                advisor_id="adv-new", assigned_at=T0, advisor_kind="other"), T0)  # fmt: skip
    assert value(e, "advisor_lawyer_share", HUATANG).numerator == len(qualified) - 1


def test_every_village_of_each_reference_citys_sample_county_is_listed():
    """Issue 19 / seed 000 (实现村（社区）法律顾问全覆盖): coverage is only true over a complete list — each reference
    city has a sample county whose every town and village/community is in the reference data, each village under a
    listed town, communities coded 0xx and villages 2xx (统计用区划代码)."""
    rf = load_regions()
    towns = {r.code for r in rf.regions if r.code[9:] == "000" and r.code[6:] != "000000"}
    assert {c.code[:4] for c in rf.sample_counties} == {"4310", "4207", "4402", "5001", "3403"}
    for county in rf.sample_counties:
        prefix = county.code[:6]
        listed = [v for v in rf.villages if v.code.startswith(prefix)]
        assert len(listed) == county.villages, county.name_en
        assert len({t for t in towns if t.startswith(prefix)}) == county.towns, county.name_en
        assert all(v.code[:9] + "000" in towns for v in listed)
        assert all(t in {v.code[:9] + "000" for v in listed} for t in towns if t.startswith(prefix))
    assert "SAMPLE" in rf.villages_source
