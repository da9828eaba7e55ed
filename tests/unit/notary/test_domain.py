"""Notary decider stories: checklist and one-time notice, acceptance and deadlines, fee waivers, issuance,
court feedback, the certificate register and court commissions — every refusal."""

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest

from services.notary import domain
from services.notary.domain import (
    FEE_WAIVER_BASIS,
    AcceptApplication,
    AcceptCommission,
    AllocateNumber,
    AssessFee,
    IssueCertificate,
    IssueMaterialsNotice,
    PerformCommission,
    RecordCourtFeedback,
    RefuseApplication,
    ReportCommission,
    SubmitApplication,
    SupplementMaterials,
    WaiverGrant,
    charged_fee,
    issuance_due,
)
from services.notary.reference import load_catalogue
from shared.calendar import add_working_days, working_days_between
from shared.contracts.notary import (
    PUBLISHED_MATTERS,
    ApplicationAccepted,
    ApplicationEvaluated,
    CertificateIssued,
    CommissionAccepted,
    CommissionReported,
    CourtFeedbackRecorded,
    FeeAssessed,
    MaterialsNoticeIssued,
)
from shared.contracts.partners import CommissionKind
from shared.errors import DomainError, InvalidTransition, ValidationFailed
from shared.evaluation import EvaluateCase

CATALOGUE = load_catalogue()
T0 = datetime(2026, 3, 2, 2, 0, tzinfo=UTC)  # Monday 10:00 in China
ALICE = "p-" + "a" * 32
BOB = "p-" + "b" * 32


def submit(matter="birth", materials=("id_card", "household_register", "birth_medical_certificate"), **kw):
    return SubmitApplication(
        application_id="na-1",
        region="431002001001",
        office="GZ4310",
        matter=CATALOGUE.get(matter),
        catalogue_version=CATALOGUE.version,
        applicant_ref=kw.pop("applicant_ref", ALICE),
        materials_supplied=list(materials),
        at=T0,
        **kw,
    )


def accepted(**kw):
    return domain.application.run([submit(**kw), AcceptApplication(at=T0)])[0]


def assessed(**kw):
    state = accepted(**kw)
    return domain.application.run([AssessFee(at=T0)], state)[0]


# -- catalogue --------------------------------------------------------------------------------------------------------
def test_catalogue_has_the_matters_of_the_issue_each_with_checklist_and_fee():
    ids = {m.id for m in CATALOGUE.matters}
    assert {"birth", "kinship", "no_criminal_record", "degree", "contract", "will", "inheritance"} <= ids
    assert {"power_of_attorney", "evidence_preservation", "enforceable_debt_instrument"} <= ids
    assert all(m.materials and m.standard_fee > 0 for m in CATALOGUE.matters)


def test_the_published_matter_list_is_notarys_catalogue():
    """Other departments name notary matters from the published list (公证事项; seed 003 减免困难群众公证收费): it must
    hold exactly the catalogue's ids and names, or a fee waiver legal aid accepts would be dead-lettered here."""
    assert {m.id: m.name_zh for m in CATALOGUE.matters} == PUBLISHED_MATTERS


def test_unknown_matter_type_is_refused_naming_the_field():
    with pytest.raises(ValidationFailed) as err:
        CATALOGUE.get("marriage_abroad")
    assert err.value.field == "matter"


def test_catalogue_with_duplicate_matters_is_invalid_at_start():
    birth = CATALOGUE.get("birth").model_dump()
    with pytest.raises(ValueError, match="duplicate matter"):
        domain.MatterCatalogue.model_validate({"version": "x", "matters": [birth, birth]})


# -- checklist and one-time notice (一次性告知) --------------------------------------------------------------------
def test_one_time_notice_lists_every_missing_material_at_once():
    state, events = domain.application.run([submit(materials=["id_card"]), IssueMaterialsNotice(at=T0)])
    assert events[-1] == MaterialsNoticeIssued(
        missing=["household_register", "birth_medical_certificate"], notified_at=T0
    )
    assert state.notice_given == ("household_register", "birth_medical_certificate")


