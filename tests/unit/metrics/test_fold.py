"""Stories of the pure per-case fold and each indicator's numerator/denominator, without Kafka."""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest

from services.metrics.catalogue import load_catalogue
from services.metrics.fold import CaseState, Step, contributions, fold, hours_held
from shared.calendar import CHINA
from tests.unit.metrics.helpers import (
    CHENZHOU_VILLAGE,
    EZHOU_TOWN,
    SHAOGUAN_VILLAGE,
    T0,
    applied,
    assigned,
    days,
    engine,
    env,
    notified,
    reviewed,
)

CAT = load_catalogue()
MONTH = "month:2026-03"
CHENZHOU = "431000000000"
SHAOGUAN = "440200000000"


LATER = T0 + days(40)


def value(e, ind, region=CHENZHOU, period=MONTH, now=LATER, dim="*"):
    return e.value(ind, region, period, now, dim)


def test_every_domain_indicator_is_declared_in_the_catalogue():
    ids = {i.id for i in CAT.indicators}
    domain_rows = {
        "criminal_aid_coverage", "aid_assigned_on_time", "aid_reviewed_on_time", "aid_by_lawyers", "aid_per_100k",
        "mediation_success", "agreement_fulfilment", "dispute_resolution", "notary_not_adopted", "aid_fee_waiver",
        "hotline_answer_rate", "realtime_answer_30s", "web_reply_on_time", "qc_sample_rate", "work_order_completion",
        "same_visit_completion", "satisfaction", "hotline_growth", "advisor_coverage", "advisor_hours", "throughput",
    }  # fmt: skip
    assert domain_rows <= ids
    for ind in CAT.indicators:
        assert ind.name_zh and ind.name_en and ind.unit


def test_timeline_records_every_step_with_department_actor_and_time():
    case = CaseState("rq-1")
    for e in [
        env("caseflow.intake.request_received", "rq-1", T0, region=CHENZHOU_VILLAGE, channel="walk_in",
            kind="help", received_at=T0),
        env("caseflow.intake.request_referred", "rq-1", T0 + timedelta(hours=1), to_department="legal_aid",
            region=CHENZHOU_VILLAGE),
        applied("la-1", at=T0 + timedelta(hours=2), corr="rq-1"),
    ]:  # fmt: skip
        case = fold(case, e, CAT)
    assert [(s.department, s.event_type.rsplit(".", 1)[1]) for s in case.steps] == [
        ("intake", "request_received"),
        ("intake", "request_referred"),
        ("legal_aid", "application_received"),
    ]
    assert case.steps[0].actor == "dept:intake"
    assert case.subjects == ("rq-1", "la-1")
    assert case.region == CHENZHOU_VILLAGE and case.channel == "walk_in"
    [review] = case.deadlines
    # 民法典 arts. 201, 203: applied Mon 2 March, last day Mon 9 March, ends 24:00 China time
    assert review.rule == "review_7d" and review.due == datetime(2026, 3, 10, tzinfo=CHINA)


def _steps(*held: tuple[float, str]) -> list[Step]:
    return [Step(T0 + timedelta(seconds=s), dept, f"caseflow.{dept}.x", "a", "c") for s, dept in held]


def test_time_in_a_department_is_the_time_it_held_the_case_between_handoffs():
    """Court → mediation → judicial confirmation (诉前调解, DOMAIN flow 3; People's Mediation Law art. 33): the court
    holds the case until it refers, mediation until it asks for confirmation, the court until it rules. The 48.5 s
    case of issue 20 credited the court with 46.9 s (its first to last step) although mediation held it meanwhile."""
    steps = _steps(
        (0.0, "partner"),  # the court refers the dispute
        (0.2, "mediation"), (0.5, "mediation"), (10.0, "mediation"), (40.0, "mediation"),  # … asks for confirmation
        (46.9, "partner"),  # the court rules
        (47.0, "mediation"), (48.5, "mediation"),  # mediation folds the ruling, archives
    )  # fmt: skip
    held = {d: round(h * 3600, 3) for d, h in hours_held(steps).items()}
    assert held == {"partner": 6.9, "mediation": 41.6}
    assert sum(held.values()) == pytest.approx(48.5)
    assert list(hours_held(list(reversed(steps)))) == ["partner", "mediation"]  # the order the steps happened in


