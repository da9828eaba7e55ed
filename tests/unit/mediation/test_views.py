"""Read-model rendering, deadline flags and worklist rules (pure)."""

from datetime import UTC, datetime, timedelta

from services.mediation import domain, views
from services.mediation.domain import decider
from shared.contracts.mediation import CommitteeKind, Source

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def story(*extra):
    reg = domain.RegisterDispute(
        dispute_id="md-v",
        at=T0,
        source=Source.WALK_IN,
        dispute_type="medical",
        region="440205100201",
        parties=["p-" + "e" * 32],
        claim="术后感染",
        time_limit_days=30,
    )
    fit = domain.CommitteeFit(
        committee_id="440200-medical",
        committee_kind=CommitteeKind.TRADE,
        regions=["440200000000"],
        dispute_types=["medical"],
        mediator_id="m-1",
        mediator_committee_id="440200-medical",
    )
    state, _ = decider.run([reg, domain.AssignMediator(at=T0, fit=fit), *extra])
    return views.render("md-v", state, 3)


def test_render_carries_region_ancestors_and_no_dates_as_python_date():
    doc = story(
        domain.HoldSession(at=T0 + timedelta(days=1), minutes="m", next_session_on=(T0 + timedelta(days=8)).date())
    )
    assert doc["regions"] == ["440205100201", "440205100000", "440205000000", "440200000000", "440000000000"]
    assert doc["next_session_on"] == "2026-06-09" and doc["status"] == "in_mediation"


def test_flags_follow_the_deadlines():
    doc = story(domain.SignAgreement(at=T0 + timedelta(days=10), terms="赔偿"))
    assert views.flags(doc, T0 + timedelta(days=20)) == {
        "time_limit": "met",
        "confirmation_window": "due",
        "follow_up": "due",
    }
    # day 30 of both periods is Sat 11 July: they end at 24:00 on Mon 13 July (民法典 art. 203)
    assert views.flags(doc, T0 + timedelta(days=41))["confirmation_window"] == "due"
    assert views.flags(doc, T0 + timedelta(days=43)) == {
        "time_limit": "met",
        "confirmation_window": "missed",
        "follow_up": "missed",
    }
    running = story()
    assert views.flags(running, T0 + timedelta(days=31))["time_limit"] == "missed"


def test_worklist_queries_name_their_rules():
    now = T0
    query, sort = views.worklist_query("confirmation-closing", now, 5)
    assert (
        query["confirmation_deadline"] == {"$gt": now, "$lte": now + timedelta(days=5)}
        and sort == "confirmation_deadline"
    )
    query, _ = views.worklist_query("sessions-due", now, 2)
    assert {"next_session_on": {"$lte": "2026-06-03"}} in query["$or"]
    assert set(views.WORKLISTS) == {"awaiting-assignment", "sessions-due", "confirmation-closing", "follow-ups-due"}