def test_a_second_notice_is_refused():
    state, _ = domain.application.run([submit(materials=["id_card"]), IssueMaterialsNotice(at=T0)])
    state, _ = domain.application.run(
        [SupplementMaterials(materials=["household_register"], in_person=False, at=T0)], state
    )
    with pytest.raises(DomainError, match="second notice"):
        domain.application.decide(IssueMaterialsNotice(at=T0), state)


def test_no_notice_when_nothing_is_missing():
    with pytest.raises(DomainError, match="nothing to notify"):
        domain.application.run([submit(), IssueMaterialsNotice(at=T0)])


def test_acceptance_needs_the_complete_checklist():
    state, _ = domain.application.run([submit(materials=["id_card"])])
    with pytest.raises(DomainError) as err:
        domain.application.decide(AcceptApplication(at=T0), state)
    assert err.value.field == "materials" and "birth_medical_certificate" in err.value.message


def test_materials_not_on_the_checklist_are_refused():
    with pytest.raises(ValidationFailed) as err:
        domain.application.run([submit(materials=["id_card", "marriage_certificate"])])
    assert err.value.field == "materials_supplied"
    state, _ = domain.application.run([submit(materials=["id_card"])])
    with pytest.raises(ValidationFailed):
        domain.application.decide(SupplementMaterials(materials=["diploma_original"], in_person=True, at=T0), state)


def test_supplementing_by_post_keeps_one_trip_and_in_person_counts_a_visit():
    story = [
        submit(materials=["id_card"]),
        IssueMaterialsNotice(at=T0),
        SupplementMaterials(materials=["household_register", "birth_medical_certificate"], in_person=False, at=T0),
        AcceptApplication(at=T0),
        AssessFee(at=T0),
        IssueCertificate(year=2026, sequence=7, at=T0),
    ]
    _, events = domain.application.run(story)
    issued = events[-1]
    assert isinstance(issued, CertificateIssued) and issued.visits == 1 and issued.one_trip
    story[2] = SupplementMaterials(materials=["household_register", "birth_medical_certificate"], in_person=True, at=T0)
    _, events = domain.application.run(story)
    assert events[-1].visits == 2 and not events[-1].one_trip


# -- acceptance, refusal, deadline ------------------------------------------------------------------------------------
def test_acceptance_sets_the_15_working_day_deadline():
    _, events = domain.application.run([submit(), AcceptApplication(at=T0)])
    assert events[-1] == ApplicationAccepted(
        accepted_at=T0, due_on=date(2026, 3, 23), due_by=datetime(2026, 3, 23, 16, 0, tzinfo=UTC)
    )


def test_refusal_with_reason_is_final():
    state, _ = domain.application.run([submit(), RefuseApplication(reason="事项不属于本处执业区域", at=T0)])
    assert state.status == "refused" and state.refused_reason
    with pytest.raises(InvalidTransition):
        domain.application.decide(AcceptApplication(at=T0), state)
    with pytest.raises(InvalidTransition):
        domain.application.decide(RefuseApplication(reason="again", at=T0), state)


def test_accepted_application_cannot_be_refused_or_submitted_again():
    state = accepted()
    with pytest.raises(InvalidTransition):
        domain.application.decide(RefuseApplication(reason="late", at=T0), state)
    with pytest.raises(InvalidTransition):
        domain.application.decide(submit(), state)


def test_working_days_skip_weekends():
    """公证程序规则 art. 35: 15 working days; a weekend is not a working day."""
    assert add_working_days(date(2026, 3, 6), 1) == date(2026, 3, 9)  # Fri → Mon
    assert add_working_days(date(2026, 3, 2), 15) == date(2026, 3, 23)


def test_working_days_across_national_day_and_its_adjusted_working_days():
    # accepted Thu 24 Sep, before 中秋 (25–27 Sep) and 国庆 (1–7 Oct); Sat 10 Oct is worked (调休)
    due = add_working_days(date(2026, 9, 24), 15)
    # working: 9/28,29,30, 10/8,9,10(Sat 调休),12,13,14,15,16,19,20,21,22
    assert due == date(2026, 10, 22)
    assert working_days_between(date(2026, 9, 24), due) == 15