def test_timeline_credits_intake_until_its_referral_and_legal_aid_from_then_on():
    """An intake referral (DOMAIN flow 1) passes the case on: intake holds it until it refers, legal aid from then."""
    e = engine()
    for ev in [
        env("caseflow.intake.request_received", "rq-1", T0, region=CHENZHOU_VILLAGE, channel="walk_in",
            kind="help", received_at=T0),
        env("caseflow.intake.request_referred", "rq-1", T0 + timedelta(hours=1), to_department="legal_aid",
            region=CHENZHOU_VILLAGE),
        applied("la-1", at=T0 + timedelta(hours=3), corr="rq-1"),
        reviewed("la-1", T0 + timedelta(hours=7), corr="rq-1"),
    ]:  # fmt: skip
        e.apply(ev, T0 + days(1))
    assert e.timeline("la-1", T0 + days(1))["hours_in_department"] == {"intake": 1.0, "legal_aid": 6.0}


def test_duplicate_or_replayed_event_never_counts_twice():
    e = engine()
    events = [notified("la-1"), assigned("la-1", T0 + days(1))]
    for ev in events + events + [events[1]]:
        e.apply(ev, T0 + days(2))
    v = value(e, "criminal_aid_coverage")
    assert (v.numerator, v.denominator) == (1, 1)
    assert len(e.cases["la-1"].steps) == 2


def test_criminal_aid_coverage_counts_notices_with_and_without_assignment():
    e = engine()
    e.apply(notified("la-1"), T0)
    e.apply(assigned("la-1", T0 + days(1)), T0)
    e.apply(notified("la-2"), T0)
    v = value(e, "criminal_aid_coverage")
    assert (v.numerator, v.denominator, v.value, v.status) == (1, 2, 50.0, "not_met")
    assert v.target is not None and v.target.value == 100


def test_zero_denominator_is_no_data_not_zero():
    v = value(engine(), "mediation_success", region=SHAOGUAN)
    assert v.status == "no_data" and v.value is None and v.reason == "zero denominator"


def test_assignment_deadline_is_missed_as_soon_as_it_passes_not_when_the_case_closes():
    e = engine()
    e.apply(notified("la-1"), T0)
    before = value(e, "aid_assigned_on_time", now=T0 + days(2))
    assert before.status == "no_data"  # pending: neither met nor missed yet
    due = datetime(2026, 3, 6, tzinfo=CHINA)  # notified Mon 2 March: 3 days end at 24:00 on Thu 5 March
    assert value(e, "aid_assigned_on_time", now=due - timedelta(minutes=1)).status == "no_data"
    e.tick(due)
    after = value(e, "aid_assigned_on_time", now=T0 + days(4))
    assert (after.numerator, after.denominator, after.status) == (0, 1, "not_met")
    # a late assignment keeps it missed
    e.apply(assigned("la-1", T0 + days(5)), T0 + days(5))
    late = value(e, "aid_assigned_on_time", now=T0 + days(5))
    assert (late.numerator, late.denominator) == (0, 1)
    assert e.timeline("la-1", T0 + days(5))["deadlines"][0]["status"] == "missed"


def test_review_on_time_and_late():
    e = engine()
    e.apply(applied("la-1"), T0)
    e.apply(reviewed("la-1", T0 + days(6)), T0 + days(6))
    e.apply(applied("la-2"), T0)
    e.apply(reviewed("la-2", T0 + days(8), decision="refused"), T0 + days(8))
    v = value(e, "aid_reviewed_on_time")
    assert (v.numerator, v.denominator, v.value) == (1, 2, 50.0)


def test_granted_review_starts_the_3_day_assignment_clock():
    e = engine()
    e.apply(applied("la-1"), T0)
    e.apply(reviewed("la-1", T0 + days(1)), T0 + days(1))
    e.apply(assigned("la-1", T0 + days(3)), T0 + days(3))
    v = value(e, "aid_assigned_on_time")
    assert (v.numerator, v.denominator, v.status) == (1, 1, "met")


