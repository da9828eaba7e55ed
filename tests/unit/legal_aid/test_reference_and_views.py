"""Reference data validation (city profiles, provider registry) and the case view's deadlines and worklist key."""

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from pydantic import ValidationError

from services.legal_aid import views
from services.legal_aid.domain import ReceiveApplication, Review, Threshold, decider
from services.legal_aid.reference import Profiles, load_profiles, load_providers
from shared.calendar import CHINA
from shared.contracts.legal_aid import Channel, MatterType

BENGBU = Threshold("B", Decimal("760.00"), Decimal("2.5"))

CITIES = {"431000", "420700", "440200", "500114", "340300"}


def test_the_five_cities_are_configured_as_marked_samples_with_a_lawyer_each():
    profiles = load_profiles()
    assert {c.code for c in profiles.cities} == CITIES
    assert all(c.sample for c in profiles.cities) and "SAMPLE" in profiles.note
    assert profiles.for_region("340300000000").multiplier == 2.5  # seed 004
    lawyers = {p.city for p in load_providers().providers if p.type == "lawyer"}
    assert lawyers == CITIES


@pytest.mark.parametrize(
    "bad",
    [
        {"version": "x", "cities": []},
        {"version": "x", "cities": [{"code": "3403", "name": "n", "minimum_living_standard": 1, "multiplier": 1}]},
        {"version": "x", "cities": [{"code": "340300", "name": "n", "minimum_living_standard": -1, "multiplier": 1}]},
        {
            "version": "x",
            "cities": [{"code": "340300", "name": "n", "minimum_living_standard": 1, "multiplier": 1}] * 2,
        },
    ],
)
def test_invalid_profiles_are_refused_at_load(bad):
    with pytest.raises(ValidationError):
        Profiles.model_validate(bad)


def test_view_shows_deadlines_and_the_next_due_instant():
    applied = datetime(2026, 1, 28, 15, 0, tzinfo=CHINA)
    state, _ = decider.run(
        [
            ReceiveApplication(
                channel=Channel.WALK_IN,
                region="340304000000",
                matter_type=MatterType.WAGES,
                matter="wages",
                applicant_ref="p-" + "a" * 32,
                household_income_per_head=100.0,
                applied_at=applied,
            )
        ]
    )
    doc = views.render("la-1", state, 1)
    assert doc["next_due_at"] == datetime(2026, 2, 5, tzinfo=CHINA)
    assert [d["status"] for d in views.deadline_view(doc, applied + timedelta(days=8))] == ["missed"]
    state, _ = decider.run([Review(at=applied + timedelta(days=2), threshold=BENGBU)], state)
    doc = views.render("la-1", state, 2)
    # review met; the assignment (3 days after the Jan 30 grant) is now the next due
    assert doc["next_due_at"] == datetime(2026, 2, 3, tzinfo=CHINA)
    assert [(d["name"], d["status"]) for d in views.deadline_view(doc, applied + timedelta(days=2))] == [
        ("review", "met"),
        ("assignment", "pending"),
    ]