def test_working_days_across_spring_festival():
    accepted_at = datetime(2026, 2, 12, 1, 0, tzinfo=UTC)  # Thu 12 Feb, CST
    # 2/13, 2/14 (Sat 调休), 2/24..27, 2/28 (Sat 调休), 3/2..3/6, 3/9..3/11 → 15
    assert issuance_due(accepted_at) == date(2026, 3, 11)


def test_deadline_uses_china_time_not_utc():
    late_evening_utc = datetime(2026, 3, 1, 17, 0, tzinfo=UTC)  # already Monday 2 March 01:00 in China
    assert issuance_due(late_evening_utc) == date(2026, 3, 23)


def test_overdue_days_are_negative():
    assert working_days_between(date(2026, 3, 25), date(2026, 3, 23)) == -2


# -- fees and waivers -------------------------------------------------------------------------------------------------
def waiver(person=ALICE, matter="birth", share="1", aid_case="la-7"):
    return WaiverGrant(aid_case_id=aid_case, person_ref=person, notary_matter=matter, waiver=share)


def test_standard_fee_without_aid():
    """Seed 001 (matter catalogue fees): without aid the standard fee is charged, nothing is aid-linked."""
    _, events = domain.application.run([AssessFee(at=T0)], accepted())
    assert events == [
        FeeAssessed(
            matter="birth",
            standard_fee=80,
            charged_fee=80,
            waived=False,
            aid_linked=False,
            aid_link_verified=False,
            assessed_at=T0,
        )
    ]


def test_waiver_matching_applicant_and_matter_waives_the_fee_citing_art_53():
    """法律援助法 art. 53 (公证机构应当对受援人减收或者免收公证费), not art. 32: the waiver cites the article that
    grants it, and the aid link is verified by legal aid's own waiver."""
    _, events = domain.application.run([AssessFee(waiver=waiver(), at=T0)], accepted(aid_case_id="la-7"))
    fee = events[0]
    assert fee.charged_fee == 0 and fee.waived and fee.aid_linked and fee.aid_case_id == "la-7"
    assert fee.aid_link_verified is True
    assert fee.waiver_basis == FEE_WAIVER_BASIS and FEE_WAIVER_BASIS.startswith("法律援助法 art. 53")
    assert "art. 32" not in FEE_WAIVER_BASIS


def test_half_waiver_halves_the_fee():
    """法律援助法 art. 53 (减收): a half waiver halves the fee, exactly."""
    _, events = domain.application.run([AssessFee(waiver=waiver(share=0.5), at=T0)], accepted())
    assert events[0].charged_fee == 40 and events[0].waiver_share == Decimal("0.5") and events[0].aid_linked


@pytest.mark.parametrize(
    ("fee", "share", "charged"),
    [("80.00", "0.33", "53.60"), ("99.99", "0.50", "50.00"), ("0.10", "0.15", "0.09"), ("300.00", "0.07", "279.00")],
)
def test_a_reduced_fee_is_exact_to_the_fen(fee, share, charged):
    """法律援助法 art. 53 (减收): the fee left is standard × (1 − share) in decimals, rounded half up to the fen
    (99.99 × 0.5 = 49.995 → 50.00), never a float's 49.99."""
    assert charged_fee(Decimal(fee), Decimal(share)) == Decimal(charged)


def test_a_failed_aid_claim_is_not_a_verified_aid_link():
    """Seed 000's 受援人公证费减免率 counts aid recipients (法律援助法 art. 53): a claimed aid case legal aid does not
    vouch for (no such case, aid refused, no waiver granted) is recorded as an unverified claim."""
    state = accepted(aid_case_id="la-404")
    _, events = domain.application.run([AssessFee(proceed_without_waiver=True, at=T0)], state)
    assert events[0].aid_linked and events[0].aid_link_verified is False and events[0].charged_fee == 80
    _, events = domain.application.run([AssessFee(proceed_without_waiver=True, claim_vouched=True, at=T0)], state)
    assert events[0].aid_link_verified is True and not events[0].waived  # a recipient charged in full: a miss