def test_aid_by_lawyers_target_differs_between_chenzhou_and_shaoguan():
    e = engine()
    for i, (region, kind) in enumerate(
        [(CHENZHOU_VILLAGE, "lawyer")] * 3 + [(CHENZHOU_VILLAGE, "grassroots_worker")]
        + [(SHAOGUAN_VILLAGE, "lawyer")] * 3 + [(SHAOGUAN_VILLAGE, "aid_centre_staff")]
    ):  # fmt: skip
        e.apply(notified(f"la-{i}", region=region), T0)
        e.apply(assigned(f"la-{i}", T0 + days(1), provider_type=kind), T0)
    cz, sg = value(e, "aid_by_lawyers"), value(e, "aid_by_lawyers", region=SHAOGUAN)
    assert cz.value == sg.value == 75.0
    assert (cz.target.value, cz.status) == (70, "met")  # 000: ≥70%
    assert (sg.target.value, sg.status) == (80, "not_met")  # 002: ≥80%


def test_region_roll_up_counts_a_village_event_in_every_ancestor():
    e = engine()
    e.apply(notified("la-1"), T0)
    for region in ("431002001001", "431002001000", "431002000000", CHENZHOU, "430000000000"):
        assert value(e, "criminal_aid_coverage", region=region).denominator == 1
    assert value(e, "criminal_aid_coverage", region=SHAOGUAN).denominator == 0


def test_aid_per_100k_uses_population_and_errors_clearly_without_it():
    e = engine()
    for i in range(467):
        e.apply(notified(f"la-{i}"), T0)
    v = value(e, "aid_per_100k", period="year:2026")
    assert v.value == pytest.approx(10.0)  # 467 / 4.67M × 100k
    province = value(e, "aid_per_100k", region="430000000000", period="year:2026")
    assert province.status == "no_data" and "no population on record for region 430000000000" in province.reason


def test_mediation_success_fulfilment_and_resolution():
    e = engine()
    reg = {"region": SHAOGUAN_VILLAGE, "source": "walk_in"}
    e.apply(env("caseflow.mediation.dispute_registered", "md-1", **reg), T0)
    e.apply(env("caseflow.mediation.agreement_signed", "md-1", ended_at=T0, confirmation_deadline=T0 + days(30)), T0)
    e.apply(env("caseflow.mediation.follow_up_visited", "md-1", fulfilment="fulfilled"), T0)
    e.apply(env("caseflow.mediation.dispute_registered", "md-2", **reg), T0)
    e.apply(env("caseflow.mediation.mediation_failed", "md-2", ended_at=T0), T0)
    success = value(e, "mediation_success", region=SHAOGUAN)
    assert (success.numerator, success.denominator, success.status) == (1, 2, "not_met")
    assert value(e, "agreement_fulfilment", region=SHAOGUAN).status == "met"
    assert value(e, "dispute_resolution", region=SHAOGUAN).value == 50.0
    # 30-day confirmation window: pending until it passes, then missed
    tl = e.timeline("md-1", T0 + days(31))
    assert [d["status"] for d in tl["deadlines"]] == ["missed"]


def test_notary_rates():
    e = engine()
    e.apply(env("caseflow.notary.court_feedback_recorded", "nt-1", region=CHENZHOU_VILLAGE, adopted=True), T0)
    e.apply(env("caseflow.notary.court_feedback_recorded", "nt-2", region=CHENZHOU_VILLAGE, adopted=False), T0)
    v = value(e, "notary_not_adopted")
    assert (v.value, v.status, v.target.op) == (50.0, "not_met", "<")
    e.apply(env("caseflow.notary.application_submitted", "nt-3", region=CHENZHOU_VILLAGE), T0)
    e.apply(env("caseflow.notary.fee_assessed", "nt-3", aid_linked=True, waived=True), T0)
    e.apply(env("caseflow.notary.fee_assessed", "nt-2", aid_linked=False, waived=False), T0)
    assert (value(e, "aid_fee_waiver").numerator, value(e, "aid_fee_waiver").denominator) == (1, 1)