def test_waiver_for_another_person_or_matter_is_never_applied():
    with pytest.raises(ValidationFailed, match="another person"):
        domain.application.decide(AssessFee(waiver=waiver(person=BOB), at=T0), accepted())
    with pytest.raises(ValidationFailed, match="covers matter"):
        domain.application.decide(AssessFee(waiver=waiver(matter="kinship"), at=T0), accepted())


def test_aid_linked_application_without_waiver_is_not_assessed_until_it_arrives():
    state = accepted(aid_case_id="la-7")
    with pytest.raises(DomainError) as err:
        domain.application.decide(AssessFee(at=T0), state)
    assert err.value.field == "waiver" and "not (yet) an aid recipient" in err.value.message
    _, events = domain.application.run([AssessFee(proceed_without_waiver=True, at=T0)], state)
    assert events[0].charged_fee == 80 and not events[0].waived and events[0].aid_linked


def test_claimed_aid_case_with_a_waiver_for_another_case_is_refused():
    with pytest.raises(DomainError):
        domain.application.decide(
            AssessFee(waiver=waiver(aid_case="la-8"), claimed_aid_case_id="la-9", at=T0), accepted()
        )


def test_fee_assessed_only_after_acceptance_and_once():
    state, _ = domain.application.run([submit()])
    with pytest.raises(InvalidTransition):
        domain.application.decide(AssessFee(at=T0), state)
    with pytest.raises(InvalidTransition):
        domain.application.decide(AssessFee(at=T0), assessed())


# -- issuance and feedback --------------------------------------------------------------------------------------------
def test_issue_before_acceptance_or_fee_is_refused():
    state, _ = domain.application.run([submit()])
    with pytest.raises(InvalidTransition):
        domain.application.decide(IssueCertificate(year=2026, sequence=1, at=T0), state)
    with pytest.raises(InvalidTransition):
        domain.application.decide(IssueCertificate(year=2026, sequence=1, at=T0), accepted())


def test_issue_records_number_and_deadline_kept():
    state, events = domain.application.run([IssueCertificate(year=2026, sequence=42, at=T0)], assessed())
    issued = events[0]
    assert issued.certificate_no == "(2026)GZ4310证字第000042号" and issued.within_deadline
    assert state.status == "issued"
    late = datetime(2026, 3, 24, 2, 0, tzinfo=UTC)
    _, events = domain.application.run([IssueCertificate(year=2026, sequence=42, at=late)], assessed())
    assert not events[0].within_deadline


def test_issue_year_must_be_the_year_of_issuance():
    with pytest.raises(ValidationFailed):
        domain.application.decide(IssueCertificate(year=2025, sequence=1, at=T0), assessed())


def issued():
    return domain.application.run([IssueCertificate(year=2026, sequence=1, at=T0)], assessed())[0]


def feedback(**kw):
    base = {
        "certificate_no": "(2026)GZ4310证字第000001号",
        "partner_reference": "(2026)湘1002民初12号",
        "adopted": True,
        "decided_at": T0,
        "at": T0,
    }
    return RecordCourtFeedback(**{**base, **kw})


def test_court_feedback_adopted_is_acknowledged_to_the_court():
    state, events = domain.application.run([feedback()], issued())
    ev = events[0]
    assert isinstance(ev, CourtFeedbackRecorded) and ev.recipient == "court" and ev.adopted
    assert ev.partner_reference == "(2026)湘1002民初12号" and state.feedback[0].adopted


def test_not_adopted_needs_a_reason():
    with pytest.raises(ValidationFailed) as err:
        domain.application.decide(feedback(adopted=False), issued())
    assert err.value.field == "reason"
    _, events = domain.application.run([feedback(adopted=False, reason="与其他证据矛盾")], issued())
    assert not events[0].adopted


def test_feedback_refusals():
    with pytest.raises(InvalidTransition):
        domain.application.decide(feedback(), assessed())
    with pytest.raises(ValidationFailed):
        domain.application.decide(feedback(certificate_no="other"), issued())
    state, _ = domain.application.run([feedback()], issued())
    with pytest.raises(DomainError, match="already recorded"):
        domain.application.decide(feedback(), state)