def test_issuance_deadline_uses_the_notary_reported_due_date():
    e = engine()
    e.apply(env("caseflow.notary.application_submitted", "nt-1", region=CHENZHOU_VILLAGE), T0)
    e.apply(env("caseflow.notary.application_accepted", "nt-1", accepted_at=T0, due_by=T0 + days(21)), T0)
    e.apply(env("caseflow.notary.certificate_issued", "nt-1", T0 + days(20), issued_at=T0 + days(20)), T0)
    [d] = e.timeline("nt-1", T0 + days(30))["deadlines"]
    assert (d["rule"], d["status"]) == ("issuance_15wd", "met")


def test_web_reply_allows_6_hours_in_ezhou_but_300_minutes_elsewhere():
    e = engine()
    for case, region in (("rq-1", EZHOU_TOWN), ("rq-2", CHENZHOU_VILLAGE)):
        posted, published = T0, T0 + timedelta(minutes=330)
        e.apply(env("caseflow.intake.web_reply_published", case, published, region=region, posted_at=posted,
                    published_at=published, minutes=330), T0)  # fmt: skip
    assert value(e, "web_reply_on_time", region="420700000000").status == "met"
    assert value(e, "web_reply_on_time").status == "not_met"


def test_hotline_and_satisfaction_and_channel_dimension():
    e = engine()
    for i, wait in enumerate([10, 20, 45]):
        e.apply(env("caseflow.intake.call_offered", f"call-{i}", region=EZHOU_TOWN, line="hotline_12348"), T0)
        e.apply(env("caseflow.intake.call_answered", f"call-{i}", wait_seconds=wait), T0)
    e.apply(env("caseflow.intake.call_offered", "call-9", region=EZHOU_TOWN, line="hotline_12348"), T0)
    ezhou = "420700000000"
    assert value(e, "hotline_answer_rate", region=ezhou).value == 75.0
    assert value(e, "realtime_answer_30s", region=ezhou).status == "no_data"  # hotline calls are not 实时咨询
    e.apply(env("caseflow.intake.request_received", "rq-1", region=EZHOU_TOWN, channel="web_12348"), T0)
    e.apply(env("caseflow.intake.request_evaluated", "rq-1", satisfaction=5), T0)
    assert value(e, "satisfaction", region=ezhou, dim="channel:web_12348").value == 100.0
    assert value(e, "satisfaction", region=ezhou, dim="channel:walk_in").status == "no_data"


def test_satisfaction_counts_every_departments_evaluations_overall_and_per_department():
    """Seed 004 (随单评价 of every service) and seeds 000, 002 (群众满意率 ≥ 95%, satisfied = 4–5): one indicator over
    intake, legal aid, mediation and notary evaluations, split per department by the `dept:` dimension."""
    e = engine()
    rated = {
        "intake.request_evaluated": [5, 4], "legal_aid.case_evaluated": [5, 2],
        "mediation.dispute_evaluated": [3], "notary.application_evaluated": [4],
    }  # fmt: skip
    for kind, scores in rated.items():
        for i, score in enumerate(scores):
            case = f"{kind.split('.')[0]}-{i}"
            e.apply(env(f"caseflow.{kind}", case, region=CHENZHOU_VILLAGE, satisfaction=score, evaluated_at=T0), T0)
    overall = value(e, "satisfaction")
    assert (overall.numerator, overall.denominator) == (4, 6) and overall.status == "not_met"
    per_dept = {d: value(e, "satisfaction", dim=f"dept:{d}") for d in ("intake", "legal_aid", "mediation", "notary")}
    assert {d: (v.numerator, v.denominator) for d, v in per_dept.items()} == {
        "intake": (2, 2), "legal_aid": (1, 2), "mediation": (0, 1), "notary": (1, 1),
    }  # fmt: skip
    assert per_dept["intake"].status == "met" and per_dept["legal_aid"].value == 50.0


def test_a_web_complaint_runs_no_300_minute_reply_deadline():
    """Seed 000 indicator 35: the 300-minute reply is for web questions (留言咨询); a complaint posted on the web
    gets the complaint reply deadline instead (seed 001 投诉反馈)."""

    def received(case: str, kind: str) -> CaseState:
        event = env("caseflow.intake.request_received", case, region=CHENZHOU_VILLAGE, channel="web_12348",
                    kind=kind, received_at=T0)  # fmt: skip
        return fold(CaseState(case), event, CAT)

    assert [d.rule for d in received("rq-q", "consultation").deadlines] == ["web_reply_300m"]
    assert [d.rule for d in received("rq-c", "complaint").deadlines] == ["complaint_reply"]


def test_a_complaint_runs_its_reply_deadline_on_the_timeline():
    """Seeds 001, 003 (投诉受理、处理和反馈): the reply is due when intake said (reply_due_at); late is missed."""
    due = T0 + days(15)
    received = env("caseflow.intake.request_received", "rq-c", region=CHENZHOU_VILLAGE, channel="walk_in",
                   kind="complaint", received_at=T0, reply_due_at=due)  # fmt: skip
    case = fold(CaseState("rq-c"), received, CAT)
    assert [(d.rule, d.due, d.status(T0 + days(1))) for d in case.deadlines] == [("complaint_reply", due, "pending")]
    late = T0 + days(16)
    case = fold(case, env("caseflow.intake.complaint_replied", "rq-c", late, replied_at=late, due_at=due,
                          on_time=False), CAT)  # fmt: skip
    assert case.deadlines[0].status(late) == "missed"


def test_advisor_coverage_from_reference_data_and_hours_from_events():
    e = engine()
    cov = value(e, "advisor_coverage", region="431002100000")  # 华塘镇: 14 villages, 石盖塘村 without an advisor
    assert (cov.numerator, cov.denominator, cov.value) == (13, 14, pytest.approx(100 * 13 / 14))
    for i in range(2):
        e.apply(env("caseflow.intake.advisor_service_logged", "adv-431002001001", id=f"log-{i}",
                    village_region="431002001001", hours=30.0), T0)  # fmt: skip
    hours = value(e, "advisor_hours", region="431002001001", period="year:2026")
    assert (hours.value, hours.status) == (60.0, "met")


def test_advisor_coverage_follows_intake_advisor_events_and_survives_a_restore():
    """A village without an advisor in the shipped data gets one from intake's events: coverage moves live, an
    unassignment of someone else changes nothing, a redelivery counts once, and a restored engine agrees."""
    e = engine()
    village, stream = "431002100002", "adv-431002100002"  # 华塘's neighbour: no advisor in regions.json

    def advisor(kind: str, advisor_id: str, n: int):  # type: ignore[no-untyped-def]
        field = "assigned_at" if kind == "assigned" else "unassigned_at"
        return env(f"caseflow.intake.advisor_{kind}", stream, T0 + days(n), id=f"adv-{n}",
                   village_region=village, advisor_id=advisor_id, **{field: T0 + days(n)})  # fmt: skip

    e.apply(advisor("assigned", "adv-431-0099", 1), LATER)
    touched = e.take_changed()
    assert "advisor_coverage|431002000000|month:2026-04|*" in touched  # published to subscribers
    assert "advisor_coverage|430000000000|month:2026-04|*" in touched  # every ancestor
    cov = value(e, "advisor_coverage", region="431002100000")
    assert (cov.numerator, cov.denominator, cov.value, cov.status) == (14, 14, 100.0, "met")
    assert e.apply(advisor("assigned", "adv-431-0099", 1), LATER) is False  # redelivered: nothing moves
    assert e.take_changed() == set()
    e.apply(advisor("unassigned", "adv-431-0001", 2), LATER)
    assert e.take_changed() == set()  # not this village's advisor
    assert value(e, "advisor_coverage", region="431002100000").numerator == 14

    restored = engine()
    restored.restore_all(e.cases.values(), LATER)
    assert value(restored, "advisor_coverage", region="431002100000").numerator == 14

    e.apply(advisor("unassigned", "adv-431-0099", 3), LATER)
    cov = value(e, "advisor_coverage", region="431002100000")
    assert (cov.numerator, cov.status) == (13, "not_met")