# -- certificate register ---------------------------------------------------------------------------------------------
def alloc(app):
    return AllocateNumber(office="GZ4310", year=2026, application_id=app, at=T0)


def test_register_allocates_consecutive_numbers_bound_to_applications():
    state, events = domain.register.run([alloc("a"), alloc("b"), alloc("c")])
    assert [e.sequence for e in events] == [1, 2, 3]
    assert state.sequence_of("b") == 2


def test_allocating_again_for_the_same_application_gives_the_same_number():
    state, _ = domain.register.run([alloc("a"), alloc("b")])
    assert domain.register.decide(alloc("a"), state) == []
    assert state.sequence_of("a") == 1


def test_register_refuses_another_office():
    state, _ = domain.register.run([alloc("a")])
    with pytest.raises(ValidationFailed):
        domain.register.decide(AllocateNumber(office="GZ4311", year=2026, application_id="x", at=T0), state)


# -- court commissions ------------------------------------------------------------------------------------------------
def commissioned(kind=CommissionKind.EVIDENCE_PRESERVATION):
    return AcceptCommission(
        partner_reference="(2026)湘1002执45号",
        kind=kind,
        region="431002000000",
        details="现场证据保全",
        commissioned_at=T0,
        at=T0,
    )


def test_commission_accepted_performed_reported_back_to_the_court():
    state, events = domain.commission.run(
        [commissioned(), PerformCommission(summary="已现场保全并制作笔录", at=T0), ReportCommission(at=T0)]
    )
    assert isinstance(events[0], CommissionAccepted) and events[0].recipient == "court"
    report = events[-1]
    assert isinstance(report, CommissionReported) and report.partner_reference == "(2026)湘1002执45号"
    assert report.summary == "已现场保全并制作笔录" and state.status == "reported"


def test_the_same_commission_twice_is_accepted_once_and_a_clash_is_refused():
    state, _ = domain.commission.run([commissioned()])
    assert domain.commission.decide(commissioned(), state) == []
    with pytest.raises(InvalidTransition):
        domain.commission.decide(commissioned(CommissionKind.SERVICE_OF_DOCUMENTS), state)


def test_commission_refusals():
    with pytest.raises(InvalidTransition):
        domain.commission.decide(PerformCommission(summary="x", at=T0), domain.Commission())
    state, _ = domain.commission.run([commissioned()])
    with pytest.raises(InvalidTransition, match="performed first"):
        domain.commission.decide(ReportCommission(at=T0), state)


# -- 随单评价 ---------------------------------------------------------------------------------------------------------
@pytest.mark.parametrize("finish", ["issued", "refused"])
def test_a_finished_application_is_evaluated_once_and_not_before(finish):
    """Seed 004 (随单评价: "服务一次…接受服务对象评价一次"): the applicant rates the issued or refused application."""
    with pytest.raises(InvalidTransition, match="after it is closed"):
        domain.application.decide(EvaluateCase(satisfaction=4, at=T0), assessed())
    if finish == "issued":
        state = domain.application.run([IssueCertificate(year=2026, sequence=7, at=T0)], assessed())[0]
    else:
        state = domain.application.run([submit(), RefuseApplication(reason="不属于本处执业区域", at=T0)])[0]
    done, events = domain.application.run([EvaluateCase(satisfaction=2, at=T0)], state)
    assert events == [ApplicationEvaluated(satisfaction=2, evaluated_at=T0, region="431002001001")]
    assert done.satisfaction == 2 and done.status == finish
    with pytest.raises(DomainError) as err:
        domain.application.decide(EvaluateCase(satisfaction=5, at=T0), done)
    assert err.value.field == "satisfaction"


def test_a_satisfaction_outside_one_to_five_is_refused():
    """Seed 004 / DOMAIN.md: satisfaction is 1–5."""
    for value in (0, 6):
        with pytest.raises(ValueError, match="satisfaction"):
            EvaluateCase(satisfaction=value, at=T0)