def test_timeline_steps_carry_their_trace_context():
    e = engine()
    traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
    e.apply(notified("la-tp").model_copy(update={"traceparent": traceparent}), T0)
    [step] = e.timeline("la-tp", LATER)["steps"]
    assert step["traceparent"] == traceparent and step["department"] == "legal_aid"


def test_hotline_growth_compares_with_the_same_period_last_year():
    e = engine()
    last_year = T0 - days(365)
    for i in range(10):
        e.apply(env("caseflow.intake.call_offered", f"old-{i}", last_year, region=EZHOU_TOWN, line="hotline_12348"), T0)
    for i in range(12):
        e.apply(env("caseflow.intake.call_offered", f"new-{i}", region=EZHOU_TOWN, line="hotline_12348"), T0)
    v = value(e, "hotline_growth", region="420700000000", period="year:2026")
    assert v.value == pytest.approx(20.0)


def test_throughput_counts_opened_closed_and_backlog_per_department():
    e = engine()
    e.apply(applied("la-1"), T0)
    e.apply(env("caseflow.legal_aid.case_closed", "la-1", T0 + timedelta(hours=10), closed_at=T0), T0)
    e.apply(applied("la-2"), T0)
    v = value(e, "throughput", dim="dept:legal_aid")
    assert v.extra["opened"] == 2 and v.extra["closed"] == 1 and v.extra["backlog"] == 1
    assert v.extra["mean_handling_hours"] == pytest.approx(10.0)
    assert v.status == "no_target"


def test_throughput_counts_a_court_commission_the_notary_accepted_and_reported():
    """Courts commission notaries (service, evidence preservation, supervision; DOMAIN flow 8, seeds 000, 002,
    004): an accepted commission is a notary case opened, its report back to the court closes it (issue 20: the
    notary bar showed 0 opened after 40 accepted commissions)."""
    e = engine()
    for i in range(3):
        e.apply(env("caseflow.notary.commission_accepted", f"nc-{i}", T0, recipient="court", kind="service",
                    region=CHENZHOU_VILLAGE, details="送达", commissioned_at=T0, accepted_at=T0), T0)  # fmt: skip
    e.apply(env("caseflow.notary.commission_reported", "nc-0", T0 + timedelta(hours=4), recipient="court",
                kind="service", summary="已送达", performed_at=T0, reported_at=T0), T0)  # fmt: skip
    v = value(e, "throughput", dim="dept:notary")
    assert (v.extra["opened"], v.extra["closed"], v.extra["backlog"]) == (3, 1, 2)
    assert v.extra["mean_handling_hours"] == pytest.approx(4.0)


def test_contributions_are_derived_from_the_same_deadlines_the_timeline_shows():
    case = CaseState("la-1")
    case = fold(case, notified("la-1"), CAT)
    assert contributions(case, T0 + days(1), CAT) == tuple(
        c for c in contributions(case, T0 + days(1), CAT) if c.indicator != "aid_assigned_on_time"
    )
    missed = [c for c in contributions(case, T0 + days(4), CAT) if c.indicator == "aid_assigned_on_time"]
    assert [(c.num, c.den) for c in missed] == [(0.0, 1.0)]


def test_sliding_windows():
    e = engine()
    e.apply(notified("la-1", at=T0), T0)
    e.apply(notified("la-2", at=T0 - days(3)), T0)
    assert value(e, "criminal_aid_coverage", period="last-24h", now=T0 + timedelta(hours=1)).denominator == 1
    assert value(e, "criminal_aid_coverage", period="last-7d", now=T0 + timedelta(hours=1)).denominator == 2


@pytest.mark.parametrize(
    ("ind", "region", "period", "field"),
    [
        ("nope", CHENZHOU, MONTH, "indicator"),
        ("criminal_aid_coverage", "999999000000", MONTH, "region"),
        ("criminal_aid_coverage", "12", MONTH, "region"),
        ("criminal_aid_coverage", CHENZHOU, "week:2026-10", "period"),
        ("criminal_aid_coverage", CHENZHOU, "month:2026-13", "period"),
    ],
)
def test_unknown_indicator_region_or_period_is_refused_naming_it(ind, region, period, field):
    from shared.errors import CaseflowError

    with pytest.raises(CaseflowError) as err:
        engine().value(ind, region, period, T0)
    assert err.value.field == field


def test_indicator_whose_events_do_not_exist_reports_no_data():
    e = engine()
    e.known_types.discard("caseflow.intake.web_reply_published")
    v = value(e, "web_reply_on_time")
    assert (v.status, v.reason) == ("no_data", "events not defined")


def test_progress_shows_status_and_next_step_without_internal_details():
    e = engine()
    e.apply(applied("la-1"), T0)
    p = e.progress("la-1", T0 + days(1))
    assert p["status"] == "application_received"
    assert p["next_step"]["step_en"] == "review decision within 7 days"
    assert "actor" not in str(p) and "dept:" not in str(p)


def test_a_case_counts_in_the_same_place_and_channel_whatever_order_its_events_are_folded_in():
    # a walk-in request referred to legal aid: intake's event (walk_in, a town) and legal aid's application
    # (intake_referral, a village) arrive on two topics, in either order; the earliest event names the case's
    # place and channel, so a live writer and a rebuild reading topic by topic agree cell for cell
    corr = "corr-order"
    received = env("caseflow.intake.request_received", "in-1", T0, corr=corr, request_id="in-1", channel="walk_in",
                   region=EZHOU_TOWN, kind="help", topic="labour", received_at=T0)  # fmt: skip
    application = applied("la-1", at=T0 + timedelta(hours=1), corr=corr, channel="intake_referral")
    engines = []
    for events in ([received, application], [application, received]):
        e = engine()
        for ev in events:
            e.apply(ev, T0 + days(1))
        engines.append(e)
    first, second = engines
    assert (first.cases[corr].region, first.cases[corr].channel) == (EZHOU_TOWN, "walk_in")
    assert (second.cases[corr].region, second.cases[corr].channel) == (EZHOU_TOWN, "walk_in")
    assert first.aggregates.cells == second.aggregates.cells
    assert any(k.endswith("|channel:walk_in") for k in second.aggregates.cells)
    assert not any(k.endswith("|channel:intake_referral") for k in second.aggregates.cells)


def test_only_aid_links_legal_aid_vouched_for_count_in_the_fee_waiver_indicator():
    """Seed 000 (受援人公证费减免率) and 法律援助法 art. 53 (fees reduced or waived for 受援人): an application whose
    aid claim failed (legal aid vouches for no such recipient) is not aid-linked; a vouched recipient charged in full
    is a miss; events stored before the verification was recorded count as before only when a waiver applied."""
    e = engine()
    fee = "caseflow.notary.fee_assessed"
    cases = [
        ("nt-1", {"aid_linked": True, "aid_link_verified": True, "waived": True}),  # waived recipient
        ("nt-2", {"aid_linked": True, "aid_link_verified": False, "waived": False}),  # failed claim: not counted
        ("nt-3", {"aid_linked": True, "aid_link_verified": True, "waived": False}),  # recipient charged: a miss
        ("nt-4", {"aid_linked": False, "aid_link_verified": False, "waived": False}),  # no claim
        ("nt-5", {"aid_linked": True, "waived": True}),  # stored before: a waiver was legal aid's word
        ("nt-6", {"aid_linked": True, "waived": False}),  # stored before, full fee: the claim was never verified
    ]
    for case, data in cases:
        e.apply(env("caseflow.notary.application_submitted", case, region=CHENZHOU_VILLAGE), T0)
        e.apply(env(fee, case, **data), T0)
    v = value(e, "aid_fee_waiver")
    assert (v.numerator, v.denominator) == (2, 3)
    [indicator] = [i for i in CAT.indicators if i.id == "aid_fee_waiver"]
    assert indicator.targets["default"].source == "法律援助法 art. 53"
